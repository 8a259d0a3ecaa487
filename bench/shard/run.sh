#!/usr/bin/env bash
# run.sh [BUILD] — bench_shard for 1, 2 and 4 ranks on the 25M and Qwen2.5-0.5B (2 of its 24 layers,
# its vocabulary) shapes: per-rank peak memory, state and step time for each trainer.shard level
# next to the unsharded run (docs/benchmarks.md, "Sharded trainer state").
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; $(date -u +%F)"
for shape in 25m qwen05b; do
    for n in 1 2 4; do
        "$here/launch/mpirun.sh" -np "$n" "$build/bench/bench_shard" "$shape" 4 3
        echo
    done
done
