#!/usr/bin/env bash
# demo.sh — the main job on the embedded default (configs/demo.json), from a fresh clone:
# dependencies, the build, then the job under mpirun with one rank per role.
# What the job does today: splits the MPI world into trainer, rollout and reward ranks, checks
# every rank's backend and collectives, prints the layout and writes the resolved config to
# runs/demo/config.json. Later capabilities (the built-in task, SFT, PRM, GRPO) extend this job.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
launch/mpirun.sh configs/demo.json "$@"
