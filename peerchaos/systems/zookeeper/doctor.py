"""What the local runtime needs to run ZooKeeper here: java, the ZooKeeper jars, slf4j-simple.

Debian's `zookeeper` package brings the jars (and a JRE); without `libslf4j-java`'s
slf4j-simple on the classpath the server logs nothing, and peerchaos reads its logs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from peerchaos.doctor import JAVA_TIMEOUT_S, Check, run_read_only

JAVA_DIR = Path("/usr/share/java")
ZOOKEEPER_JARS = ("zookeeper.jar", "zookeeper-jute.jar")
SLF4J_SIMPLE_JAR = "slf4j-simple.jar"
INSTALL_ZOOKEEPER = "apt-get install -y zookeeper"  # depends on default-jre: java comes along
INSTALL_SLF4J = "apt-get install -y libslf4j-java"


def _java() -> Check:
    java = shutil.which("java")
    if java is None:
        return Check("java", False, "java not found on PATH", INSTALL_ZOOKEEPER)
    ok, line = run_read_only([java, "-version"], JAVA_TIMEOUT_S)
    if not ok:
        return Check("java", False, f"{java} -version failed ({line})", INSTALL_ZOOKEEPER)
    return Check("java", True, f"{line} ({java})")


def _jars(name: str, jars: Iterable[str], java_dir: Path, fix: str, why: str = "") -> Check:
    paths = [java_dir / jar for jar in jars]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        return Check(name, False, f"missing {', '.join(missing)}{why}", fix)
    return Check(name, True, ", ".join(str(path) for path in paths))


def local_checks(java_dir: Path | None = None) -> list[Check]:
    """java, the ZooKeeper jars and slf4j-simple (in `java_dir`, /usr/share/java by default)."""
    java_dir = JAVA_DIR if java_dir is None else java_dir
    return [
        _java(),
        _jars("zookeeper jars", ZOOKEEPER_JARS, java_dir, INSTALL_ZOOKEEPER),
        _jars(
            "slf4j-simple",
            [SLF4J_SIMPLE_JAR],
            java_dir,
            INSTALL_SLF4J,
            " (without it the ZooKeeper server logs nothing)",
        ),
    ]
