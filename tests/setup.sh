#!/bin/bash
# Installs what the test suites need, when it is missing (Debian/Ubuntu).
# Used by the README's test command and by CI; safe to run again.
set -e
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in build-essential libcmocka-dev curl netcat-openbsd python3 python3-aiosmtpd gzip \
           openssl ca-certificates clang libclang-rt-dev util-linux iproute2 procps haproxy \
           groff-base man-db; do
    have_pkg "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    SUDO=
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
