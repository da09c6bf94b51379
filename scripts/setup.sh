#!/usr/bin/env bash
# Install what peerchaos needs on a fresh Debian/Ubuntu machine (as root), idempotently:
# ZooKeeper (OpenJDK comes with it), etcd (Debian's etcd-server, 3.4), iproute2 and
# iptables for pod networks and partitions, dnsutils for dig, Prometheus and its
# Pushgateway (the export tests start both on loopback), and the Python package with its
# test extras in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -e /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
[ -e /usr/share/java/slf4j-simple.jar ] || need+=(libslf4j-java)
[ -x /usr/bin/etcd ] || need+=(etcd-server)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables >/dev/null || need+=(iptables)
command -v dig >/dev/null || need+=(dnsutils)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# Headless Chromium renders the HTML report in the tests (they skip without it).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import peerchaos, pytest, kazoo, dnslib' 2>/dev/null \
    || [ pyproject.toml -nt .venv/.peerchaos-installed ]; then
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -e '.[test]'
    touch .venv/.peerchaos-installed
fi
