#!/usr/bin/env bash
# test_shard.sh FLUXRL SRC — sharded training state (trainer.shard, docs/benchmarks.md) against the
# unsharded data-parallel run, for `fluxrl sft`, `fluxrl prm-train` and the trainers of `fluxrl train`:
#   - 2 ranks: optimizer (ZeRO-1) and gradients (ZeRO-2) give the unsharded run's losses and final
#     weights bit for bit (a sum of two floats does not depend on the order; no clipping, whose
#     global norm is summed per slice), and so do their greedy evaluations; full (ZeRO-3: weights
#     gathered layer by layer, the embedding and LM head a chunk of the vocabulary at a time, whose
#     log-sum-exp is merged over the chunks and whose gradients are summed per pass and per use)
#     the same within tolerance: losses within 1e-6, weights as below, evaluations exactly; with
#     clipping and on 3 ranks (reduction order differs) losses within 1e-6 and weights within 1e-4
#     of each tensor's largest magnitude (AdamW's m/sqrt(v) turns last-bit differences of near-zero
#     gradients into larger steps, as in test_train_dist.sh) and, k_proj.bias aside (its exact
#     gradient is 0), within 1e-5 relative in each tensor's 2-norm;
#   - the memory each rank plans (trainer_mem_plan) is what its backend held at its peak, within
#     10%, and the AdamW moments (and, sharded by gradients, the gradients; fully, the weights too)
#     fall as 1/N;
#   - a sharded checkpoint holds the whole state, each rank's slices in a shard file of its own: it
#     resumes onto another rank count and level, bit for bit where the reduction order allows; GRPO's
#     trainers' shards end to end are the unsharded run's arrays (h5dump), the checkpoint's own file
#     holds the counters and no weights;
#   - a PCM policy fully sharded (its embedding streamed, no LM head), evaluated after every update on
#     the rollout rank: the unsharded run bit for bit, evaluations included (one-step-off too);
#   - SIGUSR1 under full: the exported policy is the unsharded run's after as many updates (within
#     the tolerance above);
#   - a trainer killed mid-run (every step gathers) ends the job within 60 s, non-zero;
#   - full with the vocabulary in chunks of 7 rows (trainer.vocab_chunk; 42 chunks, each gathered
#     and reduced by every rank, the padding passes' included): sft on 3 ranks, prm-train, train
#     with uneven passes and with PPO epochs, REBEL and recomputation, within the tolerances above;
#   - prm-train fully sharded (its tied embedding streamed, the auxiliary LM loss through it): the
#     gradients-sharded run's losses within 1e-6, weights within the tolerance above;
#   - evaluation and the final save under full, where no rank holds the whole weights (the ranks
#     take turns at the batches, decoding or scoring together; rank 0 writes tensor by tensor): sft's
#     greedy evaluations equal the unsharded run's exactly on 2 ranks, prm-train's the
#     gradients-sharded run's within 1e-6 on 3 (one rank scoring two batches, the others padding).
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi="$src/launch/mpirun.sh"
py=/usr/bin/python3
cat >"$tmp/c.json" <<EOF
{"run": {"name": "sft", "out_dir": "$tmp", "seed": 7},
 "log": {"level": "info", "progress": "off"},
 "cluster": {"trainer_ranks": 1, "rollout_ranks": 1, "reward_ranks": 1, "threads": 1},
 "model": {"hidden_size": 128, "layers": 3, "heads": 4, "kv_heads": 2, "intermediate_size": 384, "max_seq": 96},
 "task": {"ops": 2, "digits": 1, "operators": "+-", "error_rate": 0.1, "chat": "r1"},
 "sft": {"steps": 20, "batch": 12, "lr": 0.003, "min_lr": 0.0003, "warmup": 4, "log_every": 5, "eval_every": 0,
         "eval_problems": 8, "checkpoint_every": 0, "grad_clip": 0},
 "grpo": {"steps": 3, "prompts": 4, "group_size": 4, "max_new": 64, "lr": 0.00003, "warmup": 0, "eval_every": 0,
          "eval_problems": 4, "minibatch": 16, "checkpoint_every": 0, "kl_beta": 0.01}
}
EOF
# The losses of two runs' metrics.jsonl agree within a relative tolerance (0: exactly).
same_losses() { # A B TOL KEY
    $py -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if "\"%s\"" % sys.argv[4] in l]
b = [json.loads(l) for l in open(sys.argv[2]) if "\"%s\"" % sys.argv[4] in l]
tol, k = float(sys.argv[3]), sys.argv[4]
assert len(a) == len(b) > 0, (len(a), len(b))
for x, y in zip(a, b):
    assert abs(x[k] - y[k]) <= tol * abs(x[k]), (k, x[k], y[k])' "$1" "$2" "$3" "$4"
}
# The evaluations (eval_* keys) two runs' metrics.jsonl share by step are equal (within a relative
# TOL when given); at least MIN steps are shared.
same_evals() { # A B MIN [TOL]
    $py -c '
import json, sys
def evals(p):
    out = {}
    for l in open(p):
        j = json.loads(l)
        e = {k: v for k, v in j.items() if k.startswith("eval_")}
        if e: out[j["step"]] = e
    return out
a, b = evals(sys.argv[1]), evals(sys.argv[2])
common = sorted(set(a) & set(b))
assert len(common) >= int(sys.argv[3]), (sorted(a), sorted(b))
tol = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
for s in common:
    assert a[s].keys() == b[s].keys() and all(abs(a[s][k] - b[s][k]) <= tol * abs(a[s][k]) for k in a[s]), \
        (s, a[s], b[s])' "$1" "$2" "$3" ${4:+"$4"}
}
# Array NAME of a whole checkpoint equals the same array of a sharded one (S shard files,
# step-N.shard-R-of-S.h5), its shards' slices end to end, bit for bit (with TOL: within TOL of the
# array's largest magnitude).
same_array() { # WHOLE SHARDED NAME S [TOL]
    local d r
    d=$(mktemp -d -p "$tmp")
    h5dump -d "/$3" -b LE -o "$d/whole" "$1" >/dev/null || return 1
    : >"$d/ends"
    for ((r = 0; r < $4; r++)); do
        h5dump -d "/$3" -b LE -o "$d/part" "${2%.h5}.shard-$r-of-$4.h5" >/dev/null || return 1
        cat "$d/part" >>"$d/ends"
    done
    [ "$(ls "$(dirname "$2")" | grep -c "^$(basename "${2%.h5}").shard-")" = "$4" ] || return 1
    [ -z "${5:-}" ] && { cmp "$d/whole" "$d/ends"; return; }
    $py -c '
import array, sys
a, b = array.array("f"), array.array("f")
a.frombytes(open(sys.argv[1], "rb").read()); b.frombytes(open(sys.argv[2], "rb").read())
assert len(a) == len(b) > 0, (len(a), len(b))
scale = max(abs(x) for x in a) or 1.0
worst = max(abs(x - y) for x, y in zip(a, b))
assert worst <= float(sys.argv[3]) * scale, (worst, scale)' "$d/whole" "$d/ends" "$5"
}
# Two F32 safetensors files hold the same tensors within a relative tolerance (of each tensor's
# largest magnitude; 0: bit for bit).
same_weights() { # A B TOL
    $py -c '
import json, struct, sys, array
def load(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n)); data = f.read()
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", v
        a = array.array("f"); a.frombytes(data[v["data_offsets"][0]:v["data_offsets"][1]]); out[k] = a
    return out
a, b, tol, norm = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "norm"
assert a.keys() == b.keys()
skip = sys.argv[5] if len(sys.argv) > 5 else None
for k in a:
    if skip and skip in k: continue
    if norm: # |a - b| / |a| in the 2-norm of the whole tensor
        scale = sum(x * x for x in a[k]) ** 0.5 or 1.0
        worst = sum((x - y) ** 2 for x, y in zip(a[k], b[k])) ** 0.5
    else:
        scale = max(abs(x) for x in a[k]) or 1.0
        worst = max(abs(x - y) for x, y in zip(a[k], b[k]))
    assert worst <= tol * scale, (k, worst, scale)' "$1" "$2" "$3" "${4:-max}" ${5:+"$5"}
}

# --- SFT: 2 ranks bit for bit, 3 ranks within tolerance ---
# The built-in tokenizer's 290 rows of embedding fit one chunk of a layer's size; vc streams them
# 7 rows at a time (42 chunks, the last of 3), as a real vocabulary is streamed.
vc=(--set trainer.vocab_chunk=7)
for lv in none optimizer gradients full; do
    expect_run 0 "sft, 2 ranks, trainer.shard=$lv, evaluated at step 10" -- timeout 120 "$mpi" -np 2 "$fx" sft \
        "$tmp/c.json" --set run.name=s2$lv --set trainer.shard=$lv --set sft.eval_every=10
    expect_run 0 "sft, 3 ranks, trainer.shard=$lv, clipped" -- timeout 120 "$mpi" -np 3 "$fx" sft "$tmp/c.json" \
        --set run.name=s3$lv --set trainer.shard=$lv --set sft.grad_clip=0.5 --set log.all_ranks=true \
        $([ $lv = full ] && echo "${vc[@]}")
    echo "$err" >"$tmp/s3$lv.err"
done
# Within tolerance of a reference run: losses within LOSS_TOL (1e-6), weights within 1e-4 of each
# tensor's largest magnitude and, k_proj.bias aside (below), 1e-5 relative in each tensor's 2-norm.
close_run() { # WHAT A B [LOSS_TOL]
    expect_run 0 "$1: losses within ${4:-1e-6}" -- same_losses "$2/metrics.jsonl" "$3/metrics.jsonl" "${4:-1e-6}" loss
    expect_run 0 "$1: weights within 1e-4" -- same_weights "$2/model/model.safetensors" "$3/model/model.safetensors" 1e-4
    expect_run 0 "$1: every tensor but k_proj.bias within 1e-5 relative (2-norm)" -- same_weights \
        "$2/model/model.safetensors" "$3/model/model.safetensors" 1e-5 norm k_proj.bias
}
for lv in optimizer gradients full; do
    if [ $lv = full ]; then
        close_run "2 ranks, full" "$tmp/s2none" "$tmp/s2full"
    else
        expect_run 0 "2 ranks, $lv: the unsharded losses exactly" -- same_losses "$tmp/s2none/metrics.jsonl" \
            "$tmp/s2$lv/metrics.jsonl" 0 loss
        expect_run 0 "2 ranks, $lv: the unsharded weights bit for bit" -- cmp "$tmp/s2none/model/model.safetensors" \
            "$tmp/s2$lv/model/model.safetensors"
    fi
    expect_run 0 "2 ranks, $lv: the unsharded evaluations exactly (steps 10 and 20)" -- same_evals \
        "$tmp/s2none/metrics.jsonl" "$tmp/s2$lv/metrics.jsonl" 2
    expect_run 0 "3 ranks, $lv, clipped: losses within 1e-6" -- same_losses "$tmp/s3none/metrics.jsonl" \
        "$tmp/s3$lv/metrics.jsonl" 1e-6 loss
    expect_run 0 "3 ranks, $lv, clipped: gradient norms within 1e-5" -- same_losses "$tmp/s3none/metrics.jsonl" \
        "$tmp/s3$lv/metrics.jsonl" 1e-5 grad_norm
    expect_run 0 "3 ranks, $lv: weights within 1e-4" -- same_weights "$tmp/s3none/model/model.safetensors" \
        "$tmp/s3$lv/model/model.safetensors" 1e-4
    # k_proj.bias left out: its exact gradient is 0 (q.b is the same for every key a query sees, and
    # softmax ignores a constant), so what it gets is rounding noise, which AdamW scales to lr-sized
    # steps whatever their size: 1.1e-5 here, the next tensor 5.5e-7.
    expect_run 0 "3 ranks, $lv: every tensor but k_proj.bias within 1e-5 relative (2-norm)" -- same_weights \
        "$tmp/s3none/model/model.safetensors" "$tmp/s3$lv/model/model.safetensors" 1e-5 norm k_proj.bias
done

# Rows 3, 3 and 4 of a batch of 10, fully sharded: the evaluation at step 2 is one batch of the 8
# problems (two ranks idle, gathering with the third); the final one goes 3 rows at a time on every
# rank (rank 0's share; 3 + 3 + 2, one batch per rank), so the ranks agree on the batches.
expect_run 0 "sft, 3 ranks, full, uneven rows, evaluated at steps 2 and 4" -- timeout 120 "$mpi" -np 3 "$fx" sft \
    "$tmp/c.json" --set run.name=s3uneven --set trainer.shard=full --set sft.batch=10 --set sft.steps=4 \
    --set sft.eval_every=2
expect_run 0 "... two evaluations of 8 problems written" -- $py -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if "eval_answer_acc" in l]
assert [x["step"] for x in e] == [2, 4], e' "$tmp/s3uneven/metrics.jsonl"

# --- memory: every rank's peak within 10% of its plan; moments (and gradients) as 1/N ---
expect_run 0 "sft, 1 rank (the unsplit state)" -- "$fx" sft "$tmp/c.json" --set run.name=s1 --set sft.steps=2
echo "$err" >"$tmp/s1.err"
expect_run 0 "each rank's peak within 10% of its plan; the state split as 1/N" -- $py -c '
import re, sys
pat = re.compile(r"memory: rank (\d+) of (\d+), peak ([\d.]+) MiB of cpu buffers; planned ([\d.]+) MiB = weights ([\d.]+) \+ gradients ([\d.]+) \+ AdamW ([\d.]+) \+ activations ([\d.]+)")
def rows(path):
    r = [tuple(float(x) for x in m.groups()) for m in map(pat.search, open(path)) if m]
    assert r, path
    for rank, size, peak, plan, *_ in r:
        assert abs(peak - plan) <= 0.10 * plan, (path, rank, peak, plan)
    return r
one = rows(sys.argv[1])[0]
w1, g1, o1 = one[4], one[5], one[6]
peak = {}
levels = ("none", "optimizer", "gradients", "full")
for lv, path in zip(levels, sys.argv[2:]):
    r = rows(path)
    assert len(r) == 3, (lv, r)
    for rank, size, pk, plan, w, g, o, a in r:
        peak[lv, rank] = pk
        assert (w < w1) if lv == "full" else (w == w1), (lv, "weights", w, w1)
        want_o = o1 if lv == "none" else o1 / 3
        assert abs(o - want_o) <= 0.01 * o1, (lv, "AdamW", o, want_o)
        assert (g < g1) if lv in ("gradients", "full") else (g == g1), (lv, "gradients", g, g1)
for rank in range(3):  # measured: each level holds less on every rank than the one before
    assert peak["full", rank] < peak["gradients", rank] < peak["optimizer", rank] < peak["none", rank], (rank, peak)
' "$tmp/s1.err" "$tmp/s3none.err" "$tmp/s3optimizer.err" \
    "$tmp/s3gradients.err" "$tmp/s3full.err"

# --- checkpoints: the whole state, resumed onto another rank count and level ---
ck=(--set sft.checkpoint_every=5)
expect_run 0 "sft, 2 ranks, gradients, checkpoints every 5 steps, the newest 2 kept" -- timeout 120 "$mpi" -np 2 \
    "$fx" sft "$tmp/c.json" --set run.name=ck --set trainer.shard=gradients "${ck[@]}" --set run.keep_checkpoints=2
expect_run 0 "... each rank's slices in a shard file of its own; step 5's pruned with it" -- bash -c \
    '[ "$(ls "$1" | tr "\n" " ")" = "step-00000010.h5 step-00000010.shard-0-of-2.h5 step-00000010.shard-1-of-2.h5 step-00000015.h5 step-00000015.shard-0-of-2.h5 step-00000015.shard-1-of-2.h5 " ]' \
    _ "$tmp/ck/checkpoints"
# A shard of the newest checkpoint missing: resuming falls back to the one before, naming the file.
cp -r "$tmp/ck" "$tmp/rfb" && rm -rf "$tmp/rfb/checkpoints/step-00000015.shard-1-of-2.h5" "$tmp/rfb/model"
expect_run 0 "a shard of step 15 missing: resumed from step 10" -- timeout 120 "$mpi" -np 2 "$fx" sft "$tmp/c.json" \
    --set run.name=rfb --set trainer.shard=gradients "${ck[@]}" --set run.keep_checkpoints=2 --resume auto
expect_contains "$err" "skipping checkpoint $tmp/rfb/checkpoints/step-00000015.h5: $tmp/rfb/checkpoints/step-00000015.shard-1-of-2.h5: cannot open" \
    "the missing shard named"
expect_contains "$err" "resuming from $tmp/rfb/checkpoints/step-00000010.h5" "the checkpoint before it taken"
expect_run 0 "... the uninterrupted run's weights bit for bit" -- cmp "$tmp/ck/model/model.safetensors" \
    "$tmp/rfb/model/model.safetensors"
# A shard of another save of the same step (rfb wrote step 15 again): not mixed in.
cp -r "$tmp/ck" "$tmp/rmix" && rm -rf "$tmp/rmix/model"
cp "$tmp/rfb/checkpoints/step-00000015.shard-1-of-2.h5" "$tmp/rmix/checkpoints/"
expect_run 0 "a shard of another save of step 15: resumed from step 10" -- timeout 120 "$mpi" -np 2 "$fx" sft \
    "$tmp/c.json" --set run.name=rmix --set trainer.shard=gradients "${ck[@]}" --set run.keep_checkpoints=2 --resume auto
expect_contains "$err" "step-00000015.shard-1-of-2.h5: save_id: not of the save that wrote" "the foreign shard named"
expect_contains "$err" "resuming from $tmp/rmix/checkpoints/step-00000010.h5" "the checkpoint before it taken"
# A data byte of the newest checkpoint's shard 1 damaged: rank 1 reads that slice (each rank reads and
# verifies only its own, train_ckpt_resume_dp), finds the checksum wrong and says so; every rank
# skips the checkpoint, rank 0 naming rank 1, and the one before is resumed.
cp -r "$tmp/ck" "$tmp/rdmg" && rm -rf "$tmp/rdmg/model"
/usr/bin/python3 - "$tmp/rdmg/checkpoints/step-00000015.shard-1-of-2.h5" <<'E'
import h5py, sys
p = sys.argv[1]
with h5py.File(p, "r") as f:
    at = f["adam_v"].id.get_chunk_info(0).byte_offset + 8  # a byte of adam_v's first chunk
b = bytearray(open(p, "rb").read())
b[at] ^= 0xFF
open(p, "wb").write(b)
E
expect_run 0 "a damaged chunk in shard 1 of step 15: resumed from step 10" -- timeout 120 "$mpi" -np 2 "$fx" sft \
    "$tmp/c.json" --set run.name=rdmg --set trainer.shard=gradients "${ck[@]}" --set run.keep_checkpoints=2 --resume auto
expect_contains "$err" "step-00000015.shard-1-of-2.h5: adam_v: read failed: checksum mismatch" "rank 1 names the damage"
expect_contains "$err" "skipping checkpoint $tmp/rdmg/checkpoints/step-00000015.h5: trainer rank 1 could not read its slice" \
    "rank 0 names rank 1"
expect_contains "$err" "resuming from $tmp/rdmg/checkpoints/step-00000010.h5" "the checkpoint before it taken"
expect_run 0 "... the uninterrupted run's weights bit for bit" -- cmp "$tmp/ck/model/model.safetensors" \
    "$tmp/rdmg/model/model.safetensors"
for r in r2none r3opt r3full r1; do
    cp -r "$tmp/ck" "$tmp/$r" && rm -rf "$tmp/$r/checkpoints/step-00000015.h5" "$tmp/$r/model"
done
expect_run 0 "resumed from step 10 on 2 unsharded ranks" -- timeout 120 "$mpi" -np 2 "$fx" sft "$tmp/c.json" \
    --set run.name=r2none "${ck[@]}" --resume auto
expect_contains "$err" "resuming from $tmp/r2none/checkpoints/step-00000010.h5" "it resumed from step 10"
expect_run 0 "... the uninterrupted sharded run's weights bit for bit" -- cmp "$tmp/ck/model/model.safetensors" \
    "$tmp/r2none/model/model.safetensors"
expect_run 0 "resumed from step 10 on 3 ranks, optimizer" -- timeout 120 "$mpi" -np 3 "$fx" sft "$tmp/c.json" \
    --set run.name=r3opt --set trainer.shard=optimizer "${ck[@]}" --resume auto
expect_run 0 "... losses within 1e-6 of the uninterrupted run" -- same_losses "$tmp/ck/metrics.jsonl" \
    "$tmp/r3opt/metrics.jsonl" 1e-6 loss
expect_run 0 "resumed from step 10 on 3 ranks, full" -- timeout 120 "$mpi" -np 3 "$fx" sft "$tmp/c.json" \
    --set run.name=r3full --set trainer.shard=full "${ck[@]}" --resume auto
expect_run 0 "... losses within 1e-6 of the uninterrupted run" -- same_losses "$tmp/ck/metrics.jsonl" \
    "$tmp/r3full/metrics.jsonl" 1e-6 loss
expect_run 0 "resumed from step 10 in one process" -- "$fx" sft "$tmp/c.json" --set run.name=r1 "${ck[@]}" --resume auto
expect_run 0 "... losses within 1e-6 of the uninterrupted run" -- same_losses "$tmp/ck/metrics.jsonl" \
    "$tmp/r1/metrics.jsonl" 1e-6 loss

# --- prm-train on 3 ranks ---
pt=(--set "model.path=$tmp/s2none/model" --set prm.steps=6 --set prm.batch=8 --set prm.eval_every=0 --set prm.eval_traces=8
    --set prm.lm_weight=0.2) # the auxiliary LM loss reads the tied embedding as its head
for lv in none gradients; do
    expect_run 0 "prm-train, 3 ranks, $lv" -- timeout 120 "$mpi" -np 3 "$fx" prm-train "$tmp/c.json" "${pt[@]}" \
        --set run.name=p$lv --set trainer.shard=$lv
done
expect_run 0 "prm-train, gradients: losses within 1e-6" -- same_losses "$tmp/pnone/metrics.jsonl" \
    "$tmp/pgradients/metrics.jsonl" 1e-6 loss
expect_run 0 "prm-train, 3 ranks, full, evaluated every 2 steps, the vocabulary in chunks" -- timeout 120 "$mpi" -np 3 \
    "$fx" prm-train "$tmp/c.json" "${pt[@]}" --set run.name=pfull --set trainer.shard=full --set prm.eval_every=2 "${vc[@]}"
close_run "prm-train, full, against gradients" "$tmp/pgradients" "$tmp/pfull"
expect_run 0 "prm-train, full: the gradients-sharded evaluations within 1e-6 (steps 0 and 6)" -- same_evals \
    "$tmp/pgradients/metrics.jsonl" "$tmp/pfull/metrics.jsonl" 2 1e-6

# --- GRPO: 2 trainers, 1 rollout, 1 reward rank ---
g=(--set "model.path=$tmp/s2none/model" --set cluster.trainer_ranks=2 --set grpo.checkpoint_every=1)
for lv in none gradients full; do
    expect_run 0 "train, 2 trainers, $lv, a checkpoint every update" -- timeout 300 "$mpi" -np 4 "$fx" train \
        "$tmp/c.json" "${g[@]}" --set run.name=g$lv --set trainer.shard=$lv
done
for lv in gradients full; do
    if [ $lv = full ]; then
        close_run "train, full" "$tmp/gnone" "$tmp/gfull"
    else
        expect_run 0 "train, $lv: the unsharded weights bit for bit" -- cmp "$tmp/gnone/model/model.safetensors" \
            "$tmp/g$lv/model/model.safetensors"
    fi
    expect_run 0 "train, $lv: checkpoint counters as the unsharded run's" -- h5diff \
        "$tmp/gnone/checkpoints/step-00000002.h5" "$tmp/g$lv/checkpoints/step-00000002.h5" /counters
    expect_run 0 "train, $lv: the checkpoint's own file holds no weights or moments" -- bash -c \
        '! h5ls "$1" | grep -E "^(params|adam_m|adam_v) "' _ "$tmp/g$lv/checkpoints/step-00000002.h5"
    for a in params adam_m adam_v; do
        expect_run 0 "train, $lv: checkpoint array $a, its 2 shards end to end, as the unsharded run's" -- \
            same_array "$tmp/gnone/checkpoints/step-00000002.h5" "$tmp/g$lv/checkpoints/step-00000002.h5" $a 2 \
            $([ $lv = full ] && echo 1e-4)
    done
done
# Passes of 3 sequences: the trainers take different numbers of backward passes (and one may hold
# no group), and the sharded gradients are summed after each.
for lv in none gradients full; do
    expect_run 0 "train, minibatch 3, $lv" -- timeout 300 "$mpi" -np 4 "$fx" train "$tmp/c.json" "${g[@]}" \
        --set grpo.minibatch=3 --set run.name=m$lv --set trainer.shard=$lv $([ $lv = full ] && echo "${vc[@]}")
done
expect_run 0 "train, minibatch 3, gradients: losses within 1e-6" -- same_losses "$tmp/mnone/metrics.jsonl" \
    "$tmp/mgradients/metrics.jsonl" 1e-6 loss
# full pads the passes it lacks with empty ones too, forward (each layer and vocabulary chunk
# gathered) and backward (and reduced)
close_run "train, minibatch 3, full, against gradients" "$tmp/mgradients" "$tmp/mfull"
# 3 trainers (one with no group), PPO minibatches and epochs over recomputed old log-probs (forward
# passes of their own), recomputation, clipping, one-step-off rollouts, REBEL
h=(--set "model.path=$tmp/s2none/model" --set cluster.trainer_ranks=3 --set grpo.minibatch=3 --set grpo.ppo_minibatches=2
   --set grpo.ppo_epochs=2 --set grpo.recompute_old_logp=true --set trainer.recompute=true --set grpo.grad_clip=0.5
   --set rollout.max_policy_lag=1 --set grpo.objective=rebel --set grpo.eval_every=1)
for lv in gradients full; do
    expect_run 0 "train, 3 trainers, PPO epochs, REBEL, $lv" -- timeout 300 "$mpi" -np 5 "$fx" train "$tmp/c.json" \
        "${h[@]}" --set run.name=h$lv --set trainer.shard=$lv $([ $lv = full ] && echo "${vc[@]}")
done
# (4 PPO steps of 2 epochs each on clipped gradients: the last losses 2.4e-6 apart, measured)
close_run "... full, against gradients" "$tmp/hgradients" "$tmp/hfull" 1e-5
# full evaluates on the first rollout rank (the leader holds no whole copy on its device), one-step-off
expect_run 0 "... full: the same evaluations, made on the rollout rank" -- cmp <(grep eval_ "$tmp/hgradients/metrics.jsonl") \
    <(grep eval_ "$tmp/hfull/metrics.jsonl")
# A PCM policy over two experts, fully sharded over 2 trainers, the reference PCM beside them and
# an evaluation after every update (on the rollout rank): the unsharded run bit for bit.
pc=(--set "pcm.experts=$tmp/s2none/model,$tmp/gnone/model" --set grpo.kl_beta=0.05 --set grpo.ref_on=trainer
    --set model.hidden_size=16 --set model.layers=2 --set model.heads=2 --set model.kv_heads=1
    --set model.intermediate_size=32 --set cluster.trainer_ranks=2 --set grpo.eval_every=1)
for lv in none full; do
    expect_run 0 "train, PCM policy, 2 trainers, $lv" -- timeout 300 "$mpi" -np 4 "$fx" train "$tmp/c.json" "${pc[@]}" \
        --set run.name=pcm$lv --set trainer.shard=$lv
done
expect_run 0 "PCM, full: the unsharded weights bit for bit" -- cmp "$tmp/pcmnone/model/model.safetensors" \
    "$tmp/pcmfull/model/model.safetensors"
expect_run 0 "PCM, full: the same evaluations" -- cmp <(grep eval_ "$tmp/pcmnone/metrics.jsonl") \
    <(grep eval_ "$tmp/pcmfull/metrics.jsonl")
cp -r "$tmp/gfull" "$tmp/gf3" && rm -rf "$tmp/gf3/checkpoints/step-00000002.h5" "$tmp/gf3/model"
expect_run 0 "train resumed from a fully sharded checkpoint onto 3 trainers, full" -- timeout 300 "$mpi" -np 5 "$fx" \
    train "$tmp/c.json" "${g[@]}" --set cluster.trainer_ranks=3 --set trainer.shard=full --set run.name=gf3 --resume auto
expect_contains "$err" "resuming from $tmp/gf3/checkpoints/step-00000001.h5" "it resumed from update 1"
expect_run 0 "... losses within 1e-6 of the uninterrupted run" -- same_losses "$tmp/gfull/metrics.jsonl" \
    "$tmp/gf3/metrics.jsonl" 1e-6 loss
cp -r "$tmp/ggradients" "$tmp/gr" && rm -rf "$tmp/gr/checkpoints/step-00000002.h5" "$tmp/gr/model"
expect_run 0 "train resumed from a sharded checkpoint onto 1 trainer" -- timeout 300 "$mpi" -np 3 "$fx" train \
    "$tmp/c.json" "${g[@]}" --set cluster.trainer_ranks=1 --set run.name=gr --resume auto
expect_contains "$err" "resuming from $tmp/gr/checkpoints/step-00000001.h5" "it resumed from update 1"

# --- SIGUSR1 under full: the export (gathered tensor by tensor) is the policy of its update ---
# The fully sharded run is stopped after its export; the unsharded run of as many updates ends
# with the same weights (within the tolerance of close_run).
"$mpi" -np 4 "$fx" train "$tmp/c.json" "${g[@]}" --set grpo.checkpoint_every=0 --set grpo.steps=400 \
    --set run.name=ex --set trainer.shard=full >"$tmp/ex.out" 2>"$tmp/ex.err" &
job=$!
for _ in $(seq 600); do grep -q "\"loss\"" "$tmp/ex/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
leader=$(for p in $(pgrep -f "fluxrl train $tmp/c.json .*run.name=ex"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = fluxrl ] &&
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=0" && echo "$p"
done | head -1)
[ -n "$leader" ] && kill -USR1 "$leader"
for _ in $(seq 600); do compgen -G "$tmp/ex/export/step-*/model.safetensors" >/dev/null && break; sleep 0.1; done
sleep 1 # the folder is written whole before the next update ends
kill -TERM "$job" 2>/dev/null; wait "$job"
ex=$(compgen -G "$tmp/ex/export/step-*" | head -1)
if [ -n "$ex" ]; then
    k=$((10#${ex##*/step-}))
    expect_run 0 "full: the export of update $k" -- timeout 300 "$mpi" -np 4 "$fx" train "$tmp/c.json" "${g[@]}" \
        --set grpo.checkpoint_every=0 --set grpo.steps=$k --set run.name=ex$k
    expect_run 0 "... equals the unsharded run's policy after $k updates, within 1e-4" -- same_weights \
        "$tmp/ex$k/model/model.safetensors" "$ex/model.safetensors" 1e-4
    expect_run 0 "... every tensor but k_proj.bias within 1e-5 relative (2-norm)" -- same_weights \
        "$tmp/ex$k/model/model.safetensors" "$ex/model.safetensors" 1e-5 norm k_proj.bias
else
    failed=$((failed + 1)); echo "FAIL full: no export within 60 s of SIGUSR1 (leader pid '$leader')" >&2
fi

# --- a trainer killed while every step gathers: the job ends within 60 s ---
"$mpi" -np 3 "$fx" sft "$tmp/c.json" --set run.name=kill --set trainer.shard=full --set sft.steps=100000 \
    --set sft.log_every=1000 >"$tmp/kill.out" 2>"$tmp/kill.err" &
job=$!
for _ in $(seq 300); do grep -q "data-parallel over 3 ranks" "$tmp/kill.err" && break; sleep 0.1; done
sleep 1
victim=$(for p in $(pgrep -f "fluxrl sft $tmp/c.json .*run.name=kill"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = fluxrl ] &&
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && echo "$p"
done | head -1)
start=$(date +%s)
[ -n "$victim" ] && kill -KILL "$victim"
for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then
    kill -KILL "$job"; failed=$((failed + 1)); echo "FAIL a killed trainer: the job still runs after 60 s" >&2
else
    wait "$job"; code=$?
    [ -n "$victim" ] && [ "$code" -ne 0 ] && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAIL a killed trainer (pid '$victim'): exit $code after $(($(date +%s) - start)) s" >&2; }
fi

finish test_shard
