"""Where a run's registry goes besides stdout: a Pushgateway, or node_exporter's textfile dir.

A push is a PUT of the group `job="peerchaos", experiment=<experiment>`: it replaces what
the previous run of the experiment pushed, so a statistic that is censored tonight (and
so absent from `_seconds`) does not linger with last night's value. The textfile is
written to a temporary name in the same directory and renamed over
`peerchaos_<experiment>.prom`, so the collector never reads half a file. Both take their
destination as input and check it first: a bad one is one line, never a traceback.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile

from peerchaos.errors import PeerchaosError, UsageError

JOB = "peerchaos"
PUSH_TIMEOUT_S = 10.0
# node_exporter reads *.prom; anything else in an experiment's name becomes "_".
UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class PushFailed(PeerchaosError):
    """The Pushgateway could not be reached or refused the push (exit code 1)."""


def gateway_url_problem(url: str) -> str | None:
    """What is wrong with `url` as a Pushgateway's address, or None."""
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        return f"must be an http:// or https:// URL like http://pushgateway:9091 (got {url!r})"
    if parts.query or parts.fragment:
        return f"a Pushgateway URL takes no query or fragment (got {url!r})"
    return None


def check_gateway_url(url: str) -> str:
    problem = gateway_url_problem(url)
    if problem:
        raise UsageError(f"--push: {problem}")
    return url


def push_to_pushgateway(registry: CollectorRegistry, url: str, experiment: str) -> None:
    """PUT the registry as job `peerchaos`, grouped by experiment; PushFailed says why not."""
    check_gateway_url(url)
    try:
        push_to_gateway(
            url,
            job=JOB,
            registry=registry,
            grouping_key={"experiment": experiment},
            timeout=PUSH_TIMEOUT_S,
        )
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace").strip().replace("\n", " ")[:200]
        raise PushFailed(
            f"push to {url}: the Pushgateway answered {error.code} {error.reason}"
            + (f": {body}" if body else "")
        ) from None
    except urllib.error.URLError as error:
        raise PushFailed(f"push to {url}: unreachable ({error.reason})") from None
    except (OSError, http.client.HTTPException) as error:
        reason = str(error) or error.__class__.__name__
        raise PushFailed(f"push to {url}: failed ({reason})") from None


def textfile_path(directory: Path, experiment: str) -> Path:
    return directory / f"peerchaos_{UNSAFE_IN_FILE_NAME.sub('_', experiment)}.prom"


def check_textfile_dir(directory: Path) -> Path:
    if not directory.exists():
        raise UsageError(f"--textfile {directory}: no such directory")
    if not directory.is_dir():
        raise UsageError(f"--textfile {directory}: not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"--textfile {directory}: not writable by this user")
    return directory


def write_textfile(registry: CollectorRegistry, directory: Path, experiment: str) -> Path:
    """Write `peerchaos_<experiment>.prom` in Prometheus' text format, atomically."""
    check_textfile_dir(directory)
    path = textfile_path(directory, experiment)
    if path.is_dir():
        raise UsageError(f"--textfile {directory}: {path.name} is a directory")
    try:
        # A temporary file beside it, then rename(2): readers see the old file or the new.
        write_to_textfile(str(path), registry)
    except OSError as error:
        raise PeerchaosError(f"--textfile {path}: {error.strerror or error}") from None
    return path
