#!/usr/bin/env python3
"""run.py [BUILD] — decode throughput: fluxrl's KV-cache decoding (bench_generate) next to the same
decode loop in PyTorch (bench/reference/generate.py, Debian's /usr/bin/python3), batch 1, 16 and
64, for the 1m and 25m shapes of bench/train_step/shapes.h; 16-token prompts, 64 new tokens,
greedy, 2 threads each (THREADS). Best of ROUNDS (default 2) alternating runs. Prints a table."""
import json
import os
import subprocess
import sys

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
threads = os.environ.get("THREADS", "2")
rounds = int(os.environ.get("ROUNDS", "2"))
env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)


def run(cmd, cwd=root):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, cwd=cwd).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


print("| model | batch | fluxrl tokens/s | PyTorch tokens/s | ratio |")
print("|---|---|---|---|---|")
for size in ("1m", "25m"):
    for B in (1, 16, 64):
        fx, pt = 0.0, 0.0
        for _ in range(rounds):
            fx = max(fx, run([os.path.join(build, "bench_generate"), size, str(B), threads])["tokens_per_s"])
            pt = max(pt, run(["/usr/bin/python3", "generate.py", size, str(B), threads],
                             cwd=os.path.join(root, "bench", "reference"))["tokens_per_s"])
        print(f"| {size} | {B} | {fx:.0f} | {pt:.0f} | {fx / pt:.2f}x |", flush=True)
