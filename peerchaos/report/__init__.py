"""Plots and reports: what happened in a run on one page, and how runs trend over time.

`write_reports(run)` writes a run directory's `plots/*.png`, `report.html` (self-contained)
and `report.md` from its files alone; `peerchaos report` and `peerchaos trend`
(`commands.py`) are the command-line side. Matplotlib is imported only when a report is
written, so importing this package (as the CLI does) stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peerchaos.rundir import RunDir

__all__ = ["write_reports"]


def write_reports(run: RunDir) -> dict[str, Path]:
    """Write the run's figures and pages; returns them keyed by path relative to the run.

    Keys: `report.html`, `report.md` and `plots/<name>.png` for each figure drawn. Never
    raises on a partial run (no journal, no trials, broken files): what is missing is
    said on the page instead.
    """
    from peerchaos.report.build import write_reports as write

    return write(run)
