# bench/pcm/experts.sh — sourced by bench/pcm/evidence.sh and bt_evidence.sh: the two experts of
# their runs, made once in $out (reused when there): `strong`, the demo's SFT policy
# (configs/demo.json), and `weak`, the same policy after 20 more SFT steps at the demo's peak
# learning rate 0.003 with another seed (it forgets most of the task). Needs $out; sets $fx
# (FLUXRL_BIN or build/fluxrl), ${common[@]} (the runs' --set options), ${task[@]} (the demo's task
# as fluxrl eval's options) and $experts ("strong,weak" folders).
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
