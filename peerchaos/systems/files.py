"""What every system does the same way with its files: a run's peer logs and its
container template.

- `parse_folder`: every `<pod>.log` of a folder through a system's one-log parser, the
  events ordered by time;
- `log_heads`: the first bytes of each log, where a server names its version;
- `render_container`: a system's `manifests/container.yaml.j2`, rendered strictly (an
  unknown name is an error, not an empty string) to one mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import yaml

# A server names its version in the first lines of every start.
LOG_HEAD_BYTES = 64 * 1024


def parse_folder(
    folder: Path, parse_log: Callable[[str, str], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """All peers' ground-truth events (`parse_log(pod, text)` per log), ordered by time."""
    events: list[dict[str, Any]] = []
    for log in sorted(folder.glob("*.log")):
        events += parse_log(log.stem, log.read_text(errors="replace"))
    return sorted(events, key=lambda e: e["t"])


def log_heads(folder: Path) -> Iterator[str]:
    """The head of each peer log in `folder` (none when it is not a folder)."""
    for log in sorted(folder.glob("*.log")) if folder.is_dir() else []:
        try:
            with log.open("rb") as handle:
                yield handle.read(LOG_HEAD_BYTES).decode(errors="replace")
        except OSError:
            continue


def render_container(templates: Path, **values: Any) -> dict[str, Any]:
    """`templates/container.yaml.j2` rendered with `values`, as one mapping."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return yaml.safe_load(environment.get_template("container.yaml.j2").render(**values))
