#!/usr/bin/env bash
# The nightly resilience job on the local runtime: one experiment through `chaos run`
# (default experiments/zk-leader-kill.yaml), then `peerchaos trend` over every run of it so
# far. Meant for cron or a systemd timer (README: "Scheduled resilience jobs"):
#   0 3 * * * cd /path/to/peerchaos && bash scripts/nightly.sh >> results/nightly.log 2>&1
# Exit status: chaos's (0 only when the hypothesis held and no check is false). The trend
# runs after a failed run too; a regression it finds is in the log and in trend.html.
# Environment: RESULTS_DIR (default results, relative to the repository), NIGHTLY_VARS
# (more Chaos Toolkit --var items, separated by spaces, e.g. "trials:int=3"),
# PEERCHAOS_PUSHGATEWAY (a Prometheus Pushgateway URL: the run's figures are pushed there
# with `peerchaos export --push`, job peerchaos, grouped by experiment; a failed push is in
# the log and does not change the exit status).
# Setup is not repeated every night: run scripts/setup.sh (or main-job.sh) once before.
set -uo pipefail
cd "$(dirname "$0")/.."
# cron's PATH is /usr/bin:/bin. The local runtime needs ip and iptables from sbin; without
# them it would quietly fall back to loopback pods, where partitions are refused.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

experiment="${1:-experiments/zk-leader-kill.yaml}"
results="${RESULTS_DIR:-results}"
if [ ! -f "$experiment" ] || [ ! -x .venv/bin/chaos ]; then
    echo "nightly: need $experiment and .venv (run bash scripts/setup.sh once)" >&2
    exit 2
fi
# Runs land in <results>/<configuration.name>/, which need not be the file's name.
name="$(.venv/bin/python - "$experiment" <<'PY'
import sys

import yaml

from peerchaos.ctk.config import slug

document = yaml.safe_load(open(sys.argv[1])) or {}
configuration = document.get("configuration") or {}
print(slug(str(configuration.get("name") or document.get("title") or "")))
PY
)" || exit 2

mkdir -p "$results"
# Like the CronJob's concurrencyPolicy Forbid: a run still going when the next one is due
# keeps the ensemble; the late one gives up instead of fighting over it.
exec 9>"$results/.nightly.lock"
if ! flock -n 9; then
    echo "nightly: $(date -u +%FT%TZ) a run is still going ($results/.nightly.lock); skipped" >&2
    exit 1
fi

# Chaos Toolkit's own journal copy would land in the cwd; the run dir keeps journal.json.
journal="$(mktemp /tmp/peerchaos-journal-XXXXXX.json)"
trap 'rm -f "$journal"' EXIT
args=(--var "results_dir=$results")
read -r -a extra <<< "${NIGHTLY_VARS:-}"
for item in "${extra[@]}"; do
    args+=(--var "$item")
done

echo "nightly: $(date -u +%FT%TZ) chaos run $experiment"
status=0
started="$(date +%s)"
# 9>&-: the run's detached processes (control plane, Ray) must not hold the lock.
.venv/bin/chaos --no-log-file run --journal-path "$journal" "${args[@]}" "$experiment" 9>&- \
    || status=$?
echo "nightly: $(date -u +%FT%TZ) chaos exited $status; trend of $results/$name"
if [ -n "${PEERCHAOS_PUSHGATEWAY:-}" ]; then
    # The run chaos just made: the newest one of the experiment started since `started`.
    .venv/bin/peerchaos export "$results/$name" --newest-since "$started" \
        --push "$PEERCHAOS_PUSHGATEWAY" 9>&- || echo "nightly: peerchaos export exited $?" >&2
fi
.venv/bin/peerchaos trend "$results/$name" 9>&- || echo "nightly: peerchaos trend exited $?" >&2
exit "$status"
