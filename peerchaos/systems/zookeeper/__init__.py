"""The *db*: ZooKeeper's configuration, its four-letter-word interface and its logs."""
