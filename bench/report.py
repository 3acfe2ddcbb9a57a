#!/usr/bin/env python3
"""Figures for bench/run.sh.

    report.py summary WRK_OUTPUT
        one line for the progress log: req/s, p99, requests, errors

    report.py table RESULTS.tsv --clk-tck N --servers "..." --rows "..."
                    --conns "..." [--timeout WRK_TIMEOUT] [--title TEXT]
        the final table: medians per cell, ratios to the best peer, notes

RESULTS.tsv has one record per line, tab-separated, first field the kind:
    run   SERVER ROW CONNS RUN CPU_TICKS WRK_CPU_S WRK_WALL_S BG_PCT WRK_OUTPUT_FILE
          (BG_PCT: CPU time others used on the server's CPU during the run)
    fail  SERVER ROW CONNS REASON        (a cell that could not be measured)
    skip  SERVER ROW REASON              (a row the server failed to serve)
    gzip  SERVER BYTES                   (size of its gzip body for data.json)
    note  TEXT                           (printed under the table)
"""

import argparse
import re
import statistics
import sys

OURS = "server"

ROW_LABELS = {
    "small": "/small.html  1 KiB html",
    "hello": "/hello.txt  13 B text",
    "echo": "/echo/hi  (peers: 2 B file)",
    "100k": "/file-100k.bin  100 KiB",
    "1m": "/file-1m.bin  1 MiB",
    "json": "/data.json  200 KiB, gzip",
}

# Body sizes of the fixtures (bench/fixtures.py), to check what wrk read.
ROW_BYTES = {"small": 1024, "hello": 13, "echo": 2, "100k": 100 * 1024,
             "1m": 1024 * 1024, "json": 200 * 1024}

TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def parse_time_ms(text):
    if re.fullmatch(r"[0-9.]+", text):
        text += "s"  # wrk reads a bare number as seconds
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"bad wrk time {text!r}")
    return float(m.group(1)) * TIME_UNITS[m.group(2)]


def parse_wrk(text):
    """The numbers wrk prints, as a dict; raises ValueError on output it did not finish."""
    out = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+)(B|KB|MB|GB|TB) read",
                  text, re.M)
    if not m:
        raise ValueError("no request count in wrk output")
    out["requests"] = int(m.group(1))
    out["seconds"] = parse_time_ms(m.group(2) + m.group(3)) / 1e3
    out["bytes"] = float(m.group(4)) * BYTE_UNITS[m.group(5)]
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no Requests/sec in wrk output")
    out["rps"] = float(m.group(1))
    m = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    out["p99_ms"] = parse_time_ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        for key, val in zip(("connect", "read", "write", "timeout"), m.groups()):
            out[key] = int(val)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    return out


def errors_of(w):
    errs = {k: w[k] for k in ("connect", "read", "write", "timeout", "non2xx") if w[k]}
    if w["requests"] == 0:
        errs["no responses"] = 1
    return errs


def cmd_summary(path):
    with open(path, errors="replace") as f:
        text = f.read()
    try:
        w = parse_wrk(text)
    except ValueError as e:
        print(f"wrk output unusable: {e}")
        return
    errs = errors_of(w)
    err = ", ".join(f"{k} {v}" for k, v in errs.items()) or "no errors"
    p99 = fmt_ms(w["p99_ms"]) if w["p99_ms"] is not None else "?"
    print(f"{w['rps']:,.0f} req/s, p99 {p99}, {w['requests']:,} requests, {err}")


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms:.3f}ms"
    if ms < 10:
        return f"{ms:.2f}ms"
    if ms < 100:
        return f"{ms:.1f}ms"
    return f"{ms:,.0f}ms"


def fmt_us(us):
    if us is None:
        return "-"
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_ratio(r):
    if r >= 10:
        return f"{r:,.0f}x"
    if r >= 0.1:
        return f"{r:.2f}x"
    return f"{r:.3f}x"


class Cell:
    def __init__(self):
        self.runs = []  # dicts: run, rps, p99_ms, cpu_us, wrk_cpu, bg, requests, errors
        self.fail = None

    def median(self, key):
        vals = [r[key] for r in self.runs if r[key] is not None]
        return statistics.median(vals) if vals else None

    def spread(self):
        vals = [r["rps"] for r in self.runs]
        if len(vals) < 2:
            return None
        med = statistics.median(vals)
        return (max(vals) - min(vals)) / med * 100 if med else None

    def errors(self):
        total = {}
        for r in self.runs:
            for k, v in r["errors"].items():
                total[k] = total.get(k, 0) + v
        return total


def paired_ratio(ours, peer, key):
    """Median over runs of ours / peer, each run of ours against the same run of
    the peer. Run n of every server in a cell comes within seconds of the others,
    while the machine drifts between faster and slower phases that last longer
    than that: pairing cancels the drift that a ratio of two medians keeps."""
    theirs = {r["run"]: r[key] for r in peer.runs if r[key]}
    ratios = [r[key] / theirs[r["run"]] for r in ours.runs
              if r[key] is not None and r["run"] in theirs]
    return statistics.median(ratios) if ratios else None


def load(path, clk_tck):
    cells, skips, gzip_sizes, notes = {}, {}, {}, []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            kind = fields[0]
            if kind == "run":
                server, row, conns, run, ticks, wrk_cpu, duration, bg, out = fields[1:10]
                cell = cells.setdefault((server, row, int(conns)), Cell())
                try:
                    with open(out, errors="replace") as o:
                        w = parse_wrk(o.read())
                except (OSError, ValueError) as e:
                    cell.fail = f"wrk: {e}"
                    continue
                reqs = w["requests"]
                cpu_s = int(ticks) / clk_tck
                cell.runs.append({
                    "run": int(run),
                    "rps": w["rps"],
                    "p99_ms": w["p99_ms"],
                    "cpu_us": cpu_s / reqs * 1e6 if reqs else None,
                    "wrk_cpu": float(wrk_cpu) / float(duration) * 100 if float(duration) else None,
                    "bg": float(bg),
                    "requests": reqs,
                    "bytes": w["bytes"],
                    "errors": errors_of(w),
                })
            elif kind == "fail":
                server, row, conns, reason = fields[1:5]
                cells.setdefault((server, row, int(conns)), Cell()).fail = reason
            elif kind == "skip":
                server, row, reason = fields[1:4]
                skips[(server, row)] = reason
            elif kind == "gzip":
                gzip_sizes[fields[1]] = int(fields[2])
            elif kind == "note":
                notes.append(fields[1])
    return cells, skips, gzip_sizes, notes


def render(header, lines, aligns):
    widths = [max(len(header[i]), *(len(l[i]) for l in lines)) if lines else len(header[i])
              for i in range(len(header))]

    def fmt(cols):
        out = []
        for c, w, a in zip(cols, widths, aligns):
            out.append(c.rjust(w) if a == "r" else c.ljust(w))
        return "| " + " | ".join(out) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
                          for w, a in zip(widths, aligns)) + "|"
    return "\n".join([fmt(header), rule] + [fmt(l) for l in lines])


def cmd_table(args):
    cells, skips, gzip_sizes, notes = load(args.results, args.clk_tck)
    servers = args.servers.split()
    rows = args.rows.split()
    conns_list = [int(c) for c in args.conns.split()]
    peers = [s for s in servers if s != OURS]

    header = ["test", "conns", "server", "req/s", "spread", "p99", "CPU us/req",
              "wrk CPU", "other", "errors", "req/s vs best peer", "CPU/req vs best peer"]
    aligns = ["l", "r", "l", "r", "r", "r", "r", "r", "r", "l", "l", "l"]
    lines = []
    flagged = client_bound = censored = 0
    timeout_ms = parse_time_ms(args.timeout)
    for row in rows:
        for conns in conns_list:
            first = True
            # Against each peer, ours over theirs run by run; the line quotes
            # the peer we compare worst against.
            measured = {}
            for s in servers:
                cell = cells.get((s, row, conns))
                if (s, row) not in skips and cell and cell.runs:
                    measured[s] = cell
            rps_vs = cpu_vs = None
            if OURS in measured:
                for p in peers:
                    if p not in measured:
                        continue
                    r = paired_ratio(measured[OURS], measured[p], "rps")
                    if r is not None and (rps_vs is None or r < rps_vs[0]):
                        rps_vs = (r, p)
                    r = paired_ratio(measured[OURS], measured[p], "cpu_us")
                    if r is not None and (cpu_vs is None or r > cpu_vs[0]):
                        cpu_vs = (r, p)
            for server in servers:
                label = ROW_LABELS.get(row, row) if first else ""
                first = False
                name = server + (" (ours)" if server == OURS else "")
                cell = cells.get((server, row, conns))
                if (server, row) in skips:
                    lines.append([label, str(conns), name, "skipped", "", "", "", "", "", "!! " + skips[(server, row)], "", ""])
                    flagged += 1
                    continue
                if cell is None:
                    lines.append([label, str(conns), name, "-", "", "", "", "", "", "not run", "", ""])
                    continue
                if not cell.runs:
                    lines.append([label, str(conns), name, "FAILED", "", "", "", "", "", "!! " + (cell.fail or "no runs"), "", ""])
                    flagged += 1
                    continue
                errs = cell.errors()
                starved = sum(1 for r in cell.runs if 0 < r["requests"] < conns)
                checks = []
                # What wrk read per response, headers included, against the body size:
                # catches short bodies, and gzip that did not happen.
                size = ROW_BYTES.get(row)
                per = [r["bytes"] / r["requests"] for r in cell.runs if r["requests"]]
                if size and per:
                    avg = statistics.median(per)
                    if row == "json" and avg > 0.6 * size:
                        checks.append(f"not gzipped: {avg / 1024:,.0f} KiB read per response")
                    elif row != "json" and avg < 0.99 * size:
                        checks.append(f"short responses: {avg:,.0f} B read per response")
                err_txt = ", ".join(f"{k} {v:,}" for k, v in errs.items())
                if starved:
                    checks.append(f"fewer answers than conns in {starved}/{len(cell.runs)} runs")
                err_txt = ", ".join([err_txt] * bool(err_txt) + checks)
                if cell.fail:
                    err_txt = (err_txt + "; " if err_txt else "") + cell.fail
                if err_txt:
                    err_txt = "!! " + err_txt
                    flagged += 1
                else:
                    err_txt = "0"
                spread = cell.spread()
                wrk = cell.median("wrk_cpu")
                wrk_txt = "-" if wrk is None else f"{wrk:.0f}%"
                if wrk is not None and round(wrk) >= 95:
                    wrk_txt += "*"
                    client_bound += 1
                p99 = cell.median("p99_ms")
                p99_txt = fmt_ms(p99)
                if p99 is not None and p99 >= 0.9 * timeout_ms:
                    p99_txt += "^"
                    censored += 1
                rps_ratio = cpu_ratio = ""
                if server == OURS:
                    if rps_vs:
                        rps_ratio = f"{fmt_ratio(rps_vs[0])} {rps_vs[1]}"
                    if cpu_vs:
                        cpu_ratio = f"{fmt_ratio(cpu_vs[0])} {cpu_vs[1]}"
                lines.append([
                    label, str(conns), name,
                    f"{cell.median('rps'):,.0f}",
                    "-" if spread is None else f"{spread:.0f}%",
                    p99_txt,
                    fmt_us(cell.median("cpu_us")),
                    wrk_txt, f"{cell.median('bg'):.0f}%", err_txt, rps_ratio, cpu_ratio,
                ])

    if args.title:
        print(args.title)
        print()
    print(render(header, lines, aligns))
    print()
    print("Medians over the measured runs of each cell. req/s and p99 come from wrk --latency;")
    print("CPU us/req = server CPU time (utime+stime, plus reaped children, of every process in the")
    print(f"server's process group, from /proc/PID/stat, 1/{args.clk_tck} s ticks) / requests wrk completed.")
    print("spread = (max - min) / median of req/s over the runs. wrk CPU = wrk's CPU time / its wall time.")
    print("other = CPU time that other processes took on the server's CPU during the run (user, system")
    print("and steal, less the server's own): the background noise of a shared machine.")
    print("vs best peer: ours / a peer's, run by run (each run of a cell measures every server back to")
    print("back), median over the runs; against each peer in turn, and the line names the peer that")
    print("comes out best against us. req/s above 1.00x is faster, CPU/req below 1.00x is cheaper.")
    if client_bound:
        print("* wrk used >= 95% of its CPU: req/s there is limited by the client as much as by the")
        print("  server, so CPU/req is the fairer comparison on those lines.")
    if censored:
        print(f"^ p99 close to wrk's --timeout ({args.timeout}): wrk leaves slower responses out of its")
        print("  latency figures, so the real p99 is higher than shown.")
    if flagged:
        print(f"!! {flagged} line(s) with socket errors, timeouts, non-2xx/3xx responses, or cells that")
        print("   could not be measured: their figures are not comparable as they stand.")
    else:
        print("No socket errors, timeouts or non-2xx/3xx responses in any measured run.")
    if gzip_sizes:
        print("gzip body for /data.json (204,800 B): " +
              ", ".join(f"{s} {gzip_sizes[s]:,} B" for s in servers if s in gzip_sizes) + ".")
    for n in notes:
        print(n)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("summary")
    s.add_argument("wrk_output")
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--clk-tck", type=int, required=True)
    t.add_argument("--servers", required=True)
    t.add_argument("--rows", required=True)
    t.add_argument("--conns", required=True)
    t.add_argument("--timeout", default="2s", help="wrk --timeout used")
    t.add_argument("--title", default="")
    args = ap.parse_args()
    if args.cmd == "summary":
        cmd_summary(args.wrk_output)
    else:
        cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
