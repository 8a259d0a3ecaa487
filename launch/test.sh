#!/usr/bin/env bash
# test.sh — the whole test suite from a fresh clone: dependencies, the build (CPU, plus the CUDA
# backend wherever nvcc exists), every ctest, then the unit tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and a short libFuzzer run of the checkpoint header parser.
# Warnings are errors. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/deps.sh

jobs=$(nproc)
echo "== build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFLUXRL_WERROR=ON >build.configure.log 2>&1 ||
    { cat build.configure.log; exit 1; }
cmake --build build -j"$jobs"

echo "== ctest"
# Tests labelled gpu need a CUDA device; without one they are excluded and reported as not run.
gpu_exclude=()
if ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
    gpu_exclude=(-LE gpu)
    echo "no CUDA device: tests labelled gpu are not run"
fi
(cd build && ctest --output-on-failure "${gpu_exclude[@]}")

echo "== unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLUXRL_SANITIZE=ON -DFLUXRL_CUDA=OFF -DFLUXRL_WERROR=ON \
    >build-asan.configure.log 2>&1 || { cat build-asan.configure.log; exit 1; }
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -L unit)

echo "== fuzzing what users and ranks hand fluxrl (libFuzzer, clang; tests/fuzz.cmake)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFLUXRL_FUZZ=ON -DFLUXRL_CUDA=OFF \
    >build-fuzz.configure.log 2>&1 || { cat build-fuzz.configure.log; exit 1; }
# target:inputs (a fixed count and seed: the same inputs every run, ~5-15 s each on 2 cores)
fuzz=(safetensors:1000000 config:1500 tokenizer:80000 verify:5000 jsonl:10000 msg:100000)
targets=()
for f in "${fuzz[@]}"; do targets+=("fuzz_${f%%:*}"); done
cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"
for f in "${fuzz[@]}"; do
    name=${f%%:*} corpus=$(mktemp -d)
    cp tests/data/fuzz/"$name"/* "$corpus"/
    log=$(build-fuzz/tests/fuzz_"$name" -runs="${f#*:}" -max_len=4096 -seed=1 "$corpus" 2>&1) ||
        { echo "$log" | tail -n 60; echo "fuzz_$name: FAILED (the input is in crash-* here)"; exit 1; }
    echo "fuzz_$name: $(echo "$log" | tail -n 1)"
    rm -rf "$corpus"
done
# the chat-template parser and renderer, from the real templates (tests/data/jinja/templates)
cmake --build build-fuzz -j"$jobs" --target fuzz_jinja
corpus=$(mktemp -d)
cp tests/data/jinja/templates/*.jinja "$corpus"/
log=$(build-fuzz/tests/fuzz_jinja -runs=50000 -max_len=4096 -timeout=10 -seed=1 "$corpus" 2>&1) ||
    { echo "$log" | tail -n 60; echo "fuzz_jinja: FAILED (the input is in crash-* here)"; exit 1; }
echo "fuzz_jinja: $(echo "$log" | tail -n 1)"
rm -rf "$corpus"
rm -f build.configure.log build-asan.configure.log build-fuzz.configure.log
echo "== all tests passed"
