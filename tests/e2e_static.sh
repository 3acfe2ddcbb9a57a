#!/bin/bash
# e2e_static.sh - the static site end to end: the real server on a free port
# with a fixture --directory, checked with curl and raw sockets.
#
# Covers types, indexes and redirects, symlinks inside the root, 304 both
# ways, every Range form, 416 and If-Range, HEAD against GET, gzip (curl
# --compressed and the raw bytes), a 64 MiB download that must arrive intact
# while /echo/ok stays fast (also two at once, and clients that reset
# mid-download), and a traversal table sent over raw sockets: a secret
# planted beside the root must never come back and no request may hang.
#
# SERVER (default ./server) is the binary under test. Needs curl, python3,
# sha256sum, gzip. Prints "N passed, M failed"; exits non-zero on a failure.
set -u
cd "$(dirname "$0")/.." || exit 1
SERVER=${SERVER:-./server}

# shellcheck source=tests/lib_check.sh
source tests/lib_check.sh

# matches VALUE REGEX (for check, which cannot run [[ ]] itself)
matches() {
    [[ $1 =~ $2 ]]
}

base=$(mktemp -d /tmp/e2e_static.XXXXXX)
root=$base/root
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$base"
}
trap cleanup EXIT

# ---- fixture ----------------------------------------------------------------
secret="TOPSECRET-$$-$RANDOM"
mkdir -p "$base/outside" "$root/docs" "$root/empty" "$root/with space" "$root/.git"
echo "$secret" > "$base/outside/secret.txt"
echo "$secret" > "$base/x"                       # "/../x" would name this
echo "$secret" > "$root/.secret"
echo "$secret" > "$root/.git/config"
printf '<!doctype html><title>home</title>\n' > "$root/index.html"
for i in $(seq 1 40); do echo "<p>paragraph $i of the home page</p>" >> "$root/index.html"; done
printf 'hello world\n' > "$root/hello.txt"
for i in $(seq 1 120); do echo ".rule-$i { margin: ${i}px; padding: 0 }"; done > "$root/style.css"
for i in $(seq 1 6000); do echo "function f$i(x) { return x * $i + $((i % 7)); }"; done > "$root/app.js"
echo '{"a": 1, "b": [1, 2, 3]}' > "$root/data.json"
printf '\x89PNG\r\n\x1a\nnot really' > "$root/photo.png"
printf 'wOF2fake' > "$root/font.woff2"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' > "$root/logo.svg"
printf 'plain' > "$root/README"
printf '<h1>docs</h1>\n' > "$root/docs/index.html"
printf '# Guide\n' > "$root/docs/guide.md"
printf 'spaced\n' > "$root/with space/index.html"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$root/big.bin"
ln -s ../outside/secret.txt "$root/link-out"
ln -s "$base/outside/secret.txt" "$root/abs-link"
ln -s "$base/outside" "$root/outdir"
ln -s /dev/null "$root/devnull"
ln -s hello.txt "$root/in.txt"
ln -s docs "$root/docs-link"
mkfifo "$root/fifo"

# ---- server -----------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# One loop thread: a 64 MiB download and /echo/ok then share it, which is
# the case that shows whether a large body can starve other connections.
"$SERVER" --port "$port" --directory "$root" --quiet --threads 1 &
pid=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$url/echo/up" && break
    sleep 0.1
done
if ! curl -s -o /dev/null "$url/echo/up"; then
    bad "server starts" "nothing listens on $port"
    report
    exit 1
fi
ok "server starts"

h=$base/headers
b=$base/body
# fetch [curl options...] PATH: status in $status, headers in $h, body in $b.
fetch() {
    local path=${*: -1}
    local opts=("${@:1:$#-1}")
    # curl leaves -o untouched when no body arrives (304, HEAD): start empty.
    : > "$b"
    : > "$h"
    status=$(curl -s --max-time 20 -D "$h" -o "$b" -w '%{http_code}' "${opts[@]}" "$url$path")
}
# header NAME: its value from the last fetch (case-insensitive, no CR).
header() {
    grep -i "^$1:" "$h" | head -1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r'
}
# Headers of the last fetch without the status line, in order.
header_block() {
    tail -n +2 "$h" | tr -d '\r'
}

# ---- types ------------------------------------------------------------------
while read -r path type; do
    fetch "$path"
    eq "type $path" "$status $(header Content-Type)" "200 $type"
done <<'EOF'
/index.html text/html; charset=utf-8
/hello.txt text/plain; charset=utf-8
/style.css text/css; charset=utf-8
/app.js text/javascript; charset=utf-8
/data.json application/json
/photo.png image/png
/font.woff2 font/woff2
/logo.svg image/svg+xml
/README application/octet-stream
/docs/guide.md text/markdown; charset=utf-8
EOF

# ---- index, redirects, errors ------------------------------------------------
fetch /
eq "/ is index.html" "$status" 200
check "/ body" cmp -s "$b" "$root/index.html"
fetch /docs/
eq "/docs/ index" "$status $(cat "$b")" "200 <h1>docs</h1>"
fetch /docs
eq "/docs redirects" "$status $(header Location)" "301 /docs/"
fetch '/docs?x=1&y=%20'
eq "redirect keeps the query" "$(header Location)" "/docs/?x=1&y=%20"
fetch '//docs'
eq "redirect is never protocol-relative" "$(header Location)" "/docs/"
fetch '/with%20space'
eq "redirect re-encodes" "$(header Location)" "/with%20space/"
fetch '/with%20space/'
eq "encoded directory" "$status $(cat "$b")" "200 spaced"
fetch /in.txt
eq "symlink inside the root is followed" "$status $(cat "$b")" "200 hello world"
fetch /docs-link
eq "symlinked directory redirects" "$status $(header Location)" "301 /docs-link/"
fetch /docs-link/
eq "symlinked directory serves its index" "$status $(cat "$b")" "200 <h1>docs</h1>"
fetch /files/in.txt
eq "/files/ does not follow a symlink" "$status" 404
fetch /empty/
eq "directory without index" "$status" 403
fetch /nope.html
eq "missing" "$status" 404
fetch /hello.txt/
eq "file with a trailing slash" "$status" 404
printf '<h1>custom 404</h1>\n' > "$root/404.html"
fetch /still-missing
eq "404.html served with 404" "$status $(header Content-Type) $(cat "$b")" \
    "404 text/html; charset=utf-8 <h1>custom 404</h1>"
rm "$root/404.html"
# The cache may trust its entry for 404.html for up to a second more; wait
# that out, or a later GET/HEAD pair can straddle the check and differ.
sleep 1.1

# ---- conditional requests ----------------------------------------------------
fetch /hello.txt
etag=$(header ETag)
lm=$(header Last-Modified)
check "ETag is strong and quoted" matches "$etag" '^"[^"]+"$'
check "Last-Modified is an IMF-fixdate" matches "$lm" '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
eq "Accept-Ranges on 200" "$(header Accept-Ranges)" bytes
fetch -H "If-None-Match: $etag" /hello.txt
eq "If-None-Match -> 304" "$status $(wc -c < "$b") $(header ETag)" "304 0 $etag"
check "304 has no Content-Length" [ -z "$(header Content-Length)" ]
fetch -H "If-None-Match: \"x\", W/$etag" /hello.txt
eq "If-None-Match weak in a list -> 304" "$status" 304
fetch -H 'If-None-Match: "other"' /hello.txt
eq "If-None-Match other -> 200" "$status" 200
fetch -H "If-Modified-Since: $lm" /hello.txt
eq "If-Modified-Since same -> 304" "$status" 304
fetch -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' /hello.txt
eq "If-Modified-Since older -> 200" "$status" 200
fetch -H 'If-None-Match: "other"' -H "If-Modified-Since: $lm" /hello.txt
eq "If-None-Match wins over If-Modified-Since" "$status" 200
fetch -H "If-None-Match: $etag" -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' /hello.txt
eq "If-None-Match match, old If-Modified-Since -> 304" "$status" 304
fetch -H 'If-Match: "other"' /hello.txt
eq "If-Match mismatch -> 412" "$status" 412
# Several lines of a list field are one list (RFC 9110 5.3), whichever holds the tag.
fetch -H "If-None-Match: $etag" -H 'If-None-Match: "x"' /hello.txt
eq "If-None-Match: tag in the first of two lines -> 304" "$status" 304
fetch -H 'If-None-Match: "x"' -H "If-None-Match: $etag" /hello.txt
eq "If-None-Match: tag in the second of two lines -> 304" "$status" 304
fetch -H 'If-Match: "x"' -H "If-Match: $etag" /hello.txt
eq "If-Match: tag in the second of two lines -> 200" "$status" 200

# ---- ranges -----------------------------------------------------------------
while read -r range want_status want_range want_body; do
    fetch -H "Range: $range" /hello.txt
    want_range=${want_range//_/ }
    [ "$want_range" = - ] && want_range=
    eq "Range $range" "$status|$(header Content-Range)" "$want_status|$want_range"
    [ "$want_body" != - ] && eq "Range $range body" "$(cat "$b")" "$want_body"
done <<'EOF'
bytes=0-4 206 bytes_0-4/12 hello
bytes=6- 206 bytes_6-11/12 world
bytes=-6 206 bytes_6-11/12 world
bytes=0-0 206 bytes_0-0/12 h
bytes=6-999 206 bytes_6-11/12 world
bytes=12- 416 bytes_*/12 -
bytes=-0 416 bytes_*/12 -
bytes=0-1,5-6 200 - -
bytes=abc 200 - -
bytes=5-1 200 - -
EOF
fetch -H 'Range: bytes=0-4' -H "If-Range: $etag" /hello.txt
eq "If-Range current ETag -> 206" "$status" 206
fetch -H 'Range: bytes=0-4' -H 'If-Range: "old"' /hello.txt
eq "If-Range old ETag -> 200" "$status $(wc -c < "$b")" "200 12"
fetch -H 'Range: bytes=0-4' -H "If-Range: $lm" /hello.txt
eq "If-Range Last-Modified -> 206" "$status" 206
fetch -r 1000000-1000999 /big.bin
cmp -s "$b" <(tail -c +1000001 "$root/big.bin" | head -c 1000)
eq "Range on a sendfile body" "$status $? $(header Content-Range)" \
    "206 0 bytes 1000000-1000999/67108864"
fetch -H 'Range: bytes=0-9' /files/big.bin
eq "Range on /files/" "$status $(header Content-Type) $(wc -c < "$b")" \
    "206 application/octet-stream 10"

# ---- gzip -------------------------------------------------------------------
# A file this large is compressed on the job pool: the first request gets the
# complete identity body at once, later ones the gzip form when it is ready.
fetch -H 'Accept-Encoding: gzip' /app.js
eq "gzip, cold: identity now, complete" "$(header Content-Encoding)|$(wc -c < "$b")" \
    "|$(wc -c < "$root/app.js")"
for _ in $(seq 1 50); do
    fetch -H 'Accept-Encoding: gzip' /app.js
    [ "$(header Content-Encoding)" = gzip ] && break
    sleep 0.1
done
fetch --compressed /app.js
eq "gzip: Content-Encoding" "$(header Content-Encoding)" gzip
eq "gzip: Vary" "$(header Vary)" Accept-Encoding
check "gzip: body decodes to the file" cmp -s "$b" "$root/app.js"
check "gzip: ETag differs from identity" matches "$(header ETag)" '-gz"$'
fetch -H 'Accept-Encoding: gzip' /app.js
len=$(header Content-Length)
eq "gzip: exact Content-Length" "$(wc -c < "$b")" "$len"
check "gzip: smaller than the file" [ "$len" -lt "$(wc -c < "$root/app.js")" ]
check "gzip: raw bytes decode" cmp -s <(gzip -dc < "$b") "$root/app.js"
fetch /app.js
eq "identity: Vary too" "$(header Content-Encoding)|$(header Vary)" "|Accept-Encoding"
fetch -H 'Accept-Encoding: gzip;q=0, *' /app.js
eq "gzip;q=0 -> identity" "$(header Content-Encoding)" ""
fetch -H 'Accept-Encoding: br;q=1, *;q=0.5' /app.js
eq "* -> gzip" "$(header Content-Encoding)" gzip
fetch -H 'Accept-Encoding: br' -H 'Accept-Encoding: gzip' /app.js
eq "gzip in a second Accept-Encoding line -> gzip" "$(header Content-Encoding)" gzip
fetch -H 'Accept-Encoding: gzip;q=0' -H 'Accept-Encoding: *' /app.js
eq "gzip;q=0 in one line beats * in another" "$(header Content-Encoding)" ""
fetch -H 'Accept-Encoding: gzip' -H 'Range: bytes=0-99' /app.js
eq "Range with gzip: identity 206" "$status|$(header Content-Encoding)|$(wc -c < "$b")" "206||100"
fetch -H 'Accept-Encoding: gzip' /photo.png
eq "png is not gzipped" "$(header Content-Encoding)|$(header Vary)" "|"
fetch -H 'Accept-Encoding: gzip' /hello.txt
eq "tiny file is not gzipped" "$(header Content-Encoding)" ""
fetch --compressed /style.css
check "gzip from a small cached file" cmp -s "$b" "$root/style.css"

# ---- HEAD is GET without the body --------------------------------------------
for args in "/hello.txt" "/app.js" "-H Accept-Encoding:gzip /app.js" "/big.bin" \
    "-H Range:bytes=5-9 /hello.txt" "/docs" "/empty/" "/nope" "/"; do
    # shellcheck disable=SC2086
    fetch $args
    get_status=$status
    get_headers=$(header_block)
    # shellcheck disable=SC2086
    fetch -I $args
    eq "HEAD $args: status" "$status" "$get_status"
    eq "HEAD $args: headers" "$(header_block)" "$get_headers"
done

# ---- revalidation -----------------------------------------------------------
fetch /hello.txt
printf 'HELLO WORLD\n' > "$root/hello.txt"
touch -d '2001-09-09 01:46:40 UTC' "$root/hello.txt"
sleep 1.2
fetch /hello.txt
eq "an edited file is seen within a second" "$(cat "$b")|$(header Last-Modified)" \
    "HELLO WORLD|Sun, 09 Sep 2001 01:46:40 GMT"

# ---- a 64 MiB body, and others served meanwhile ------------------------------
want=$(sha256sum < "$root/big.bin" | cut -d' ' -f1)
for rate in 30M 0; do
    limit=()
    [ "$rate" != 0 ] && limit=(--limit-rate "$rate")
    curl -s --max-time 60 "${limit[@]}" -o "$base/big.out" "$url/big.bin" &
    dl=$!
    sleep 0.2
    slow=0
    worst=0
    for _ in $(seq 1 20); do
        t=$(curl -s --max-time 5 -o /dev/null -w '%{time_total}' "$url/echo/ok")
        worst=$(awk -v a="$t" -v b="$worst" 'BEGIN { print (a > b) ? a : b }')
        awk -v t="$t" 'BEGIN { exit !(t >= 0.1) }' && slow=$((slow + 1))
        sleep 0.02
    done
    wait "$dl"
    eq "64 MiB intact (rate $rate)" "$(sha256sum < "$base/big.out" | cut -d' ' -f1)" "$want"
    eq "/echo/ok under 100 ms during the download (rate $rate, worst ${worst}s)" "$slow" 0
done
rm -f "$base/big.out"

# Two full-speed downloads on the one loop thread, sent in turns (SEND_TURN).
dls=()
for i in 1 2; do
    curl -s --max-time 60 -o "$base/big.out$i" "$url/big.bin" &
    dls+=($!)
done
wait "${dls[@]}"
eq "two concurrent 64 MiB downloads intact" \
    "$(sha256sum < "$base/big.out1" | cut -d' ' -f1) $(sha256sum < "$base/big.out2" | cut -d' ' -f1)" \
    "$want $want"
rm -f "$base/big.out1" "$base/big.out2"

# Clients that vanish (RST) mid-download, at different points of the file.
python3 - "$port" <<'PY' > "$base/vanish"
import socket, struct, sys
port = int(sys.argv[1])
for i in range(30):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
    got = 0
    while got < (1 << 20) * (1 + i % 4):
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("done")
PY
fetch /big.bin
eq "vanishing downloaders leave the server well" \
    "$(cat "$base/vanish") $status $(sha256sum < "$b" | cut -d' ' -f1)" "done 200 $want"

# ---- traversal over raw sockets ----------------------------------------------
while read -r line; do
    case $line in
    ok*) PASSED=$((PASSED + 1)) ;;
    FAIL*) FAILED=$((FAILED + 1)) ;;
    esac
    echo "$line"
done < <(PORT=$port SECRET=$secret python3 - <<'EOF'
import os, socket, time

port = int(os.environ["PORT"])
secret = os.environ["SECRET"].encode()

def request(target, timeout=3.0):
    """Sends one request; returns (status, raw reply, seconds) or raises."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data, time.monotonic() - t0

targets = [
    b"/../x", b"/../outside/secret.txt", b"/%2e%2e/x", b"/%2E%2E/outside/secret.txt",
    b"/a%2f..%2f..%2fx", b"/a/../../x", b"/%00", b"/hello.txt%00.png", b"/%5c..%5cx",
    b"/a%5c..%5c..%5cx", b"/%252e%252e/x", b"/%c0%ae%c0%ae/x", b"/%c0%ae%c0%ae/outside/secret.txt",
    b"//etc/passwd", b"/etc/passwd", b"http://host/../x", b"http://host/../outside/secret.txt",
    b"/link-out", b"/abs-link", b"/outdir/secret.txt", b"/devnull", b"/fifo", b"/.secret",
    b"/.git/config", b"/docs/../.secret", b"/./.secret", b"/..%2f..%2f..%2fetc%2fpasswd",
    b"/" + b"../" * 20 + b"etc/passwd", b"/docs/%2e%2e/%2e%2e/x",
]
for t in targets:
    name = t.decode("latin-1")
    try:
        status, data, secs = request(t)
    except OSError as e:
        print(f"FAIL traversal {name} ({e})")
        continue
    if secret in data or b"root:x:0:0" in data:
        print(f"FAIL traversal {name} (leaked content outside the root)")
    elif status not in (400, 403, 404):
        print(f"FAIL traversal {name} (status {status})")
    elif secs > 2:
        print(f"FAIL traversal {name} (took {secs:.1f}s)")
    else:
        print(f"ok   traversal {name} -> {status}")

# The FIFO must not wedge anything: the server still answers at once.
try:
    status, _, secs = request(b"/hello.txt")
    ok = status == 200 and secs < 1
    print(("ok  " if ok else "FAIL") + f" still serving after the table ({status}, {secs:.2f}s)")
except OSError as e:
    print(f"FAIL still serving after the table ({e})")

# HEAD: the head only, nothing after the blank line (curl cannot show this).
for t in (b"/hello.txt", b"/big.bin", b"/app.js", b"/docs", b"/nope"):
    for extra in (b"", b"Accept-Encoding: gzip\r\n", b"Range: bytes=0-3\r\n"):
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"HEAD " + t + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        ok = data.endswith(b"\r\n\r\n") and data.count(b"\r\n\r\n") == 1
        name = (t + b" " + extra.strip()).decode()
        print(("ok  " if ok else "FAIL") + f" HEAD {name}: no body bytes")

# Several ranges and requests on one keep-alive connection stay in step.
s = socket.create_connection(("127.0.0.1", port), timeout=3)
reqs = b"".join(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n" % (i, i)
                for i in range(5))
s.sendall(reqs + b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
bodies = [part.split(b"\r\n\r\n", 1)[1][:1] for part in data.split(b"HTTP/1.1 206")[1:]]
ok = data.count(b"HTTP/1.1 206") == 5 and b"".join(bodies) == b"HELLO" and data.count(b"HTTP/1.1 200") == 1
print(("ok  " if ok else "FAIL") + " pipelined ranges on one connection")
EOF
)

report
