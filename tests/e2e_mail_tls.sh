#!/bin/bash
# e2e_mail_tls.sh - POST /mail relayed over TLS through openssl s_client: the
# real server against a real SMTP server (tests/smtp_sink.py, aiosmtpd) that
# speaks implicit TLS or STARTTLS with certificates made for this run.
#
# Checks: both modes deliver with AUTH inside TLS, implicit TLS also to ::1,
# where the certificate must name the address; a self-signed certificate,
# an unknown CA, the wrong host name, an expired certificate, TLS against a
# plain port, STARTTLS that is not offered, a refused connection and a relay
# that never answers are refused (502/504) with nothing stored; a relay
# between the server and the sink records the raw bytes, and neither AUTH nor
# MAIL FROM ever crosses it in the clear; the server has no child process
# left after any case; /echo/ok stays fast while a TLS relay hangs; --trace
# shows the dialogue inside the tunnel with AUTH masked.
#
# Usage: SERVER=./server bash tests/e2e_mail_tls.sh    (SERVER defaults to ./server)
# Needs curl, openssl, and /usr/bin/python3 with python3-aiosmtpd (tests/setup.sh).
# Prints one line per check, then "N passed, M failed"; exits 1 on a failure.
# The relay that never answers costs 15 s (connect + reply deadline), run
# alongside the other cases.
set -u
cd "$(dirname "$0")/.." || exit 1

SERVER=${SERVER:-./server}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/e2e_mail_tls.XXXXXX)
# shellcheck source=tests/lib_e2e.sh
source tests/lib_e2e.sh

# ---- a throw-away PKI ----------------------------------------------------

PKI=$TMP/pki
mkdir -p "$PKI/db"
: >"$PKI/db/index.txt"
echo 1000 >"$PKI/db/serial"
cat >"$PKI/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $PKI/db/index.txt
serial = $PKI/db/serial
new_certs_dir = $PKI/db
certificate = $PKI/ca.pem
private_key = $PKI/ca.key
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
[local]
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[wrong]
subjectAltName = DNS:wrong.test
EOF

# key NAME: an EC P-256 key (fast to make) and a request for CN=localhost.
key() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=${2:-localhost}" 2>/dev/null
}

# sign NAME EXTENSIONS [openssl ca date flags]: the test CA signs NAME's request.
sign() {
    local name=$1 ext=$2
    shift 2
    openssl ca -batch -config "$PKI/ca.cnf" -extensions "$ext" -in "$PKI/$name.csr" \
        -out "$PKI/$name.pem" -notext "$@" 2>/dev/null
}

make_pki() {
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -subj "/CN=Throw-away test CA" -days 2 \
        2>/dev/null || return 1
    key good && sign good local -days 2 || return 1
    key wrong wrong.test && sign wrong wrong -days 2 || return 1
    # Valid for one day in 2020: `openssl ca` takes explicit dates, `x509` in 3.0 does not.
    key expired && sign expired local -startdate 20200101000000Z -enddate 20200102000000Z ||
        return 1
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/self.key" -out "$PKI/self.pem" -subj "/CN=localhost" -days 2 \
        -addext "subjectAltName = DNS:localhost, IP:127.0.0.1" 2>/dev/null
}

if ! make_pki; then
    echo "could not make the test certificates" >&2
    exit 1
fi
check "test PKI: good certificate verifies against the CA" \
    openssl verify -CAfile "$PKI/ca.pem" "$PKI/good.pem"
check "test PKI: expired certificate is expired" \
    bash -c "openssl verify -CAfile '$PKI/ca.pem' '$PKI/expired.pem' 2>&1 | grep -q 'certificate has expired'"

# ---- helpers to start things ---------------------------------------------

# A TCP relay that writes every byte the client sends to a file: what would
# cross the network, before and after TLS starts.
cat >"$TMP/tap.py" <<'EOF'
import socket, sys, threading

listen_port, target_port, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()

def pump(src, dst, log):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if log:
                with lock, open(log_path, "ab") as f:
                    f.write(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
open(log_path, "wb").close()
print("ready", flush=True)
while True:
    client, _ = srv.accept()
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        continue
    threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
EOF

# start_tap NAME TARGETPORT: sets TAP_PORT; the client's bytes go to $TMP/NAME.raw.
start_tap() {
    TAP_PORT=$(free_port)
    $PY "$TMP/tap.py" "$TAP_PORT" "$2" "$TMP/$1.raw" >"$TMP/tap-$1.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        grep -q ready "$TMP/tap-$1.out" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "tap $1 did not start" >&2
    exit 1
}

# post PORT: POST /mail with a small JSON message; STATUS, and the body in $TMP/resp.
post() {
    STATUS=$(curl -s -m 40 -o "$TMP/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{"from": "pari@example.org", "to": "sam@example.org",
                        "subject": "Over TLS", "text": "Hello through the tunnel.\n"}' \
        "http://127.0.0.1:$1/mail")
}

count() {
    find "$TMP/$1" -name '*.json' | wc -l
}

expect_status() {
    if [ "$STATUS" = "$2" ]; then
        ok "$1"
    else
        bad "$1" "status $STATUS, want $2: $(head -c 400 "$TMP/resp")"
    fi
}

# error_has TEXT: the JSON error of $TMP/resp contains TEXT.
error_has() {
    $PY - "$TMP/resp" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if sys.argv[2] not in r.get("error", ""):
    sys.exit("error %r lacks %r" % (r.get("error"), sys.argv[2]))
EOF
}

# no_children NAME PID: the server has no child process (no s_client left).
no_children() {
    local kids
    kids=$(pgrep -P "$2" 2>/dev/null | tr '\n' ' ')
    if [ -z "$kids" ]; then
        ok "$1: no child process left"
    else
        bad "$1: no child process left" "children: $kids ($(ps -o pid=,comm= $kids | tr '\n' ' '))"
    fi
}

# stored_tls NAME USER: the newest message of sink NAME came over TLS, with AUTH as USER.
stored_tls() {
    local f
    f=$(find "$TMP/$1" -name '*.json' | sort | tail -n 1)
    $PY - "$f" "$2" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
if m["tls"] is not True or m["auth_login"] != sys.argv[2] or m["rcpt_tos"] != ["sam@example.org"]:
    sys.exit("stored %r" % m)
EOF
}

# clear_of NAME WORD...: none of the words is in the client's raw bytes through tap NAME.
clear_of() {
    local raw=$TMP/$1.raw
    shift
    [ -s "$raw" ] || { echo "nothing recorded"; return 1; }
    for w in "$@"; do
        if grep -aq -- "$w" "$raw"; then
            echo "'$w' crossed in the clear"
            return 1
        fi
    done
}

# has_tls_handshake NAME: a TLS handshake record (0x16 0x03) went through tap NAME.
has_tls_handshake() {
    $PY -c 'import sys; sys.exit(b"\x16\x03" not in open(sys.argv[1], "rb").read())' "$TMP/$1.raw"
}

export SMTP_PASSWORD=s3cret
B64_SECRET=$($PY -c 'import base64; print(base64.b64encode(b"\0relay\0s3cret").decode())')
CA=(--smtp-ca "$PKI/ca.pem")

# ---- start-up ------------------------------------------------------------

OUT=$("$SERVER" --port "$(free_port)" --smtp-tls implicit --smtp-openssl "$TMP/no-openssl" 2>&1)
RC=$?
if [ "$RC" = 1 ] && [ "$(echo "$OUT" | wc -l)" = 1 ] && echo "$OUT" | grep -q "openssl"; then
    ok "start-up: missing openssl is one line and exit 1"
else
    bad "start-up: missing openssl is one line and exit 1" "exit $RC: $OUT"
fi
OUT=$("$SERVER" --port "$(free_port)" --smtp-tls sometimes 2>&1)
RC=$?
if [ "$RC" = 2 ] && echo "$OUT" | grep -q "none, implicit or starttls"; then
    ok "start-up: a bad --smtp-tls is a usage error"
else
    bad "start-up: a bad --smtp-tls is a usage error" "exit $RC: $OUT"
fi

# ---- a relay that never answers, in the background -----------------------

start_sink hang --hang
start_server hang -- --smtp-host 127.0.0.1 --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}"
PORT_HANG=$SERVER_PORT
PID_HANG=$SERVER_PID
HANG_START=$(date +%s.%N)
curl -s -m 40 -o "$TMP/hang.resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary '{"from": "pari@example.org", "to": "sam@example.org"}' \
    "http://127.0.0.1:$PORT_HANG/mail" >"$TMP/hang.status" &
HANG_CURL=$!

# ---- implicit TLS (465) that works, through a tap ------------------------

start_sink imp --tls-cert "$PKI/good.pem" --tls-key "$PKI/good.key" --auth relay:s3cret
start_tap imp "$SINK_PORT"
start_server imp -- --smtp-host localhost --smtp-port "$TAP_PORT" --smtp-tls implicit "${CA[@]}" \
    --smtp-user relay --trace
post "$SERVER_PORT"
expect_status "implicit TLS with AUTH: 200" 200
check "implicit TLS: stored, over TLS, AUTH as relay" stored_tls imp relay
check "implicit TLS: nothing in the clear (no EHLO, AUTH, MAIL FROM, secret)" \
    clear_of imp EHLO AUTH "MAIL FROM" "RCPT TO" s3cret "$B64_SECRET"
check "implicit TLS: a TLS handshake crossed the tap" has_tls_handshake imp
no_children "implicit TLS" "$SERVER_PID"
LOG=$TMP/server-imp.log
check "--trace: C: MAIL FROM inside the tunnel" grep -q "^C: MAIL FROM:<pari@example.org>" "$LOG"
check "--trace: S: 250 after the data" grep -q "^S: 250 2.0.0 Ok: queued" "$LOG"
check "--trace: AUTH masked" grep -q "^C: AUTH PLAIN \*\*\*\*" "$LOG"
check "--trace: s_client command line and TLS summary" \
    bash -c "grep -q '^T: .*openssl s_client .*-verify_hostname localhost' '$LOG' &&
             grep -q '^T: Verification: OK' '$LOG'"
if grep -q -e "s3cret" -e "$B64_SECRET" "$LOG"; then
    bad "--trace: no secret in the log"
else
    ok "--trace: no secret in the log"
fi

# ---- STARTTLS (587) that works, through a tap ----------------------------

start_sink start --tls-cert "$PKI/good.pem" --tls-key "$PKI/good.key" --starttls \
    --auth relay:s3cret
start_tap start "$SINK_PORT"
start_server start -- --smtp-host 127.0.0.1 --smtp-port "$TAP_PORT" --smtp-tls starttls \
    "${CA[@]}" --smtp-user relay
post "$SERVER_PORT"
expect_status "STARTTLS with AUTH: 200" 200
check "STARTTLS: stored, over TLS, AUTH as relay" stored_tls start relay
check "STARTTLS: only EHLO and STARTTLS in the clear" \
    bash -c "grep -aq 'STARTTLS' '$TMP/start.raw' && grep -aq '^EHLO ' '$TMP/start.raw'"
check "STARTTLS: no AUTH, MAIL FROM or secret in the clear" \
    clear_of start AUTH "MAIL FROM" "RCPT TO" s3cret "$B64_SECRET"
check "STARTTLS: a TLS handshake crossed the tap" has_tls_handshake start
no_children "STARTTLS" "$SERVER_PID"

# ---- implicit TLS to an IPv6 address --------------------------------------

# The address itself is the name checked (-verify_ip): the good certificate
# lists ::1, the wrong one does not.
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    start_sink v6 --host ::1 --tls-cert "$PKI/good.pem" --tls-key "$PKI/good.key" --auth relay:s3cret
    start_server v6 -- --smtp-host ::1 --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}" \
        --smtp-user relay
    post "$SERVER_PORT"
    expect_status "IPv6 (::1), implicit TLS with AUTH: 200" 200
    check "IPv6: stored, over TLS, AUTH as relay" stored_tls v6 relay
    start_sink v6wrong --host ::1 --tls-cert "$PKI/wrong.pem" --tls-key "$PKI/wrong.key" \
        --auth relay:s3cret
    start_server v6wrong -- --smtp-host ::1 --smtp-port "$SINK_PORT" --smtp-tls implicit \
        "${CA[@]}" --smtp-user relay
    post "$SERVER_PORT"
    expect_status "IPv6: a certificate that does not name ::1 is refused: 502" 502
    eq "IPv6: nothing stored by the wrong host" "$(count v6wrong)" 0
    no_children "IPv6" "$SERVER_PID"
else
    echo "skip IPv6 checks: ::1 is not available"
fi

# ---- refusals: 502, nothing stored, no child left -------------------------

# refused NAME SINK WANT-STATUS WANT-TEXT SERVER-FLAGS...
refused() {
    local name=$1 sink=$2 want=$3 text=$4
    shift 4
    start_server "$name" -- --smtp-user relay "$@"
    post "$SERVER_PORT"
    expect_status "$name: $want" "$want"
    check "$name: the reason says '$text'" error_has "$text"
    if [ -n "$sink" ] && [ "$(count "$sink")" != 0 ]; then
        bad "$name: nothing stored" "$(count "$sink") messages"
    else
        ok "$name: nothing stored"
    fi
    no_children "$name" "$SERVER_PID"
}

start_sink self --tls-cert "$PKI/self.pem" --tls-key "$PKI/self.key" --auth relay:s3cret
refused "self-signed, system CAs" self 502 "self-signed certificate" \
    --smtp-host localhost --smtp-port "$SINK_PORT" --smtp-tls implicit

start_sink unknown --tls-cert "$PKI/good.pem" --tls-key "$PKI/good.key" --auth relay:s3cret
refused "CA not trusted (no --smtp-ca)" unknown 502 "unknown CA" \
    --smtp-host localhost --smtp-port "$SINK_PORT" --smtp-tls implicit

start_sink wrong --tls-cert "$PKI/wrong.pem" --tls-key "$PKI/wrong.key" --auth relay:s3cret
refused "certificate for another name" wrong 502 "another host name" \
    --smtp-host localhost --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}"
refused "certificate without our IP address" wrong 502 "another IP address" \
    --smtp-host 127.0.0.1 --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}"

start_sink expired --tls-cert "$PKI/expired.pem" --tls-key "$PKI/expired.key" \
    --auth relay:s3cret
refused "expired certificate" expired 502 "certificate expired" \
    --smtp-host localhost --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}"

start_sink plain --auth relay:s3cret
refused "implicit TLS to a plain SMTP port" plain 502 "does not speak TLS" \
    --smtp-host 127.0.0.1 --smtp-port "$SINK_PORT" --smtp-tls implicit "${CA[@]}"

start_tap nostart "$SINK_PORT"
refused "STARTTLS not offered" plain 502 "does not offer STARTTLS" \
    --smtp-host 127.0.0.1 --smtp-port "$TAP_PORT" --smtp-tls starttls "${CA[@]}"
check "STARTTLS not offered: no AUTH, MAIL FROM or secret in the clear" \
    clear_of nostart AUTH "MAIL FROM" s3cret "$B64_SECRET"

refused "connection refused" "" 502 "connection refused" \
    --smtp-host 127.0.0.1 --smtp-port "$(free_port)" --smtp-tls implicit "${CA[@]}"

# ---- the relay that never answers -----------------------------------------

KIDS=$(pgrep -P "$PID_HANG" | tr '\n' ' ')
if [ -n "$KIDS" ] && ps -o comm= $KIDS | grep -q openssl; then
    ok "hanging relay: s_client runs while the relay hangs"
else
    bad "hanging relay: s_client runs while the relay hangs" "children: '$KIDS'"
fi
SLOW=0
for _ in 1 2 3 4 5; do
    T=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT_HANG/echo/ok")
    $PY -c "import sys; sys.exit(not $T < 0.1)" || SLOW="$T"
done
if [ "$SLOW" = 0 ]; then
    ok "/echo/ok under 100 ms while a TLS relay hangs"
else
    bad "/echo/ok under 100 ms while a TLS relay hangs" "took $SLOW s"
fi
wait "$HANG_CURL"
ELAPSED=$($PY -c "print('%.2f' % ($(date +%s.%N) - $HANG_START))")
STATUS=$(cat "$TMP/hang.status")
cp "$TMP/hang.resp" "$TMP/resp"
expect_status "relay that never answers: 504" 504
check "relay that never answers: reason" error_has "no TLS connection to 127.0.0.1"
if $PY -c "import sys; sys.exit(not 14.5 < $ELAPSED < 20)"; then
    ok "504 after the 15 s connect + reply deadline ($ELAPSED s)"
else
    bad "504 after the 15 s connect + reply deadline" "took $ELAPSED s"
fi
no_children "relay that never answers" "$PID_HANG"

report
