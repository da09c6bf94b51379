"""Causes any quorum system shares, named from the probes' view of the election.

- `waited_for_victim`: the new quorum formed only once the killed peer was back — the
  survivors alone could not form one (e.g. they were a minority, or one of them never
  looked for a new leader).
"""

from __future__ import annotations

from typing import Any

from peerchaos.measure.roles import majority


def waited_for_victim(
    elected: dict[str, Any], victims: list[str], replicas: int, re_elected: bool
) -> list[dict[str, Any]]:
    quorum = list(elected.get("quorum") or [])
    if elected.get("leader") is None or not victims:
        return []
    back = [v for v in victims if v in quorum]
    without = [p for p in quorum if p not in victims]
    if not back or len(without) >= majority(replicas):
        return []
    others = ", ".join(p for p in quorum if p != elected["leader"])
    how = "it was elected again" if re_elected else f"{elected['leader']} leads"
    return [
        {
            "kind": "waited_for_victim",
            "leader": elected["leader"],
            "victims": back,
            "quorum": quorum,
            "at_s": elected["s"],
            "text": (
                f"the new quorum ({elected['leader']} with {others}) formed only once the "
                f"killed {', '.join(back)} was back, {elected['s']:.2f} s after the fault "
                f"({how}); the surviving peers alone could not form one"
            ),
        }
    ]
