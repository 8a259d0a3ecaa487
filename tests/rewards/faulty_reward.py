#!/usr/bin/env python3
"""faulty_reward.py MODE N [MARKER] — a reward program (docs/protocol.md) for fluxrl's failure tests.

It answers well ("reward": 1 when the gold answer appears after the last </think>, "step_rewards" 0.5
per step, an "info") until its N-th request (counted per process; 0: never fails). There it writes a
line to stderr, creates MARKER (when given), and fails as MODE says:
    die        kills itself with SIGKILL          hang       stops answering (sleeps)
    garbage    writes a line that is not JSON     nonfinite  writes {"id": ..., "reward": 1e999}
    exit       exits with status 3
MODE echo never fails and returns the response as its info (results as large as the requests).
MODE dims never fails and adds "rewards": [the reward, the response's length in characters] (two
dimensions, pcm.reward = bt); dims1 adds one dimension only, dimsinf a second that is 1e999.
Once MARKER exists, every new process fails at its first request: the retry fails too.
"""
import json
import os
import signal
import sys
import time

mode, n = sys.argv[1], int(sys.argv[2])
marker = sys.argv[3] if len(sys.argv) > 3 else None
if marker and os.path.exists(marker):
    n = 1
seen = 0
for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    seen += 1
    if n and seen == n:
        print(f"faulty_reward: failing ({mode}) at request {req['id']}, my request number {seen}", file=sys.stderr,
              flush=True)
        if marker:
            open(marker, "w").close()
        if mode == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "garbage":
            print("this is not JSON", flush=True)
            continue
        elif mode == "nonfinite":
            print(json.dumps({"id": req["id"]}).replace("}", ', "reward": 1e999}'), flush=True)
            continue
        elif mode == "exit":
            sys.exit(3)
    tail = req["response"].split("</think>")[-1]
    ok = req["answer"] != "" and req["answer"] in tail
    info = {"echo": req["response"]} if mode == "echo" else {"n": seen}
    out = {"id": req["id"], "reward": 1.0 if ok else 0.0, "step_rewards": [0.5] * len(req["steps"]), "info": info}
    if mode in ("dims", "dims1"):
        out["rewards"] = [out["reward"], float(len(req["response"]))][: 2 if mode == "dims" else 1]
    text = json.dumps(out)
    if mode == "dimsinf":
        text = text[:-1] + ', "rewards": [1, 1e999]}'
    print(text, flush=True)
