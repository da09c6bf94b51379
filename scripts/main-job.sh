#!/usr/bin/env bash
# The main job: `chaos run experiments/zk-leader-kill.yaml` on the local runtime — a
# 3-peer ZooKeeper ensemble behind headless and client Services, the leader killed five
# times under client load, election time / write recovery / DNS convergence measured
# against the servers' logs, the history checked. Prints the report's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

experiment="${1:-experiments/zk-leader-kill.yaml}"
name="$(basename "$experiment" .yaml)"
# Chaos Toolkit's own journal copy goes to a temp file; the run dir keeps journal.json.
journal="$(mktemp /tmp/peerchaos-journal-XXXXXX.json)"
trap 'rm -f "$journal"' EXIT
status=0
.venv/bin/chaos --no-log-file run "$experiment" --journal-path "$journal" || status=$?
run_dir="$(ls -d "results/$name"/*/ 2>/dev/null | sort | tail -1)"
run_dir="${run_dir%/}"
if [ -z "$run_dir" ]; then
    echo "no run directory under results/$name" >&2
    exit 1
fi
for report in "$run_dir/report.html" "$run_dir/report.md" "$run_dir/summary.json"; do
    if [ -e "$report" ]; then
        echo "report: $report"
        break
    fi
done
exit "$status"
