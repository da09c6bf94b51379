"""Exports of one run's results into the tools an SRE already watches.

`record.load_run` reads and checks a run directory (summary.json required, meta.json and
journal.json when present); `openmetrics` turns its figures into a Prometheus registry
(printed as OpenMetrics text, pushed to a Pushgateway or written for node_exporter's
textfile collector by `push`); `junit` turns its steady-state probes and checks into JUnit
XML for CI dashboards. Like the checks and the report, they read only the run's files.
"""

from peerchaos.export.junit import junit_xml
from peerchaos.export.openmetrics import openmetrics_text, run_registry
from peerchaos.export.push import push_to_pushgateway, write_textfile
from peerchaos.export.record import RunRecord, load_run

__all__ = [
    "RunRecord",
    "junit_xml",
    "load_run",
    "openmetrics_text",
    "push_to_pushgateway",
    "run_registry",
    "write_textfile",
]
