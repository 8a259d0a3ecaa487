# bench/pcm/experts.sh — sourced by bench/pcm/evidence.sh and bt_evidence.sh: the two experts of
# their runs, made once in $out (reused when there): `strong`, the demo's SFT policy
# (configs/demo.json), and `weak`, the same policy after 20 more SFT steps at the demo's peak
# learning rate 0.003 with another seed (it forgets most of the task). Needs $out; sets $fx
# (FLUXRL_BIN or build/fluxrl), ${common[@]} (the runs' --set options), ${task[@]} (the demo's task
# as fluxrl eval's options), $experts ("strong,weak" folders), ${pcm[@]} (the trained PCM's
# settings: a new PCM of hidden 32, 1 layer, lr 1e-3, $steps updates), greedy_eval and summarise.
fx=${FLUXRL_BIN:-build/fluxrl}
mkdir -p "$out"
common=(--set "run.out_dir=$out" --set log.progress=off)
task=(--ops 3 --digits 2 --operators +-) # configs/demo.json's task, for fluxrl eval
if [ ! -f "$out/strong/model/model.safetensors" ]; then
    echo "== the strong expert: the demo's SFT" >&2
    "$fx" sft configs/demo.json "${common[@]}" --set run.name=strong >/dev/null
fi
if [ ! -f "$out/weak/model/model.safetensors" ]; then
    echo "== the weak expert: 20 more SFT steps at lr 0.003, seed 7" >&2
    "$fx" sft configs/demo.json "${common[@]}" --set run.name=weak --set "model.path=$out/strong/model" \
        --set sft.steps=20 --set sft.eval_every=0 --set run.seed=7 >/dev/null
fi
experts="$out/strong/model,$out/weak/model"
pcm=(--set "pcm.experts=$experts" --set model.hidden_size=32 --set model.layers=1 --set model.heads=2
     --set model.kv_heads=1 --set model.intermediate_size=64 --set grpo.lr=0.001 --set "grpo.steps=$steps"
     --set "grpo.eval_every=$steps")

# greedy_eval FILE SEED [fluxrl eval options]: the merged experts' greedy accuracy on the 200
# held-out problems of run.seed SEED (fluxrl eval's JSON) into FILE, unless FILE is there.
greedy_eval() {
    local f=$1 seed=$2
    shift 2
    [ -f "$f" ] || "$fx" eval --experts "$experts" "$@" "${task[@]}" --task-seed "$seed" --problems 200 --n 1 \
        --temperature 0 --max-new 226 --batch 64 >"$f" 2>/dev/null
}

# summarise <<'PY' ... PY: runs the summary (Python on stdin) with bench/ importable and the
# arguments of results_section.evidence_args (OUT STEPS SEEDS CORES MINUTES, from $t_start).
summarise() {
    PYTHONPATH=bench /usr/bin/python3 - "$out" "$steps" "$seeds" "$(nproc --all)" "$((($(date +%s) - t_start) / 60))"
}
