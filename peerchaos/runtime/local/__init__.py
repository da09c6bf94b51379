"""The local runtime: real ZooKeeper servers with Kubernetes Service/DNS semantics."""
