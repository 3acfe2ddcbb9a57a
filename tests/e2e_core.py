#!/usr/bin/env python3
"""End-to-end tests of the core server: routes, framing, limits, concurrency.

Starts the real server (SERVER, default ./server) on a free port with a
temporary --directory and talks to it over raw sockets, as curl and nc do.
Prints one line per check and 'N passed, M failed' at the end."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from lib_e2e import check, free_port, summary

SERVER = os.environ.get("SERVER", "./server")


class Server:
    def __init__(self, *args, directory=None, quiet=True, fsize_kib=None):
        self.port = free_port()
        self.dir = directory
        cmd = [SERVER, "--port", str(self.port), "--threads", "2"] + (["--quiet"] if quiet else [])
        if directory:
            cmd += ["--directory", directory + "/"]
        cmd += list(args)
        if fsize_kib is not None:  # RLIMIT_FSIZE, as a shell's ulimit -f sets it
            cmd = ["bash", "-c", f'ulimit -f {fsize_kib} && exec "$@"', "bash"] + cmd
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "hung"
        err = self.proc.stderr.read().decode(errors="replace")
        return code, err

    def connect(self, timeout=5):
        return Conn(socket.create_connection(("127.0.0.1", self.port), timeout=timeout))


class Conn:
    """A client socket with a read buffer, so pipelined responses can be split."""

    def __init__(self, sock):
        self.s = sock
        self.pending = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.s.close()

    def sendall(self, data):
        self.s.sendall(data)

    def settimeout(self, t):
        self.s.settimeout(t)

    def close(self):
        self.s.close()

    def recv(self, n):
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self.s.recv(n)


def read_response(sock, head_only=False):
    """Reads one response; returns (status, reason, headers{lower: value}, body, raw_head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, reason = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    length = int(headers.get("content-length", "0"))
    if head_only or status in ("100", "204", "304"):
        length = 0
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed inside body")
        rest += chunk
    sock.pending = rest[length:]
    return int(status), reason, headers, rest[:length], head


def request(srv, raw, head_only=False):
    with srv.connect() as s:
        s.sendall(raw)
        return read_response(s, head_only)


def is_closed(sock, within=1.0):
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_routes(srv):
    st, rs, h, b, _ = request(srv, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check("GET / is 200", st == 200 and rs == "OK", (st, rs))
    st, rs, h, b, _ = request(srv, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    check("unknown path is 404 Not Found", st == 404 and rs == "Not Found", (st, rs))
    st, rs, h, b, _ = request(srv, b"GET /echo/hello%20world HTTP/1.1\r\nHost: x\r\n\r\n")
    check("echo decodes once", st == 200 and b == b"hello world" and
          h.get("content-type") == "text/plain" and h.get("content-length") == "11", (st, h, b))
    st, rs, h, b, _ = request(srv, b"GET /echo/%252e HTTP/1.1\r\nHost: x\r\n\r\n")
    check("echo decodes exactly once", b == b"%2e", b)
    st, rs, h, b, _ = request(srv, b"GET /echo/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
    check("echo with a bad escape is 400", st == 400, st)
    st, rs, h, b, _ = request(srv, b"GET /user-agent HTTP/1.1\r\nHost: x\r\nUser-Agent: foo/1.2\r\n\r\n")
    check("user-agent", st == 200 and b == b"foo/1.2", (st, b))
    for raw in (b"GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /user-agent HTTP/1.1\r\nHost: x\r\n\r\n"):
        _, _, h, _, rawhead = request(srv, raw)
        check("no Date or Server header", "date" not in h and "server" not in h, rawhead)
    st, rs, h, b, _ = request(srv, b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    check("wrong method is 405 with Allow", st == 405 and rs == "Method Not Allowed" and "GET" in h.get("allow", ""), (st, h))
    st, rs, h, b, _ = request(srv, b"BREW /echo/x HTTP/1.1\r\nHost: x\r\n\r\n")
    check("unknown method is 501", st == 501 and rs == "Not Implemented", (st, rs))
    st, rs, h, b, _ = request(srv, b"OPTIONS /files/a HTTP/1.1\r\nHost: x\r\n\r\n")
    check("OPTIONS lists methods", st == 204 and "POST" in h.get("allow", ""), (st, h))
    st, rs, h, b, _ = request(srv, b"GET http://example.org/echo/abs HTTP/1.1\r\nHost: x\r\n\r\n")
    check("absolute-form target routed by path", st == 200 and b == b"abs", (st, b))


def test_head(srv):
    for path in (b"/echo/abc", b"/user-agent", b"/files/hello.txt", b"/"):
        _, _, hg, bg, _ = request(srv, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: u\r\n\r\n")
        with srv.connect() as s:
            s.sendall(b"HEAD " + path + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: u\r\n\r\n")
            st, _, hh, bh, _ = read_response(s, head_only=True)
            # The HEAD response must carry no body: the next response starts right after.
            s.sendall(b"GET /echo/next HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(2)
            data = b""
            while b"next" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        check(f"HEAD {path.decode()} has GET's headers and no body",
              hg == hh and data.startswith(b"HTTP/1.1 200 OK"), (hg, hh, data[:40]))


def post_then_next(srv, post):
    """Sends a request with its body and a pipelined GET /echo/next on one
    connection: the first answer's (status, reason, body), and whether the
    second was answered after it."""
    with srv.connect() as s:
        s.sendall(post + b"GET /echo/next HTTP/1.1\r\nHost: x\r\n\r\n")
        st, rs, _, b, _ = read_response(s)
        st2, _, _, b2, _ = read_response(s)
    return st, rs, b, (st2, b2) == (200, b"next")


def test_files(srv, root):
    with open(os.path.join(root, "hello.txt"), "wb") as f:
        f.write(b"Hello, files!")
    st, rs, h, b, _ = request(srv, b"GET /files/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    check("GET /files/name", st == 200 and b == b"Hello, files!" and
          h.get("content-type") == "application/octet-stream", (st, h, b))
    st, rs, h, b, _ = request(srv, b"GET /files/missing HTTP/1.1\r\nHost: x\r\n\r\n")
    check("GET /files/missing is 404", st == 404, st)
    body = b"uploaded \x00 bytes\r\n" * 100
    st, rs, h, b, _ = request(srv, b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    with open(os.path.join(root, "up.bin"), "rb") as f:
        stored = f.read()
    check("POST /files is 201 Created and stored", st == 201 and rs == "Created" and stored == body, (st, rs, len(stored)))
    for bad in (b"..%2f..%2fetc%2fpasswd", b"..", b".hidden", b"a%00b", b"a%5cb", b"%2fetc%2fpasswd"):
        st, _, _, b, _ = request(srv, b"GET /files/" + bad + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        check(f"GET /files/{bad.decode()} refused", st in (400, 404) and b"root:" not in b, st)
        st, _, _, _, _ = request(srv, b"POST /files/" + bad + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
        check(f"POST /files/{bad.decode()} refused", st in (400, 404), st)
    check("no file written outside the root", not os.path.exists(os.path.join(os.path.dirname(root), "passwd")))
    os.mkdir(os.path.join(root, "adir"))
    st, rs, b, went_on = post_then_next(srv, b"POST /files/adir HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    check("POST /files/ onto a directory is 409, and the connection goes on",
          (st, rs, went_on) == (409, "Conflict", True) and b"directory" in b, (st, rs, b, went_on))
    os.rmdir(os.path.join(root, "adir"))
    st, rs, b, went_on = post_then_next(srv, b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nContent-Length: 5\r\n\r\nhello")
    with open(os.path.join(root, "up.bin"), "rb") as f:
        kept = f.read() == body
    check("If-None-Match: * on an existing file is 412, the file kept, the connection goes on",
          (st, rs, went_on, kept) == (412, "Precondition Failed", True, True), (st, rs, went_on, kept))
    with srv.connect() as s:
        s.sendall(b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\nIf-Match: \"stale\"\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
        data = s.recv(65536)
    check("a failing If-Match is answered before the body, without 100 Continue",
          data.startswith(b"HTTP/1.1 412 "), data[:60])
    st, _, h, _, _ = request(srv, b"GET /files/up.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    etag = h.get("etag", "").encode()
    st2, _, _, _, _ = request(srv, b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\nIf-Match: " + etag + b"\r\nContent-Length: 3\r\n\r\nnew")
    with open(os.path.join(root, "up.bin"), "rb") as f:
        stored = f.read()
    check("If-Match with the ETag GET sent replaces the file", (st, st2, stored) == (200, 201, b"new"), (st, st2, etag))
    # Two lines make one list (RFC 9110 5.3): '"x", *' is no list of tags,
    # and a write it cannot evaluate is refused rather than done blind.
    for cond in (b"If-None-Match: \"x\"\r\nIf-None-Match: *", b"If-None-Match: nonsense", b"If-Match: stale"):
        st, _, b, went_on = post_then_next(srv, b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\n" + cond + b"\r\nContent-Length: 3\r\n\r\nbad")
        with open(os.path.join(root, "up.bin"), "rb") as f:
            stored = f.read()
        check(f"POST /files with {cond!r} is 400, the file kept, the connection goes on",
              (st, stored, went_on) == (400, b"new", True) and b"entity-tags" in b, (st, stored, went_on, b))
    _, _, h, _, _ = request(srv, b"GET /files/up.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    etag2 = h.get("etag", "").encode()
    st, _, _, _, _ = request(srv, b"POST /files/up.bin HTTP/1.1\r\nHost: x\r\nIf-Match: \"x\"\r\nIf-Match: " + etag2 + b"\r\nContent-Length: 4\r\n\r\nnew2")
    with open(os.path.join(root, "up.bin"), "rb") as f:
        stored = f.read()
    check("If-Match: the ETag in the second of two lines replaces the file", (st, stored) == (201, b"new2"), st)


def data_segments_in(sock):
    """Data segments this socket has received (struct tcp_info's tcpi_data_segs_in)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int.from_bytes(info[152:156], sys.byteorder)


def test_one_segment(srv, root):
    # A file too large to be cached in memory (16 KiB) and too small to be
    # corked (64 KiB) leaves by sendfile() after its head: the head must wait
    # for the body, not go ahead in a segment of its own. On a new loopback
    # connection a segment holds up to half the peer's first window (32 KiB).
    body = os.urandom(24000)
    with open(os.path.join(root, "mid.bin"), "wb") as f:
        f.write(body)
    with srv.connect() as s:
        before = data_segments_in(s.s)
        s.sendall(b"GET /files/mid.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, _, b, _ = read_response(s)
        segs = data_segments_in(s.s) - before
    check("a 24 KB file and its head arrive in one TCP segment", st == 200 and b == body and segs == 1, (st, len(b), segs))


def test_cork_released(srv, root):
    # A file of 64 KiB or more goes out under TCP_CORK, which holds a partial
    # last segment for up to 200 ms unless the cork is taken off. Each
    # response, whole file or range, alone or pipelined, must end at once.
    sizes = (65536, 100000, 262147, 1048583)
    files = {}
    for n in sizes:
        files[n] = os.urandom(n)
        with open(os.path.join(root, f"cork{n}.bin"), "wb") as f:
            f.write(files[n])
    big = files[sizes[-1]]
    asks = [(f"/files/cork{n}.bin", b"", 200, files[n]) for n in sizes]
    asks += [(f"/files/cork{sizes[-1]}.bin", b"Range: bytes=0-69999\r\n", 206, big[:70000]),
             (f"/files/cork{sizes[-1]}.bin", b"Range: bytes=1000-\r\n", 206, big[1000:])]
    with srv.connect() as s:
        for path, extra, want, body in asks:
            t0 = time.monotonic()
            s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
            st, _, _, b, _ = read_response(s)
            dt = time.monotonic() - t0
            what = f"{path} {extra.decode().strip() or 'whole'}"
            check(f"{what}: all {len(body)} bytes within 100 ms ({dt * 1000:.1f} ms)",
                  st == want and b == body and dt < 0.1, (st, len(b), dt))
        t0 = time.monotonic()
        s.sendall(b"".join(b"GET /files/cork%d.bin HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in sizes[:2]))
        got = [read_response(s) for _ in sizes[:2]]
        dt = time.monotonic() - t0
        check(f"two pipelined large files within 100 ms ({dt * 1000:.1f} ms)",
              [g[3] for g in got] == [files[n] for n in sizes[:2]] and dt < 0.1, dt)


def test_chunked_and_continue(srv, root):
    chunks = b"5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n"
    st, rs, h, b, _ = request(srv, b"POST /files/chunked.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    with open(os.path.join(root, "chunked.txt"), "rb") as f:
        check("chunked upload decoded", st == 201 and f.read() == b"Hello, world", st)
    with srv.connect() as s:
        s.sendall(b"POST /files/cont.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        st, rs, _, _, _ = read_response(s)
        check("Expect: 100-continue answered", st == 100 and rs == "Continue", (st, rs))
        s.sendall(b"body")
        s.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        check("then the upload completes", data.startswith(b"HTTP/1.1 201 Created"), data)
    st, _, _, _, _ = request(srv, b"POST /files/big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
    check("too large an upload is 413 before the body", st == 413, st)
    st, _, _, _, _ = request(srv, b"POST /files/x HTTP/1.1\r\nHost: x\r\n\r\n")
    check("POST without a length is 411", st == 411, st)


def test_keepalive_pipelining(srv):
    with srv.connect() as s:
        for word in (b"one", b"two"):
            s.sendall(b"GET /echo/" + word + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            st, _, h, b, _ = read_response(s)
            check(f"keep-alive request {word.decode()}", st == 200 and b == word and "connection" not in h, (st, b))
    with srv.connect() as s:
        s.sendall(b"".join(b"GET /echo/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20)))
        got = []
        for i in range(20):
            _, _, _, b, _ = read_response(s)
            got.append(b)
        check("20 pipelined requests answered in order", got == [b"%d" % i for i in range(20)], got)


def test_close(srv):
    with srv.connect() as s:
        s.sendall(b"GET /echo/bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        st, _, h, b, _ = read_response(s)
        check("Connection: close echoed", h.get("connection") == "close" and b == b"bye", h)
        check("socket closed right after", is_closed(s, 1.0))
    with srv.connect() as s:
        s.sendall(b"GET /echo/old HTTP/1.0\r\n\r\n")
        st, _, h, b, _ = read_response(s)
        check("HTTP/1.0 closes by default", h.get("connection") == "close" and is_closed(s, 1.0), h)
    with srv.connect() as s:
        s.sendall(b"GET /echo/old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        st, _, h, b, _ = read_response(s)
        check("HTTP/1.0 keep-alive is said and kept", h.get("connection") == "keep-alive" and not is_closed(s, 0.3), h)
    with srv.connect() as s:
        # The upload's answer comes from a pool job; it must still say keep-alive
        # to an HTTP/1.0 client, and an HTTP/1.0 Expect gets no 1xx.
        s.sendall(b"POST /files/k10 HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 2\r\n\r\nhi")
        st, _, h, _, _ = read_response(s)
        check("HTTP/1.0 upload: 201 (no 100 Continue) with Connection: keep-alive",
              st == 201 and h.get("connection") == "keep-alive", (st, h))
        s.sendall(b"GET /echo/next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        st, _, h, b, _ = read_response(s)
        check("and the connection serves the next request", st == 200 and b == b"next", (st, b))


def test_errors(srv):
    cases = [
        (b"GET / HTTP/1.1\r\n\r\n", 400, "missing Host"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts"),
        (b"POST /files/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "CL and TE"),
        (b"GET / HTTP/1.1\nHost: a\n\n", 400, "bare LF"),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before colon"),
        (b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, "version"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, "long request line"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 9000 + b"\r\n\r\n", 431, "huge field"),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", 431, "too many fields"),
    ]
    for raw, want, note in cases:
        with srv.connect() as s:
            s.sendall(raw)
            try:
                st, _, h, b, _ = read_response(s)
            except (EOFError, ConnectionResetError) as e:
                st, h, b = None, {}, str(e)
            check(f"{note} -> {want} and close", st == want and h.get("connection") == "close" and is_closed(s), (st, h, b))


def test_concurrency(srv):
    socks = [srv.connect() for _ in range(3)]
    for i, s in reversed(list(enumerate(socks))):
        s.sendall(b"GET /echo/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
        _, _, _, b, _ = read_response(s)
        check(f"connection {i} served in reverse order", b == b"%d" % i, b)
    for s in socks:
        s.close()
    # 300 idle connections and 50 slowloris ones must not delay a new client.
    idle = [srv.connect() for _ in range(300)]
    slow = [srv.connect() for _ in range(50)]
    for s in slow:
        s.sendall(b"GET /echo/slow HTTP/1.1\r\nHo")
    t0 = time.time()
    st, _, _, b, _ = request(srv, b"GET /echo/fast HTTP/1.1\r\nHost: x\r\n\r\n")
    dt = time.time() - t0
    check(f"new client served at once beside 350 stalled ones ({dt*1000:.1f} ms)", st == 200 and dt < 0.5, dt)
    for s in idle + slow:
        s.close()


def read_until_closed(s, limit):
    """Everything the server sends until it closes (or limit seconds pass)."""
    s.settimeout(limit)
    data = b""
    try:
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
    except OSError:
        pass
    return data


def test_timeouts():
    tmp = tempfile.mkdtemp()
    srv = Server("--keepalive-timeout", "500", "--body-timeout", "1000", directory=tmp)
    try:
        with srv.connect() as s:
            # A GET's unwanted body that stalls: its 200 is the one answer.
            s.sendall(b"GET /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            t0 = time.time()
            data = read_until_closed(s, 5)
            check(f"a stalled unwanted body: one 200, then a quiet close ({time.time()-t0:.2f} s)",
                  data.count(b"HTTP/1.1") == 1 and data.startswith(b"HTTP/1.1 200 OK"), data)
        st, _, _, b, _ = request(srv, b"GET /echo/alive HTTP/1.1\r\nHost: x\r\n\r\n")
        check("and the server still serves", st == 200 and b == b"alive", (st, b))
        with srv.connect() as s:
            # An upload that stalls after all its buffered bytes were written out.
            s.sendall(b"POST /files/stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            data = read_until_closed(s, 5)
        st, _, _, b, _ = request(srv, b"GET /echo/alive HTTP/1.1\r\nHost: x\r\n\r\n")
        check("a stalled upload gets 408, leaves no file, and the server still serves",
              data.startswith(b"HTTP/1.1 408 ") and sorted(os.listdir(tmp)) == [] and b == b"alive",
              (data[:40], os.listdir(tmp), st))
        with srv.connect() as s:
            # A CRLF after a POST body is an empty line before no request: idle.
            s.sendall(b"POST /files/crlf HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n")
            t0 = time.time()
            data = read_until_closed(s, 5)
            dt = time.time() - t0
            check(f"a CRLF after a body leaves the connection idle: closed at the keep-alive timeout, no 408 ({dt:.2f} s)",
                  data.count(b"HTTP/1.1") == 1 and data.startswith(b"HTTP/1.1 201") and dt < 2, (data, dt))
        with srv.connect() as s:
            s.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(s)
            t0 = time.time()
            closed = is_closed(s, 3)
            check(f"idle keep-alive closed after the timeout ({time.time()-t0:.2f} s)", closed and time.time() - t0 < 2)
        with srv.connect(timeout=15) as s:
            s.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
            t0 = time.time()
            data = read_until_closed(s, 15)
            dt = time.time() - t0
            check(f"incomplete head gets 408 at the deadline ({dt:.1f} s)", data.startswith(b"HTTP/1.1 408 Request Timeout") and 8 < dt < 13, (data[:40], dt))
    finally:
        srv.stop()
        shutil.rmtree(tmp)


def test_max_requests():
    srv = Server("--max-requests", "3")
    try:
        with srv.connect() as s:
            for i in range(3):
                s.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")
                _, _, h, _, _ = read_response(s)
            check("the last allowed request says Connection: close", h.get("connection") == "close" and is_closed(s))
    finally:
        srv.stop()


def test_upload_limit_and_abort(root):
    srv = Server("--max-upload", "1000", directory=root)
    try:
        st, _, h, _, _ = request(srv, b"POST /files/toolarge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"a" * 1024 + b"\r\n0\r\n\r\n")
        check("chunked upload over --max-upload is 413", st == 413 and h.get("connection") == "close", st)
        with srv.connect() as s:
            s.sendall(b"POST /files/partial HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" + b"x" * 100)
            time.sleep(0.2)
        time.sleep(0.3)
        leftovers = [n for n in os.listdir(root) if n.startswith(".upload") or n in ("partial", "toolarge")]
        check("an abandoned upload leaves nothing behind", leftovers == [], leftovers)
    finally:
        srv.stop()


def test_upload_past_file_size_limit(root):
    """A file that grows past RLIMIT_FSIZE must not kill the server (SIGXFSZ)."""
    srv = Server(directory=root, fsize_kib=100)
    try:
        body = b"z" * (200 * 1024)
        st, _, h, b, _ = request(srv, b"POST /files/huge.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        check("an upload past RLIMIT_FSIZE is 413 and says why",
              st == 413 and b"larger than this server may store" in b, (st, b))
        st, _, _, _, _ = request(srv, b"GET /echo/alive HTTP/1.1\r\nHost: x\r\n\r\n")
        check("and the server lives on", st == 200 and srv.proc.poll() is None, st)
        leftovers = [n for n in os.listdir(root) if n.startswith(".upload") or n == "huge.bin"]
        check("and leaves no file behind", leftovers == [], leftovers)
    except OSError as e:
        check("an upload past RLIMIT_FSIZE is answered", False, (e, srv.proc.poll()))
    finally:
        srv.stop()


def test_process(root):
    srv = Server(directory=root)
    with srv.connect() as s:
        s.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(s)
        t0 = time.time()
        code, err = srv.stop()
        check(f"SIGTERM exits 0 promptly ({time.time()-t0:.2f} s)", code == 0 and time.time() - t0 < 2, (code, err))
    srv = Server()
    p = subprocess.run([SERVER, "--port", str(srv.port)], capture_output=True, timeout=5)
    lines = p.stderr.decode().strip().splitlines()
    check("a port in use fails with one line", p.returncode != 0 and len(lines) == 1 and "in use" in lines[0], p.stderr)
    srv.stop()
    p = subprocess.run([SERVER, "--port", str(free_port()), "--directory", "/nonexistent/dir"], capture_output=True, timeout=5)
    check("a bad directory fails with one line", p.returncode != 0 and len(p.stderr.decode().strip().splitlines()) == 1, p.stderr)
    p = subprocess.run([SERVER, "--help"], capture_output=True, timeout=5)
    check("--help lists the flags", p.returncode == 0 and b"--directory" in p.stdout and b"--threads" in p.stdout)


def test_stop():
    """SIGTERM: the port closes at once; a connection idle between requests
    is closed, and one made just before whose request comes late is answered."""
    srv = Server()
    idle = srv.connect()
    idle.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")
    read_response(idle)
    fresh = srv.connect()
    # The accept queue is first in, first out: once a later connection has
    # been answered, this one has been accepted.
    request(srv, b"GET /echo/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    srv.proc.send_signal(signal.SIGTERM)
    refused, deadline = False, time.time() + 1
    while not refused and time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
            time.sleep(0.02)
        except ConnectionRefusedError:
            refused = True
    check("on SIGTERM the port closes at once, before the last response",
          refused and srv.proc.poll() is None, (refused, srv.proc.poll()))
    check("on SIGTERM a connection idle between requests is closed", is_closed(idle))
    fresh.sendall(b"GET /echo/late HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        st, _, h, body, _ = read_response(fresh)
    except (EOFError, OSError) as e:
        st, h, body = e, {}, b""
    check("a connection made before SIGTERM still gets its answer, with Connection: close",
          st == 200 and body == b"late" and h.get("connection") == "close", (st, body))
    try:
        code = srv.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        code = "hung"
    check("and the server exits 0", code == 0, code)


def test_log_reopen_and_reuseport(root):
    log = os.path.join(root, "access.log")
    srv = Server("--log", log, quiet=False)
    s = srv
    request(s, b"GET /echo/before HTTP/1.1\r\nHost: x\r\n\r\n")
    os.rename(log, log + ".1")  # what logrotate does
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    request(s, b"GET /echo/after HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    old = open(log + ".1").read() if os.path.exists(log + ".1") else ""
    new = open(log).read() if os.path.exists(log) else ""
    check("SIGHUP reopens --log (logrotate)", "/echo/before" in old and "/echo/after" in new and
          "/echo/after" not in old, (old, new))
    check("the access log line has time, client, method, target, status, bytes, us",
          len(new.strip().split("\t")) == 7 and "\tGET\t/echo/after\t200\t" in new, new)
    srv.stop()
    # Two processes with --reuseport share a port; without it the second fails.
    a = Server("--reuseport")
    b = subprocess.Popen([SERVER, "--port", str(a.port), "--quiet", "--reuseport"],
                         stderr=subprocess.PIPE)
    time.sleep(0.5)
    check("--reuseport lets a second process bind the same port", b.poll() is None)
    a.stop()
    st, _, _, body, _ = request(a, b"GET /echo/still HTTP/1.1\r\nHost: x\r\n\r\n")
    check("the second process serves once the first has gone", body == b"still", body)
    b.send_signal(signal.SIGTERM)
    b.wait(timeout=5)


def test_nc(srv):
    """What a user typing into nc sees: nc -C sends CRLF, plain nc bare LF."""
    typed = "GET /echo/typed HTTP/1.1\nHost: localhost\nConnection: close\n\n"
    p = subprocess.run(["nc", "-C", "-q", "2", "127.0.0.1", str(srv.port)], input=typed.encode(),
                       capture_output=True, timeout=10)
    check("a request typed into nc -C is answered", p.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
          and p.stdout.endswith(b"\r\n\r\ntyped"), p.stdout)
    p = subprocess.run(["nc", "-q", "2", "127.0.0.1", str(srv.port)], input=typed.encode(),
                       capture_output=True, timeout=10)
    check("bare LF from plain nc: 400 that says to use nc -C",
          p.stdout.startswith(b"HTTP/1.1 400 Bad Request") and b"nc -C" in p.stdout, p.stdout)


def test_trace(root):
    srv = Server("--trace")
    request(srv, b"GET /echo/t HTTP/1.1\r\nHost: x\r\n\r\n")
    code, err = srv.stop()
    check("--trace shows both heads with CR LF visible", "< GET /echo/t HTTP/1.1\\r\\n" in err and "> HTTP/1.1 200 OK\\r\\n" in err, err[:300])


def in_thread(test):
    """Runs test; an exception (say, a refused connection) is a failed check."""
    try:
        test()
    except Exception as e:  # noqa: BLE001 - any of them means the test broke
        check(f"{test.__name__} ran to its end", False, repr(e))


def main():
    tmp = tempfile.mkdtemp()
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    try:
        srv = Server(directory=root)
        try:
            test_routes(srv)
            test_files(srv, root)
            test_one_segment(srv, root)
            test_cork_released(srv, root)
            test_head(srv)
            test_chunked_and_continue(srv, root)
            test_keepalive_pipelining(srv)
            test_close(srv)
            test_errors(srv)
            test_concurrency(srv)
            test_nc(srv)
        finally:
            code, err = srv.stop()
            check("server exited cleanly", code == 0, (code, err[-2000:]))
        timeouts = threading.Thread(target=in_thread, args=(test_timeouts,))
        timeouts.start()
        test_max_requests()
        test_upload_limit_and_abort(root)
        test_upload_past_file_size_limit(root)
        test_process(root)
        test_stop()
        test_trace(root)
        test_log_reopen_and_reuseport(root)
        timeouts.join()
    finally:
        shutil.rmtree(tmp)
    sys.exit(summary())


if __name__ == "__main__":
    main()
