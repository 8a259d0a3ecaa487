# bench/pcm/decode.sh — sourced by bench/pcm/grid.sh and bench/pcm/sampled.sh.
# pcm_decode OUT NAME SEED TEMP N MAX_NEW [fluxrl generate options]: N responses (greedy at TEMP 0)
# to each of $problems held-out problems of run.seed SEED, as JSON lines {"group", "right", "brief"}
# in OUT/eval/NAME-SEED.jsonl (problem order, a problem's N samples together); kept when there.
# Needs $fx (the fluxrl binary), $problems and the task options in the array task.
pcm_decode() {
    local out=$1 name=$2 seed=$3 temp=$4 n=$5 max_new=$6
    shift 6
    local f="$out/eval/$name-$seed"
    mkdir -p "$out/eval"
    [ -f "$f.jsonl" ] && return
    rm -f "$f.h5"
    "$fx" generate "$@" --out "$f.h5" "${task[@]}" --task-seed "$seed" --problems "$problems" --n "$n" \
        --temperature "$temp" --seed "$seed" --max-new "$max_new" --batch 64 >/dev/null 2>&1
    "$fx" traces export "$f.h5" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(json.dumps({"ids": d["response_ids"], "right": d["outcome_reward"], "group": d["group"]}))
' >"$f.ids"
    "$fx" tokenize --tokenizer "$out/full/model" --decode --input "$f.ids" | /usr/bin/python3 -c '
import json, sys
sys.path.insert(0, "bench/pcm")
from accuracy_and_brevity import brief
ids = [json.loads(l) for l in open(sys.argv[1])]
for d, line in zip(ids, sys.stdin):
    text = json.loads(line)["text"]
    print(json.dumps({"group": d["group"], "right": d["right"], "brief": brief(text)}))
' "$f.ids" >"$f.jsonl.tmp"
    mv "$f.jsonl.tmp" "$f.jsonl"
    rm -f "$f.h5" "$f.ids"
}
