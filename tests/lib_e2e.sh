# lib_e2e.sh - shared by the bash end-to-end suites (sourced, not run).
#
# Expects PY (a python3) and TMP (a scratch directory, removed on exit) to be
# set. Gives: PIDS (append the PIDs of what you start: they are stopped on
# exit), ok/bad/check/eq/report (lib_check.sh), free_port, start_sink (an
# SMTP sink) and start_server.

# shellcheck source=tests/lib_check.sh
source tests/lib_check.sh

PIDS=()

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

free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_sink NAME ARGS...: an SMTP sink storing into $TMP/NAME; sets SINK_PORT.
start_sink() {
    local name=$1
    shift
    SINK_PORT=$(free_port)
    mkdir -p "$TMP/$name"
    $PY tests/smtp_sink.py --port "$SINK_PORT" --store "$TMP/$name" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q ready "$TMP/$name.out" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "smtp_sink.py $name did not start:" >&2
    cat "$TMP/$name.err" >&2
    exit 1
}

# start_server NAME [VAR=VALUE...] -- FLAGS...: sets SERVER_PORT and SERVER_PID.
start_server() {
    local name=$1
    shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    [ "${1:-}" = "--" ] && shift
    local port
    port=$(free_port)
    env "${envs[@]}" "$SERVER" --port "$port" --quiet "$@" >"$TMP/server-$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/echo/up" 2>/dev/null; then
            SERVER_PORT=$port
            return 0
        fi
        sleep 0.1
    done
    echo "server $name did not start:" >&2
    cat "$TMP/server-$name.log" >&2
    exit 1
}
