#!/usr/bin/env python3
"""Hostile clients: the server keeps serving everyone else, in bounded memory.

Each scenario runs while a probe client asks GET /echo/ok every 50 ms; every
probe answer must arrive within PROBE_LIMIT. Loopback only, bounded in time.
Prints one line per check and 'N passed, M failed' at the end."""
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from lib_e2e import check, free_port, summary, tcp_sockets

SERVER = os.environ.get("SERVER", "./server")
# Sanitizer builds are several times slower; the probe limit allows for it.
PROBE_LIMIT = float(os.environ.get("PROBE_LIMIT", "0.1"))

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


class Server:
    def __init__(self, *args, prefix=()):
        self.port = free_port()
        self.proc = subprocess.Popen(list(prefix) + [SERVER, "--port", str(self.port), "--quiet",
                                                     "--threads", "2"] + list(args),
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "hung"


class Probe(threading.Thread):
    """GET /echo/ok every 50 ms on fresh connections; records the worst latency."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_flag = threading.Event()
        self.worst = 0.0
        self.failures = 0
        self.count = 0

    def run(self):
        while not self.stop_flag.is_set():
            t0 = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.sendall(b"GET /echo/ok HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
                    data = b""
                    while not data.endswith(b"ok"):
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if not data.endswith(b"ok"):
                        self.failures += 1
            except OSError:
                self.failures += 1
            dt = time.monotonic() - t0
            self.worst = max(self.worst, dt)
            self.count += 1
            time.sleep(max(0, 0.05 - dt))

    def finish(self, name):
        self.stop_flag.set()
        self.join()
        check(f"{name}: {self.count} probes all answered, worst {self.worst*1000:.1f} ms",
              self.failures == 0 and self.worst < PROBE_LIMIT and self.count > 5,
              (self.failures, self.worst))


def connect_many(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(True)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def wait_closed(socks, deadline):
    """Returns how many of socks the server closed before deadline (reading what it sent)."""
    open_ = {s.fileno(): s for s in socks}
    got = {}
    while open_ and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_.values())[:1000], [], [], 0.2)
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            got[s.fileno()] = got.get(s.fileno(), b"") + data
            if not data:
                del open_[s.fileno()]
    return len(socks) - len(open_), got


def slowloris(srv):
    probe = Probe(srv.port)
    probe.start()
    rss0 = srv.rss_kib()
    socks = connect_many(srv.port, 1000)
    for s in socks:
        s.sendall(b"GET /echo/slow HTTP/1.1\r\n")
    t0 = time.monotonic()
    # a header line every second, until the server gives up on them
    lines = 0
    while time.monotonic() - t0 < 2.5:
        time.sleep(1)
        for s in socks:
            try:
                s.sendall(b"X-%d: a\r\n" % lines)
            except OSError:
                pass
        lines += 1
    closed, got = wait_closed(socks, t0 + 3.0 + 2.0)
    timed_out = sum(1 for v in got.values() if v.startswith(b"HTTP/1.1 408 "))
    check(f"slowloris: {closed}/1000 closed at the head deadline, {timed_out} with 408",
          closed == 1000 and timed_out >= 990, (closed, timed_out))
    check(f"slowloris: memory bounded ({srv.rss_kib() - rss0} KiB more)",
          srv.rss_kib() - rss0 < 200 * 1024)
    for s in socks:
        s.close()
    probe.finish("slowloris")


def silent(srv):
    probe = Probe(srv.port)
    probe.start()
    socks = connect_many(srv.port, 1000)
    t0 = time.monotonic()
    closed, _ = wait_closed(socks, t0 + 2.0 + 2.0)
    check(f"1000 silent connections: {closed} closed at the idle timeout", closed == 1000, closed)
    for s in socks:
        s.close()
    probe.finish("silent connections")


def slow_upload(srv):
    probe = Probe(srv.port)
    probe.start()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"POST /files/slow.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n")
        for i in range(20):
            s.sendall(b"%d" % (i % 10))
            time.sleep(0.1)
        data = s.recv(4096)
        check("slow upload completes", data.startswith(b"HTTP/1.1 201 Created"), data[:40])
    probe.finish("slow upload")


def send_queue(local_port, remote_port):
    """Bytes queued in the send buffer of a loopback TCP socket, sent or not
    (the tx_queue column of /proc/net/tcp), or None without such a socket."""
    for local, remote, _, tx_queue in tcp_sockets():
        if local == local_port and remote == remote_port:
            return tx_queue
    return None


def never_reads(srv):
    probe = Probe(srv.port)
    probe.start()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /files/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(1.5)
    # Kernel memory is the server's too: a reader that stalls must not pin a
    # send buffer's worth (megabytes) of the file in its socket.
    queued = send_queue(srv.port, s.getsockname()[1])
    check(f"a client that never reads holds {queued} bytes of the server's send queue",
          queued is not None and queued <= 128 * 1024, queued)
    time.sleep(3)  # write timeout is 3 s
    total = 0
    s.settimeout(5)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
    except OSError:
        pass
    s.close()
    check(f"a client that never reads is dropped ({total >> 20} MiB of 64 read)",
          total < 64 << 20, total)
    probe.finish("client that never reads")


def pipeline_flood(srv):
    probe = Probe(srv.port)
    probe.start()
    rss0 = srv.rss_kib()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.setblocking(False)
    req = b"GET /echo/pipelined HTTP/1.1\r\nHost: x\r\n\r\n"
    payload = req * 100000
    sent = 0
    t0 = time.monotonic()
    while sent < len(payload) and time.monotonic() - t0 < 3:
        try:
            sent += s.send(payload[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    check(f"pipelined flood: server stopped reading at {sent // len(req)} requests, "
          f"memory {srv.rss_kib() - rss0} KiB more", srv.rss_kib() - rss0 < 64 * 1024)
    time.sleep(1)  # the flood stays unread while the probe runs
    s.close()
    probe.finish("pipelined flood")


def endless_header(srv):
    probe = Probe(srv.port)
    probe.start()
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    s.setblocking(False)
    chunk = b"a" * 65536
    answer = b""
    sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3 and not answer:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            pass
        except OSError:
            break
        try:
            answer += s.recv(4096)
        except BlockingIOError:
            pass
        except OSError:
            break
    check(f"endless header: 431 after {sent >> 10} KiB, while still sending",
          answer.startswith(b"HTTP/1.1 431 "), answer[:40])
    time.sleep(1)
    s.close()
    probe.finish("endless header")


def fd_exhaustion():
    srv = Server("--threads", "1", prefix=("prlimit", "--nofile=128"))
    socks = []
    for _ in range(200):
        try:
            socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=1))
        except OSError:
            break
    time.sleep(0.5)
    c0 = srv.cpu_ticks()
    time.sleep(2)
    cpu = (srv.cpu_ticks() - c0) / os.sysconf("SC_CLK_TCK") / 2
    check(f"out of descriptors: no busy loop (CPU {cpu*100:.0f}% of a core)", cpu < 0.2, cpu)
    for s in socks:
        s.close()
    t0 = time.monotonic()
    ok = False
    while time.monotonic() - t0 < 3 and not ok:
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=1) as s:
                s.sendall(b"GET /echo/back HTTP/1.1\r\nHost: x\r\n\r\n")
                ok = s.recv(4096).endswith(b"back")
        except OSError:
            time.sleep(0.05)
    check(f"serves again once clients leave ({(time.monotonic()-t0)*1000:.0f} ms)", ok)
    srv.stop()


def main():
    import tempfile
    root = tempfile.mkdtemp()
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20) * 64)
    srv = Server("--directory", root, "--head-timeout", "3000", "--keepalive-timeout", "2000",
                 "--write-timeout", "3000", "--body-timeout", "3000")
    try:
        for scenario in (slowloris, silent, slow_upload, never_reads, pipeline_flood,
                         endless_header):
            scenario(srv)
    finally:
        code = srv.stop()
        check("server exits cleanly after all that", code == 0, code)
    fd_exhaustion()
    subprocess.run(["rm", "-rf", root])
    sys.exit(summary())


if __name__ == "__main__":
    main()
