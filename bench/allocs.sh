#!/bin/bash
# Counts heap allocations in ./server over a wrk run with keep-alive: the hot
# path should allocate nothing per request (only per new connection).
# Needs ltrace and wrk (apt-get install ltrace wrk). Loopback only.
set -u
cd "$(dirname "$0")/.." || exit 1
for tool in ltrace wrk; do
    command -v "$tool" >/dev/null || { echo "missing: apt-get install $tool"; exit 1; }
done
root=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$root"' EXIT
head -c 1024 public/index.html > "$root/small.html"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./server --port "$port" --threads 1 --quiet --directory "$root" &
pid=$!
sleep 0.3
ltrace -c -f -p "$pid" -e malloc+calloc+realloc+free -o "$root/ltrace.out" &
tracer=$!
sleep 1
total=0
for path in /echo/hi /small.html; do
    n=$(wrk -t1 -c20 -d2s "http://127.0.0.1:$port$path" | awk '/requests in/ {print $1}')
    echo "$path: $n requests on 20 connections"
    total=$((total + n))
done
sleep 0.5
kill -INT "$tracer"
wait "$tracer" 2>/dev/null
echo "heap calls during $total requests (40 connections):"
grep -E "malloc|calloc|realloc|free" "$root/ltrace.out"
