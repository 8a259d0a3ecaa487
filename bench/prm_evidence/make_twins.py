"""make_twins.py HELD.jsonl FLUXRL > TWINS.jsonl — the twin test of docs/prm.md: held-out samples
(fluxrl best-of-n --out) whose steps are all right, each with one column's result in one think
step changed by one (that step is then wrong, nothing else differs), up to 400 pairs; each pair
is two lines {"problem", "steps", "changed_step"}, the right one first. Seeded (random.Random(0))."""
import json, random, re, subprocess, sys

pool = [json.loads(l.decode("utf-8", "replace")) for l in open(sys.argv[1], "rb")]
inp = "".join(json.dumps({"prompt": p["problem"], "trace": "<think>\n" + p["response"]}) + "\n" for p in pool)
chk = [json.loads(l) for l in subprocess.run([sys.argv[2], "task", "check"], input=inp.encode(), capture_output=True,
                                             check=True).stdout.splitlines()]
rng, n = random.Random(0), 0
for p, c in zip(pool, chk):
    if not (c["answer_correct"] and all(c["step_correct"])) or p["response"].count("</think>") != 1: continue
    think, answer = p["response"].split("</think>")
    steps = think.strip().split("\n\n") + [answer.strip()]
    k = rng.randrange(len(steps) - 1)
    cols = list(re.finditer(r"=(\d+),", steps[k]))
    if not cols: continue
    m = rng.choice(cols)
    v = int(m.group(1))
    w = v + 1 if v < 9 or rng.random() < 0.5 else v - 1
    twin = list(steps)
    twin[k] = steps[k][:m.start(1)] + str(w) + steps[k][m.end(1):]
    for st in (steps, twin): print(json.dumps({"problem": p["problem"], "steps": st, "changed_step": k}))
    n += 1
    if n == 400: break
