#!/usr/bin/env bash
# run.sh [BUILD] [THREADS] — merged decoding against one expert (bench_merge_decode, docs/benchmarks.md
# "Merged decoding"): sizes 1m and 25m, batch 1 (4 requests through 1 slot) and 64 (64 requests,
# 64 slots), modes single / w (2 experts, alpha = w) / pcm (2 experts + a 1m-shaped PCM), best of 2
# runs alternating the modes. Prints a Markdown table.
set -eu
build=${1:-build} threads=${2:-2}
bin=$build/bench_merge_decode
echo "| experts | batch | one expert tokens/s | 2 experts, alpha = w | ratio | 2 experts + PCM | ratio |"
echo "|---|---|---|---|---|---|---|"
for size in 1m 25m; do
    for batch in 1 64; do
        req=$([ "$batch" = 1 ] && echo 4 || echo 64)
        declare -A best=([single]=0 [w]=0 [pcm]=0)
        for rep in 1 2; do
            for mode in single w pcm; do
                t=$("$bin" "$size" "$batch" "$req" "$mode" "$threads" | sed 's/.*"tokens_per_s": \([0-9.]*\).*/\1/')
                best[$mode]=$(python3 -c "print(max($t, ${best[$mode]}))")
            done
        done
        python3 -c "s, w, p = ${best[single]}, ${best[w]}, ${best[pcm]}
print('| %s | %d | %.0f | %.0f | %.2f× | %.0f | %.2f× |' % ('$size', $batch, s, w, s / w, p, s / p))"
    done
done
