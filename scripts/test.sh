#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run the whole test suite against real ZooKeeper.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pytest -q "$@"
