"""Restarts of a --reuseport process under steady traffic (run by e2e_restart.sh).

Expects a network namespace of its own with net.ipv4.tcp_migrate_req=1. Two
processes share a port; five times over, a new one starts, then the old one
gets SIGTERM while it still holds connections that have sent half a request
(so its shutdown lasts the whole grace period). Meanwhile six clients open a
new connection for every request. Checks:
  - every request is answered 200, but for at most one reset: none is left
    unanswered. The one reset allowed is the kernel's: a handshake that
    completes on one CPU while the listening socket closes on another finds
    it no longer listening and is reset (inet_csk_reqsk_queue_add), not
    migrated. That happened once in about 450 restarts here;
  - no request waits a second or more: the stopping process leaves the port
    at once, so new connections go to the new one instead of queueing for
    the old one's exit;
  - each old process exits 0 within the grace period."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from lib_e2e import check, free_port, summary, tcp_sockets

SERVER = os.environ.get("SERVER", "./server")
PORT = free_port()
RESTARTS = 5
CLIENTS = 6


def listeners():
    """How many sockets listen on PORT (state 0A in /proc/net/tcp)."""
    return sum(1 for local, _, state, _ in tcp_sockets() if local == PORT and state == "0A")


def start(want):
    """Starts a process on PORT and waits until want sockets listen there."""
    p = subprocess.Popen([SERVER, "--port", str(PORT), "--quiet", "--reuseport", "--threads", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while listeners() < want and time.time() < deadline:
        time.sleep(0.02)
    return p


stop = threading.Event()
lock = threading.Lock()
answered, failures, slowest = 0, [], 0.0


def client(n):
    global answered, slowest
    i = 0
    while not stop.is_set():
        i += 1
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
                s.sendall(b"GET /echo/%d-%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % (n, i))
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            ok = data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"%d-%d" % (n, i))
            err = None if ok else f"answer {data[:60]!r}"
        except OSError as e:
            err = repr(e)
        with lock:
            slowest = max(slowest, time.monotonic() - t0)
            if err is None:
                answered += 1
            else:
                failures.append(err)


def main():
    old = start(1)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    exits = []
    for _ in range(RESTARTS):
        new = start(2)
        time.sleep(0.2)
        held = []
        for _ in range(6):  # about half of them land on the old process
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            s.sendall(b"GET /echo/held HTTP/1.1\r\nHost")
            held.append(s)
        time.sleep(0.1)
        t0 = time.monotonic()
        old.send_signal(signal.SIGTERM)
        try:
            code = old.wait(timeout=5)
        except subprocess.TimeoutExpired:
            old.kill()
            code = "hung"
        exits.append((code, round(time.monotonic() - t0, 2)))
        for s in held:
            s.close()
        old = new
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    old.send_signal(signal.SIGTERM)
    old.wait(timeout=5)

    resets = [f for f in failures if f.startswith("ConnectionResetError")]
    check(f"{RESTARTS} restarts under load: every request answered 200 ({answered} answered, "
          f"{len(resets)} reset)",
          answered > 500 and len(failures) == len(resets) <= 1, f"{len(failures)} failed: {failures[:3]}")
    check("no request waits for the stopping process (the slowest took under 1 s)",
          slowest < 1.0, f"slowest {slowest:.2f} s")
    check("each stopping process exits 0 within the grace period",
          all(code == 0 and secs < 2.5 for code, secs in exits), exits)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
