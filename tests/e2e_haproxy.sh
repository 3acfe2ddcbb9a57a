#!/bin/bash
# e2e_haproxy.sh - two server processes behind HAProxy (doc/haproxy.cfg).
#
# Starts two instances on free ports, each with its own --directory (an id.txt
# naming it) and --log, with --trusted-proxy 127.0.0.1 --drain-time 2000, and
# HAProxy in the foreground with doc/haproxy.cfg, its @FRONT@/@S1@/@S2@ ports
# filled in. Then checks:
#   a) requests through the proxy reach both instances (both access logs);
#   b) a client on 127.0.0.2 is logged as 127.0.0.2, not as the proxy, even
#      when it sends its own X-Forwarded-For; an untrusted peer's header is
#      ignored and a trusted one's is believed;
#   c) a steady client (a request every 20 ms for 6 s, on one keep-alive
#      connection and on a new connection each time) sees only 200s while one
#      instance gets SIGTERM, drains and exits 0;
#   d) that instance, restarted on its port, is back in rotation within a
#      few seconds;
#   e) both instances exit 0 on SIGTERM at the end.
#
# Skips (exit 0) only when haproxy is not installed. SERVER (default ./server)
# is the binary under test. Needs curl and python3. Prints "N passed,
# M failed"; exits non-zero on a failure. Takes about 13 s.
set -u
cd "$(dirname "$0")/.." || exit 1
SERVER=${SERVER:-./server}

HAPROXY=${HAPROXY:-}
if [ -z "$HAPROXY" ]; then
    HAPROXY=$(command -v haproxy 2>/dev/null)
    for p in /usr/sbin/haproxy /usr/local/sbin/haproxy; do
        [ -z "$HAPROXY" ] && [ -x "$p" ] && HAPROXY=$p
    done
fi
if [ -z "$HAPROXY" ]; then
    echo "SKIP e2e_haproxy: haproxy is not installed (apt-get install haproxy)"
    exit 0
fi

# shellcheck source=tests/lib_check.sh
source tests/lib_check.sh

base=$(mktemp -d /tmp/e2e_haproxy.XXXXXX)
declare -A spid=()
hapid=
cleanup() {
    [ -n "$hapid" ] && kill "$hapid" 2>/dev/null
    for n in "${!spid[@]}"; do
        kill "${spid[$n]}" 2>/dev/null
    done
    [ -n "$hapid" ] && wait "$hapid" 2>/dev/null
    for n in "${!spid[@]}"; do
        wait "${spid[$n]}" 2>/dev/null
    done
    rm -rf "$base"
}
trap cleanup EXIT

# Three distinct free ports below the ephemeral range, so that no outgoing
# connection on this busy machine takes one between our check and our bind
# (and the restart in d can bind its port again).
read -r FRONT P1 P2 < <(python3 -c '
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
ports = []
while len(ports) < 3:
    p = random.randrange(10000, max(low, 10001))
    if p in ports:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
    ports.append(p)
print(*ports)')
declare -A port=([s1]=$P1 [s2]=$P2)

# start NAME: one instance on its port, logging to $base/NAME.log.
start() {
    local n=$1
    mkdir -p "$base/$n"
    printf '%s' "$n" > "$base/$n/id.txt"
    "$SERVER" --port "${port[$n]}" --directory "$base/$n" --log "$base/$n.log" \
        --trusted-proxy 127.0.0.1 --drain-time 2000 --threads 2 2>>"$base/$n.err" &
    spid[$n]=$!
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:${port[$n]}/healthz" && return 0
        kill -0 "${spid[$n]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "$n did not start:"
    cat "$base/$n.err"
    return 1
}

# stop NAME: SIGTERM, wait; sets rc to its exit status and took to the
# seconds it took.
rc=
took=
stop() {
    local n=$1 t0
    t0=$(date +%s.%N)
    kill -TERM "${spid[$n]}"
    wait "${spid[$n]}"
    rc=$?
    unset "spid[$n]"
    took=$(python3 -c "import time; print(f'{time.time() - $t0:.2f}')")
}

# lines NAME REGEX: access-log lines of NAME whose target matches REGEX.
lines() {
    awk -F'\t' -v re="$2" '$4 ~ re' "$base/$1.log" 2>/dev/null | wc -l
}

# client_of TARGET: the client column of the line for TARGET in either log
# (waits up to 2 s for it: the line is written as the response goes out).
client_of() {
    local c
    for _ in $(seq 40); do
        c=$(awk -F'\t' -v t="$1" '$4 == t { print $2 }' "$base/s1.log" "$base/s2.log" 2>/dev/null)
        [ -n "$c" ] && break
        sleep 0.05
    done
    echo "$c"
}

front() {
    curl -s -m 5 -o /dev/null -w '%{http_code}' "$@"
}

start s1 || exit 1
start s2 || exit 1

sed -e "s/@FRONT@/$FRONT/g" -e "s/@S1@/$P1/g" -e "s/@S2@/$P2/g" doc/haproxy.cfg > "$base/haproxy.cfg"
if ! "$HAPROXY" -c -q -f "$base/haproxy.cfg" >"$base/haproxy.out" 2>&1; then
    bad "haproxy accepts doc/haproxy.cfg" "$(cat "$base/haproxy.out")"
    report
    exit 1
fi
ok "haproxy accepts doc/haproxy.cfg"
"$HAPROXY" -f "$base/haproxy.cfg" -db >"$base/haproxy.out" 2>&1 &
hapid=$!

# Both backends in rotation: answers come from each within 10 s.
seen=
for _ in $(seq 200); do
    id=$(curl -s -m 2 "http://127.0.0.1:$FRONT/id.txt")
    [[ $id =~ ^s[12]$ && $seen != *$id* ]] && seen+=$id
    [ ${#seen} -eq 4 ] && break
    sleep 0.05
done
if [ ${#seen} -ne 4 ]; then
    bad "both backends answer through the proxy" "saw '$seen'"
    cat "$base/haproxy.out"
    report
    exit 1
fi
ok "both backends answer through the proxy"

# ---- a) requests reach both instances ---------------------------------------
codes=
for i in $(seq 20); do
    codes+=$(front "http://127.0.0.1:$FRONT/echo/a-$i")" "
done
eq "20 requests through the proxy all get 200" "$codes" "$(printf '200 %.0s' $(seq 20))"
sleep 0.2
n1=$(lines s1 '^/echo/a-')
n2=$(lines s2 '^/echo/a-')
eq "both access logs got requests (s1 $n1 + s2 $n2)" "$((n1 + n2 == 20 && n1 > 0 && n2 > 0))" 1

# ---- b) the client behind the proxy is logged, not the proxy ----------------
tag=$$-$RANDOM
front --interface 127.0.0.2 "http://127.0.0.1:$FRONT/echo/b-$tag" > /dev/null
eq "a client on 127.0.0.2 is logged as 127.0.0.2" "$(client_of "/echo/b-$tag")" 127.0.0.2
front --interface 127.0.0.2 -H 'X-Forwarded-For: 203.0.113.9' \
    "http://127.0.0.1:$FRONT/echo/spoof-$tag" > /dev/null
eq "its own X-Forwarded-For does not fool the log" "$(client_of "/echo/spoof-$tag")" 127.0.0.2
curl -s -o /dev/null --interface 127.0.0.2 -H 'X-Forwarded-For: 203.0.113.9' \
    "http://127.0.0.1:$P1/echo/direct-$tag"
c=$(client_of "/echo/direct-$tag")
if [[ $c =~ ^127\.0\.0\.2:[0-9]+$ ]]; then
    ok "an untrusted peer's X-Forwarded-For is ignored ($c)"
else
    bad "an untrusted peer's X-Forwarded-For is ignored" "logged '$c'"
fi
curl -s -o /dev/null -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.7' \
    "http://127.0.0.1:$P2/echo/trusted-$tag"
eq "a trusted peer's last X-Forwarded-For entry is logged" \
    "$(client_of "/echo/trusted-$tag")" 203.0.113.7
h=$(awk -F'\t' '$4 == "/healthz" && $2 ~ /^127\.0\.0\.1:/ && $5 == 200' "$base/s1.log" | wc -l)
eq "HAProxy's health checks reach /healthz" "$((h > 0))" 1

# ---- c) drain: SIGTERM one instance under steady traffic --------------------
cat > "$base/steady.py" <<'EOF'
# A request every 20 ms for SECONDS, on one keep-alive connection and on a
# new connection each time; prints one line per request: time kind status body.
import http.client, sys, threading, time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
out, lock = [], threading.Lock()

def run(keepalive):
    kind = "ka" if keepalive else "new"
    conn = None
    end = time.time() + seconds
    while time.time() < end:
        t = time.time()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/id.txt")
            r = conn.getresponse()
            body = r.read().decode(errors="replace")
            status = str(r.status)
            if not keepalive or r.will_close:
                conn.close()
                conn = None
        except Exception as e:
            status, body = "error", type(e).__name__
            conn.close()
            conn = None
        with lock:
            out.append(f"{t:.3f} {kind} {status} {body}")
        time.sleep(max(0.0, 0.02 - (time.time() - t)))

threads = [threading.Thread(target=run, args=(k,)) for k in (True, False)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print("\n".join(out))
EOF
python3 "$base/steady.py" "$FRONT" 6 > "$base/steady.out" 2>&1 &
steady=$!
sleep 1.5
term_at=$(date +%s.%N)
stop s1
eq "the draining instance exits 0 after SIGTERM" "$rc" 0
if python3 -c "import sys; sys.exit(not 2.0 <= $took <= 4.5)"; then
    ok "it drained for --drain-time, then exited (${took} s)"
else
    bad "it drained for --drain-time, then exited" "took ${took} s, want 2.0 to 4.5"
fi
wait "$steady"
total=$(grep -c . "$base/steady.out")
failed=$(awk '$3 != 200' "$base/steady.out" | wc -l)
eq "no request failed during the drain ($total sent)" "$failed" 0
if [ "$failed" -ne 0 ]; then
    awk '$3 != 200' "$base/steady.out" | head -5
fi
eq "the steady client kept its pace" "$((total >= 300))" 1
n503=$(awk -F'\t' '$4 == "/healthz" && $5 == 503' "$base/s1.log" | wc -l)
eq "the drained instance answered /healthz with 503" "$((n503 > 0))" 1
late=$(awk -v t="$term_at" '$1 > t + 3 && $4 == "s1"' "$base/steady.out" | wc -l)
eq "nothing reached it after it stopped" "$late" 0
after=$(awk -v t="$term_at" '$1 > t + 3 && $4 == "s2" && $3 == 200' "$base/steady.out" | wc -l)
eq "the other instance took the traffic" "$((after > 50))" 1

# ---- d) restarted, it is back in rotation -----------------------------------
before=$(lines s1 '^/echo/d-')
start s1 || exit 1
t0=$(date +%s.%N)
back=0
for i in $(seq 200); do
    front "http://127.0.0.1:$FRONT/echo/d-$i" > /dev/null
    if [ "$(lines s1 '^/echo/d-')" -gt "$before" ]; then
        back=1
        break
    fi
    sleep 0.05
done
took=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
eq "the restarted instance is back in rotation (${took} s)" "$back" 1
codes=
for i in $(seq 10); do
    codes+=$(front "http://127.0.0.1:$FRONT/id.txt")" "
done
eq "and all requests still succeed" "$codes" "$(printf '200 %.0s' $(seq 10))"

# ---- e) clean exits ----------------------------------------------------------
kill "$hapid" 2>/dev/null
wait "$hapid" 2>/dev/null
hapid=
kill -TERM "${spid[s1]}" "${spid[s2]}"
wait "${spid[s1]}"
rc1=$?
wait "${spid[s2]}"
rc2=$?
spid=()
eq "both instances exit 0 on SIGTERM" "$rc1 $rc2" "0 0"
for n in s1 s2; do
    if grep -q -E 'ERROR|Sanitizer|runtime error' "$base/$n.err"; then
        bad "$n wrote no sanitizer report" "$(head -5 "$base/$n.err")"
    fi
done

if [ "$FAILED" -ne 0 ]; then
    echo "--- haproxy output"
    tail -20 "$base/haproxy.out"
fi
report
