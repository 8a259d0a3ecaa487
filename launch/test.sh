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

echo "== fuzzing the safetensors header parser (libFuzzer, clang)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFLUXRL_FUZZ=ON -DFLUXRL_CUDA=OFF \
    >build-fuzz.configure.log 2>&1 || { cat build-fuzz.configure.log; exit 1; }
cmake --build build-fuzz -j"$jobs" --target fuzz_safetensors
corpus=$(mktemp -d)
cp tests/data/fuzz/safetensors/* "$corpus"/
build-fuzz/tests/fuzz_safetensors -runs=1000000 -max_len=4096 -seed=1 "$corpus" 2>&1 | tail -n 1
rm -rf "$corpus"
echo "== fuzzing the chat-template parser and renderer (libFuzzer, clang)"
cmake --build build-fuzz -j"$jobs" --target fuzz_jinja
corpus=$(mktemp -d)
cp tests/data/jinja/templates/*.jinja "$corpus"/
build-fuzz/tests/fuzz_jinja -runs=100000 -max_len=4096 -timeout=10 -seed=1 "$corpus" 2>&1 | tail -n 1
rm -rf "$corpus"
rm -f build.configure.log build-asan.configure.log build-fuzz.configure.log
echo "== all tests passed"
