#!/usr/bin/env bash
# pcm_demo.sh [OUT_DIR] — issue 18's example end to end on the embedded task, from a fresh clone
# (docs/pcm.md): dependencies, the build, then bench/pcm/grid.sh at a small setting:
#   1. two experts in tension built by fluxrl: `full`, the demo's SFT policy (configs/demo.json),
#      which works every sum out; `brief`, full after 150 SFT steps on answers without the work;
#   2. a Preference Control Model over (full, brief) trained by GRPO from configs/pcm_demo.json
#      (right and brief, Bradley-Terry against the full expert's greedy response, weighed by a
#      preference drawn per problem);
#   3. every method decoded greedily at five preferences on PROBLEMS held-out problems (default
#      50): each expert alone, token-level merging with alpha = w in probability and logit space,
#      Personalized Soups (`fluxrl merge`) and the trained PCM; the table of each dimension, the
#      preference-weighted reward R and the PCM's win rate against each method, printed.
# SEEDS (default 1) PCMs; bench/pcm/grid.sh with its defaults (3 seeds, 200 problems) is the
# evidence in docs/results.md. Runs already in OUT_DIR (default runs/pcm-demo) are reused.
# The PCM has the preference prior PRIOR (default 0.05; pcm.preference_prior, fluxrl's extension,
# docs/pcm.md), with which it follows the preference where one dimension has the weight; PRIOR=
# (empty) trains the paper's PCM, which collapses onto the brief expert (docs/results.md).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
DOCS=0 SEEDS=${SEEDS:-1} PROBLEMS=${PROBLEMS:-50} PRIOR=${PRIOR-0.05} bench/pcm/grid.sh "${1:-runs/pcm-demo}"
