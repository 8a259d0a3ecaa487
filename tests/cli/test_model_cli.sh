#!/usr/bin/env bash
# test_model_cli.sh FLUXRL SRC — `fluxrl model info` and `fluxrl logprobs`: outputs against the
# PyTorch reference (tests/data/model/qwen2_tied/logprobs_expected.jsonl), errors and exit codes.
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
m="$src/tests/data/model/qwen2_tied"

# --- model info ---
expect_run 0 "model info" -- "$fx" model info "$m" --batch 4 --seq 64
expect_contains "$out" "Qwen2ForCausalLM (qwen2, language model head)" "architecture line"
expect_contains "$out" "parameters   21792 (0.02M; embedding 3072, the rest 18720)" "exact parameter count"
expect_contains "$out" "4 query heads, 2 key-value heads (GQA 2), head_dim 8" "attention line"
expect_contains "$out" "tied embeddings yes" "tied"
expect_contains "$out" "batch 4 x 64 tokens" "batch shape"
# --ranks: a trainer rank's share (trainer_mem_plan), against the arithmetic of the layout done
# here: Qwen2.5-7B-Instruct's config (only config.json is read), 8 ranks.
mkdir -p "$tmp/q7"
cat >"$tmp/q7/config.json" <<'EOF2'
{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
 "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4, "vocab_size": 152064,
 "tie_word_embeddings": false, "rope_theta": 1000000.0, "rms_norm_eps": 1e-06, "max_position_embeddings": 32768}
EOF2
expect_run 0 "model info --ranks 8 of a 7B config" -- "$fx" model info "$tmp/q7" --batch 2 --seq 4608 --ranks 8
expect_contains "$out" "the embedding and LM head a chunk of 65027 rows at a time" "the vocabulary's chunk named"
expect_run 0 "weights, gradients and AdamW per rank as the layout's arithmetic gives them" -- /usr/bin/python3 -c '
import sys
C, F, L, V, KD = 3584, 18944, 28, 152064, 4 * 128
layer = 2 * C * C + 2 * KD * C + (C + 2 * KD) + 3 * C * F + 2 * C  # q, o; k, v; q/k/v bias; MLP; 2 norms
n = 2 * V * C + L * layer + C
per = -(-n // 8); per = -(-per // 16) * 16  # rank 0 slice, 64-byte aligned
mib = lambda floats: "%.1f" % (floats * 4 / 2**20)
rows = {tuple(l.split()[:2]): l.split()[2:] for l in sys.stdin if l.startswith("  ") and len(l.split()) == 7}
assert rows[("none", "no")][:3] == [mib(n), mib(n), mib(2 * n)], rows[("none", "no")]
assert rows[("optimizer", "yes")][:3] == [mib(n), mib(n), mib(2 * per)], rows[("optimizer", "yes")]
assert float(rows[("gradients", "yes")][1]) < float(mib(n)) / 3, rows[("gradients", "yes")]
# full: the slice, one layer, the final norm and a chunk of the vocabulary (as many rows as fill a
# layer, and a spare row) as weights and gradients alike
vr = min(V, layer // C)
full = per + layer + C + (vr + 1) * C
assert rows[("full", "yes")][:3] == [mib(full), mib(full), mib(2 * per)], rows[("full", "yes")]' <<<"$out"
expect_run 2 "model info --ranks 0" -- "$fx" model info "$m" --ranks 0
expect_run 0 "model info of a Qwen3" -- "$fx" model info "$src/tests/data/model/qwen3_untied"
expect_contains "$out" "q/k norm yes, tied embeddings no" "qwen3 flags"
expect_contains "$out" "head_dim 10" "qwen3 head_dim"
expect_run 0 "model info of a PRM" -- "$fx" model info "$src/tests/data/model/qwen2_prm"
expect_contains "$out" "2-class PRM" "prm head"
expect_run 0 "model info of a PCM" -- "$fx" model info "$src/tests/data/pcm/tiny"
expect_contains "$out" "FluxrlPCMForTokenMixing (qwen2, PCM (pref_proj, alpha_head) head)" "pcm head"
expect_contains "$out" "experts      3 (the alpha head's K)" "pcm K"
mkdir "$tmp/pcm_nok"
grep -v num_experts "$src/tests/data/pcm/tiny/config.json" >"$tmp/pcm_nok/config.json"
expect_run 2 "model info of a PCM without num_experts" -- "$fx" model info "$tmp/pcm_nok"
expect_contains "$err" "num_experts: missing" "missing num_experts named"
expect_run 2 "logprobs of a PCM" -- "$fx" logprobs --model "$src/tests/data/pcm/tiny" --input "$m/logprobs_in.jsonl"
expect_contains "$err" "FluxrlPCMForTokenMixing has no language-model head" "a PCM has no LM head"
expect_run 2 "model info without DIR" -- "$fx" model info
expect_contains "$err" "a model folder DIR is required" "missing DIR named"
expect_run 2 "model info of a missing folder" -- "$fx" model info "$tmp/nothing"
expect_contains "$err" "$tmp/nothing" "missing folder named"
expect_run 2 "model info --batch 0" -- "$fx" model info "$m" --batch 0
expect_contains "$err" "--batch: expected a positive integer, got '0'" "bad batch named"
expect_run 0 "model info --help" -- "$fx" model info --help
expect_contains "$out" "usage: fluxrl model info DIR" "usage"

# --- logprobs: the PyTorch reference's numbers, within 1e-4 ---
expect_run 0 "logprobs" -- "$fx" logprobs --model "$m" --input "$m/logprobs_in.jsonl"
printf '%s\n' "$out" >"$tmp/got.jsonl"
cmp=$(python3 - "$tmp/got.jsonl" "$m/logprobs_expected.jsonl" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [json.loads(l) for l in open(sys.argv[2])]
ok = len(got) == len(want) and all(
    len(g["logprobs"]) == len(w["logprobs"]) and
    all(abs(a - b) <= 1e-4 * max(1.0, abs(b)) for a, b in zip(g["logprobs"], w["logprobs"]))
    for g, w in zip(got, want))
print("match" if ok else "differ: %s vs %s" % (got, want))
PY
)
expect_contains "$cmp" "match" "logprobs equal PyTorch's"
expect_contains "$out" '{"logprobs":[]}' "a one-token line has no log-probs"

# blank lines are skipped; many lines pack into shared rows and still come out in order
{ for i in $(seq 1 40); do echo '{"ids": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}'; echo; done; } >"$tmp/many.jsonl"
expect_run 0 "logprobs of 40 packed lines" -- "$fx" logprobs --model "$m" --input "$tmp/many.jsonl"
expect_contains "$(printf '%s\n' "$out" | wc -l)" "40" "one output line per input line"
same=$(printf '%s\n' "$out" | python3 -c '
import json, sys
rows = [json.loads(l)["logprobs"] for l in sys.stdin]
print("same" if len(rows[0]) == 9 and all(abs(a - b) <= 1e-5 for r in rows for a, b in zip(r, rows[0])) else "differ")')
expect_contains "$same" "same" "identical lines give the same log-probs wherever they are packed"

# --- logprobs: bad input names the file, the line and the field; nothing on stdout ---
printf '{"ids": [1, 2]}\n{"ids": [3, 96]}\n' >"$tmp/range.jsonl"
expect_run 2 "token id out of range" -- "$fx" logprobs --model "$m" --input "$tmp/range.jsonl"
expect_contains "$err" "$tmp/range.jsonl:2: ids[1]: expected a token id in [0, 96)" "out of range named"
expect_contains "[$out]" "[]" "nothing printed on bad input"
printf '{"ids": [1, 2.5]}\n' >"$tmp/frac.jsonl"
expect_run 2 "fractional id" -- "$fx" logprobs --model "$m" --input "$tmp/frac.jsonl"
expect_contains "$err" "frac.jsonl:1: ids[1]" "fractional id named"
printf '{"ids": [1]}\n{"tokens": [1]}\n' >"$tmp/field.jsonl"
expect_run 2 "missing ids" -- "$fx" logprobs --model "$m" --input "$tmp/field.jsonl"
expect_contains "$err" "field.jsonl:2: ids: expected an array of token ids" "missing field named"
printf '{"ids": []}\n' >"$tmp/empty.jsonl"
expect_run 2 "empty ids" -- "$fx" logprobs --model "$m" --input "$tmp/empty.jsonl"
expect_contains "$err" "empty.jsonl:1: ids: empty" "empty named"
printf '{"ids": [1, 2}\n' >"$tmp/json.jsonl"
expect_run 2 "broken JSON" -- "$fx" logprobs --model "$m" --input "$tmp/json.jsonl"
expect_contains "$err" "json.jsonl:1: not a JSON object" "broken JSON named"
expect_run 2 "missing input file" -- "$fx" logprobs --model "$m" --input "$tmp/none.jsonl"
expect_contains "$err" "$tmp/none.jsonl" "missing file named"
expect_run 2 "no --model" -- "$fx" logprobs --input "$tmp/range.jsonl"
expect_contains "$err" "--model DIR is required" "missing --model"
expect_run 2 "no --input" -- "$fx" logprobs --model "$m"
expect_contains "$err" "--input FILE.jsonl is required" "missing --input"
expect_run 2 "a PRM has no LM head" -- "$fx" logprobs --model "$src/tests/data/model/qwen2_prm" --input "$m/logprobs_in.jsonl"
expect_contains "$err" "has no language-model head" "PRM refused"

# a checkpoint that lost a tensor: an error naming it, exit 2
mkdir -p "$tmp/broken"
cp "$m/config.json" "$tmp/broken/"
python3 - "$m/model.safetensors" "$tmp/broken/model.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
h.pop("model.norm.weight")
hb = json.dumps(h).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
PY
expect_run 2 "checkpoint missing a tensor" -- "$fx" logprobs --model "$tmp/broken" --input "$m/logprobs_in.jsonl"
expect_contains "$err" "model.norm.weight" "missing tensor named"

finish model_cli
