"""Shared by the Python end-to-end suites: result counting and free ports."""
import socket

results = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    """Counts and prints one check: 'ok   name' or 'FAIL name detail'."""
    results["passed" if cond else "failed"] += 1
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + ("" if cond else f" {detail}"), flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_sockets():
    """The IPv4 TCP sockets of /proc/net/tcp, as (local port, remote port,
    state, tx_queue) tuples; state is the kernel's hex code ("0A": listen)."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            yield (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16),
                   fields[3], int(fields[4].split(":")[0], 16))


def summary():
    """Prints the closing line and returns the exit status."""
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0
