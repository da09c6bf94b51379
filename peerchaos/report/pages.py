"""Rendering pages from the Jinja2 templates under `workloads/report/`.

HTML pages are self-contained: images are inlined as base64 `data:` URIs and the style
sheet is inlined, so a report mailed or archived alone still reads offline. Markdown
pages link `plots/*.png` relative to themselves, for a pull-request comment or a wiki
that keeps the run directory beside the page.
"""

from __future__ import annotations

import base64
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

# Editable installs (the README's setup) find the repository's workloads/ here;
# PEERCHAOS_WORKLOADS points elsewhere for other layouts (as for the manifests).
TEMPLATES = (
    Path(os.environ.get("PEERCHAOS_WORKLOADS", Path(__file__).parents[2] / "workloads")) / "report"
)


def data_uri(path: Path | str) -> str:
    """A PNG file as a `data:` URI (empty when the file is missing)."""
    try:
        payload = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError:
        return ""
    return f"data:image/png;base64,{payload}"


def inline_code(value: Any) -> Markup:
    """Escaped text with its `backticked` settings as <code> (as Markdown shows them)."""
    escaped = str(escape(str(value)))
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped))


def md_cell(value: Any) -> str:
    """A value safe inside a Markdown table cell: no pipes, no line breaks."""
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


def badge(valid: Any) -> str:
    """A checker's answer as a word: true, false or unknown."""
    if valid is True:
        return "true"
    if valid is False:
        return "false"
    return "unknown"


def met(value: bool | None) -> str:
    return {True: "met", False: "NOT met"}.get(value, "—")  # type: ignore[call-overload]


def met_class(value: bool | None) -> str:
    return {True: "met", False: "not"}.get(value, "none")  # type: ignore[call-overload]


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,  # a template typo fails loudly in tests
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        data_uri=data_uri,
        md_cell=md_cell,
        badge=badge,
        met=met,
        met_class=met_class,
        inline_code=inline_code,
    )
    # Our own file, inlined verbatim: escaping would turn its quotes into entities.
    env.globals["stylesheet"] = lambda: Markup((TEMPLATES / "style.css").read_text())
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    return _environment(True).get_template(template).render(**context)


def render_markdown(template: str, context: dict[str, Any]) -> str:
    return _environment(False).get_template(template).render(**context)


def write_text(path: Path, text: str) -> Path:
    """Write via a temporary file, so a reader never sees half a page."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
