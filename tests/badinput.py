"""Shared by the bad-input tests: what "refused in one line, nothing started" means."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from peerchaos.cli import main

PEERCHAOS = str(Path(sys.executable).parent / "peerchaos")
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture()
def nothing_started(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No process may be left by the test, and no temp dir: a session's own state dir
    (`tempfile.mkdtemp`) would land in the private temp dir yielded here."""
    private = tmp_path_factory.mktemp("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    processes = children()
    yield private
    assert children() <= processes
    assert list(private.iterdir()) == []


def refused_in_one_line(args: list[str], code: int = 2) -> str:
    """Run the real command group; the single stderr line it printed."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, (args, result.output)
    assert result.stdout == "", (args, result.stdout)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert lines[0].startswith("peerchaos: ") and "Traceback" not in lines[0]
    return lines[0]


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text
