#!/bin/bash
# e2e_mail.sh - POST /mail end to end: the real server relaying to a real SMTP
# server (tests/smtp_sink.py, aiosmtpd) on loopback, checked with curl and
# with python3's email package as an independent MIME parser.
#
# Usage: SERVER=./server bash tests/e2e_mail.sh    (SERVER defaults to ./server)
# Needs curl and /usr/bin/python3 with python3-aiosmtpd (tests/setup.sh).
# Prints one line per check, then "N passed, M failed"; exits 1 on a failure.
# The SMTP host that never answers costs one reply timeout (10 s).
set -u
cd "$(dirname "$0")/.." || exit 1

SERVER=${SERVER:-./server}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/e2e_mail.XXXXXX)
# shellcheck source=tests/lib_e2e.sh
source tests/lib_e2e.sh

# post PORT CURL-ARGS...: POST /mail; the status goes to STATUS, the body to $TMP/resp.
post() {
    local port=$1
    shift
    STATUS=$(curl -s -m 40 -o "$TMP/resp" -w '%{http_code}' "$@" "http://127.0.0.1:$port/mail")
}

post_json() {
    local port=$1 json=$2
    shift 2
    post "$port" -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

count() {
    find "$TMP/$1" -name '*.json' | wc -l
}

# The newest stored message of a sink: $TMP/NAME/NNNN (without extension).
newest() {
    local f
    f=$(find "$TMP/$1" -name '*.json' | sort | tail -n 1)
    echo "${f%.json}"
}

# expect_status NAME WANT: checks $STATUS, shows the response when it differs.
expect_status() {
    if [ "$STATUS" = "$2" ]; then
        ok "$1"
    else
        bad "$1" "status $STATUS, want $2: $(head -c 400 "$TMP/resp")"
    fi
}

# Python checks on a stored message (.eml + .json) and the HTTP response.
cat >"$TMP/msg.py" <<'EOF'
import email, email.policy, json, sys

def load(base):
    with open(base + ".eml", "rb") as f:
        raw = f.read()
    with open(base + ".json") as f:
        env = json.load(f)
    return raw, email.message_from_bytes(raw, policy=email.policy.default), env

def text_of(part):
    return part.get_content().replace("\r\n", "\n")

def need(cond, what):
    if not cond:
        sys.exit("failed: " + what)

def main():
    what, base = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    raw, m, env = load(base)
    need(m.defects == [], "parse defects %r" % m.defects)
    for line in raw.split(b"\r\n")[:-1]:
        need(b"\r" not in line and b"\n" not in line, "bare CR or LF")
        need(len(line) <= 998, "line over 998 octets")
    if what == "plain":
        need(m["subject"] == "Plain", "subject %r" % m["subject"])
        need(m.get_content_type() == "text/plain", "type " + m.get_content_type())
        need(text_of(m) == "Hello, world.\n", "body %r" % text_of(m))
        need(env["mail_from"] == "pari@example.org", "envelope from %r" % env["mail_from"])
        need(env["rcpt_tos"] == ["sam@example.org"], "envelope to %r" % env["rcpt_tos"])
        need(m["Message-ID"] and m["Date"] and m["MIME-Version"] == "1.0", "header set")
    elif what == "alternative":
        need(m.get_content_type() == "multipart/alternative", m.get_content_type())
        need(text_of(m.get_body(("plain",))) == "Plain text\n", "text part")
        need(text_of(m.get_body(("html",))).startswith("<p>HTML"), "html part")
    elif what == "attachments":
        need(m.get_content_type() == "multipart/mixed", m.get_content_type())
        need(text_of(m.get_body(("plain",))) == "See attached", "text part")
        files = {p.get_filename(): p for p in m.iter_attachments()}
        need(len(files) == len(args), "attachments %r" % list(files))
        for path in args:
            name = path.rsplit("/", 1)[-1]
            need(name in files, "missing " + name)
            with open(path, "rb") as f:
                need(files[name].get_payload(decode=True) == f.read(), name + " differs")
            need(files[name].get_content_type() == "application/octet-stream", "type of " + name)
    elif what == "json-attachments":
        files = {p.get_filename(): p for p in m.iter_attachments()}
        need(files["r\u00e9sum\u00e9.pdf"].get_payload(decode=True) == bytes(range(256)) * 4,
             "binary attachment")
        need(files["note.txt"].get_content_type() == "text/plain", "type of note.txt")
    elif what == "bcc":
        need(sorted(env["rcpt_tos"]) == sorted(args), "envelope %r" % env["rcpt_tos"])
        need(b"hidden@example.org" not in raw, "bcc address in the message")
        need("bcc" not in [k.lower() for k in m.keys()], "a Bcc field")
        need(m["To"] == "sam@example.org" and m["Cc"] == "kim@example.org", "To/Cc")
    elif what == "dots":
        # A single-part body always ends in a line break: compare without it.
        want = args[0].replace("\\n", "\n").rstrip("\n")
        got = text_of(m).rstrip("\n")
        need(got == want, "body %r, want %r" % (got, want))
    elif what == "subject":
        need(m["subject"] == args[0], "subject %r" % m["subject"])
        need(m["from"].addresses[0].display_name == args[1], "display %r" % str(m["from"]))
        need(all(ord(c) < 128 for c in raw.decode("latin-1")), "8-bit bytes in the message")
    elif what == "form":
        need(m["subject"] == "Hello from a form", "subject %r" % m["subject"])
        need(str(m["from"]) == "Pari <pari@example.org>", "from %r" % str(m["from"]))
        need(text_of(m) == "Line one\n.\nL\u00e9ne three\n", "body %r" % text_of(m))
        need(env["rcpt_tos"] == ["sam@example.org", "kim@example.org"], "to %r" % env["rcpt_tos"])
    elif what == "auth":
        need(env["auth_login"] == args[0], "auth login %r" % env["auth_login"])
    else:
        sys.exit("unknown check " + what)

main()
EOF

# json_has KEY-PATH-EXPRESSION: evaluates a Python expression on the response as r.
json_has() {
    $PY - "$TMP/resp" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("response %r does not satisfy %s" % (r, sys.argv[2]))
EOF
}

msg() {
    $PY "$TMP/msg.py" "$@"
}

# ---- the servers -------------------------------------------------------

start_sink main --reject bad@example.org
SINK_MAIN=$SINK_PORT
start_server main -- --smtp-port "$SINK_MAIN"
M=$SERVER_PORT

start_sink auth --auth relay:s3cret
SINK_AUTH=$SINK_PORT
start_server auth SMTP_PASSWORD=s3cret -- --smtp-port "$SINK_AUTH" --smtp-user relay
PORT_AUTH=$SERVER_PORT
start_server badpw SMTP_PASSWORD=wrong -- --smtp-port "$SINK_AUTH" --smtp-user relay
PORT_BADPW=$SERVER_PORT

start_server dead -- --smtp-port "$(free_port)"
PORT_DEAD=$SERVER_PORT

start_sink hang --hang
start_server hang -- --smtp-port "$SINK_PORT"
PORT_HANG=$SERVER_PORT

start_server guard MAIL_TOKEN=t0ken -- --smtp-port "$SINK_MAIN" --mail-allow example.org,example.com \
    --mail-max-body 1000
G=$SERVER_PORT

# ---- messages that go through ------------------------------------------

post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org", "subject": "Plain",
                 "text": "Hello, world.\n"}'
expect_status "plain text: 200" 200
check "plain text: JSON response" json_has \
    'r["accepted"] == ["sam@example.org"] and r["rejected"] == [] and
     r["message_id"].startswith("<") and r["smtp_reply"].startswith("250")'
check "plain text: stored message" msg plain "$(newest main)"

post_json "$M" '{"from": "pari@example.org", "to": ["sam@example.org"],
                 "text": "Plain text\n", "html": "<p>HTML <b>body</b></p>"}'
expect_status "text and html: 200" 200
check "text and html: multipart/alternative" msg alternative "$(newest main)"

head -c 5000 /dev/urandom >"$TMP/small.bin"
head -c 300000 /dev/urandom >"$TMP/photo.jpg.bin"
post "$M" -F from=pari@example.org -F to=sam@example.org -F subject=Files \
    -F 'text=See attached' -F "first=@$TMP/small.bin" -F "second=@$TMP/photo.jpg.bin"
expect_status "curl -F with two binary attachments: 200" 200
check "curl -F: attachments byte-identical" msg attachments "$(newest main)" \
    "$TMP/small.bin" "$TMP/photo.jpg.bin"

B64=$($PY -c 'import base64; print(base64.b64encode(bytes(range(256)) * 4).decode())')
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org", "text": "x",
  "attachments": [{"filename": "résumé.pdf", "content_type": "application/pdf",
                   "content": "'"$B64"'"},
                  {"filename": "note.txt", "content_type": "text/plain", "content": "aGkK"}]}'
expect_status "JSON attachments: 200" 200
check "JSON attachments: decoded, non-ASCII name" msg json-attachments "$(newest main)"

post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org", "cc": "kim@example.org",
                 "bcc": ["hidden@example.org"], "text": "bcc test"}'
expect_status "bcc: 200" 200
check "bcc: in the envelope, not in the headers" msg bcc "$(newest main)" \
    sam@example.org kim@example.org hidden@example.org

DOTS='first\n.\nsecond\n..\n.third\n.'
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org", "text": "'"$DOTS"'"}'
expect_status "dot lines: 200" 200
check "dot lines: body arrives intact" msg dots "$(newest main)" "$DOTS"

post_json "$M" '{"from": "Pári Ünal <pari@example.org>", "to": "sam@example.org",
                 "subject": "Grüße aus Köln — ✓ 😀 and a long tail to make it fold over lines",
                 "text": "ü"}'
expect_status "non-ASCII subject: 200" 200
check "non-ASCII subject and name: decode correctly" msg subject "$(newest main)" \
    "Grüße aus Köln — ✓ 😀 and a long tail to make it fold over lines" "Pári Ünal"

# A browser's <form method="post">: urlencoded with '+' for space, CRLF in a textarea.
FORM=$($PY -c 'from urllib.parse import urlencode; print(urlencode([
    ("from", "Pari <pari@example.org>"), ("to", "sam@example.org, kim@example.org"),
    ("subject", "Hello from a form"), ("text", "Line one\r\n.\r\nLéne three\r\n"),
    ("send", "Send")]))')
post "$M" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$FORM"
expect_status "urlencoded form: 200" 200
check "urlencoded form: fields decoded" msg form "$(newest main)"

post_json "$M" '{"from": "pari@example.org", "to": ["sam@example.org", "bad@example.org"]}'
expect_status "one rejected recipient: 200" 200
check "one rejected recipient: reported in JSON" json_has \
    'r["accepted"] == ["sam@example.org"] and r["rejected"][0]["address"] == "bad@example.org"
     and r["rejected"][0]["reply"].startswith("550")'

post_json "$M" '{"from": "pari@example.org", "to": "bad@example.org"}'
expect_status "every recipient rejected: 502" 502
check "every recipient rejected: reply in JSON" json_has '"550" in r["error"]'

post_json "$PORT_AUTH" '{"from": "pari@example.org", "to": "sam@example.org", "text": "auth"}'
expect_status "AUTH: 200" 200
check "AUTH: the sink saw the login" msg auth "$(newest auth)" relay

post_json "$PORT_BADPW" '{"from": "pari@example.org", "to": "sam@example.org"}'
expect_status "AUTH with a wrong password: 502" 502
check "AUTH with a wrong password: 535 in JSON" json_has '"535" in r["smtp_reply"]'

# ---- refusals that must store nothing ----------------------------------

BEFORE=$(count main)
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org",
                 "subject": "Hi\r\nBcc: victim@example.org", "text": "x"}'
expect_status "CRLF in subject: 400" 400
post_json "$M" '{"from": "pari@example.org\r\nBcc: victim@example.org", "to": "sam@example.org"}'
expect_status "CRLF in from: 400" 400
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org\nvictim@example.org"}'
expect_status "LF in to: 400" 400
post_json "$M" '{"from": "Eve\u0000 <pari@example.org>", "to": "sam@example.org"}'
expect_status "NUL in a display name: 400" 400
post "$M" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'from=pari%40example.org&to=sam%40example.org&subject=Hi%0D%0ABcc%3A+v%40x.org'
expect_status "urlencoded CRLF in subject: 400" 400
printf -- '--b\r\nContent-Disposition: form-data; name="from"\r\n\r\npari@example.org\r\n--b\r\nContent-Disposition: form-data; name="to"\r\n\r\nsam@example.org\r\n--b\r\nContent-Disposition: form-data; name="subject"\r\n\r\nHi\r\nBcc: victim@example.org\r\n--b--\r\n' >"$TMP/inject.mp"
post "$M" -H 'Content-Type: multipart/form-data; boundary=b' --data-binary "@$TMP/inject.mp"
expect_status "multipart CRLF in subject: 400" 400
check "header injection: JSON error body" json_has '"error" in r'
post_json "$M" '{"from": "pari@example.org", "text": "nobody to send to"}'
expect_status "no recipient: 400" 400
post "$M" -H 'Content-Type: text/plain' --data-binary 'to=sam@example.org'
expect_status "text/plain body: 415" 415
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org"'
expect_status "truncated JSON: 400" 400
post_json "$G" '{"from": "pari@example.org", "to": "sam@example.org"}'
expect_status "no token: 401" 401
post_json "$G" '{"from": "pari@example.org", "to": "sam@example.org"}' \
    -H 'Authorization: Bearer wrong'
expect_status "wrong token: 401" 401
post_json "$G" '{"from": "pari@example.org", "to": "sam@other.test"}' \
    -H 'Authorization: Bearer t0ken'
expect_status "recipient outside --mail-allow: 403" 403
BIG=$($PY -c 'print("{\"from\": \"pari@example.org\", \"to\": \"sam@example.org\", \"text\": \"" + "x" * 2000 + "\"}")')
post_json "$G" "$BIG" -H 'Authorization: Bearer t0ken'
expect_status "body over --mail-max-body: 413" 413
AFTER=$(count main)
if [ "$BEFORE" = "$AFTER" ]; then
    ok "refused requests stored nothing"
else
    bad "refused requests stored nothing" "$((AFTER - BEFORE)) messages stored"
fi
post_json "$G" '{"from": "pari@example.org", "to": "sam@example.com"}' \
    -H 'Authorization: Bearer t0ken'
expect_status "right token, allowed domain: 200" 200

# ---- an SMTP host that is down, or never answers -----------------------

post_json "$PORT_DEAD" '{"from": "pari@example.org", "to": "sam@example.org"}'
expect_status "SMTP port closed: 502" 502
check "SMTP port closed: reason in JSON" json_has '"connect" in r["error"]'

START=$(date +%s.%N)
curl -s -m 40 -o "$TMP/hang.resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary '{"from": "pari@example.org", "to": "sam@example.org"}' \
    "http://127.0.0.1:$PORT_HANG/mail" >"$TMP/hang.status" &
HANG_CURL=$!
sleep 1
ECHO_START=$(date +%s.%N)
ECHO=$(curl -s -m 5 "http://127.0.0.1:$PORT_HANG/echo/ok")
ECHO_TIME=$($PY -c "print('%.2f' % ($(date +%s.%N) - $ECHO_START))")
if [ "$ECHO" = "ok" ] && $PY -c "import sys; sys.exit(not $ECHO_TIME < 1.0)"; then
    ok "/echo/ok answers while a relay hangs ($ECHO_TIME s)"
else
    bad "/echo/ok answers while a relay hangs" "got '$ECHO' after $ECHO_TIME s"
fi
wait "$HANG_CURL"
ELAPSED=$($PY -c "print('%.2f' % ($(date +%s.%N) - $START))")
STATUS=$(cat "$TMP/hang.status")
cp "$TMP/hang.resp" "$TMP/resp"
expect_status "SMTP host never answers: 504" 504
if $PY -c "import sys; sys.exit(not 9.5 < $ELAPSED < 16)"; then
    ok "504 after the 10 s reply deadline ($ELAPSED s)"
else
    bad "504 after the 10 s reply deadline" "took $ELAPSED s"
fi

# ---- bodies held in memory are bounded across connections ---------------

# Six clients each send all but the last byte of a 10 MiB message and stall:
# 60 MiB held. A seventh that announces 10 MiB is refused before its body,
# a chunked one once its bytes pass 64 MiB; when the six leave, mail flows.
cat >"$TMP/held.py" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
MIB = 1024 * 1024
def head(extra):
    return (b"POST /mail HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
            b"\r\n")
def answer(s):
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
held = []
for _ in range(6):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head(b"Content-Length: %d\r\n" % (10 * MIB)) + b" " * (10 * MIB - 1))
    held.append(s)
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(head(b"Content-Length: %d\r\n" % (10 * MIB)))
sized = answer(s)
s.close()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(head(b"Transfer-Encoding: chunked\r\n"))
try:
    s.sendall(b"%x\r\n" % (5 * MIB) + b" " * (5 * MIB) + b"\r\n")
except OSError:
    pass  # the server may close as soon as it has answered
chunked = answer(s)
s.close()
for s in held:
    s.close()
time.sleep(0.5)
print("sized:", sized[:80], "chunked:", chunked[:80])
ok = sized.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in sized and chunked.startswith(b"HTTP/1.1 503 ")
sys.exit(0 if ok else 1)
EOF
if $PY "$TMP/held.py" "$M"; then
    ok "mail bodies in memory: over 64 MiB together, a new one gets 503"
else
    bad "mail bodies in memory: over 64 MiB together, a new one gets 503" "see above"
fi
post_json "$M" '{"from": "pari@example.org", "to": "sam@example.org", "text": "after"}'
expect_status "and once those clients leave, mail is relayed again: 200" 200

report
