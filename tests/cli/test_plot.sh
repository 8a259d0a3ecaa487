#!/usr/bin/env bash
# test_plot.sh FLUXRL SRC — `fluxrl plot`: PNG learning curves from metrics.jsonl; bad lines named.
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/run"
for s in 0 1 2 3 4 5 6 7; do
    echo "{\"step\": $s, \"reward_mean\": 0.$s, \"loss\": $((10 - s)), \"lag\": null, \"note\": \"x\"}"
done >"$tmp/run/metrics.jsonl"
expect_run 0 "plot" -- "$fx" plot "$tmp/run"
expect_contains "$out" "2 plots of 8 steps in $tmp/run/plots/" "summary"
for m in reward_mean loss; do
    expect_run 0 "$m.png is a PNG" -- test "$(head -c 4 "$tmp/run/plots/$m.png" | od -An -c | tr -d ' ')" = '211PNG'
    expect_run 0 "$m.png is not empty" -- test "$(wc -c <"$tmp/run/plots/$m.png")" -gt 5000
done
expect_run 0 "nothing else left behind" -- test "$(ls -A "$tmp/run/plots" | wc -l)" -eq 2
expect_run 0 "--out" -- "$fx" plot "$tmp/run" --out "$tmp/elsewhere"
expect_run 0 "written to --out" -- test -f "$tmp/elsewhere/loss.png"
echo '{"step": 8, "loss": ' >>"$tmp/run/metrics.jsonl"
expect_run 2 "malformed line" -- "$fx" plot "$tmp/run"
expect_contains "$err" "$tmp/run/metrics.jsonl:9: expected a JSON object with a numeric \"step\"" "file and line"
expect_run 2 "no run" -- "$fx" plot "$tmp/none"
expect_contains "$err" "$tmp/none/metrics.jsonl: cannot open" "missing metrics named"
expect_run 2 "no argument" -- "$fx" plot
finish test_plot
