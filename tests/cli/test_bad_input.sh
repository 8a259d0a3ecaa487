#!/usr/bin/env bash
# test_bad_input.sh FLUXRL SRC TRACE_FIXTURE MAKE_TINY_MODELS PLUGIN_NOSCORE PLUGIN_ABI99 — the promise, one row per class of
# bad input or fault (issue 21): the exit code (2 bad input, 1 failure at run time), one line on
# stderr naming the file or field and what was expected, no hang (every command under `timeout`),
# nothing lost (an existing output kept, no partial file left). docs/testing.md, "The promise".
set -u
fx=$1 src=$2 fixture=$3 make_models=$4 plugin_noscore=$5 plugin_abi=$6
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
cleanup() {
    mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
    rm -rf "$tmp"
}
trap cleanup EXIT
rows=0

# row CODE FRAGMENT DESCRIPTION -- CMD...: CMD exits CODE within 60 s, its stderr holds FRAGMENT in
# at most two lines (HDF5's own diagnostics and other noise would make more), and it did not crash.
row() {
    local want=$1 frag=$2 what=$3
    shift 4
    rows=$((rows + 1))
    expect_run "$want" "$what" -- timeout 60 "$@"
    expect_contains "$err" "$frag" "$what: message"
    local lines
    lines=$(printf '%s' "$err" | grep -vc '^\[fluxrl ') # the log's own lines (progress) aside
    if [ "$lines" -le 2 ]; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        printf 'FAIL %s: %s lines on stderr, expected one\n%s\n' "$what" "$lines" "$err" >&2
    fi
}

"$fixture" "$tmp/t.h5" 25 >/dev/null
"$make_models" "$tmp/m" >/dev/null
lm="$tmp/m/lm"
cfg() { # cfg NAME KEY VALUE: a copy of the tiny LM with one config.json key changed
    cp -r "$lm" "$tmp/$1"
    /usr/bin/python3 - "$tmp/$1/config.json" "$2" "$3" <<'E'
import json, sys
p, k, v = sys.argv[1:]
c = json.load(open(p)); c[k] = json.loads(v); json.dump(c, open(p, "w"))
E
}

# --- arguments ---
row 2 "usage: fluxrl COMMAND" "no arguments" -- "$fx"
row 2 "--temperature: expected a finite number" "temperature nan" -- "$fx" eval --model "$lm" --temperature nan
row 2 "--top-k: expected an integer in [1, 2^63)" "top-k beyond int64" -- "$fx" select --prm "$tmp/m/class2" --input "$tmp/t.h5" --top-k 1e19 --out "$tmp/x.jsonl"
row 2 "is a directory; expected a file" "a directory as --input" -- "$fx" verify --input "$tmp"
row 2 "--backend: expected cpu or cuda" "an unknown backend (eval)" -- "$fx" eval --model "$lm" --backend gpu
row 2 "--precision: expected bf16 or fp32, got 'fp16'" "an unknown precision (prm-score)" -- "$fx" prm-score --prm "$tmp/m/class2" --input "$tmp/t.h5" --precision fp16
row 2 "is a directory; expected a file" "a directory as --data" -- "$fx" eval --model "$lm" --data "$tmp"
row 2 "not a folder; expected a model folder" "a file as --model" -- "$fx" eval --model "$tmp/t.h5"
echo '{}' >"$tmp/empty.json"
row 2 "sft is a section, not a key" "--set of a section" -- "$fx" config check "$tmp/empty.json" --set sft=5
expect_contains "$err" "sft.steps" "the section's keys are listed"

# --- configs ---
printf '{"run": {"name": ".."}}' >"$tmp/up.json"
row 2 "run.name: expected a folder name inside run.out_dir" "run.name .." -- "$fx" config check "$tmp/up.json"
row 2 "run.name: expected a folder name" "run.name ../x" -- "$fx" config check "$tmp/empty.json" --set run.name=../x
row 2 "run.name: expected a folder name" "run.name a/b" -- "$fx" config check "$tmp/empty.json" --set run.name=a/b
printf '{"run": {"name": "a\\u0000b"}}' >"$tmp/nul.json"
row 2 "nul.json:1:20: a NUL character" "NUL in a config string" -- "$fx" config check "$tmp/nul.json"

# --- model folders ---
cfg layers num_hidden_layers 1e9
row 2 "num_hidden_layers: 1000000000 layers" "num_hidden_layers 1e9" -- "$fx" eval --model "$tmp/layers"
cfg vocab vocab_size 500000000
row 2 "vocab_size: a tensor of" "vocab_size 2e9" -- "$fx" eval --model "$tmp/vocab"
cfg eos eos_token_id 4000
row 2 "eos_token_id: 4000; expected a token id below vocab_size 290" "eos beyond the vocabulary" -- "$fx" eval --model "$tmp/eos"
# PRM folders without their head (docs/prm.md): published as ReasonFlux-PRM-1.5B is (a causal LM,
# reward_head.pt beside it, not converted); a config naming a reward head the weights do not have.
cp -r "$lm" "$tmp/published" && : > "$tmp/published/reward_head.pt"
row 2 "convert_reasonflux_prm_1p5b.py" "a PRM published with reward_head.pt, unconverted" -- "$fx" prm-score --prm "$tmp/published" --input "$tmp/t.h5"
cfg nohead architectures '["Qwen2ForRewardModel"]'
row 2 "missing tensor score.weight" "a reward-model config without its head" -- "$fx" prm-score --prm "$tmp/nohead" --input "$tmp/t.h5"
cp -r "$lm" "$tmp/bigtok"
/usr/bin/python3 - "$tmp/bigtok/tokenizer.json" <<'E'
import json, sys
t = json.load(open(sys.argv[1]))
t["added_tokens"].append(dict(t["added_tokens"][0], id=5000, content="<|far|>"))
json.dump(t, open(sys.argv[1], "w"))
E
row 2 "tokenizer.json: token ids reach 5000; expected ids below the model's vocab_size 290" "tokenizer beyond the vocabulary" -- "$fx" eval --model "$tmp/bigtok"
cp -r "$lm" "$tmp/badtpl"
/usr/bin/python3 - "$tmp/badtpl/tokenizer_config.json" <<'E'
import json, sys
c = json.load(open(sys.argv[1]))
c["chat_template"] = "{% for m in messages %}\n{{ m.content | wordwrap(20) }}{% endfor %}"
json.dump(c, open(sys.argv[1], "w"))
E
row 2 "badtpl/tokenizer_config.json: chat_template: line 2: unsupported filter 'wordwrap'" "a chat template construct fluxrl does not implement" -- "$fx" eval --model "$tmp/badtpl"
cp -r "$lm" "$tmp/notpl" && rm "$tmp/notpl/chat_template.jinja"
row 2 "notpl: the tokenizer has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); --chat = auto needs one: set --chat to chatml or r1" "no chat template under --chat auto" -- "$fx" eval --model "$tmp/notpl"
cp -r "$lm" "$tmp/raises" && printf "{{ raise_exception('no prompts here') }}" >"$tmp/raises/chat_template.jinja"
row 2 "--chat = auto: $tmp/raises/chat_template.jinja: line 1: raise_exception: no prompts here" "a chat template that raises" -- "$fx" eval --model "$tmp/raises"
cp -r "$lm" "$tmp/badgen" && printf '{"eos_token_id": [286, "<|im_end|>"]}' >"$tmp/badgen/generation_config.json"
row 2 "badgen/generation_config.json: eos_token_id[1]: expected a token id (an integer >= 0)" "generation_config.json's eos_token_id" -- "$fx" eval --model "$tmp/badgen"
# A missing eos: one the vocabulary lacks; none at all, under a template that writes no end of turn.
cp -r "$lm" "$tmp/eosgone" && /usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["eos_token"] = "<|eot|>"; json.dump(c, open(p, "w"))' "$tmp/eosgone/tokenizer_config.json"
row 2 "eosgone/tokenizer_config.json: eos_token: '<|eot|>' is not a token of the tokenizer" "an eos_token the vocabulary lacks" -- "$fx" eval --model "$tmp/eosgone"
cp -r "$lm" "$tmp/noeos" && /usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); del c["eos_token"]; json.dump(c, open(p, "w"))' "$tmp/noeos/tokenizer_config.json"
printf '{{ messages[0].content }}' >"$tmp/noeos/chat_template.jinja"
row 2 "noeos: the chat template writes no special token after an assistant turn and tokenizer_config.json names no eos_token: nothing would end a response" "no eos and no end of turn" -- "$fx" eval --model "$tmp/noeos"
row 2 "task.chat_vars: expected a JSON object of template variables" "task.chat_vars not an object" -- "$fx" sft "$src/configs/demo.json" --set "run.out_dir=$tmp/runs" --set "task.chat_vars=[1]"

# --- datasets ---
printf '{"question": "1+1\\u0000=?", "answer": "2"}\n' >"$tmp/nul.jsonl"
row 2 "a NUL character" "NUL in a dataset string" -- "$fx" eval --model "$lm" --data "$tmp/nul.jsonl" --prompt-key question
# Every JSON Lines reader (fx_jsonl) names the file and the line, after any blank lines.
printf '\n  \n{"problem": "1+1\\u0000=?", "response": "2"}\n' >"$tmp/nul_sft.jsonl"
row 2 "sft.data: $tmp/nul_sft.jsonl:3: a NUL character" "NUL in SFT data, line 3" -- "$fx" sft "$src/configs/demo.json" \
    --set "run.out_dir=$tmp/runs" --set "sft.data=$tmp/nul_sft.jsonl"
printf '{"problem": "1+1", "response": "a\\u0000"}\n' >"$tmp/nul_traces.jsonl"
row 2 "nul_traces.jsonl:1: a NUL character" "NUL in prm-score's JSONL" -- "$fx" prm-score --prm "$tmp/m/class2" --input "$tmp/nul_traces.jsonl"
printf '\n{"answer": "2\\u0000", "gold": "2"}\n' >"$tmp/nul_verify.jsonl"
row 2 "nul_verify.jsonl:2: a NUL character" "NUL in verify's input" -- "$fx" verify --input "$tmp/nul_verify.jsonl"

# --- trace stores ---
head -c 200000 "$tmp/t.h5" >"$tmp/short.h5"
row 2 "short.h5: cannot open: the HDF5 file is truncated or corrupt" "a truncated store" -- "$fx" traces info "$tmp/short.h5"
/usr/bin/python3 - "$tmp/t.h5" "$tmp/flip.h5" <<'E'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[97] ^= 8; open(sys.argv[2], "wb").write(b)
E
row 2 "flip.h5" "a flipped metadata byte: traces info" -- "$fx" traces info "$tmp/flip.h5"
row 2 "flip.h5" "a flipped metadata byte: traces export" -- "$fx" traces export "$tmp/flip.h5"
row 2 "flip.h5" "a flipped metadata byte: prm-score" -- "$fx" prm-score --prm "$tmp/m/class2" --input "$tmp/flip.h5"

# --- output kept: generate appends to an existing store ---
gen=(generate --model "$lm" --ops 1 --digits 1 --problems 2 --max-new 4)
expect_run 0 "generate a store" -- "$fx" "${gen[@]}" --out "$tmp/g.h5"
expect_run 0 "generate again onto it" -- "$fx" "${gen[@]}" --out "$tmp/g.h5"
expect_contains "$out" "appended to" "says it appended"
expect_run 0 "traces info" -- "$fx" traces info "$tmp/g.h5"
expect_contains "$out" "traces     4" "both runs' traces are kept"
expect_run 0 "no temporary file left" -- test ! -e "$tmp/g.h5.tmp"

# --- JSON output is JSON ---
printf '{"response": "\\\\boxed{\xff\xfe}", "answer": "2"}\n' >"$tmp/bad_utf8.jsonl"
expect_run 0 "verify echoes invalid UTF-8" -- "$fx" verify --input "$tmp/bad_utf8.jsonl"
expect_run 0 "its output is valid JSON in UTF-8" -- /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin.buffer.read().decode("utf-8").splitlines()]' <<<"$out"

# --- checkpoints carry their kind: train --resume auto in an SFT run's folder is refused ---
small=(--set model.hidden_size=32 --set model.layers=1 --set model.heads=2 --set model.kv_heads=1
    --set model.intermediate_size=64 --set model.max_seq=128 --set task.ops=1 --set task.digits=1
    --set run.out_dir="$tmp" --set log.progress=off)
"$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=kinds --set sft.steps=2 --set sft.batch=4 \
    --set sft.checkpoint_every=1 --set sft.eval_problems=2 >/dev/null 2>&1
row 2 "written by a sft run; expected a grpo checkpoint" "train --resume auto on an SFT checkpoint" -- "$fx" train \
    "$src/configs/demo.json" "${small[@]}" --set run.name=kinds --set grpo.steps=1 --resume auto
row 2 "written by a sft run; expected a prm checkpoint" "prm-train --resume auto on an SFT checkpoint" -- "$fx" \
    prm-train "$src/configs/demo.json" "${small[@]}" --set run.name=kinds --set model.path="$tmp/kinds/model" \
    --set prm.steps=1 --resume auto
cfg untied tie_word_embeddings false
row 2 "prm.lm_weight: $tmp/untied has no tied embedding" "prm.lm_weight on a backbone without a tied embedding" -- \
    "$fx" prm-train "$src/configs/demo.json" "${small[@]}" --set run.name=untied --set model.path="$tmp/untied" \
    --set prm.steps=1 --set prm.lm_weight=1
row 2 "prm.extra_layers: $tmp/m/class2 is already a PRM" "prm.extra_layers on a PRM folder" -- \
    "$fx" prm-train "$src/configs/demo.json" "${small[@]}" --set run.name=grow --set model.path="$tmp/m/class2" \
    --set prm.steps=1 --set prm.extra_layers=2

# --- reward sources (docs/rewards.md): refused while loading, before any training ---
rw=(train "$src/configs/demo.json" "${small[@]}" --set run.name=rw --set grpo.steps=1)
row 2 'reward.outcome: "command" needs reward.command' "outcome = command without a command" -- "$fx" "${rw[@]}" \
    --set reward.outcome=command
row 2 "the program /nonexistent/judge.py is not found" "reward.command: a missing program" -- "$fx" "${rw[@]}" \
    --set reward.outcome=command --set "reward.command=/nonexistent/judge.py --strict"
row 2 "the program no-such-judge-program is not found" "reward.command: a program not on PATH" -- "$fx" "${rw[@]}" \
    --set reward.outcome=command --set "reward.command=no-such-judge-program"
row 2 'reward.outcome: "plugin" needs reward.plugin' "outcome = plugin without a plugin" -- "$fx" "${rw[@]}" \
    --set reward.outcome=plugin
row 2 "reward.plugin: $tmp/none.so: cannot load" "reward.plugin: a missing file" -- "$fx" "${rw[@]}" \
    --set reward.outcome=plugin --set "reward.plugin=$tmp/none.so"
row 2 "reward.plugin: $plugin_noscore: no symbol fluxrl_reward_score" "reward.plugin: a missing symbol" -- "$fx" \
    "${rw[@]}" --set reward.outcome=plugin --set "reward.plugin=$plugin_noscore"
row 2 "reward.plugin: $plugin_abi: fluxrl_reward_abi_version() is 99; this fluxrl speaks ABI 2" \
    "reward.plugin: another ABI version" -- "$fx" "${rw[@]}" --set reward.outcome=plugin --set "reward.plugin=$plugin_abi"
row 2 'fluxrl_reward_init("x") failed: takes no arguments' "reward.plugin: init fails" -- "$fx" "${rw[@]}" \
    --set reward.outcome=plugin --set "reward.plugin=$(dirname "$plugin_abi")/verifier_plugin.so" --set reward.plugin_args=x
row 2 'grpo.step_rewards: "outcome" takes the step_rewards of reward.command' "step rewards from the verifier" -- \
    "$fx" "${rw[@]}" --set grpo.step_rewards=outcome
row 2 'reward.mix: "reasonflux" reads the PRM' "reasonflux without a PRM" -- "$fx" "${rw[@]}" --set reward.mix=reasonflux
row 2 'grpo.objective: "rebel" regresses on each trace' "rebel with per-token advantages" -- "$fx" "${rw[@]}" \
    --set grpo.objective=rebel --set grpo.advantage=process
# --- a PCM policy (pcm.*, docs/pcm.md) ---
row 2 "pcm.preference: a preference needs pcm.experts" "a preference without experts" -- "$fx" "${rw[@]}" \
    --set pcm.preference=0.5,0.5
row 2 "pcm.preference: expected 2 weights (one per expert of pcm.experts), got 3" "a preference of another length" -- \
    "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.preference=0.2,0.3,0.5
row 2 "pcm.preference: expected weights summing to 1" "a preference off the simplex" -- "$fx" "${rw[@]}" \
    --set "pcm.experts=$lm,$lm" --set pcm.preference=0.5,0.6
row 2 "pcm.experts: item 2: expected a value, got an empty one" "an empty expert" -- "$fx" "${rw[@]}" \
    --set "pcm.experts=$lm,"
row 2 "pcm.alpha_init: a PCM's starting mix needs pcm.experts" "a starting mix without experts" -- "$fx" "${rw[@]}" \
    --set pcm.alpha_init=0.5,0.5
row 2 "pcm.alpha_init: weight 2 is 0; expected every weight above 0" "a starting mix with a zero weight" -- \
    "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.alpha_init=1,0
row 2 "pcm.alpha_init: expected 2 weights (one per expert of pcm.experts), got 3" "a starting mix of another length" -- \
    "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.alpha_init=0.2,0.3,0.5
row 2 "pcm.alpha_init: sets a new PCM's starting mix, but model.path $src/tests/data/pcm/tiny is a PCM already" \
    "a starting mix for a trained PCM" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.alpha_init=0.9,0.1 \
    --set "model.path=$src/tests/data/pcm/tiny"
row 2 "pcm.preference_prior: a PCM's preference prior needs pcm.experts" "a preference prior without experts" -- \
    "$fx" "${rw[@]}" --set pcm.preference_prior=0.1
row 2 "pcm.preference_prior" "a preference prior above 1" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" \
    --set pcm.preference_prior=1.5
row 2 "pcm.preference_prior: sets a new PCM's preference prior, but model.path $src/tests/data/pcm/tiny is a PCM already" \
    "a preference prior for a trained PCM" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.preference_prior=0.1 \
    --set "model.path=$src/tests/data/pcm/tiny"
row 2 'grpo.ref_on: expected "trainer" with pcm.experts and grpo.kl_beta > 0' "a KL of a PCM on the reward ranks" -- "$fx" "${rw[@]}" \
    --set "pcm.experts=$lm,$lm" --set grpo.kl_beta=0.1
row 2 "$tmp/none" "a missing expert folder" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$tmp/none"
row 2 "$tmp/m/class2/config.json: architectures: 'Qwen2ForProcessRewardModel' is neither a PCM" \
    "model.path a PRM where a PCM or a language model is expected" -- \
    "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set "model.path=$tmp/m/class2"

row 2 'pcm.preference_dist: "corners" draws each problem'"'"'s preference, but pcm.preference fixes one' \
    "a preference distribution with a fixed preference" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" \
    --set pcm.preference=0.5,0.5 --set pcm.preference_dist=corners
row 2 'pcm.preference_dist: "data" reads each problem'"'"'s preference from grpo.data, but it is empty' \
    "preferences from data without data" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.preference_dist=data
printf '{"question": "1+1?", "answer": "2", "preference": [0.5, 0.5]}\n{"question": "2+2?", "answer": "4", "preference": [0.5, 0.6]}\n' >"$tmp/prefs.jsonl"
row 2 "$tmp/prefs.jsonl: problem 2: \"preference\" (pcm.preference_key): expected weights summing to 1" \
    "a data preference off the simplex" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.preference_dist=data \
    --set "grpo.data=$tmp/prefs.jsonl"
printf '{"question": "1+1?", "answer": "2", "preference": [1]}\n' >"$tmp/prefs1.jsonl"
row 2 "$tmp/prefs1.jsonl: problem 1: \"preference\" (pcm.preference_key): expected a list of 2 numbers" \
    "a data preference of another length" -- "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.preference_dist=data \
    --set "grpo.data=$tmp/prefs1.jsonl"
row 2 'grpo.system_key: "system" reads each problem'"'"'s system turn from grpo.data, but it is empty' \
    "a system key without data" -- "$fx" "${rw[@]}" --set grpo.system_key=system
row 2 "$tmp/prefs.jsonl:1: system: expected a string (the problem's system turn)" "a line without its system turn" -- \
    "$fx" "${rw[@]}" --set grpo.system_key=system --set "grpo.data=$tmp/prefs.jsonl"
# pcm.reward = bt (reward dimensions against a reference response)
row 2 'pcm.reward: "bt" weighs reward dimensions by a PCM'"'"'s preference, but pcm.experts is empty' "bt without experts" -- \
    "$fx" "${rw[@]}" --set pcm.reward=bt
row 2 'pcm.reward: "bt" takes the reward dimensions of reward.command or reward.plugin' "bt with the verifier" -- \
    "$fx" "${rw[@]}" --set "pcm.experts=$lm,$lm" --set pcm.reward=bt
bt=(--set "pcm.experts=$lm,$lm" --set pcm.reward=bt --set reward.outcome=command --set reward.command=cat)
row 2 'pcm.reference: "data" reads each problem'"'"'s reference response from grpo.data, but it is empty' \
    "bt with data references and no data" -- "$fx" "${rw[@]}" "${bt[@]}" --set pcm.reference=data
printf '{"question": "1+1?", "answer": "2", "reference": "2"}\n{"question": "2+2?", "answer": "4"}\n' >"$tmp/refs.jsonl"
row 2 "$tmp/refs.jsonl: problem 2: expected a string \"reference\" (pcm.reference_key)" "a problem without its reference" -- \
    "$fx" "${rw[@]}" "${bt[@]}" --set pcm.reference=data --set "grpo.data=$tmp/refs.jsonl"
row 2 "$tmp/none" "a missing reference model" -- "$fx" "${rw[@]}" "${bt[@]}" --set "pcm.reference_model=$tmp/none"

# --- a full disk (a 1 MiB tmpfs; tests run as root) ---
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=1m tmpfs "$tmp/full"; then
    head -c 2000000 /dev/zero >"$tmp/full/filler" 2>/dev/null # until the disk is full
    row 1 "No space left on device" "disk full: traces export --out" -- "$fx" traces export "$tmp/t.h5" --out "$tmp/full/t.jsonl"
    expect_run 0 "no partial export" -- test ! -e "$tmp/full/t.jsonl" -a ! -e "$tmp/full/t.jsonl.tmp"
    row 1 "No space left on device" "disk full: generate --out" -- "$fx" "${gen[@]}" --out "$tmp/full/g.h5"
    expect_run 0 "no partial store" -- test ! -e "$tmp/full/g.h5" -a ! -e "$tmp/full/g.h5.tmp"
    for ext in jsonl h5; do
        row 1 "No space left on device" "disk full: select --out s.$ext" -- "$fx" select --prm "$tmp/m/class2" \
            --input "$tmp/g.h5" --top-k 2 --out "$tmp/full/s.$ext"
        expect_run 0 "no partial selection (.$ext)" -- test ! -e "$tmp/full/s.$ext" -a ! -e "$tmp/full/s.$ext.tmp"
    done
    umount "$tmp/full"
    # A checkpoint (230 KB) on a 64 KiB disk that holds the run's config and metrics: the
    # message, exit 1, and no crash in HDF5's cleanup at exit (it was 139).
    mount -t tmpfs -o size=64k tmpfs "$tmp/full"
    row 1 "cannot write the checkpoint: No space left on device" "disk full: a checkpoint" -- "$fx" sft \
        "$src/configs/demo.json" --set "run.out_dir=$tmp/full" --set run.name=s --set model.hidden_size=32 \
        --set model.layers=1 --set model.heads=2 --set model.kv_heads=1 --set model.intermediate_size=64 \
        --set model.max_seq=96 --set task.ops=1 --set task.digits=1 --set sft.batch=8 --set sft.steps=20 \
        --set sft.warmup=5 --set sft.eval_every=20 --set sft.eval_problems=8 --set cluster.threads=1 \
        --set sft.checkpoint_every=10
    expect_run 0 "no partial checkpoint" -- test -z "$(ls "$tmp/full/s/checkpoints")"
    umount "$tmp/full"
else
    failed=$((failed + 1))
    echo "FAIL: cannot mount a tmpfs for the full-disk rows (they need root)" >&2
fi

echo "$rows rows"
finish test_bad_input
