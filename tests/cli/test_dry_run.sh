#!/usr/bin/env bash
# test_dry_run.sh FLUXRL SRC MAKE_TINY_MODELS — `fluxrl train|sft|prm-train --dry-run`: what a run
# would load and feed the model, shown; nothing written; bad model folders, datasets and launches
# refused with exit 2 before anything starts.
set -u
fx=$1 src=$2 make_models=$3
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
demo="$src/configs/demo.json"
out_dir=(--set "run.out_dir=$tmp/runs")

# --- the embedded default: every command, exit 0, nothing written ---
expect_run 0 "train --dry-run" -- "$fx" train --dry-run "$demo" "${out_dir[@]}"
expect_contains "$out" "dry run of \`fluxrl train\`" "header"
expect_contains "$out" "the config lays out 3 ranks (1 trainer, 1 rollout, 1 reward)" "the launch"
expect_contains "$out" "launch with mpirun -np 3" "the launch as one process"
# The first prompt of the RL stream: the r1 layout, and the ids fluxrl will feed.
expect_contains "$out" 'text "<|im_start|>user\nCompute 58-31-2-14.<|im_end|>\n<|im_start|>assistant\n<think>\n"' "first prompt"
expect_contains "$out" "ids  [285, 277, 10, 67," "first prompt's ids"
expect_contains "$out" "memory per rank" "memory table"
expect_contains "$out" "  trainer " "trainer row"
expect_contains "$out" "  rollout " "rollout row"
[ ! -e "$tmp/runs" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a dry run wrote $tmp/runs" >&2; }

expect_run 0 "sft --dry-run" -- "$fx" sft --dry-run "$demo" "${out_dir[@]}"
expect_contains "$out" "example 0: response" "an SFT example's response"
expect_contains "$out" "The answer is 19.<|im_end|>" "its text, end of turn included"
expect_contains "$out" "  sft " "sft memory row"
expect_contains "$out" "eval       200 held-out problems, decoded 32 at a time (KV cache of 256 columns)" \
    "the evaluation's decoding, counted in the KV+decode column"

"$make_models" "$tmp/m" || { echo "make_tiny_models failed" >&2; exit 1; }
expect_run 0 "prm-train --dry-run" -- "$fx" prm-train --dry-run "$demo" "${out_dir[@]}" --set "model.path=$tmp/m/lm"
expect_contains "$out" "backbone   $tmp/m/lm: Qwen2ForCausalLM" "the backbone checked"
expect_contains "$out" "files checked, weights not read" "what was checked"
expect_contains "$out" "  prm-train " "prm-train memory row"
# Template-guided targets rolled out by a PRM folder (training a PRM further without prm.policy_path):
# refused as the run refuses it; with the policy named, its folder is described.
expect_run 2 "prm-train --dry-run: template rollouts by a PRM" -- "$fx" prm-train --dry-run "$demo" "${out_dir[@]}" \
    --set "model.path=$tmp/m/class2" --set prm.template_rollouts=2
expect_contains "$err" "prm.template_rollouts: the rollouts' policy $tmp/m/class2 (prm.policy_path, else model.path) is not a causal language model" "folder and key named"
expect_run 0 "prm-train --dry-run: template rollouts by prm.policy_path" -- "$fx" prm-train --dry-run "$demo" \
    "${out_dir[@]}" --set "model.path=$tmp/m/class2" --set prm.template_rollouts=2 --set "prm.policy_path=$tmp/m/lm"
expect_contains "$out" "policy     $tmp/m/lm: Qwen2ForCausalLM" "the rollouts' policy described"

# A PCM policy (pcm.experts): the experts and the new PCM described, their weights in "frozen".
expect_run 0 "train --dry-run with a PCM policy" -- "$fx" train --dry-run "$demo" "${out_dir[@]}" \
    --set "pcm.experts=$tmp/m/lm,$tmp/m/lm" --set pcm.preference=0.25,0.75 --set pcm.alpha_init=0.9,0.1 \
    --set pcm.preference_prior=0.05
expect_contains "$out" "expert 2   $tmp/m/lm: Qwen2ForCausalLM" "the second expert"
expect_contains "$out" "PCM        (new PCM of the model.* sizes, the experts' vocabulary): FluxrlPCMForTokenMixing" "the PCM"
expect_contains "$out" "merge      prob space; preference 0.25,0.75" "the merge"
expect_contains "$out" "pcm start  alpha 0.9,0.1 (alpha head bias: their logarithms)" "the PCM's starting mix"
expect_contains "$out" "pcm prior  alpha logits + log(w + 0.05) (preference_prior)" "the PCM's preference prior"
frozen_on() { # ROLE: the memory table's "frozen" column of ROLE's row in $out is above 0
    python3 -c '
import sys
row = [l.split() for l in sys.stdin.read().splitlines() if l.startswith("  " + sys.argv[1] + " ")][0]
assert float(row[6]) > 0, row' "$1" <<<"$out"
}
expect_run 0 "the experts' weights and caches on the rollout row" -- frozen_on rollout
[ ! -e "$tmp/runs" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a dry run wrote $tmp/runs" >&2; }

# The shipped PCM example (configs/pcm_preference.json: BT rewards against a reference model,
# Dirichlet preferences) on tiny experts: the reference policy named, its weights and engine on the
# reward row.
expect_run 0 "train --dry-run configs/pcm_preference.json" -- "$fx" train --dry-run "$src/configs/pcm_preference.json" \
    "${out_dir[@]}" --set "pcm.experts=$tmp/m/lm,$tmp/m/lm"
expect_contains "$out" "merge      prob space; preference drawn per problem, Dirichlet(0.5)" "the preference law"
expect_contains "$out" "reward     pcm.reward bt: 2 dimensions" "the reward dimensions"
expect_contains "$out" "reference  $tmp/m/lm: Qwen2ForCausalLM" "the reference policy"
expect_run 0 "the reference on the reward row" -- frozen_on reward

# The PCM example (configs/pcm_demo.json, launch/pcm_demo.sh) on tiny experts.
expect_run 0 "train --dry-run configs/pcm_demo.json" -- "$fx" train --dry-run "$src/configs/pcm_demo.json" \
    "${out_dir[@]}" --set "pcm.experts=$tmp/m/lm,$tmp/m/lm"
expect_contains "$out" "merge      prob space; preference drawn per problem, uniform on the simplex" "the preference law"
expect_contains "$out" "reward     pcm.reward bt: 2 dimensions" "the reward dimensions"

# A PRM and a JSONL dataset in a train config: both loaded and described.
printf '{"question": "What is 2+3?", "answer": "#### 5"}\n{"question": "What is 7-4?", "answer": "#### 3"}\n' >"$tmp/d.jsonl"
expect_run 0 "train --dry-run with a PRM and data" -- "$fx" train --dry-run "$demo" "${out_dir[@]}" \
    --set "model.path=$tmp/m/lm" --set "reward.prm_path=$tmp/m/class2" --set reward.beta=0.3 \
    --set "grpo.data=$tmp/d.jsonl"
expect_contains "$out" "PRM        $tmp/m/class2: Qwen2ForProcessRewardModel" "PRM line"
expect_contains "$out" "grpo.data $tmp/d.jsonl: 2 problems" "data line"
expect_contains "$out" "What is 2+3?" "the dataset's first prompt"

# --- bad input: exit 2 naming the file and what is wrong ---
cp -r "$tmp/m/lm" "$tmp/trunc"
size=$(stat -c %s "$tmp/trunc/model.safetensors")
truncate -s $((size - 100)) "$tmp/trunc/model.safetensors"
expect_run 2 "a truncated checkpoint" -- "$fx" train --dry-run "$demo" "${out_dir[@]}" --set "model.path=$tmp/trunc"
expect_contains "$err" "$tmp/trunc/model.safetensors" "the file named"
python3 - "$tmp/m/lm/config.json" "$tmp/wide/config.json" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1])); c["intermediate_size"] += 1
os.makedirs(os.path.dirname(sys.argv[2])); json.dump(c, open(sys.argv[2], "w"))
PY
cp "$tmp/m/lm/model.safetensors" "$tmp/m/lm/tokenizer"* "$tmp/wide/"
expect_run 2 "a config.json the tensors do not match" -- "$fx" sft --dry-run "$demo" "${out_dir[@]}" --set "model.path=$tmp/wide"
expect_contains "$err" "mlp.gate_proj.weight: shape" "the tensor and its shape named"
expect_run 2 "a PRM folder given as the policy's PRM that is a language model" -- "$fx" train --dry-run "$demo" \
    "${out_dir[@]}" --set "reward.prm_path=$tmp/m/lm" --set reward.beta=0.3
expect_contains "$err" "a PRM needs a process-reward or reward head" "PRM kind checked"
printf '{"question": "What is 2+3?"}\n' >"$tmp/bad.jsonl"
expect_run 2 "a dataset line without its answer" -- "$fx" train --dry-run "$demo" "${out_dir[@]}" --set "grpo.data=$tmp/bad.jsonl"
expect_contains "$err" "$tmp/bad.jsonl:1" "the file and line named"
expect_run 2 "a missing plugin" -- "$fx" train --dry-run "$demo" "${out_dir[@]}" --set reward.outcome=plugin \
    --set "reward.plugin=$tmp/none.so"
expect_contains "$err" "$tmp/none.so" "the plugin named"

# --- the real-run template on folders laid out like the published checkpoints ---
# DeepSeek-R1-Distill-Qwen-1.5B and ReasonFlux-PRM-1.5B (converted) at their true shapes, weights
# sparse (tests/cli/make_published_layouts.py): the policy's prompt through its own template, its
# stop id, the PRM's plain input, memory per role at the real sizes.
/usr/bin/python3 "$src/tests/cli/make_published_layouts.py" "$src" "$tmp/pub" >/dev/null ||
    { echo "make_published_layouts.py failed" >&2; exit 1; }
printf '%s\n' '{"problem": "Compute $2^{10}$.", "solution": "$2^{10} = \\boxed{1024}$."}' >"$tmp/math.jsonl"
real="$src/configs/real_r1_distill_qwen_1p5b.json"
pub=(--set "model.path=$tmp/pub/DeepSeek-R1-Distill-Qwen-1.5B" --set "reward.prm_path=$tmp/pub/ReasonFlux-PRM-1.5B"
     --set "grpo.data=$tmp/math.jsonl" --set "grpo.eval_data=$tmp/math.jsonl" "${out_dir[@]}")
expect_run 0 "the real-run config's dry run" -- "$fx" train --dry-run "$real" "${pub[@]}"
expect_contains "$out" "the config lays out 8 ranks (4 trainer, 3 rollout, 1 reward)" "its launch"
expect_contains "$out" "Qwen2ForCausalLM, 28 layers, hidden 1536, vocabulary 151936, 1.78B parameters" "the policy at its true size"
expect_contains "$out" "eos 151643 <｜end▁of▁sentence｜>, bos 151646, chat template present; prompt layout task.chat = auto" "its tokenizer"
expect_contains "$out" 'text "<｜begin▁of▁sentence｜><｜User｜>Compute $2^{10}$.<｜Assistant｜><think>\n"' "the prompt its template writes"
expect_contains "$out" "ids  [151646, 151644, 46254, 400, 17, 47822, 16, 15, 92, 12947, 151645, 151648, 198]" "its ids"
expect_contains "$out" "Qwen2ForRewardModel, 28 layers, hidden 1536, vocabulary 151936, 1.54B parameters" "the PRM at its true size"
expect_contains "$out" "tokenizer(problem + steps joined by blank lines), no template" "the PRM's input as its authors build it"
expect_contains "$out" 'text "Compute $2^{10}$.1024"' "the PRM input"
expect_contains "$out" "  trainer       6.620     6.620    13.240" "the trainer's parameters, gradients and AdamW moments"
expect_run 0 "the real-run config's sft dry run" -- "$fx" sft --dry-run "$real" "${pub[@]}"
expect_contains "$out" "<｜end▁of▁sentence｜>\"" "an SFT response closed by the template's end of turn"
# Qwen2.5-7B-Instruct on 8 trainers with the state sharded by gradients (ZeRO-2) and recomputation:
# each trainer's weights (all), gradients (its eighth, one layer's and the embedding's and head's),
# AdamW moments (its eighth) and activations for 2 x 4608 tokens fit an 80 GB GPU.
q7=(--set "model.path=$tmp/pub/Qwen2.5-7B-Instruct" --set "reward.prm_path=$tmp/pub/ReasonFlux-PRM-1.5B"
    --set "grpo.data=$tmp/math.jsonl" --set "grpo.eval_data=$tmp/math.jsonl" "${out_dir[@]}")
expect_run 0 "the 7B config's dry run" -- "$fx" train --dry-run "$src/configs/real_qwen2p5_7b_instruct.json" "${q7[@]}"
expect_contains "$out" "Qwen2ForCausalLM, 28 layers, hidden 3584, vocabulary 152064, 7.62B parameters" "the 7B policy at its true size"
expect_contains "$out" "8 data-parallel ranks, trainer.shard = gradients; activations for 2 x 4608 tokens, recomputed" "its trainers"
expect_contains "$out" "  trainer      28.370     8.475     7.093       8.969     0.000     0.000     0.000    52.907" \
    "a trainer's share: 52.9 GiB"
# Fully sharded (ZeRO-3): each trainer's slice of everything, one layer and a chunk of the
# embedding/head (65,027 rows: as many floats as a layer) as weights and gradients: 26.6 GiB; the
# whole weights on no rank, the leader's host memory a bucket or a tensor at a time.
expect_run 0 "the same, trainer.shard = full" -- "$fx" train --dry-run "$src/configs/real_qwen2p5_7b_instruct.json" \
    "${q7[@]}" --set trainer.shard=full
expect_contains "$out" "no rank holds the whole weights (28.37 GiB)" "the whole weights on no rank"
expect_contains "$out" "a tensor at a time to save (the largest, 2.03 GiB)" "a save's largest tensor: the embedding"
expect_contains "$out" "the embedding and LM head a chunk of 65027 rows at a time (3 chunks)" "the vocabulary streamed"
expect_contains "$out" "  trainer       5.283     5.283     7.093       8.969     0.000     0.000     0.000    26.627" \
    "a trainer's share: 26.6 GiB"
expect_contains "$out" "buffers    beside the table: checkpoints 0.062 GiB of host memory (one piece) on every trainer (each writes its shard); saves and exports the largest tensor, 2.030 GiB of host memory, on the leader; weight sync gathered on the leader, 0.031 GiB of host memory and as much on its GPU (one bucket); bf16 copies of the weights a trainer holds, 2.641 GiB of its GPU; gradient reductions in place (NCCL's own buffers not counted)" \
    "what the table leaves out"
expect_run 2 "trainer.vocab_chunk negative" -- "$fx" train --dry-run "$src/configs/real_qwen2p5_7b_instruct.json" \
    "${q7[@]}" --set trainer.shard=full --set trainer.vocab_chunk=-1
expect_contains "$err" "trainer.vocab_chunk: expected an integer in [0, 16777216], got \"-1\"" "the key and its range named"
expect_run 0 "full with the vocabulary in chunks of 8192 rows" -- "$fx" train --dry-run \
    "$src/configs/real_qwen2p5_7b_instruct.json" "${q7[@]}" --set trainer.shard=full --set trainer.vocab_chunk=8192
expect_contains "$out" "the embedding and LM head a chunk of 8192 rows at a time (19 chunks)" "the chunk as set"
expect_run 0 "the same unsharded" -- "$fx" train --dry-run "$src/configs/real_qwen2p5_7b_instruct.json" "${q7[@]}" \
    --set trainer.shard=none --set trainer.recompute=false
expect_contains "$out" "  trainer      28.370    28.370    56.741      61.678     0.000     0.000     0.000   175.160" \
    "unsharded, without recomputation: 175 GiB"
rm -f "$tmp/pub/ReasonFlux-PRM-1.5B/config.json"
expect_run 2 "a PRM folder without its config.json" -- "$fx" train --dry-run "$real" "${pub[@]}"
expect_contains "$err" "$tmp/pub/ReasonFlux-PRM-1.5B" "the folder named"

# --- under mpirun: the launch checked against the world ---
mpi="$src/launch/mpirun.sh"
expect_run 0 "train --dry-run under mpirun -np 3" -- timeout 120 "$mpi" -np 3 "$fx" train --dry-run "$demo" "${out_dir[@]}"
expect_contains "$out" "the world has 3: they match" "the world matches"
[ "$(grep -c 'dry run of' <<<"$out")" = 1 ] && passed=$((passed + 1)) ||
    { failed=$((failed + 1)); echo "FAIL: the report should be printed once, by rank 0" >&2; }
expect_run 2 "train --dry-run under mpirun -np 2 with 3 ranks asked" -- timeout 120 "$mpi" -np 2 "$fx" train --dry-run "$demo" "${out_dir[@]}"
expect_contains "$err" "the MPI world has 2 ranks but the config asks for 3" "the mismatch named"

finish test_dry_run
