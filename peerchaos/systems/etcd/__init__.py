"""etcd (Raft) behind the system seam: everything peerchaos knows about etcd lives here.

- `settings`: the `etcd:` spec group (heartbeat, election timeout, pre-vote) and defaults;
- `manifests` (+ `manifests/container.yaml.j2`): the StatefulSet's container;
- `localpod`: the flags a local pod's `etcd` runs with, and its readiness (`/health`);
- `gateway`: the HTTP/JSON gateway questions (status, member list, health);
- `client`: the load's read / write / cas through `etcd3gw`;
- `logs`: ground truth from etcd's own (zap JSON) log lines;
- `causes`: what held an election up, named from those logs;
- `attach`: recognising an etcd StatefulSet peerchaos did not deploy;
- `doctor`: what the machine needs to run etcd locally;
- `system`: the `SYSTEM` object the registry hands out.
"""
