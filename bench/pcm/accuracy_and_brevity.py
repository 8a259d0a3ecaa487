#!/usr/bin/env python3
"""accuracy_and_brevity.py — the reward program of bench/pcm/grid.sh: two preference dimensions in
tension, rewards = [right, brief]. right: 1 when the gold answer is the number after "The answer
is" in the text after the last </think>, else 0 (the built-in verifier's reading). brief:
max(0, 1 - len(response) / 400), characters: the demo's worked responses (3 operations on 2-digit
numbers) are 200-260 characters, an answer without the work about 20. Working the sum out pays on
the first dimension and costs on the second. "reward" is the first. Also imported by grid.sh's
summary, so that the evaluation scores responses exactly as training did.
"""
import json
import re
import sys

BRIEF_CHARS = 400


def right(response, answer):
    tail = response.split("</think>")[-1]
    m = re.findall(r"The answer is (-?[0-9]+)", tail)
    return 1.0 if m and m[-1] == str(answer) else 0.0


def brief(response):
    return max(0.0, 1.0 - len(response) / BRIEF_CHARS)


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        r = [right(req["response"], req["answer"]), brief(req["response"])]
        print(json.dumps({"id": req["id"], "reward": r[0], "rewards": r}), flush=True)


if __name__ == "__main__":
    main()
