"""The HTML report opened in headless Chromium: it renders, shows the verdict, images load.

Needs Debian's `chromium` package (`.ci/run` installs it); skipped with a reason when
it is missing. Chromium gets its own profile directory and no network features, so it
neither reads nor leaves state outside the test's temporary directory.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from peerchaos.report import write_reports
from peerchaos.report.evidence import load
from peerchaos.report.verdict import judge
from peerchaos.rundir import RunDir

DATA = Path(__file__).parent / "data" / "report"
KILL = DATA / "zk-leader-kill" / "20261126T215121Z-e0cb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1400, 2000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("html")
    run = RunDir(shutil.copytree(KILL, tmp / "run"))
    return write_reports(run)["report.html"], tmp


def test_the_report_renders_with_its_images(page: tuple[Path, Path]) -> None:
    html, tmp = page
    shot = tmp / "report.png"
    done = chromium(
        tmp / "profile-shot",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        html.as_uri(),
    )
    assert shot.exists(), done.stderr[-2000:]
    assert shot.stat().st_size > 100_000  # a page of text, tables and figures, not a blank
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        colours = image.convert("RGB").resize((350, 500)).getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 500  # figures drawn, not an empty page


def test_the_dom_shows_the_verdict_and_every_image_is_inline_png(page: tuple[Path, Path]) -> None:
    html, tmp = page
    done = chromium(tmp / "profile-dom", "--dump-dom", html.as_uri())
    dom = done.stdout
    assert "</html>" in dom, done.stderr[-2000:]
    evidence = load(RunDir(html.parent))
    verdict = judge(evidence.summary, evidence.journal, evidence.status)
    assert verdict.headline in dom
    assert dom.index(verdict.headline) < dom.index('id="figures"')
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', dom)
    assert len(sources) == 7
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.verify()  # a whole PNG: it loads
    assert "http://" not in dom and "https://" not in dom  # nothing fetched from outside


STALE = DATA / "zk-leader-kill-stale" / "20261201T093939Z-d5f3"


def test_the_rendered_page_shows_redundancy_and_the_stale_address(tmp_path: Path) -> None:
    run = RunDir(shutil.copytree(STALE, tmp_path / "run"))
    html = write_reports(run)["report.html"]
    done = chromium(tmp_path / "profile", "--dump-dom", html.as_uri())
    dom = done.stdout
    assert "</html>" in dom, done.stderr[-2000:]
    summary = json.loads(run.summary.read_text())
    second = summary["trials"][1]
    metrics = summary["metrics"]["full_redundancy_s"]
    key_figures = dom[dom.index('id="metrics"') : dom.index('id="figures"')]
    assert "full redundancy (every peer serving again)" in key_figures
    assert f"{metrics['p95']:.3f} s" in key_figures
    trials = dom[dom.index('id="trials"') :]
    # Trial 2 starts from the back-to-back kill: marked † (after-effects) when they apply.
    row = re.search(r"<tr><td>2(?: †)?</td>(.*?)</tr>", trials, re.S)
    assert row is not None
    assert f"{second['full_redundancy_s']:.3f} s" in row.group(1)
    notes = trials[trials.index('id="trial-notes-2"') :]
    assert "zk-0 kept dialling zk-2 at its old address 10.244.0.12" in notes[:4000]
    assert len(re.findall(r'<img[^>]*\ssrc="data:image/png;base64,', dom)) == 7
