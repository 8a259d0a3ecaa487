#!/usr/bin/env bash
# run.sh [BUILD] — requests/second of each outcome-reward source (docs/rewards.md, "Costs"): the
# built-in verifier, the verifier plugin, examples/rewards/sympy_equal.py with 1 and 2 workers, and
# the shell example (jq). Needs `cmake --build BUILD --target bench_rewards verifier_plugin`.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
lscpu | grep -m1 'Model name'
echo "cores: $(nproc --all)"; echo
"$build/bench_rewards" 2000 "$build/tests/verifier_plugin.so" "/usr/bin/python3 $src/examples/rewards/sympy_equal.py" 1 2
if command -v jq >/dev/null; then
    "$build/bench_rewards" 2000 "$build/tests/verifier_plugin.so" "sh $src/examples/rewards/contains_answer.sh" 1 |
        grep command | sed 's/^command/shell (jq)/'
fi
