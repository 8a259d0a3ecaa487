#!/usr/bin/env python3
"""run.py [BUILD] — decode throughput: fluxrl's KV-cache decoding (bench_model decode) next to the same
decode loop in PyTorch (bench/reference/generate.py, Debian's /usr/bin/python3), batch 1, 16 and
64, for the 1m and 25m shapes of bench/model/shapes.h; 16-token prompts, 64 new tokens,
greedy, 2 threads each (THREADS). Best of ROUNDS (default 2) alternating runs. Prints a table.
Then continuous batching (rollout/engine.h) against static batching (rollout_decode in batches of
the same size) with bench_continuous: REQUESTS (default 256) sampled requests whose lengths vary
(stop ids, at most 128 new tokens), tokens/s of both, the peak bytes the model and engine hold next
to parameters + KV cache, and each process's peak RSS (VmHWM). PART=decode or PART=continuous runs
one table only; SIZES (default "1m 25m") picks the shapes of the second."""
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


part = os.environ.get("PART", "all")
requests = os.environ.get("REQUESTS", "256")

if part in ("all", "decode"):
    print("| model | batch | fluxrl tokens/s | PyTorch tokens/s | ratio |")
    print("|---|---|---|---|---|")
for size in ("1m", "25m") if part in ("all", "decode") else ():
    for B in (1, 16, 64):
        fx, pt = 0.0, 0.0
        for _ in range(rounds):
            fx_cmd = [os.path.join(build, "bench", "bench_model"), "decode", size, str(B), "--threads", threads]
            fx = max(fx, run(fx_cmd)["tokens_per_s"])
            pt = max(pt, run(["/usr/bin/python3", "generate.py", size, str(B), threads],
                             cwd=os.path.join(root, "bench", "reference"))["tokens_per_s"])
        print(f"| {size} | {B} | {fx:.0f} | {pt:.0f} | {fx / pt:.2f}x |", flush=True)

if part in ("all", "continuous"):
    print()
    print("| model | slots | static tokens/s | continuous tokens/s | ratio | same ids | peak / (params + KV) | "
          "VmHWM static | VmHWM continuous |")
    print("|---|---|---|---|---|---|---|---|---|")
for size in os.environ.get("SIZES", "1m 25m").split() if part in ("all", "continuous") else ():
    for S in (16, 64):
        best = {}
        for _ in range(rounds):
            for mode in ("static", "continuous"):
                r = run([os.path.join(build, "bench_continuous"), size, str(S), requests, mode, threads])
                if mode not in best or r["tokens_per_s"] > best[mode]["tokens_per_s"]:
                    best[mode] = r
        st, co = best["static"], best["continuous"]
        over = co["peak_model_bytes"] / (co["param_bytes"] + co["kv_bytes"])
        print(f"| {size} | {S} | {st['tokens_per_s']:.0f} | {co['tokens_per_s']:.0f} | "
              f"{co['tokens_per_s'] / st['tokens_per_s']:.2f}x | {'yes' if st['ids_hash'] == co['ids_hash'] else 'no'} | "
              f"{over:.3f} ({(co['param_bytes'] + co['kv_bytes']) / 2**20:.1f} MiB) | "
              f"{st['vm_hwm_kib'] / 1024:.0f} MiB | {co['vm_hwm_kib'] / 1024:.0f} MiB |", flush=True)
