#!/bin/bash
# e2e_restart.sh - restarting a --reuseport process under steady traffic.
#
# Runs tests/e2e_restart.py in a network namespace of its own (unshare
# --net), with loopback up and net.ipv4.tcp_migrate_req=1 there only, the
# setting doc/production.md recommends: the host's settings are not touched.
# Skips (exit 0) only when a namespace cannot be made (not root, or no
# CAP_SYS_ADMIN in a container). SERVER (default ./server) is the binary
# under test. Takes about 15 s.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ -z "${E2E_RESTART_NETNS:-}" ]; then
    if ! unshare --net true 2>/dev/null; then
        echo "SKIP e2e_restart: cannot create a network namespace (needs root)"
        exit 0
    fi
    E2E_RESTART_NETNS=1 exec unshare --net bash "$0" "$@"
fi
ip link set lo up || exit 1
echo 1 >/proc/sys/net/ipv4/tcp_migrate_req || exit 1
exec python3 tests/e2e_restart.py
