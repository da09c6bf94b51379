"""ZooKeeper behind the system seam: everything peerchaos knows about ZooKeeper, and nothing
of it anywhere else.

`system.SYSTEM` is the seam's object; the modules behind it: `settings` (the spec's
`zookeeper:` group, defaults, the JVM's DNS caches), `manifests` (its container),
`config` and `localpod` (zoo.cfg, the JVM command, a local pod's readiness), `fourletter`
(`srvr`, `ruok`, `conf`), `client` (kazoo ops), `logs` (ground truth), `causes` and
`dials` (what held recovery up), `deployments` and `attach` (existing deployments),
`doctor` (what the machine needs).
"""
