#!/usr/bin/env bash
# test_verify.sh FLUXRL SRC — `fluxrl verify`, `fluxrl task sample` and `fluxrl task check`:
# outputs, determinism, and exit code 2 with FILE:LINE: field for bad input.
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in "verify" "task sample" "task check"; do
    # shellcheck disable=SC2086
    expect_run 0 "$c --help" -- "$fx" $c --help
    expect_contains "$out" "usage: fluxrl $c" "$c --help prints usage"
done
expect_run 0 "help lists verify" -- "$fx" help
expect_contains "$out" "verify" "verify in help"
expect_contains "$out" "task sample" "task sample in help"

# verify: one output line per input line, blank lines skipped.
cat >"$tmp/v.jsonl" <<'J'
{"response": "So the result is \\boxed{\\frac{1}{2}}.", "answer": "0.5"}
{"response": "The answer is 1,234.", "answer": "1234"}

{"response": "I think 7, no 8", "answer": "7"}
{"response": "no number here", "answer": "3"}
J
expect_run 0 "verify a file" -- "$fx" verify --input "$tmp/v.jsonl"
want='{"correct":true,"extracted":"\\frac{1}{2}"}
{"correct":true,"extracted":"1,234"}
{"correct":false,"extracted":"8"}
{"correct":false,"extracted":null}'
if [ "$out" == "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL verify output:\n%s\nwanted:\n%s\n' "$out" "$want" >&2; fi
stdin_out=$("$fx" verify <"$tmp/v.jsonl")
expect_contains "$stdin_out" "$want" "verify reads stdin without --input"
expect_run 0 "verify --input=FILE" -- "$fx" verify --input="$tmp/v.jsonl"

# Bad lines: exit 2, FILE:LINE: field, earlier lines printed whole, nothing for the bad one.
printf '{"response": "The answer is 5", "answer": "5"}\n{"response": "x", "answer": \n' >"$tmp/bad1.jsonl"
expect_run 2 "verify malformed JSON" -- "$fx" verify --input "$tmp/bad1.jsonl"
expect_contains "$err" "$tmp/bad1.jsonl:2: expected a JSON object on one line" "malformed line named"
if [ "$out" == '{"correct":true,"extracted":"5"}' ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); printf 'FAIL output before a bad line: %s\n' "$out" >&2; fi
printf '{"response": "The answer is 5"}\n' >"$tmp/bad2.jsonl"
expect_run 2 "verify missing answer" -- "$fx" verify --input "$tmp/bad2.jsonl"
expect_contains "$err" "$tmp/bad2.jsonl:1: answer: expected a string, got nothing (missing)" "missing field named"
expect_not_contains "$out" "correct" "nothing printed for the bad line"
printf '\n{"response": 5, "answer": "5"}\n' >"$tmp/bad3.jsonl"
expect_run 2 "verify non-string response" -- "$fx" verify --input "$tmp/bad3.jsonl"
expect_contains "$err" "$tmp/bad3.jsonl:2: response: expected a string, got a number" "non-string field named"
printf '[1, 2]\n' >"$tmp/bad4.jsonl"
expect_run 2 "verify a line that is not an object" -- "$fx" verify --input "$tmp/bad4.jsonl"
printf '{"response": "5", "answer": "5"} trailing\n' >"$tmp/bad5.jsonl"
expect_run 2 "verify text after the object" -- "$fx" verify --input "$tmp/bad5.jsonl"
expect_run 2 "verify missing file" -- "$fx" verify --input "$tmp/none.jsonl"
expect_contains "$err" "none.jsonl: cannot open" "missing file named"
expect_run 2 "verify unknown argument" -- "$fx" verify --inptu x
expect_contains "$err" "unexpected argument '--inptu'" "unknown argument named"

# task sample: deterministic, problem i independent of the others, knobs checked.
expect_run 0 "task sample" -- "$fx" task sample --n 3 --seed 4
a=$out
expect_contains "$a" '"prompt":"Compute ' "sample has a prompt"
expect_contains "$a" '"trace":"<think>\n' "sample has a trace"
expect_contains "$a" '"step_correct":[true,true,true,true],"answer_correct":true' "gold labels"
[ "$(printf '%s\n' "$a" | wc -l)" -eq 3 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL sample line count" >&2; }
expect_run 0 "task sample again" -- "$fx" task sample --n 3 --seed 4
[ "$out" == "$a" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL sample not deterministic" >&2; }
expect_run 0 "task sample --first" -- "$fx" task sample --n 2 --seed 4 --first 1
[ "$out" == "$(printf '%s\n' "$a" | tail -n 2)" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL --first" >&2; }
expect_run 0 "task sample other seed" -- "$fx" task sample --n 3 --seed 5
expect_not_contains "$out" "$(printf '%s\n' "$a" | head -n 1)" "another seed, another problem"
expect_run 0 "task sample knobs" -- "$fx" task sample --n 20 --ops 5 --digits 3 --operators '+-*' --error-rate 0.5
expect_contains "$out" "false" "errors injected"
expect_contains "$out" "*" "multiplication used"
printf '%s\n' "$out" >"$tmp/s.jsonl"

# task check labels the sampled traces exactly as the sampler did.
expect_run 0 "task check sampled" -- "$fx" task check --input "$tmp/s.jsonl"
labels() { sed -E 's/.*"step_correct":(\[[^]]*\]).*/\1/'; }
if [ "$(labels <"$tmp/s.jsonl")" == "$(printf '%s\n' "$out" | labels)" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL task check labels differ from task sample's" >&2; fi
printf '{"prompt": "Compute 23+48-19.", "trace": "<think>\\n23+48: 3+8=11, 2+4+0=6, 23+48=61\\n\\n61-19: 11-9=2, 6-1-1=4, 61-19=42\\n</think>\\nThe answer is 42."}\n' >"$tmp/c.jsonl"
expect_run 0 "task check hand-written" -- "$fx" task check <"$tmp/c.jsonl"
expect_contains "$out" '{"step_correct":[false,true,true],"think_steps":2,"closed":true,"answer_correct":false,"extracted":"42"}' "wrong carry flagged"

for bad in "--n" "--n -1" "--n 3 --ops 0" "--n 3 --digits 7" "--n 3 --operators +/" "--n 3 --operators +-*/" \
           "--n 3 --error-rate 2" "--n 3 --seed x" "--ops 2" "--n 3 --bogus 1"; do
    # shellcheck disable=SC2086
    expect_run 2 "task sample $bad" -- "$fx" task sample $bad
done
expect_run 2 "task sample bad operators" -- "$fx" task sample --n 1 --operators '+/'
expect_contains "$err" "operators: expected distinct characters" "operators knob named"
printf '{"prompt": "What is 2+2?", "trace": ""}\n' >"$tmp/bp.jsonl"
expect_run 2 "task check bad prompt" -- "$fx" task check --input "$tmp/bp.jsonl"
expect_contains "$err" "$tmp/bp.jsonl:1: prompt: expected a built-in arithmetic problem" "bad prompt named"
printf '{"prompt": "Compute 1+2."}\n' >"$tmp/bt.jsonl"
expect_run 2 "task check missing trace" -- "$fx" task check --input "$tmp/bt.jsonl"
expect_contains "$err" "$tmp/bt.jsonl:1: trace: expected a string" "missing trace named"

finish test_verify.sh
