#!/usr/bin/env python3
"""Emulation of the CodeCrafters "Build your own HTTP server" test harness.

Every stage starts a fresh server process, talks to it the way the harness
(codecrafters-io/http-server-tester) does, stops it, and prints one line:

    PASS <stage>
    FAIL <stage>: <why>

followed by "N passed, M failed". The exit status is 1 when any stage fails.

What is copied from the harness's behaviour:
  * requests go out in a single write: request line, "Host: localhost:<port>",
    then the other headers sorted by name (Accept-Encoding, Connection,
    Content-Length, Content-Type, User-Agent), a blank line and the body;
  * responses are parsed like the harness's parser: "HTTP/1.1", a three-digit
    code, the reason phrase compared exactly, header values trimmed and
    compared case-insensitively, the body read by Content-Length only (no
    Content-Length means no body; bytes beyond it stay in the buffer and are
    read as the start of the next response on that connection);
  * each response must be complete within 2 s, the server must accept a
    connection within 5 s of being started, a stage gets 15 s;
  * random words, file names, file contents and User-Agent values are built
    the same way the harness builds them;
  * --directory is an absolute path with a trailing slash;
  * the server is stopped with SIGTERM to its process group and given 2 s.

Stricter than the harness, on purpose:
  * no response may carry a Date or Server header (the harness checks this
    once, in its anti-cheat step);
  * the server must not crash during a stage and must exit cleanly (status 0
    or killed by the SIGTERM) when stopped;
  * after a "Connection: close" response the socket must reach EOF within
    --close-window seconds (default 1).

Stages named "extra-..." check what the course text promises beyond what
the current harness sends; --harness-only skips them.

Usage:
    python3 tests/codecrafters.py                 # SERVER=./server, free ports
    SERVER=build/asan/server python3 tests/codecrafters.py -v
    python3 tests/codecrafters.py --port 4221 --program ./your_program.sh
"""

import argparse
import gzip
import os
import random
import re
import select
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import traceback

# Words the harness draws every random string from.
WORDS = ["apple", "orange", "banana", "pear", "grape", "pineapple", "mango",
         "strawberry", "raspberry", "blueberry"]

RESPONSE_TIMEOUT = 2.0   # harness: ReadResponse waits 2 s
CONNECT_WINDOW = 5.0     # harness: 50 dial attempts 100 ms apart
STAGE_LIMIT = 15.0       # harness: per-stage timeout
STOP_GRACE = 2.0         # harness: SIGTERM, then SIGKILL after 2 s


class StageFailure(Exception):
    """A check failed; the message is what gets printed after FAIL."""


class IncompleteResponse(Exception):
    """The bytes so far are a valid prefix of a response."""


class InvalidResponse(Exception):
    """The bytes so far can never become a valid response."""


# --------------------------------------------------------------------------
# Response parsing, following the harness's parser rule for rule.

def go_atoi(text):
    """strconv.Atoi: optional sign, then one or more decimal digits."""
    if re.fullmatch(r"[+-]?[0-9]+", text) is None:
        return None
    return int(text)


class Response:
    def __init__(self, version, status, reason, headers, body, raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), value trimmed
        self.body = body
        self.raw = raw

    def header(self, name):
        """The first value of a header (name case-insensitive), or ""."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return ""

    def content_length(self):
        value = self.header("Content-Length")
        if value == "":
            return -1
        n = go_atoi(value)
        return -1 if n is None else n


def _until_space(buf, pos):
    """Bytes up to the first SP or TAB, and the index after it."""
    ends = [i for i in (buf.find(b" ", pos), buf.find(b"\t", pos)) if i >= 0]
    if not ends:
        return None, pos
    end = min(ends)
    return bytes(buf[pos:end]), end + 1


def _until(buf, pos, delim):
    end = buf.find(delim, pos)
    if end < 0:
        return None, pos
    return bytes(buf[pos:end]), end + len(delim)


def _text(b):
    return b.decode("latin-1")


def parse_response(buf):
    """Parses one response from the start of buf.

    Returns (Response, bytes consumed). Raises IncompleteResponse or
    InvalidResponse."""
    pos = 0
    version, pos = _until_space(buf, pos)
    if version is None:
        raise IncompleteResponse("Expected: HTTP-version, Received: %r" % bytes(buf[:40]))
    if len(version) != 8 or version[:5] != b"HTTP/":
        raise InvalidResponse("Expected HTTP/1.1, Received: %r" % version)
    if version[5:8] != b"1.1":
        raise InvalidResponse("Expected HTTP-version 1.1, Received: %r" % version[5:])

    code, pos = _until_space(buf, pos)
    if code is None:
        raise IncompleteResponse(
            "Expected reason phrase (example: 'OK' for 200 response) at end of status line")
    if len(code) != 3:
        raise InvalidResponse(
            "Invalid status-code field length, Expected: 3 digits, Received: %d (%r)"
            % (len(code), code))
    status = go_atoi(_text(code))
    if status is None:
        raise InvalidResponse("Invalid status-code field, Expected integer value, Received: %r"
                              % code)

    reason, pos = _until(buf, pos, b"\r\n")
    if reason is None:
        raise IncompleteResponse("Expected CRLF after status line")

    headers = []
    while True:
        line, after = _until(buf, pos, b"\r\n")
        if line is None:
            raise IncompleteResponse("Expected CRLF after header section" if pos == len(buf)
                                     else "Expected CRLF after header value")
        if line == b"":
            pos = after
            break
        # The harness reads the name up to the next ':' wherever it is, then
        # the value up to the next CRLF.
        key, vpos = _until(buf, pos, b":")
        if key is None:
            raise IncompleteResponse("Expected ':' after header key")
        if key == b"" or key.endswith(b" "):
            raise InvalidResponse("No whitespace allowed before header separator (%r)" % key)
        value, pos = _until(buf, vpos, b"\r\n")
        if value is None:
            raise IncompleteResponse("Expected CRLF after header value")
        for c in (b"\r", b"\n", b"\x00"):
            value = value.replace(c, b" ")
        headers.append((_text(key), _text(value.strip())))

    resp = Response(_text(version), status, _text(reason), headers, b"", b"")
    length = resp.content_length()
    if length != -1:
        length = max(length, 0)
        if len(buf) - pos < length:
            raise IncompleteResponse("Expected content of length %d, Received content of length %d"
                                     % (length, len(buf) - pos))
        resp.body = bytes(buf[pos:pos + length])
        pos += length
    resp.raw = bytes(buf[:pos])
    return resp, pos


# --------------------------------------------------------------------------
# Connections.

def show(data, limit=300):
    text = repr(bytes(data))
    return text if len(text) <= limit else text[:limit] + "...(%d bytes)" % len(data)


class Conn:
    def __init__(self, ctx, label):
        self.ctx = ctx
        self.label = label
        self.buf = bytearray()
        self.sock = None
        self.eof = False
        deadline = time.monotonic() + CONNECT_WINDOW
        last = None
        while True:
            try:
                self.sock = socket.create_connection((ctx.host, ctx.port), timeout=1.0)
                break
            except OSError as e:
                last = e
            if not ctx.server.alive():
                raise StageFailure("server exited before accepting a connection (%s)"
                                   % ctx.server.describe_exit())
            if time.monotonic() >= deadline:
                raise StageFailure("could not connect to %s:%d within %.0f s: %s"
                                   % (ctx.host, ctx.port, CONNECT_WINDOW, last))
            time.sleep(0.1)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        ctx.log("%s: connected" % label)

    def send(self, data):
        self.ctx.log("%s: sent %s" % (self.label, show(data)))
        self.sock.setblocking(True)
        self.sock.settimeout(RESPONSE_TIMEOUT)
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise StageFailure("%s: failed to send request: %s" % (self.label, e))
        finally:
            self.sock.setblocking(False)

    def _fill(self, wait):
        """Waits up to `wait` seconds for bytes; False on EOF."""
        if self.eof:
            return False
        ready, _, _ = select.select([self.sock], [], [], max(wait, 0))
        if not ready:
            return True
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            self.eof = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout=RESPONSE_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                resp, used = parse_response(self.buf)
            except InvalidResponse as e:
                raise StageFailure("%s: invalid response: %s; received %s"
                                   % (self.label, e, show(self.buf)))
            except IncompleteResponse as e:
                now = time.monotonic()
                if now >= deadline:
                    if not self.buf:
                        raise StageFailure("%s: no response within %.0f s"
                                           % (self.label, timeout))
                    raise StageFailure("%s: incomplete response after %.0f s (%s); received %s"
                                       % (self.label, timeout, e, show(self.buf)))
                if not self._fill(deadline - now):
                    if not self.buf:
                        raise StageFailure("%s: connection closed without a response"
                                           % self.label)
                    raise StageFailure("%s: connection closed mid-response (%s); received %s"
                                       % (self.label, e, show(self.buf)))
                continue
            del self.buf[:used]
            self.ctx.log("%s: received %s" % (self.label, show(resp.raw)))
            return resp

    def closed_within(self, window):
        """True if the server closes the connection within `window` seconds."""
        deadline = time.monotonic() + window
        while True:
            if self.eof:
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            self._fill(deadline - now)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# --------------------------------------------------------------------------
# The server process.

class Server:
    def __init__(self, cmd, cwd, log_path):
        self.cmd = cmd
        self.log_path = log_path
        self.log = open(log_path, "wb")
        try:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as e:
            self.log.close()
            raise StageFailure("could not start %s: %s" % (shlex.join(cmd), e))

    def alive(self):
        return self.proc.poll() is None

    def describe_exit(self):
        code = self.proc.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                return "killed by %s" % signal.Signals(-code).name
            except ValueError:
                return "killed by signal %d" % -code
        return "exit status %d" % code

    def stop(self):
        """Stops the server; returns a problem description or None."""
        if not self.alive():
            self.log.close()
            return "server exited during the stage (%s)" % self.describe_exit()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        problem = None
        try:
            self.proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            problem = "server did not exit within %.0f s of SIGTERM" % STOP_GRACE
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()
        code = self.proc.returncode
        if problem is None and code not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
            problem = ("server ended with %s when stopped (expected exit status 0 or "
                       "death by SIGTERM)" % self.describe_exit())
        return problem

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        tail = data.decode("utf-8", "replace").splitlines()[-lines:]
        return "\n".join(tail)


# --------------------------------------------------------------------------
# Stage context: request building and response checks.

def build_request(method, path, host, headers=None, body=b""):
    """Request bytes as the harness writes them: Host first, then the other
    headers sorted by name."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    for name in sorted(headers or {}):
        lines.append("%s: %s" % (name, headers[name]))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Expect:
    """What the harness asserts about one response."""

    def __init__(self, status, reason, headers=None, body=None):
        self.status = status
        self.reason = reason
        self.headers = list(headers or [])
        self.body = body

    def check(self, resp, label):
        if resp.status != self.status:
            raise StageFailure("%s: Expected status code %d, got %d"
                               % (label, self.status, resp.status))
        if resp.reason != self.reason:
            raise StageFailure("%s: Expected reason to be %r, got %r"
                               % (label, self.reason, resp.reason))
        for name, value in self.headers:
            actual = resp.header(name)
            if actual == "":
                raise StageFailure("%s: Expected header %s: %s, to be present"
                                   % (label, name, value))
            if actual.lower() != value.lower():
                raise StageFailure("%s: Expected header %s: %s, got %s"
                                   % (label, name, value, actual))
        if self.body is not None:
            if len(resp.body) != len(self.body):
                raise StageFailure("%s: Expected body of length %d, got %d (%s)"
                                   % (label, len(self.body), len(resp.body), show(resp.body, 120)))
            if resp.body != self.body:
                raise StageFailure("%s: Expected body %s, got %s"
                                   % (label, show(self.body, 120), show(resp.body, 120)))
        for name in ("Date", "Server"):
            if resp.header(name) != "":
                raise StageFailure("%s: response carries a %s header (%s: %s); the harness's "
                                   "anti-cheat step rejects Date and Server headers"
                                   % (label, name, name, resp.header(name)))


class Pair:
    """A request and what its response must look like."""

    def __init__(self, method, path, headers, body, expect):
        self.method = method
        self.path = path
        self.headers = dict(headers or {})
        self.body = body
        self.expect = expect

    def describe(self):
        return "%s %s" % (self.method, self.path)


class Ctx:
    def __init__(self, args, server, port, directory, rng):
        self.args = args
        self.server = server
        self.host = args.host
        self.port = port
        self.directory = directory
        self.rng = rng
        self.verbose = args.verbose
        self.conn_count = 0

    def log(self, msg):
        if self.verbose:
            sys.stderr.write("    %s\n" % msg)
            sys.stderr.flush()

    def host_header(self):
        return "localhost:%d" % self.port

    def connect(self, label=None):
        self.conn_count += 1
        return Conn(self, label or "conn-%d" % self.conn_count)

    # Random values, drawn the way the harness draws them.
    def word(self):
        return self.rng.choice(WORDS)

    def words(self, n, joiner):
        return joiner.join(self.word() for _ in range(n))

    def user_agent(self):
        return self.word() + "/" + self.words(self.rng.randint(1, 2), "-")

    def file_name(self):
        return self.words(4, "_")

    def file_content(self):
        return self.words(8, " ")

    def create_file(self, name, content):
        path = os.path.join(self.directory, name)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        self.log("created %s (%d bytes)" % (path, len(content)))

    def exchange(self, conn, pair):
        conn.send(build_request(pair.method, pair.path, self.host_header(), pair.headers,
                                pair.body))
        resp = conn.read_response()
        pair.expect.check(resp, "%s: %s" % (conn.label, pair.describe()))
        return resp

    def one_shot(self, pair):
        """One request on a fresh connection, as the harness's Run() does."""
        conn = self.connect()
        try:
            return self.exchange(conn, pair)
        finally:
            conn.close()

    def expect_closed(self, conn):
        window = self.args.close_window
        if not conn.closed_within(window):
            raise StageFailure("%s: connection is still open %.1f s after the "
                               "'Connection: close' response" % (conn.label, window))
        if conn.buf:
            raise StageFailure("%s: extra bytes after the last response: %s"
                               % (conn.label, show(conn.buf)))

    # Request/response pairs the harness builds.
    def pair_root(self):
        return Pair("GET", "/", {}, b"", Expect(200, "OK"))

    def pair_echo(self, content=None):
        content = self.word() if content is None else content
        return Pair("GET", "/echo/" + content, {}, b"",
                    Expect(200, "OK", [("Content-Type", "text/plain"),
                                       ("Content-Length", str(len(content.encode())))],
                           content.encode()))

    def pair_user_agent(self, agent=None):
        agent = self.user_agent() if agent is None else agent
        return Pair("GET", "/user-agent", {"User-Agent": agent}, b"",
                    Expect(200, "OK", [("Content-Type", "text/plain"),
                                       ("Content-Length", str(len(agent.encode())))],
                           agent.encode()))

    def pair_file(self, name=None, content=None):
        name = self.file_name() if name is None else name
        content = self.file_content() if content is None else content
        data = content.encode() if isinstance(content, str) else content
        self.create_file(name, data)
        return Pair("GET", "/files/" + name, {}, b"",
                    Expect(200, "OK", [("Content-Type", "application/octet-stream"),
                                       ("Content-Length", str(len(data)))], data))

    def random_pair(self):
        """GET /, /echo, /user-agent or /files, as GetRandomRequestResponsePairs."""
        kind = self.rng.randrange(4)
        if kind == 0:
            return self.pair_root()
        if kind == 1:
            return self.pair_echo()
        if kind == 2:
            return self.pair_user_agent()
        return self.pair_file()


# --------------------------------------------------------------------------
# Harness stages.

def stage_bind(ctx):
    conn = ctx.connect()
    conn.close()


def stage_200(ctx):
    ctx.one_shot(ctx.pair_root())


def stage_404(ctx):
    ctx.one_shot(Pair("GET", "/" + ctx.word(), {}, b"", Expect(404, "Not Found")))


def stage_echo(ctx):
    ctx.one_shot(ctx.pair_echo())


def stage_user_agent(ctx):
    ctx.one_shot(ctx.pair_user_agent())


def stage_concurrent(ctx):
    # The harness opens every connection first, then serves them in reverse
    # order (so a server that handles one connection at a time hangs on the
    # first), closes each, and repeats in forward order with new ones. The
    # current harness opens 2, earlier ones up to 4.
    count = ctx.rng.randint(2, 4)
    pair = ctx.pair_root()
    for order in ("reverse", "forward"):
        conns = [ctx.connect("client-%d" % (i + 1)) for i in range(count)]
        idx = range(count - 1, -1, -1) if order == "reverse" else range(count)
        try:
            for i in idx:
                ctx.exchange(conns[i], pair)
                conns[i].close()
        finally:
            for c in conns:
                c.close()


def stage_get_file(ctx):
    ctx.one_shot(ctx.pair_file())
    missing = "non-existent" + ctx.file_name()
    ctx.one_shot(Pair("GET", "/files/" + missing, {}, b"", Expect(404, "Not Found")))


def post_file(ctx, name, data, conn=None):
    pair = Pair("POST", "/files/" + name,
                {"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"},
                data, Expect(201, "Created"))
    if conn is None:
        ctx.one_shot(pair)
    else:
        ctx.exchange(conn, pair)
    path = os.path.join(ctx.directory, name)
    try:
        with open(path, "rb") as f:
            on_disk = f.read()
    except OSError as e:
        raise StageFailure("Error reading file: %s" % e)
    if on_disk != data:
        raise StageFailure("File content does not match: expected %s, on disk %s"
                           % (show(data, 120), show(on_disk, 120)))


def stage_post_file(ctx):
    post_file(ctx, ctx.file_name(), ctx.file_content().encode())


def encoding_pair(ctx, content, accept, gzip_expected):
    headers = [("Content-Encoding", "gzip")] if gzip_expected else []
    return Pair("GET", "/echo/" + content, {"Accept-Encoding": accept}, b"",
                Expect(200, "OK", headers))


def check_no_encoding(resp, label):
    if resp.header("Content-Encoding") != "":
        raise StageFailure("%s: Content-Encoding header should not be present (got %r)"
                           % (label, resp.header("Content-Encoding")))


def stage_content_encoding(ctx):
    content = ctx.word()
    ctx.one_shot(encoding_pair(ctx, content, "gzip", True))
    resp = ctx.one_shot(encoding_pair(ctx, content, "invalid-encoding", False))
    check_no_encoding(resp, "Accept-Encoding: invalid-encoding")


def stage_multiple_schemes(ctx):
    content = ctx.word()
    ctx.one_shot(encoding_pair(ctx, content, "encoding-1, gzip, encoding-2", True))
    resp = ctx.one_shot(encoding_pair(ctx, content, "encoding-1, encoding-2", False))
    check_no_encoding(resp, "Accept-Encoding: encoding-1, encoding-2")


def check_gzip_body(resp, content, label):
    if resp.header("Content-Length") != str(len(resp.body)):
        raise StageFailure("%s: Content-Length header (%s bytes) does not match the length of "
                           "the body (%d bytes)" % (label, resp.header("Content-Length"),
                                                    len(resp.body)))
    try:
        decoded = gzip.decompress(resp.body)
    except (OSError, EOFError, ValueError) as e:
        raise StageFailure("%s: Failed to decode gzip: %s (body %s)"
                           % (label, e, show(resp.body, 120)))
    if decoded != content.encode():
        raise StageFailure("%s: Expected %s, got %s" % (label, content, show(decoded, 120)))


def stage_gzip(ctx):
    content = ctx.word()
    resp = ctx.one_shot(encoding_pair(ctx, content, "gzip", True))
    check_gzip_body(resp, content, "GET /echo/%s" % content)


def stage_persistent(ctx):
    # Two random requests on one connection, the pair sent twice.
    pairs = [ctx.random_pair() for _ in range(2)]
    conn = ctx.connect()
    try:
        for _ in range(2):
            for pair in pairs:
                ctx.exchange(conn, pair)
    finally:
        conn.close()


def stage_persistent_concurrent(ctx):
    # One persistent connection per request (the harness: 2), all opened
    # first, served in reverse order, then again in forward order.
    count = ctx.rng.randint(2, 3)
    pairs = [ctx.random_pair() for _ in range(count)]
    conns = [ctx.connect("client-%d" % (i + 1)) for i in range(count)]
    try:
        for i in range(count - 1, -1, -1):
            ctx.exchange(conns[i], pairs[i])
        for i in range(count):
            ctx.exchange(conns[i], pairs[i])
    finally:
        for c in conns:
            c.close()


def closing_pairs(ctx):
    pairs = [ctx.random_pair() for _ in range(2)]
    pairs[1].headers["Connection"] = "close"
    pairs[1].expect.headers.append(("Connection", "close"))
    return pairs


def stage_connection_close(ctx):
    # Both connections are opened first; each gets a plain request and then
    # one with "Connection: close", after which the server must close it.
    pairs = closing_pairs(ctx)
    conns = [ctx.connect("conn-%d" % i) for i in range(2)]
    try:
        for conn in conns:
            for pair in pairs:
                ctx.exchange(conn, pair)
            ctx.expect_closed(conn)
    finally:
        for c in conns:
            c.close()


def stage_anti_cheat(ctx):
    # The harness fetches / with Go's HTTP client and fails when the answer
    # is not HTTP/1.1 or carries a Date or Server header; a response it cannot
    # read at all counts as a pass. These are the bytes Go's client sends.
    conn = ctx.connect()
    try:
        conn.send(("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\n"
                   "Accept-Encoding: gzip\r\n\r\n" % ctx.host_header()).encode())
        deadline = time.monotonic() + 5.0
        while b"\r\n\r\n" not in conn.buf and time.monotonic() < deadline:
            if not conn._fill(deadline - time.monotonic()):
                break
        ctx.log("%s: received %s" % (conn.label, show(conn.buf)))
        head = bytes(conn.buf).split(b"\r\n\r\n", 1)[0]
        if not head:
            ctx.log("anti-cheat: no response head; the harness counts that as a pass")
            return
        lines = head.split(b"\r\n")
        version = lines[0].split(b" ", 1)[0]
        if version != b"HTTP/1.1":
            raise StageFailure("anti-cheat (ac1) failed: status line %r is not HTTP/1.1"
                               % lines[0])
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"date", b"server") and value.strip():
                raise StageFailure("anti-cheat (ac1) failed: response has %r" % line)
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Extra stages: what the course text promises beyond the current harness.

SAFE = string.ascii_letters + string.digits + "-._~"


def extra_echo(ctx):
    for n in (1, ctx.rng.randint(2, 12), ctx.rng.randint(13, 40)):
        ctx.one_shot(ctx.pair_echo("".join(ctx.rng.choice(SAFE) for _ in range(n))))


def extra_user_agent(ctx):
    for agent in ("curl/7.64.1", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101",
                  "%s/%d.%d" % (ctx.word(), ctx.rng.randint(0, 99), ctx.rng.randint(0, 99))):
        ctx.one_shot(ctx.pair_user_agent(agent))


def extra_not_found(ctx):
    token = "".join(ctx.rng.choice(string.ascii_lowercase) for _ in range(12))
    for path in ("/" + token, "/" + token + "/" + ctx.word(), "/files/" + token):
        ctx.one_shot(Pair("GET", path, {}, b"", Expect(404, "Not Found")))


def extra_files(ctx):
    # A file written with POST can be read back with GET.
    name = ctx.file_name()
    content = ctx.file_content().encode()
    post_file(ctx, name, content)
    ctx.one_shot(Pair("GET", "/files/" + name, {}, b"",
                      Expect(200, "OK", [("Content-Type", "application/octet-stream"),
                                         ("Content-Length", str(len(content)))], content)))
    # Content-Length is the size of the file in bytes, whatever the size.
    big = (" ".join(ctx.word() for _ in range(12000))).encode()
    ctx.one_shot(ctx.pair_file("big_" + ctx.file_name(), big))
    ctx.one_shot(ctx.pair_file("empty_" + ctx.file_name(), b""))


def extra_compression(ctx):
    content = ctx.word()
    label = "GET /echo/%s" % content
    for accept in ("invalid-encoding-1, gzip, invalid-encoding-2", "gzip, deflate",
                   "br, gzip"):
        resp = ctx.one_shot(Pair("GET", "/echo/" + content, {"Accept-Encoding": accept}, b"",
                                 Expect(200, "OK", [("Content-Type", "text/plain"),
                                                    ("Content-Encoding", "gzip")])))
        check_gzip_body(resp, content, "%s (Accept-Encoding: %s)" % (label, accept))
    resp = ctx.one_shot(Pair("GET", "/echo/" + content,
                             {"Accept-Encoding": "invalid-encoding-1, invalid-encoding-2"}, b"",
                             Expect(200, "OK", [("Content-Type", "text/plain"),
                                                ("Content-Length", str(len(content)))],
                                    content.encode())))
    check_no_encoding(resp, label)


def extra_persistent(ctx):
    # The course's examples: /echo then /user-agent on one connection; then
    # /echo/orange and / with Connection: close, after which the socket closes.
    conn = ctx.connect()
    try:
        ctx.exchange(conn, ctx.pair_echo())
        ctx.exchange(conn, ctx.pair_user_agent())
        name = ctx.file_name()
        post_file(ctx, name, ctx.file_content().encode(), conn)
        ctx.exchange(conn, ctx.pair_echo("orange"))
        last = ctx.pair_root()
        last.headers["Connection"] = "close"
        last.expect.headers.append(("Connection", "close"))
        ctx.exchange(conn, last)
        ctx.expect_closed(conn)
    finally:
        conn.close()


# name, function, needs --directory, harness (True) or extra (False)
STAGES = [
    ("at4-bind-to-port", stage_bind, False, True),
    ("ia4-respond-with-200", stage_200, False, True),
    ("ih0-respond-with-404", stage_404, False, True),
    ("cn2-respond-with-content", stage_echo, False, True),
    ("fs3-parse-headers", stage_user_agent, False, True),
    ("ej5-concurrent-connections", stage_concurrent, False, True),
    ("ap6-get-a-file", stage_get_file, True, True),
    ("qv8-post-a-file", stage_post_file, True, True),
    ("df4-content-encoding-header", stage_content_encoding, False, True),
    ("ij8-multiple-compression-schemes", stage_multiple_schemes, False, True),
    ("cr8-gzip-compression", stage_gzip, False, True),
    ("ag9-persistent-connections", stage_persistent, True, True),
    ("ul1-concurrent-persistent-connections", stage_persistent_concurrent, True, True),
    ("kh7-connection-closure", stage_connection_close, True, True),
    ("anti-cheat", stage_anti_cheat, False, True),
    ("extra-echo-strings", extra_echo, False, False),
    ("extra-user-agents", extra_user_agent, False, False),
    ("extra-not-found", extra_not_found, True, False),
    ("extra-files", extra_files, True, False),
    ("extra-compression", extra_compression, False, False),
    ("extra-persistent-course-examples", extra_persistent, True, False),
]


# --------------------------------------------------------------------------
# Running.

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def server_command(args, port, directory):
    extra = ["--directory", directory] if directory else []
    if args.program:
        return [args.program] + extra
    return shlex.split(os.environ.get("SERVER", "./server")) + ["--port", str(port)] + extra


def run_stage(args, name, func, needs_dir, seed):
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="cc-http-")
    directory = os.path.join(tmp, "data") + "/" if needs_dir else None
    if directory:
        os.makedirs(directory)
    port = args.port or free_port()
    if args.port and port_in_use(args.host, port):
        shutil.rmtree(tmp, ignore_errors=True)
        return "port %d is already in use before the server starts" % port
    started = time.monotonic()
    server = None
    failure = None
    try:
        server = Server(server_command(args, port, directory), args.cwd,
                        os.path.join(tmp, "server.log"))
        ctx = Ctx(args, server, port, directory, rng)
        func(ctx)
        elapsed = time.monotonic() - started
        if elapsed > STAGE_LIMIT:
            failure = "stage took %.1f s; the harness allows %.0f s" % (elapsed, STAGE_LIMIT)
    except StageFailure as e:
        failure = str(e)
    except Exception as e:  # a bug here must not look like a server failure
        traceback.print_exc(file=sys.stderr)
        failure = "emulator error: %r" % e
    finally:
        if server is not None:
            problem = server.stop()
            if problem and not failure and not args.ignore_exit_status:
                failure = problem
            if failure or args.verbose:
                tail = server.log_tail()
                if tail:
                    sys.stderr.write("    --- server output (%s) ---\n" % name)
                    sys.stderr.write("".join("    | %s\n" % l for l in tail.splitlines()))
        shutil.rmtree(tmp, ignore_errors=True)
    return failure


def main():
    ap = argparse.ArgumentParser(description="Emulates the CodeCrafters HTTP server harness.")
    ap.add_argument("--port", type=int, default=0,
                    help="port to test (default: a free port per stage; 4221 with --program)")
    ap.add_argument("--host", default="localhost",
                    help="host to connect to (default localhost, as the harness)")
    ap.add_argument("--program",
                    help="run this instead of $SERVER, with no --port, as the harness runs "
                         "your_program.sh (e.g. --port 4221 --program ./your_program.sh)")
    ap.add_argument("--stage", action="append", default=[],
                    help="run only stages whose name contains this (repeatable)")
    ap.add_argument("--harness-only", action="store_true",
                    help="skip the extra-* stages (course-text checks)")
    ap.add_argument("--seed", type=int, help="random seed (printed on stderr)")
    ap.add_argument("--close-window", type=float, default=1.0,
                    help="seconds allowed between a 'Connection: close' response and EOF")
    ap.add_argument("--ignore-exit-status", action="store_true",
                    help="do not fail a stage when the server crashes or exits uncleanly")
    ap.add_argument("--list", action="store_true", help="list the stages and exit")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="log bytes sent and received, and server output, on stderr")
    args = ap.parse_args()

    if args.program:
        if not args.port:
            args.port = 4221
        args.program = os.path.abspath(args.program)
        args.cwd = os.path.dirname(args.program)
    else:
        args.cwd = None

    stages = [s for s in STAGES if s[3] or not args.harness_only]
    if args.stage:
        stages = [s for s in stages if any(f in s[0] for f in args.stage)]
    if args.list:
        for s in stages:
            print(s[0])
        return 0
    if not stages:
        print("no stage matches", file=sys.stderr)
        return 2

    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    sys.stderr.write("seed %d (rerun with --seed %d)\n" % (seed, seed))
    master = random.Random(seed)

    passed = failed = 0
    for name, func, needs_dir, _ in stages:
        failure = run_stage(args, name, func, needs_dir, master.randrange(1 << 31))
        if failure:
            failed += 1
            print("FAIL %s: %s" % (name, failure), flush=True)
        else:
            passed += 1
            print("PASS %s" % name, flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
