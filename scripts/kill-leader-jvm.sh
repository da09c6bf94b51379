#!/usr/bin/env bash
# Another tool's fault, for experiments/zk-external-kill.yaml: SIGKILL the ZooKeeper
# leader's JVM on the local runtime from outside peerchaos (`kill -9` of its PID, as an
# operator or an OOM killer would). peerchaos does not inject it; it sees the container
# exit and measures the trial (fault.source: external).
# The ensemble is the one in $PEERCHAOS_STATE_DIR (the peerchaos control exports it to
# an experiment's process actions); `peerchaos status --json` names the leader and PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
peerchaos=.venv/bin/peerchaos
command -v "$peerchaos" >/dev/null || peerchaos=peerchaos
pid="$("$peerchaos" status --json | python3 -c '
import json, sys
status = json.load(sys.stdin)
leader = status.get("leader")
pids = [pod["pid"] for pod in status["pods"] if pod["name"] == leader and pod.get("pid")]
if not pids:
    sys.exit("kill-leader-jvm: no leader with a running process")
print(pids[0])
')"
kill -9 "$pid"
echo "killed the leader's JVM, pid $pid"
