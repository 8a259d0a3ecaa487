#!/usr/bin/env python3
"""run.py [BUILD] — the train-step benchmark: fluxrl's step (bench_model train) next to the same step
in PyTorch (bench/reference/train_step.py, Debian's /usr/bin/python3) and next to OpenBLAS sgemm's
GFLOP/s on this machine, for the CPU sizes of bench/model/shapes.h. Prints a Markdown table.

Each measurement runs ROUNDS times (default 3), alternating fluxrl and PyTorch, and the best run
of each is kept: on a shared machine the best run is the least disturbed one. THREADS (default 2)
threads on both sides. Peak memory is the process's peak resident set (ru_maxrss); "over start"
subtracts what the process held before building the model (the Python interpreter and libtorch
on the PyTorch side)."""
import json
import os
import subprocess
import sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
threads = os.environ.get("THREADS", "2")
rounds = int(os.environ.get("ROUNDS", "3"))
sizes = os.environ.get("SIZES", "1m 25m qwen05b").split()
env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)


def run(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, cwd=root).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def best(runs, key):
    return max(runs, key=lambda r: r[key])


c_bin = os.path.join(build, "bench", "bench_model")
sgemm = best([run([c_bin, "sgemm", "--threads", threads]) for _ in range(rounds)], "sgemm_gflops")["sgemm_gflops"]
rows = []
for size in sizes:
    cs, ts, rs = [], [], []
    for _ in range(rounds):
        cs.append(run([c_bin, "train", size, "--threads", threads]))
        ts.append(run(["/usr/bin/python3", os.path.join(root, "bench/reference/train_step.py"), size, threads]))
        rs.append(run([c_bin, "train", size, "--threads", threads, "--recompute"]))
    rows.append((best(cs, "tokens_per_s"), best(ts, "tokens_per_s"), best(rs, "tokens_per_s")))

print("OpenBLAS sgemm (2048 x 2048 x 2048, %s threads): %.1f GFLOP/s — the ceiling\n" % (threads, sgemm))
print("| model | params | batch | fluxrl tokens/s | PyTorch tokens/s | speed-up | fluxrl GFLOP/s "
      "| of sgemm | fluxrl peak MiB (over start) | PyTorch peak MiB (over start) | fluxrl + recompute peak MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for c, t, r in rows:
    print("| %s | %.1fM | %d x %d | %.0f | %.0f | %.2f× | %.1f | %.0f%% | %.0f (%.0f) | %.0f (%.0f) | %.0f (%.0f tokens/s) |" % (
        c["size"], c["params"] / 1e6, c["B"], c["T"], c["tokens_per_s"], t["tokens_per_s"],
        c["tokens_per_s"] / t["tokens_per_s"], c["gflops"], 100 * c["gflops"] / sgemm,
        c["peak_rss_mib"], c["peak_over_start_mib"], t["peak_rss_mib"], t["peak_over_start_mib"],
        r["peak_rss_mib"], r["tokens_per_s"]))
