"""The doctor on this machine (root, everything installed) and with parts taken away."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from peerchaos.doctor import Check, diagnose, format_checks, ready

NAMES = ["java", "zookeeper jars", "slf4j-simple", "root", "iproute2", "iptables", "dig"]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="this machine's doctor runs as root")


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.fixture
def path_without_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding ip, iptables and dig (linked from this machine) but no java."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ip", "iptables", "dig"):
        found = shutil.which(tool)
        assert found, f"{tool} must be installed on this machine"
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@needs_root
def test_this_machine_is_ready() -> None:
    checks = diagnose()
    assert [check.name for check in checks] == NAMES
    assert all(isinstance(check, Check) for check in checks)
    failing = [check for check in checks if not check.ok]
    assert failing == []
    assert ready(checks)
    assert all(check.fix is None for check in checks)
    assert all(check.detail and "\n" not in check.detail for check in checks)
    found = _by_name(checks)
    assert found["java"].detail.startswith(("openjdk version", "java version"))
    assert "/usr/share/java/zookeeper.jar" in found["zookeeper jars"].detail
    assert "/usr/share/java/zookeeper-jute.jar" in found["zookeeper jars"].detail
    assert "`ip netns list` works" in found["iproute2"].detail
    assert "`iptables -L -n` works" in found["iptables"].detail
    # As root, network namespaces and partitions are in use, so their tools are required.
    assert [check.name for check in checks if not check.required] == ["root", "dig"]


def test_check_is_frozen() -> None:
    check = Check("java", True, "openjdk")
    assert (check.fix, check.required) == (None, True)
    with pytest.raises(AttributeError):
        check.ok = False  # type: ignore[misc]


def test_path_without_java_fails_the_java_check(path_without_java: Path) -> None:
    checks = diagnose()
    java = _by_name(checks)["java"]
    assert java == Check("java", False, "java not found on PATH", "apt-get install -y zookeeper")
    assert not ready(checks)
    assert [check.name for check in checks if not check.ok] == ["java"]
    text = format_checks(checks)
    assert "FAIL  java" in text
    assert "fix: apt-get install -y zookeeper" in text
    assert text.splitlines()[-1] == "not ready: java failed"


def test_broken_java_fails_with_its_output(path_without_java: Path) -> None:
    fake = path_without_java / "java"
    fake.write_text("#!/bin/sh\necho 'Error: could not find libjava.so' >&2\nexit 1\n")
    fake.chmod(0o755)
    java = _by_name(diagnose())["java"]
    assert not java.ok
    assert java.detail == f"{fake} -version failed (exit 1: Error: could not find libjava.so)"
    assert java.fix == "apt-get install -y zookeeper"


@needs_root
def test_empty_path_names_every_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    checks = _by_name(diagnose())
    assert {name: check.fix for name, check in checks.items() if not check.ok} == {
        "java": "apt-get install -y zookeeper",
        "iproute2": "apt-get install -y iproute2",
        "iptables": "apt-get install -y iptables",
        "dig": "apt-get install -y dnsutils",
    }
    assert checks["dig"].detail == "dig not found on PATH"
    assert not checks["dig"].required


def test_missing_jars_name_the_files_and_the_package(tmp_path: Path) -> None:
    (tmp_path / "zookeeper.jar").write_bytes(b"PK")
    checks = _by_name(diagnose(java_dir=tmp_path))
    jars = checks["zookeeper jars"]
    assert not jars.ok
    assert jars.detail == f"missing {tmp_path / 'zookeeper-jute.jar'}"
    assert jars.fix == "apt-get install -y zookeeper"
    slf4j = checks["slf4j-simple"]
    assert not slf4j.ok
    assert "logs nothing" in slf4j.detail
    assert slf4j.fix == "apt-get install -y libslf4j-java"
    assert not ready(checks.values())


def test_optional_failures_do_not_stop_readiness() -> None:
    checks = [
        Check("java", True, "openjdk"),
        Check("dig", False, "dig not found on PATH", "apt-get install -y dnsutils", False),
    ]
    assert ready(checks)
    assert format_checks(checks).splitlines() == [
        "ok    java  openjdk",
        "warn  dig   dig not found on PATH",
        "            fix: apt-get install -y dnsutils",
        "ready",
    ]


@needs_root
def test_format_this_machine() -> None:
    checks = diagnose()
    rows = format_checks(checks).splitlines()
    assert rows[-1] == "ready"
    assert len(rows) == len(NAMES) + 1
    assert all(row.startswith("ok    ") for row in rows[:-1])
    # Details start in one column, whatever the name's length.
    assert len({row.index(check.detail) for row, check in zip(rows[:-1], checks, strict=True)}) == 1
