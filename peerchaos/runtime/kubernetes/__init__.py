"""The kubernetes runtime: the ensemble in a namespace of a real cluster, through the
official client (`runtime.py` the seam; `api`, `podexec`, `objects`, `faults`,
`services`, `memory`, `watch` its parts; `attach`, `derive`, `seen`, `attached` for a
StatefulSet peerchaos did not deploy). What runs in the pods is the system seam's."""
