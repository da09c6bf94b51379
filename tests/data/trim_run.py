"""Copy a recorded run dir into tests/data, small: the files measure and report read,
with the peers' logs cut to the lines the log parser uses.

    .venv/bin/python tests/data/trim_run.py RUN_DIR tests/data/measure/<case>

`ground_truth.json` is parsed again from the trimmed logs, so it matches them exactly.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from peerchaos.systems.zookeeper.logs import parse_logs

KEEP = re.compile(
    r"^# peerchaos|Peer state changed|LEADER ELECTION TOOK|connecting to |Cannot open channel"
    r"|Successfully connected to leader|Exception when following the leader|zookeeper\.version="
)
FILES = ("events.jsonl", "history.jsonl", "meta.json", "journal.json", "summary.json")


def trim(source: Path, target: Path) -> None:
    target = target / source.name
    if target.exists():
        shutil.rmtree(target)
    (target / "peers").mkdir(parents=True)
    for name in FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    for log in sorted((source / "peers").glob("*.log")):
        lines = [line for line in log.read_text(errors="replace").splitlines() if KEEP.search(line)]
        (target / "peers" / log.name).write_text("\n".join(lines) + "\n")
    truth = {"log_events": parse_logs(target / "peers")}
    (target / "ground_truth.json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    trim(Path(sys.argv[1]), Path(sys.argv[2]))
