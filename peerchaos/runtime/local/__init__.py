"""The local runtime: real servers of a system, with Kubernetes Service/DNS semantics."""
