#!/usr/bin/env bash
# The main job on the local runtime: bring a 3-peer ZooKeeper ensemble up behind its
# headless and client Services, show it, kill the leader, show the new leader and the
# new pod IP in DNS, tear down. Writes everything it printed to a report under
# results/local-leader-kill/<run-id>/ and prints that report's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

run_id="$(date -u +%Y%m%dT%H%M%SZ)"
run_dir="results/local-leader-kill/$run_id"
state_dir="$(mktemp -d /tmp/peerchaos-main-XXXXXX)"
mkdir -p "$run_dir"
report="$run_dir/report.md"
pc() { .venv/bin/peerchaos "$@" --state-dir "$state_dir/state"; }
cleanup() { pc down >/dev/null 2>&1 || true; rm -rf "$state_dir"; }
trap cleanup EXIT INT TERM

section() { printf '\n## %s\n\n```\n' "$1" >>"$report"; }
endsection() { printf '```\n' >>"$report"; }

printf '# Local leader kill — %s\n' "$run_id" >"$report"
section "up (workloads/specs/fast.yaml)"
pc up --spec workloads/specs/fast.yaml | tee -a "$report"
endsection
section "status before"
pc status | tee -a "$report"
pc status --json >"$run_dir/status-before.json"
endsection
section "kill the leader"
pc fault kill leader | tee -a "$report"
sleep 3
endsection
section "status after (the killed pod is back with a new IP)"
pc status | tee -a "$report"
pc status --json >"$run_dir/status-after.json"
endsection
mkdir -p "$run_dir/peers"
cp "$state_dir"/state/logs/*.log "$run_dir/peers/" 2>/dev/null || true
cp "$state_dir/state/runtime-events.jsonl" "$run_dir/" 2>/dev/null || true
section "down"
pc down | tee -a "$report"
endsection
trap - EXIT INT TERM
rm -rf "$state_dir"
echo "report: $report"
