#!/usr/bin/env python3
"""correct_and_brief.py — a fluxrl reward program with two preference dimensions (docs/pcm.md,
pcm.reward = bt; the protocol: docs/protocol.md):

    rewards[0]  correctness: 1 when the gold answer appears as a whole number after the last
                </think>, else 0
    rewards[1]  brevity: minus the response's length in words, divided by 10

"reward" (the outcome logged and judged for accuracy) is the correctness. With experts
[accurate, brief], a preference w weighs the two; fluxrl normalises each dimension against the
problem's reference response, sigmoid(r_i(y) - r_i(y_ref)), and trains on sum_i w_i of them.
"info" repeats the two rewards, so a run's reward_info.jsonl shows every dimension.

    --set reward.outcome=command --set pcm.reward=bt \\
    --set reward.command="/usr/bin/python3 examples/rewards/correct_and_brief.py"
"""
import json
import re
import sys

for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    tail = req["response"].split("</think>")[-1]
    answer = str(req["answer"])
    correct = 1.0 if answer and re.search(r"(?<![0-9.])" + re.escape(answer) + r"(?![0-9])", tail) else 0.0
    brevity = -len(req["response"].split()) / 10
    print(json.dumps({"id": req["id"], "reward": correct, "rewards": [correct, brevity],
                      "info": {"rewards": [correct, brevity]}}), flush=True)
