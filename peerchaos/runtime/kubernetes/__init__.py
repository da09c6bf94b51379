"""The kubernetes runtime: the ensemble in a namespace of a real cluster, through the
official client (`runtime.py` the seam; `api`, `podexec`, `objects`, `faults`, `memory`,
`watch` its parts)."""
