#!/usr/bin/env bash
# Load benchmark: ./server against nginx, h2o and lighttpd on loopback.
#
#   make bench                          builds ./server, then runs this
#   RUNS=3 DURATION=5 bash bench/run.sh
#   QUICK=1 bash bench/run.sh           1 run of 2 s per cell: a smoke test
#   ROWS="small json" SERVERS="server nginx" CONNS=50 bash bench/run.sh
#
# Environment:
#   RUNS         measured runs per cell; the table quotes medians, and its
#                ratios to peers run by run (default 3)
#   DURATION     seconds per measured run (default 3)
#   WARMUP       seconds of the unmeasured warm-up run per cell (default 1)
#   QUICK=1      defaults RUNS=1 DURATION=2
#   ROWS         any of: small hello echo 100k 1m json (default: all)
#   SERVERS      any of: server nginx h2o lighttpd (default: all)
#   CONNS        wrk connection counts (default: "1 50 1000")
#   SERVER_CPU   CPU the servers are pinned to (default 1)
#   CLIENT_CPU   CPU wrk is pinned to (default 0)
#   WRK_TIMEOUT  wrk --timeout (default 2s)
#   PEER_GZIP    dynamic (default): peers compress every JSON response, as
#                configured in the templates; cached: peers avoid that too,
#                like ./server's in-memory cache (nginx gzip_static and h2o
#                file.send-compressed with a data.json.gz beside data.json,
#                lighttpd deflate.cache-dir)
#   SERVER_BIN   our binary (default ./server)
#   KEEP_TMP=1   keep the temp dir (configs, logs, wrk outputs) for a look
#
# Time: every cell (server x row x connection count) costs WARMUP + RUNS x
# DURATION seconds of wrk plus about 2 s of setup. The defaults (4 servers x
# 6 rows x 3 counts = 72 cells at 1 + 3 x 3 s) take about 15 minutes;
# RUNS=3 DURATION=5 takes about 22, QUICK=1 about 5. Narrow ROWS, SERVERS or
# CONNS for less.
#
# Nothing is installed. wrk and ./server are required; peers that are missing
# are named and left out. Each server runs with one worker on loopback, pinned
# to SERVER_CPU, with wrk -t1 pinned to CLIENT_CPU; runs of the servers are
# interleaved, each run starting with the next server, so that drifting
# background load hits all of them alike. Before a server is measured on a
# row, curl checks that it serves it (status 200, the exact fixture bytes;
# for JSON, Content-Encoding: gzip and a body that decompresses to the
# fixture). The table goes to stdout, progress to stderr.
# All processes started here are stopped on exit, Ctrl-C included.

set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BENCH=bench

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# ---------------------------------------------------------------- settings

if [ "${QUICK:-0}" = 1 ]; then
    : "${RUNS:=1}" "${DURATION:=2}"
fi
: "${RUNS:=3}" "${DURATION:=3}" "${WARMUP:=1}"
: "${CONNS:=1 50 1000}" "${WRK_TIMEOUT:=2s}"
: "${SERVER_CPU:=1}" "${CLIENT_CPU:=0}"
: "${SERVER_BIN:=./server}" "${KEEP_TMP:=0}"
: "${PEER_GZIP:=dynamic}"
case $PEER_GZIP in
dynamic | cached) ;;
*) die "PEER_GZIP must be dynamic or cached, not '$PEER_GZIP'" ;;
esac
ALL_ROWS="small hello echo 100k 1m json"
ALL_SERVERS="server nginx h2o lighttpd"
: "${ROWS:=$ALL_ROWS}" "${SERVERS:=$ALL_SERVERS}"

for v in RUNS DURATION WARMUP SERVER_CPU CLIENT_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$RUNS" -ge 1 ] && [ "$DURATION" -ge 1 ] || die "RUNS and DURATION must be at least 1"
for c in $CONNS; do
    [[ $c =~ ^[0-9]+$ ]] && [ "$c" -ge 1 ] || die "CONNS: '$c' is not a connection count"
done
for r in $ROWS; do
    [[ " $ALL_ROWS " == *" $r "* ]] || die "ROWS: unknown row '$r' (rows: $ALL_ROWS)"
done
for s in $SERVERS; do
    [[ " $ALL_SERVERS " == *" $s "* ]] || die "SERVERS: unknown server '$s' (servers: $ALL_SERVERS)"
done
[ -n "$ROWS" ] && [ -n "$SERVERS" ] && [ -n "$CONNS" ] || die "ROWS, SERVERS and CONNS must not be empty"

row_path() {
    case $1 in
    small) echo /small.html ;;
    hello) echo /hello.txt ;;
    echo) echo /echo/hi ;;
    100k) echo /file-100k.bin ;;
    1m) echo /file-1m.bin ;;
    json) echo /data.json ;;
    esac
}

# ---------------------------------------------------------------- tools

find_tool() { # name -> path on stdout, also looking in sbin dirs
    local p
    p=$(command -v "$1" 2>/dev/null) && { echo "$p"; return 0; }
    for p in /usr/sbin/$1 /sbin/$1 /usr/local/sbin/$1; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}

missing=()
for t in wrk taskset setsid pgrep curl python3 gzip getconf; do
    find_tool "$t" >/dev/null || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
    die "required tools missing: ${missing[*]} (Debian: apt-get install wrk util-linux procps curl python3 gzip)"
fi
WRK=$(find_tool wrk)

declare -A BIN
ACTIVE=()
absent=()
for s in $SERVERS; do
    if [ "$s" = server ]; then
        [ -x "$SERVER_BIN" ] || die "$SERVER_BIN not found: build it first (make server, or make bench)"
        BIN[server]=$SERVER_BIN
        ACTIVE+=(server)
    elif BIN[$s]=$(find_tool "$s"); then
        ACTIVE+=("$s")
    else
        absent+=("$s")
    fi
done
if [ ${#absent[@]} -gt 0 ]; then
    say "not installed, so not benched: ${absent[*]}"
    say "to bench every peer: apt-get install wrk nginx h2o lighttpd"
fi
[ ${#ACTIVE[@]} -gt 0 ] || die "no server left to bench"

ncpu=$(getconf _NPROCESSORS_ONLN)
for c in "$SERVER_CPU" "$CLIENT_CPU"; do
    [ "$c" -lt "$ncpu" ] || die "CPU $c does not exist here ($ncpu CPUs): set SERVER_CPU / CLIENT_CPU"
done
[ "$SERVER_CPU" != "$CLIENT_CPU" ] || say "warning: server and wrk share CPU $SERVER_CPU"
CLK_TCK=$(getconf CLK_TCK)

# 1000 connections need 1000 sockets in wrk and in the server, plus room.
max_conns=0
for c in $CONNS; do [ "$c" -gt "$max_conns" ] && max_conns=$c; done
want_fds=16384
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge "$want_fds" ] || want_fds=$hard
ulimit -Sn "$want_fds" 2>/dev/null || say "warning: could not raise ulimit -n to $want_fds"
[ "$(ulimit -Sn)" = unlimited ] || [ "$(ulimit -Sn)" -ge $((max_conns + 64)) ] ||
    die "ulimit -n is $(ulimit -Sn), too low for $max_conns connections (hard limit $hard)"

# ---------------------------------------------------------------- cleanup

TMP=$(mktemp -d "${TMPDIR:-/tmp}/server-bench.XXXXXX") || die "mktemp failed"
declare -A PG PORT
WRK_PID=

cleanup() {
    trap - EXIT INT TERM HUP
    local pg n
    [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null
    for pg in "${PG[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
    for n in $(seq 50); do
        local alive=0
        for pg in "${PG[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for pg in "${PG[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
    if [ "$KEEP_TMP" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

RESULTS=$TMP/results.tsv
: >"$RESULTS"
record() { # fields... -> one tab-separated line of RESULTS
    local IFS=$'\t'
    printf '%s\n' "$*" >>"$RESULTS"
}

# A copy of our binary, so that a rebuild during the run changes nothing.
if [ -n "${BIN[server]:-}" ]; then
    cp "${BIN[server]}" "$TMP/server.bin" || die "cannot copy ${BIN[server]}"
    BIN[server]=$TMP/server.bin
fi
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# ---------------------------------------------------------------- fixtures

ROOT=$TMP/www
gz_flag=()
[ "$PEER_GZIP" = cached ] && gz_flag=(--gz)
python3 "$BENCH/fixtures.py" "${gz_flag[@]}" "$ROOT" || die "could not write the fixtures"

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

render() { # template port -> rendered on stdout
    local gz='/^@GZCACHED@/d'
    [ "$PEER_GZIP" = cached ] && gz='s/^@GZCACHED@//'
    sed -e "s|@PORT@|$2|g" -e "s|@ROOT@|$ROOT|g" -e "s|@TMP@|$TMP|g" -e "s|@USER@|$(id -un)|g" \
        -e "$gz" "$BENCH/$1"
}

# ---------------------------------------------------------------- servers

declare -A DEAD
LIGHTTPD_GZIP=yes

start() { # name -> 0 once it answers; sets PG[name], PORT[name]
    local name=$1 port dir=$TMP/$1 cmd pid n
    port=$(free_port) || return 1
    mkdir -p "$dir"
    case $name in
    server)
        cmd=("${BIN[server]}" --threads 1 --quiet --directory "$ROOT" --port "$port"
            --max-requests 1000 --gzip-level 6)
        ;;
    nginx)
        render nginx.conf.in "$port" >"$dir/nginx.conf"
        cmd=("${BIN[nginx]}" -p "$dir/" -c "$dir/nginx.conf" -g 'daemon off;')
        ;;
    h2o)
        render h2o.conf.in "$port" >"$dir/h2o.conf"
        cmd=("${BIN[h2o]}" -c "$dir/h2o.conf")
        ;;
    lighttpd)
        render lighttpd.conf.in "$port" | sed 's/^@DEFLATE@//' >"$dir/lighttpd.conf"
        if ! "${BIN[lighttpd]}" -tt -f "$dir/lighttpd.conf" >"$dir/check.log" 2>&1; then
            say "lighttpd: mod_deflate does not load ($(head -n1 "$dir/check.log")); no gzip there"
            LIGHTTPD_GZIP=no
            render lighttpd.conf.in "$port" | sed '/^@DEFLATE@/d' >"$dir/lighttpd.conf"
        fi
        cmd=("${BIN[lighttpd]}" -D -f "$dir/lighttpd.conf")
        ;;
    esac
    # Not a process group leader here, so setsid does not fork: $! is the
    # server itself, leader of a new session and process group.
    setsid taskset -c "$SERVER_CPU" "${cmd[@]}" </dev/null >"$dir/out.log" 2>&1 &
    pid=$!
    PG[$name]=$pid
    PORT[$name]=$port
    for n in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited at start:"
            tail -n 5 "$dir/out.log" "$dir"/error.log 2>/dev/null | sed 's/^/    /' >&2
            return 1
        fi
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/hello.txt" && break
        sleep 0.1
    done
    [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ] || {
        say "$name: not in a process group of its own"
        return 1
    }
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/hello.txt" || {
        say "$name does not answer on port $port"
        return 1
    }
}

version_of() {
    case $1 in
    server) "${BIN[server]}" -V 2>&1 | head -n1 ;;
    nginx) "${BIN[nginx]}" -v 2>&1 | sed 's/^nginx version: //' ;;
    h2o) "${BIN[h2o]}" --version 2>&1 | head -n1 ;;
    lighttpd) "${BIN[lighttpd]}" -v 2>&1 | head -n1 | sed 's/ - .*//' ;;
    esac
}

cpu_ticks() { # pgid -> utime+stime+cutime+cstime summed over the group
    local p line rest total=0 f
    for p in $(pgrep -g "$1"); do
        read -r line 2>/dev/null <"/proc/$p/stat" || continue
        rest=${line##*) }
        read -ra f <<<"$rest"
        total=$((total + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$total"
}

cpu_stat() { # cpu index -> "busy total" ticks of that CPU from /proc/stat
    # busy: user + nice + system + steal; irq and softirq time are left out,
    # since loopback traffic of the benchmark itself lands there.
    local f
    while read -ra f; do
        if [ "${f[0]}" = "cpu$1" ]; then
            echo "$((f[1] + f[2] + f[3] + f[8])) $((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8]))"
            return
        fi
    done </proc/stat
    echo "0 0"
}

quiesce() { # server -> once its CPU time stops growing (at most 60 s)
    # A server may still be busy with requests that wrk left unanswered when
    # it stopped (e.g. gzip at 1000 connections). That work must not land in
    # the next measurement, of this server or of another on the same CPU.
    local pg=${PG[$1]} a b n
    a=$(cpu_ticks "$pg")
    for n in $(seq 600); do
        sleep 0.1
        b=$(cpu_ticks "$pg")
        [ "$a" = "$b" ] && return 0
        a=$b
    done
    say "$1 still busy 60 s after wrk stopped"
}

children_cpu() { # `times` output file -> CPU seconds of this shell's reaped children
    awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.3f\n", t
    }' "$1"
}

verify() { # server row -> 0 if it serves the row right; else the reason on stdout
    local s=$1 row=$2 path file url code body=$TMP/verify.body head=$TMP/verify.head
    path=$(row_path "$row")
    file=$ROOT$path
    url="http://127.0.0.1:${PORT[$s]}$path"
    if [ "$row" = json ]; then
        if [ "$s" = lighttpd ] && [ $LIGHTTPD_GZIP = no ]; then
            echo "no mod_deflate"
            return 1
        fi
        # A server may compress in the background and send identity until the
        # gzip form is ready: ask for up to 5 s.
        local try
        for try in $(seq 25); do
            code=$(curl -sS --max-time 10 -H 'Accept-Encoding: gzip' -D "$head" -o "$body" -w '%{http_code}' "$url" 2>&1)
            [ "$code" = 200 ] || { echo "HTTP $code"; return 1; }
            grep -qi '^content-encoding:[[:space:]]*gzip' "$head" && break
            sleep 0.2
        done
        grep -qi '^content-encoding:[[:space:]]*gzip' "$head" || { echo "no Content-Encoding: gzip"; return 1; }
        gzip -dc <"$body" 2>/dev/null | cmp -s - "$file" || { echo "gzip body does not match"; return 1; }
        record gzip "$s" "$(wc -c <"$body" | tr -d ' ')"
    else
        code=$(curl -sS --max-time 10 -D "$head" -o "$body" -w '%{http_code}' "$url" 2>&1)
        [ "$code" = 200 ] || { echo "HTTP $code"; return 1; }
        cmp -s "$body" "$file" || {
            echo "body of $(wc -c <"$body" | tr -d ' ') B, want the $(wc -c <"$file" | tr -d ' ') B fixture"
            return 1
        }
    fi
}

alive() { # server -> 0 while its process is there; logs and records the first death
    local s=$1
    [ -z "${DEAD[$s]:-}" ] || return 1
    kill -0 "${PG[$s]}" 2>/dev/null && return 0
    DEAD[$s]=1
    say "!! $s has exited; last lines of its logs:"
    tail -n 5 "$TMP/$s/out.log" "$TMP/$s"/error.log 2>/dev/null | sed 's/^/    /' >&2
    return 1
}

wrk_run() { # server row conns seconds out-file -> wrk's status; sets WRK_CPU, WRK_WALL
    local s=$1 row=$2 c=$3 secs=$4 out=$5 rc
    local hdr=()
    [ "$row" = json ] && hdr=(-H 'Accept-Encoding: gzip')
    local t0=${EPOCHREALTIME:-$(date +%s.%N)}
    times >"$TMP/times.0"
    # In the background so that Ctrl-C reaches the trap at once.
    taskset -c "$CLIENT_CPU" "$WRK" -t1 -c"$c" -d"${secs}s" --timeout "$WRK_TIMEOUT" --latency \
        "${hdr[@]}" "http://127.0.0.1:${PORT[$s]}$(row_path "$row")" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID"
    rc=$?
    WRK_PID=
    times >"$TMP/times.1"
    WRK_WALL=$(awk -v a="$t0" -v b="${EPOCHREALTIME:-$(date +%s.%N)}" 'BEGIN { printf "%.3f", b - a }')
    WRK_CPU=$(awk -v a="$(children_cpu "$TMP/times.0")" -v b="$(children_cpu "$TMP/times.1")" \
        'BEGIN { printf "%.3f", b - a }')
    return $rc
}

# ---------------------------------------------------------------- start, check

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
versions=()
RUNNING=()
for s in "${ACTIVE[@]}"; do
    if start "$s"; then
        RUNNING+=("$s")
        versions+=("$s: $(version_of "$s")")
    else
        record note "!! $s did not start; see the messages above. It is not in the table."
        say "!! $s did not start; going on without it"
    fi
done
[ ${#RUNNING[@]} -gt 0 ] || die "no server started"

declare -A OK # "server row" -> 1 when verified
for row in $ROWS; do
    for s in "${RUNNING[@]}"; do
        if reason=$(verify "$s" "$row"); then
            OK["$s $row"]=1
        else
            say "!! $s fails $(row_path "$row"): $reason; row skipped for $s"
            record skip "$s" "$row" "$reason"
        fi
    done
done

cells=0
for row in $ROWS; do
    for s in "${RUNNING[@]}"; do [ -n "${OK["$s $row"]:-}" ] && cells=$((cells + $(wc -w <<<"$CONNS"))); done
done
est=$((cells * (WARMUP + RUNS * DURATION) + cells * (RUNS + 1) * 11 / 20))
say "servers: ${RUNNING[*]}; rows: $ROWS; connections: $CONNS"
say "$cells cells x (${WARMUP} s warm-up + $RUNS x ${DURATION} s): about $((est / 60)) min $((est % 60)) s"

# ---------------------------------------------------------------- measure

mkdir -p "$TMP/wrk"
done_cells=0
for row in $ROWS; do
    for c in $CONNS; do
        here=()
        for s in "${RUNNING[@]}"; do
            [ -n "${OK["$s $row"]:-}" ] || continue
            if ! alive "$s"; then
                record fail "$s" "$row" "$c" "server had exited"
                continue
            fi
            here+=("$s")
            wrk_run "$s" "$row" "$c" "$WARMUP" "$TMP/wrk/$s-$row-$c-warmup.txt" ||
                say "$s $row c=$c: warm-up wrk failed: $(head -n1 "$TMP/wrk/$s-$row-$c-warmup.txt")"
            quiesce "$s"
        done
        for run in $(seq "$RUNS"); do
            # Each run starts with the next server, so none is always first
            # after the pause between runs.
            k=$(((run - 1) % (${#here[@]} > 0 ? ${#here[@]} : 1)))
            for s in "${here[@]:k}" "${here[@]:0:k}"; do
                if ! alive "$s"; then
                    record fail "$s" "$row" "$c" "server exited during the runs"
                    continue
                fi
                out=$TMP/wrk/$s-$row-$c-$run.txt
                read -r busy0 total0 <<<"$(cpu_stat "$SERVER_CPU")"
                before=$(cpu_ticks "${PG[$s]}")
                if wrk_run "$s" "$row" "$c" "$DURATION" "$out"; then
                    after=$(cpu_ticks "${PG[$s]}")
                    read -r busy1 total1 <<<"$(cpu_stat "$SERVER_CPU")"
                    # CPU time others took on the server's CPU meanwhile, in percent.
                    bg=$(awk -v b=$((busy1 - busy0)) -v t=$((total1 - total0)) -v s=$((after - before)) \
                        'BEGIN { v = t > 0 ? (b - s) * 100 / t : 0; printf "%.1f", v < 0 ? 0 : v }')
                    record run "$s" "$row" "$c" "$run" "$((after - before))" "$WRK_CPU" "$WRK_WALL" "$bg" "$out"
                    say "$s $(row_path "$row") c=$c run $run/$RUNS: $(python3 "$BENCH/report.py" summary "$out")"
                else
                    record fail "$s" "$row" "$c" "wrk failed: $(head -n1 "$out")"
                    say "!! $s $(row_path "$row") c=$c run $run: wrk failed: $(head -n1 "$out")"
                fi
                alive "$s" && quiesce "$s"
            done
        done
        done_cells=$((done_cells + ${#here[@]}))
        say "-- $done_cells/$cells cells done"
    done
done

# ---------------------------------------------------------------- report

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${RUNNING[@]}"; do alive "$s" >/dev/null || record note "!! $s exited during the benchmark."; done
record note "Servers: $(IFS=';'; echo "${versions[*]}" | sed 's/;/; /g'). Client: $("$WRK" -v 2>&1 | head -n1 | sed 's/ Copyright.*//')."
record note "./server (work tree at commit $COMMIT) runs as: ./server --threads 1 --quiet --directory DIR --port P --max-requests 1000 --gzip-level 6."
record note "Each server: one worker, loopback, taskset -c $SERVER_CPU; wrk -t1 under taskset -c $CLIENT_CPU. No access logs; keep-alive on; sendfile on (h2o has no sendfile)."
record note "Request cap per connection: 1000 for ./server, nginx (keepalive_requests) and lighttpd (server.max-keep-alive-requests); h2o has no such setting, so its connections never recycle."
record note "/echo/hi: ./server answers from its /echo route; the peers serve the 2-byte file echo/hi from the same directory."
if [ "$PEER_GZIP" = cached ]; then
    record note "gzip: level 6 everywhere. PEER_GZIP=cached: ./server keeps compressed static files in memory (--gzip-cache); nginx (gzip_static) and h2o (file.send-compressed) send a data.json.gz made beforehand at level 6, lighttpd compresses once into deflate.cache-dir."
else
    record note "gzip: level 6 everywhere (h2o: compress: {gzip: 6}; its 'compress: ON' would be level 1). ./server keeps compressed static files in memory (--gzip-cache); nginx, h2o and lighttpd (no deflate.cache-dir) compress every response: PEER_GZIP=cached compares against peers that do not."
fi
[ $LIGHTTPD_GZIP = no ] && record note "lighttpd: mod_deflate missing (apt-get install lighttpd-mod-deflate), so it has no gzip row."
[ ${#absent[@]} -gt 0 ] && record note "Not installed, so not benched: ${absent[*]} (apt-get install wrk nginx h2o lighttpd)."
record note "Each server was checked with curl before its rows: status 200 and the exact fixture bytes (gzip row: Content-Encoding: gzip, body decompresses to the fixture)."
record note "Load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END. Other processes on the machine can add noise."

python3 "$BENCH/report.py" table "$RESULTS" --clk-tck "$CLK_TCK" \
    --servers "${RUNNING[*]}" --rows "$ROWS" --conns "$CONNS" --timeout "$WRK_TIMEOUT" \
    --title "Benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $ncpu CPUs: medians of $RUNS run(s) x ${DURATION} s per cell, after a ${WARMUP} s warm-up"
