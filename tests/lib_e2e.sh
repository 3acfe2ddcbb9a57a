# lib_e2e.sh - shared by the bash end-to-end suites (sourced, not run).
#
# Expects PY (a python3) and TMP (a scratch directory, removed on exit) to be
# set. Gives: PIDS (append the PIDs of what you start: they are stopped on
# exit), ok/bad/check to count results, and free_port.

PIDS=()
PASSED=0
FAILED=0

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
    PASSED=$((PASSED + 1))
    echo "ok   $1"
}

bad() {
    FAILED=$((FAILED + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && echo "     $2"
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        bad "$name" "$out"
    fi
}

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
