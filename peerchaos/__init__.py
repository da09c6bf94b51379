"""peerchaos: chaos and failover experiments for stateful peers (ZooKeeper) on Kubernetes."""

__version__ = "0.1.0"
