#!/usr/bin/env python3
"""right_and_wrong.py — the reward program of bench/pcm/bt_evidence.sh: two opposed preference
dimensions, rewards = [right, wrong] (1 when the gold answer is the number after "The answer is"
in the text after the last </think>, else 0; and its complement). "reward" is the first. A PCM
trained on them with pcm.reward = bt can only score well on every preference by reading it: at
w = (1, 0) the right answer pays, at (0, 1) the wrong one.
"""
import json
import re
import sys

for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    tail = req["response"].split("</think>")[-1]
    m = re.findall(r"The answer is (-?[0-9]+)", tail)
    right = 1.0 if m and m[-1] == str(req["answer"]) else 0.0
    print(json.dumps({"id": req["id"], "reward": right, "rewards": [right, 1.0 - right]}), flush=True)
