#!/usr/bin/env python3
"""Memory per idle keep-alive connection: RSS of ./server before and after
10,000 clients that each made one request and then stay connected, idle.

Usage: python3 bench/idle_memory.py [SERVER] [CONNECTIONS]. Loopback only."""
import resource
import socket
import subprocess
import sys
import time

server = sys.argv[1] if len(sys.argv) > 1 else "./server"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = count + 100
if hard < need:
    sys.exit(f"need an open-files limit of {need} (hard limit is {hard})")
resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
proc = subprocess.Popen([server, "--port", str(port), "--quiet", "--threads", "2",
                         "--keepalive-timeout", "600000"])


def rss_kib():
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_request(s):
    s.sendall(b"GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n")


try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    # Warm the loops' spare buffers, so the figure counts connections only.
    warm = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    for s in warm:
        one_request(s)
    for s in warm:
        s.recv(4096)
        s.close()
    time.sleep(0.3)
    before = rss_kib()
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        one_request(s)
        socks.append(s)
    for s in socks:
        s.recv(4096)
    time.sleep(0.5)
    after = rss_kib()
    per = (after - before) * 1024 / count
    print(f"RSS {before} KiB before, {after} KiB with {count} idle keep-alive connections: "
          f"{per:.0f} bytes each (target: at most 2048)")
    for s in socks:
        s.close()
finally:
    proc.terminate()
    proc.wait()
sys.exit(0 if per <= 2048 else 1)
