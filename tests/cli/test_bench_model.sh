#!/usr/bin/env bash
# test_bench_model.sh BENCH_MODEL SRC — the benchmark program's command line (bench/model): each
# mode prints one JSON line with the keys bench/train_step/run.py, bench/generate/run.py and
# bench/gpu/run.sh read, the options reach it, bad arguments exit 2 with the usage. Not a timing:
# the numbers themselves are not checked.
set -u
bm=$1 src=$2
. "$src/tests/lib.sh"

keys() { # JSON KEY... : the line parses and has every key
    /usr/bin/python3 -c 'import json, sys; d = json.loads(sys.argv[1]); missing = [k for k in sys.argv[2:] if k not in d]
sys.exit(1 if missing else 0)' "$@"
}
expect_run 0 "train 1m, 1 step, 1 thread" -- "$bm" train 1m --steps 1 --threads 1
expect_contains "$out" '"backend":"cpu","size":"1m","precision":"fp32","threads":1' "train: backend, size, threads"
expect_contains "$out" '"steps":1,"recompute":false' "train: --steps reaches it"
expect_run 0 "... its JSON has the CPU runner's keys" -- keys "$out" size params B T tokens_per_s gflops peak_rss_mib \
    peak_over_start_mib loss
expect_run 0 "train 1m, recomputed" -- "$bm" train 1m --steps 1 --threads 1 --recompute
expect_contains "$out" '"recompute":true' "train: --recompute reaches it"
expect_run 0 "decode 1m, 2 rows, an 8-token prompt" -- "$bm" decode 1m 2 --prompt 8 --threads 1
expect_contains "$out" '"B":2,"prompt":8,"new":64' "decode: B and --prompt reach it"
expect_run 0 "... its JSON has the decode keys" -- keys "$out" B prompt new prefill_s decode_s tokens_per_s
expect_run 0 "sgemm" -- "$bm" sgemm --threads 1
expect_run 0 "... its JSON has sgemm_gflops" -- keys "$out" sgemm_gflops

expect_run 2 "no mode" -- "$bm"
expect_contains "$err" "usage: bench_model" "no mode: the usage"
expect_run 2 "an unknown size" -- "$bm" train 7b
expect_contains "$err" "unknown SIZE" "unknown size named"
expect_run 2 "an unknown backend" -- "$bm" train 1m --backend tpu
expect_contains "$err" "an unknown option or a bad value" "bad backend refused"
expect_run 2 "zero rows" -- "$bm" decode 1m 0
expect_contains "$err" "B: expected a positive number of rows" "zero rows refused"
expect_run 2 "an option without its value" -- "$bm" train 1m --steps
finish test_bench_model.sh
