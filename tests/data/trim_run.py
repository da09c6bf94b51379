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

from peerchaos.systems import system_of

# Per system, the log lines its parser reads (and the one naming its version).
KEEP = {
    "zookeeper": re.compile(
        r"^# peerchaos|Peer state changed|LEADER ELECTION TOOK|connecting to |Cannot open channel"
        r"|Successfully connected to leader|Exception when following the leader"
        r"|zookeeper\.version="
    ),
    "etcd": re.compile(
        r"^# peerchaos|became (?:leader|follower|candidate|pre-candidate) at term"
        r"|raft\.node: \w+ (?:elected|lost|changed) leader|is starting a new election"
        r"|(?:rejected|ignored) Msg(?:Pre)?Vote from"
        r"|\"msg\":\"(?:starting|restarting) local member\"|\"msg\":\"starting an etcd server\""
    ),
}
FILES = ("events.jsonl", "history.jsonl", "meta.json", "journal.json", "summary.json")


def trim(source: Path, target: Path) -> None:
    target = target / source.name
    if target.exists():
        shutil.rmtree(target)
    (target / "peers").mkdir(parents=True)
    for name in FILES:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    system = system_of(json.loads((source / "meta.json").read_text()).get("spec"))
    keep = KEEP[system.name]
    for log in sorted((source / "peers").glob("*.log")):
        lines = [line for line in log.read_text(errors="replace").splitlines() if keep.search(line)]
        (target / "peers" / log.name).write_text("\n".join(lines) + "\n")
    truth = {"log_events": system.parse_logs(target / "peers")}
    (target / "ground_truth.json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    trim(Path(sys.argv[1]), Path(sys.argv[2]))
