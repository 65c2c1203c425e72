#!/usr/bin/env python3
"""Paired comparison of two server binaries on one database.

usage: python3 scripts/bench/pair.py BIN_A BIN_B [--pairs N] [--payments N] [--path PATH]

Starts PostgreSQL, the Stripe stand-in and BIN_A as `bench.py` does, seeds
`--payments` statistics payments (200,000), starts BIN_B on the same
database, then sends one request at a time, alternating A and B (A first
in even pairs, B first in odd ones), to `--path` (the statistics of the
seeded year) as an admin. It prints whether both answer the same bytes,
each side's median and the median of the pairs' differences (B − A).

On a shared machine the same binary's median moves by a millisecond from
one run to the next; a pair's two requests are a few milliseconds apart,
so the drift hits both alike and the difference of two binaries shows to
a few hundredths of a millisecond (an A-A run of the same binary gave
+0.03 ms over 1,000 pairs).
"""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("bin_a")
parser.add_argument("bin_b")
parser.add_argument("--pairs", type=int, default=1000)
parser.add_argument("--payments", type=int, default=200000)
parser.add_argument("--path")
args = parser.parse_args()

# bench.py reads its binary from the environment when it is imported.
os.environ["BENCH_BIN"] = os.path.abspath(args.bin_a)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

WARM_UP = 50


def start_second(b, binary):
    port = bench.free_port()
    env = dict(b.env, SKILLPAY_BIND=f"127.0.0.1:{port}")
    out = open(os.path.join(b.tmp, "app_b.log"), "w")
    b.procs.append(subprocess.Popen([binary, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT))
    bench.wait_ready(f"http://127.0.0.1:{port}")
    return port


def get(conn, path, headers):
    conn.request("GET", path, headers=headers)
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise SystemExit(f"pair: {answer.status} from {path}: {body[:200]!r}")
    return body


def timed_get(conn, path, headers):
    started = time.perf_counter()
    get(conn, path, headers)
    return (time.perf_counter() - started) * 1000


def main():
    tmp = tempfile.mkdtemp(prefix="skillpay-bench.")
    os.chmod(tmp, 0o711)  # PostgreSQL may run as another user
    b = bench.Bench(tmp)
    try:
        b.start_postgres()
        b.start_app()
        b.seed_stats(args.payments)
        port_b = start_second(b, os.path.abspath(args.bin_b))
        port_a = int(b.base.rsplit(":", 1)[1])
        path = args.path or f"/api/payments/stats/?from={bench.STATS_FROM}&to={bench.STATS_TO}&livemode=true"
        headers = {"Authorization": "Bearer " + b.admin}
        conns = {"A": http.client.HTTPConnection("127.0.0.1", port_a),
                 "B": http.client.HTTPConnection("127.0.0.1", port_b)}
        same = get(conns["A"], path, headers) == get(conns["B"], path, headers)
        print(f"the two answers are {'byte for byte the same' if same else 'different'}")
        for conn in conns.values():
            for _ in range(WARM_UP):
                timed_get(conn, path, headers)
        times = {"A": [], "B": []}
        differences = []
        for i in range(args.pairs):
            order = ("A", "B") if i % 2 == 0 else ("B", "A")
            pair = {side: timed_get(conns[side], path, headers) for side in order}
            for side, ms in pair.items():
                times[side].append(ms)
            differences.append(pair["B"] - pair["A"])
        for side, binary in (("A", args.bin_a), ("B", args.bin_b)):
            print(f"{side} ({binary}): p50 {statistics.median(times[side]):.3f} ms")
        print(f"B - A, paired: median {statistics.median(differences):+.3f} ms over {args.pairs} pairs")
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
