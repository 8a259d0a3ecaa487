#!/usr/bin/env bash
# test_pcm_cli.sh FLUXRL SRC MAKE_PCM_MODELS — merged decoding and parameter soups from the command
# line (docs/pcm.md): `fluxrl generate` / `eval` with --experts, --pcm, --preference, --merge, and
# `fluxrl merge`, on tiny random models with the built-in tokenizer (tests/make_pcm_models.c).
#   - one-hot preferences give the single expert's traces byte for byte (ids and log-probs),
#     whatever the slot count; a PCM or other preferences give other traces;
#   - bad input exits 2 with one line naming the flag or folder, the field and what was expected;
#   - merge: one-hot weights reproduce the expert's tensors exactly, 0.5/0.5 is the elementwise
#     mean computed independently (numpy, reading the safetensors by hand) rounded once to fp32.
set -u
fx=$1 src=$2 make_models=$3
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
"$make_models" "$tmp" || { echo "make_pcm_models failed" >&2; exit 1; }
cd "$tmp"
gen=(--problems 5 --n 2 --max-new 24 --temperature 1 --seed 3)
export_traces() { "$fx" traces export "$1" 2>/dev/null | sed 's/"model":[^,]*,//'; }

# --- generate: one-hot preferences are the expert alone ---
expect_run 0 "generate with expert_b alone" -- "$fx" generate --model expert_b --out b.h5 "${gen[@]}" --slots 3
for slots in 1 4; do
    expect_run 0 "generate merged, one-hot on expert_b, $slots slots" -- "$fx" generate \
        --experts expert_a,expert_b,expert_c --preference 0,1,0 --out hot$slots.h5 "${gen[@]}" --slots $slots
    expect_run 0 "one-hot traces identical to expert_b's ($slots slots)" -- cmp <(export_traces b.h5) <(export_traces hot$slots.h5)
done
expect_run 0 "traces info names the merged policy" -- "$fx" traces info hot1.h5
expect_contains "$out" "experts expert_a,expert_b,expert_c; preference 0,1,0; merge prob" "policy identity"
expect_run 0 "generate merged with a PCM" -- "$fx" generate --experts expert_a,expert_b --pcm pcm2 \
    --preference 0.7,0.3 --out pcm1.h5 "${gen[@]}" --slots 1
expect_run 0 "the same with 5 slots" -- "$fx" generate --experts expert_a,expert_b --pcm pcm2 \
    --preference 0.7,0.3 --out pcm5.h5 "${gen[@]}" --slots 5
expect_run 0 "PCM traces identical whatever the slot count" -- cmp <(export_traces pcm1.h5) <(export_traces pcm5.h5)
expect_run 1 "PCM traces differ from expert_b's" -- cmp -s <(export_traces b.h5) <(export_traces pcm1.h5)
expect_run 0 "logit-space merge of an expert of another architecture (one vocabulary)" -- "$fx" generate \
    --experts expert_a,expert_qwen3 --preference 0.5,0.5 --merge logit --out logit.h5 "${gen[@]}"
expect_run 0 "uniform merge (no --preference)" -- "$fx" generate --experts expert_a,expert_qwen3 --out uni.h5 "${gen[@]}"
expect_run 1 "prob and logit space differ" -- cmp -s <(export_traces logit.h5) <(export_traces uni.h5)

# --- eval ---
expect_run 0 "eval with expert_a alone" -- "$fx" eval --model expert_a "${gen[@]}"
single=$out
expect_run 0 "eval merged, one-hot on expert_a" -- "$fx" eval --experts expert_a,expert_b --preference 1,0 "${gen[@]}"
expect_contains "$out" "$single" "same accuracy line as expert_a alone"
expect_run 0 "eval merged with a PCM" -- "$fx" eval --experts expert_a,expert_b --pcm pcm2 --preference 0.2,0.8 "${gen[@]}"
expect_contains "$out" '"problems": 5, "samples": 2' "eval line"
expect_run 0 "... with each expert's mean alpha over the decoded tokens, on the simplex" -- python3 -c '
import json, sys
a = json.loads(sys.argv[1])["alpha_mean"]
assert len(a) == 2 and all(0 < x < 1 for x in a) and abs(sum(a) - 1) < 2e-4, a' "$out"
# A PCM whose alpha head picks expert_a whatever it reads (weights 0, biases 0 and -1e30): alpha_mean
# exactly (1, 0), and expert_a's accuracy line.
cp -r pcm2 pcm_a
/usr/bin/python3 - pcm_a/model.safetensors <<'E'
import json, struct, sys
import numpy as np
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def put(name, values):
    lo, hi = h[name]["data_offsets"]
    assert h[name]["dtype"] == "F32" and hi - lo == 4 * values.size, name
    b[8 + n + lo:8 + n + hi] = values.astype("<f4").tobytes()
K, C = h["alpha_head.weight"]["shape"]
put("alpha_head.weight", np.zeros(K * C))
put("alpha_head.bias", np.array([0.0, -1e30]))
open(p, "wb").write(b)
E
expect_run 0 "eval with a PCM fixed on expert_a" -- "$fx" eval --experts expert_a,expert_b --pcm pcm_a --preference 0.2,0.8 "${gen[@]}"
expect_contains "$out" "${single%\}}, \"alpha_mean\": [1.0000, 0.0000]}" "expert_a's accuracy line, alpha (1, 0)"
# A PCM with a preference prior in its config.json (fluxrl's extension, docs/pcm.md) and an alpha head
# of weights and biases 0: alpha = (w + 0.25) / 1.5 at every token, (0.8333, 0.1667) at w = (1, 0).
cp -r pcm_a pcm_p
/usr/bin/python3 - pcm_p <<'E'
import json, struct, sys
import numpy as np
d = sys.argv[1]
p = d + "/model.safetensors"
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
lo, hi = h["alpha_head.bias"]["data_offsets"]
b[8 + n + lo:8 + n + hi] = np.zeros(2).astype("<f4").tobytes()
open(p, "wb").write(b)
c = json.load(open(d + "/config.json"))
c["preference_prior"] = 0.25
json.dump(c, open(d + "/config.json", "w"))
E
expect_run 0 "eval with a PCM whose config.json has a preference prior" -- "$fx" eval --experts expert_a,expert_b \
    --pcm pcm_p --preference 1,0 "${gen[@]}"
expect_contains "$out" '"alpha_mean": [0.8333, 0.1667]}' "alpha = (w + 0.25) / 1.5"

# --- bad input: exit 2, one line naming what and where ---
bad() { # DESCRIPTION NEEDLE ARGS...
    local what=$1 needle=$2
    shift 2
    expect_run 2 "$what" -- "$fx" eval "$@" --problems 1 --max-new 2
    expect_contains "$err" "$needle" "$what: message"
    [ "$(printf '%s\n' "$err" | grep -vc '^\[')" -eq 1 ] || { failed=$((failed + 1)); echo "FAIL $what: not one line: $err" >&2; }
}
cp -r pcm_p pcm_pbad && sed -i 's/"preference_prior": 0.25/"preference_prior": 2/' pcm_pbad/config.json
bad "a preference prior above 1 in a PCM's config.json" "pcm_pbad/config.json: preference_prior: 2; expected a number in [0, 1]" \
    --experts expert_a,expert_b --pcm pcm_pbad --preference 1,0
bad "preference of the wrong length" "--preference: expected 3 weights (one per expert of --experts), got 2" \
    --experts expert_a,expert_b,expert_c --preference 0.5,0.5
bad "negative preference" "--preference: weight 1: expected a finite number >= 0, got -0.5" \
    --experts expert_a,expert_b --preference -0.5,1.5
bad "preference not summing to 1" "--preference: expected weights summing to 1 (within 1e-6)" \
    --experts expert_a,expert_b --preference 0.7,0.4
bad "NaN preference" "--preference: weight 2: expected a finite number >= 0, got nan" \
    --experts expert_a,expert_b --preference 1,nan
bad "PCM for another number of experts" "pcm3: config.json: num_experts: expected 2 (the experts given), got 3" \
    --experts expert_a,expert_b --pcm pcm3
bad "experts of two vocabularies" "expert_a and expert_v: config.json: vocab_size" --experts expert_a,expert_v
# One vocabulary size, another tokenizer: two tokens' ids swapped (the merges by the tokens, unchanged).
cp -r expert_b expert_t
/usr/bin/python3 -c 'import json, sys
p = sys.argv[1]; t = json.load(open(p)); v = t["model"]["vocab"]
a, b = [k for k, i in v.items() if i in (256, 257)]
v[a], v[b] = v[b], v[a]
json.dump(t, open(p, "w"), ensure_ascii=False)' expert_t/tokenizer.json
bad "experts of one vocabulary size and two tokenizers" \
    "expert_a and expert_t: tokenizer: the models must share one tokenizer; token id 256 differs" --experts expert_a,expert_t
bad "a PCM given as an expert" "pcm2: config.json: architectures: expected a causal language model" \
    --experts expert_a,pcm2
bad "unknown merge space" "--merge: expected prob or logit" --experts expert_a,expert_b --merge mean
bad "--model and --pcm" "--model and --experts / --pcm: expected one of them, got both" --model expert_a --pcm pcm2
bad "--model and --experts" "--model and --experts / --pcm: expected one of them" --model expert_a --experts expert_a,expert_b
bad "--pcm alone, a folder naming no experts" "--pcm: pcm2 names no experts (no fluxrl_pcm.experts in its config.json)" \
    --pcm pcm2

# --- a PCM folder that names its experts (what fluxrl train saves): FNV-1a 64 of their weights ---
name_experts() { # SRC DST EXPERT... : a copy of SRC whose config.json names the experts (hashes computed here)
    local from=$1 dst=$2
    shift 2
    cp -r "$from" "$dst"
    PYTHONPATH="$src/tests" /usr/bin/python3 - "$dst/config.json" "$@" <<'PY'
import json, os, sys
from fnv1a64 import fnv1a64
c = json.load(open(sys.argv[1]))
c["fluxrl_pcm"] = {"experts": [{"path": os.path.abspath(e), "fnv1a64": fnv1a64(e)} for e in sys.argv[2:]]}
json.dump(c, open(sys.argv[1], "w"))
PY
}
name_experts pcm2 pcm2n expert_a expert_b
expect_run 0 "eval with the PCM alone (its experts from its folder)" -- "$fx" eval --pcm pcm2n --preference 0.2,0.8 "${gen[@]}"
named=$out
expect_run 0 "eval with the experts given" -- "$fx" eval --experts expert_a,expert_b --pcm pcm2n --preference 0.2,0.8 "${gen[@]}"
expect_run 0 "the same line" -- test "$named" = "$out"
expect_run 0 "the same as the unnamed PCM" -- "$fx" eval --experts expert_a,expert_b --pcm pcm2 --preference 0.2,0.8 "${gen[@]}"
expect_run 0 "the same line" -- test "$named" = "$out"
bad "--experts other than those the PCM names" "--experts: expert 2, expert_c: its weights are not those the PCM pcm2n was trained with" \
    --experts expert_a,expert_c --pcm pcm2n
bad "a preference of another length than the named experts" "--preference: expected 2 weights (one per expert the PCM pcm2n names), got 3" \
    --pcm pcm2n --preference 0.2,0.3,0.5
cp -r pcm2n pcm2m && /usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["fluxrl_pcm"]["experts"][1]["fnv1a64"] = "0" * 16; json.dump(c, open(p, "w"))' pcm2m/config.json
bad "an expert changed since the PCM was trained" "--pcm: expert 2, $tmp/expert_b: its weights are not those the PCM pcm2m was trained with" \
    --pcm pcm2m
cp -r pcm2n pcm2x && /usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["fluxrl_pcm"]["experts"][0]["fnv1a64"] = "xyz"; json.dump(c, open(p, "w"))' pcm2x/config.json
bad "a malformed fluxrl_pcm" 'pcm2x/config.json: fluxrl_pcm.experts[0]: expected {"path": a folder, "fnv1a64": 16 hex digits}' \
    --pcm pcm2x
expect_run 2 "generate: bad preference" -- "$fx" generate --experts expert_a,expert_b --preference 2,-1 --out x.h5
expect_run 1 "no trace store left behind" -- test -e x.h5

# --- merge (Personalized Soups) ---
expect_run 0 "merge one-hot on expert_b" -- "$fx" merge --experts expert_a,expert_b,expert_c --weights 0,1,0 --out soup_b
expect_contains "$out" "merge: 3 experts" "merge line"
expect_run 0 "merge 0.5/0.5" -- "$fx" merge --experts expert_a,expert_b --weights 0.5,0.5 --out soup_ab
expect_run 0 "merge 0.7/0.3" -- "$fx" merge --experts expert_a,expert_b --weights 0.7,0.3 --out soup_73
expect_run 0 "tokenizer files copied from the first expert" -- cmp expert_a/tokenizer.json soup_ab/tokenizer.json
expect_run 0 "tensors against numpy" -- /usr/bin/python3 - <<'PY'
import json, struct, numpy as np
def load(d):  # safetensors by hand: u64 header length, JSON header, F32 data
    raw = open(d + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", (d, k, v["dtype"])
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(v["shape"])
    return out
a, b, s_b, s_ab, s_73 = (load(d) for d in ("expert_a", "expert_b", "soup_b", "soup_ab", "soup_73"))
assert set(s_ab) == set(a) == set(s_b) == set(s_73)
for k in a:
    assert np.array_equal(s_b[k], b[k]), k                      # one-hot: the expert's tensor, exactly
    mean = (0.5 * a[k].astype(np.float64) + 0.5 * b[k].astype(np.float64)).astype(np.float32)
    assert np.array_equal(s_ab[k], mean), k                     # the mean, rounded once
    w0, w1 = np.float64(np.float32(0.7)), np.float64(np.float32(0.3))
    mix = (w0 * a[k].astype(np.float64) + w1 * b[k].astype(np.float64)).astype(np.float32)
    assert np.array_equal(s_73[k], mix), k
    assert not np.array_equal(s_ab[k], a[k]) or np.array_equal(a[k], b[k]), k
print("ok", len(a), "tensors")
PY
expect_contains "$out" "ok" "numpy comparison ran"
expect_run 0 "the soup decodes" -- "$fx" eval --model soup_ab --problems 2 --max-new 4
expect_run 2 "merge of two architectures" -- "$fx" merge --experts expert_a,expert_qwen3 --weights 0.5,0.5 --out soup_x
expect_contains "$err" "expert_a and expert_qwen3: config.json: model_type: experts must share one architecture" "names both"
expect_run 2 "merge: weights not summing to 1" -- "$fx" merge --experts expert_a,expert_b --weights 0.5,0.6 --out soup_x
expect_contains "$err" "--weights: expected weights summing to 1" "names --weights"
expect_run 2 "merge: weights of the wrong length" -- "$fx" merge --experts expert_a,expert_b --weights 1 --out soup_x
expect_contains "$err" "--weights: expected 2 weights" "names the count"
expect_run 2 "merge: negative weight" -- "$fx" merge --experts expert_a,expert_b --weights 1.5,-0.5 --out soup_x
expect_run 2 "merge: out exists" -- "$fx" merge --experts expert_a,expert_b --weights 0.5,0.5 --out soup_ab
expect_contains "$err" "soup_ab: exists" "names the folder"
expect_run 1 "nothing left behind by the failures" -- test -e soup_x -o -e soup_x.tmp
finish test_pcm_cli
