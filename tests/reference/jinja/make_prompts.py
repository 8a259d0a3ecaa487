#!/usr/bin/python3
"""make_prompts.py — the prompts fluxrl builds from a problem under task.chat = auto, as
transformers' apply_chat_template(messages, add_generation_prompt=True) renders them with the
published chat templates, for model folders laid out like the published checkpoints (test_prompt).

    /usr/bin/python3 tests/reference/jinja/make_prompts.py && node tests/reference/jinja/make_prompt_ids.js

The messages are [system turn when one is given, user: the problem]. jinja2 is set up as
make_golden.py sets it up (transformers' environment); the variables are those transformers passes
(bos_token / eos_token / pad_token from each folder's tokenizer_config.json) plus the template
variables of the case. Each line of tests/data/jinja/prompts.jsonl: {"fixture", "system", "vars",
"problem", "text", "pieces"}; pieces split the text at the folder's added tokens (a piece is the
id of an added token or a run of plain text), which make_prompt_ids.js turns into "ids" with
Qwen's real tokenizer (the fixtures share Qwen2's byte-level BPE).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import DATA, env  # noqa: E402  (transformers' jinja2 environment)

# The folders test_prompt builds: their template, the tokens tokenizer_config.json names, and the
# added tokens of their tokenizer.json (content -> id), as the published checkpoints have them.
QWEN_ADDED = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<think>": 151667,
              "</think>": 151668}
FIXTURES = {
    # Qwen/Qwen2.5-7B-Instruct: generation_config.json eos_token_id [151645, 151643]
    "qwen2.5-instruct": {"template": "qwen2.5-instruct.jinja",
                         "tokens": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
                         "added": QWEN_ADDED},
    # Qwen/Qwen2.5-Math-7B-Instruct: the template writes its own default system turn (step by step,
    # \\boxed{}) where Qwen2.5-Instruct's names Qwen; eos_token_id [151645, 151643]
    "qwen2.5-math": {"template": "qwen2.5-math.jinja",
                     "tokens": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
                     "added": QWEN_ADDED},
    # deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B: add_bos_token true, eos_token_id 151643
    "r1-distill-qwen": {"template": "deepseek-r1-distill-qwen.jinja",
                        "tokens": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
                        "added": {"<｜end▁of▁sentence｜>": 151643, "<｜User｜>": 151644, "<｜Assistant｜>": 151645,
                                  "<｜begin▁of▁sentence｜>": 151646, "<|EOT|>": 151647, "<think>": 151648,
                                  "</think>": 151649}},
    # Qwen/Qwen3-8B: eos_token_id [151645, 151643]; enable_thinking false closes an empty trajectory
    "qwen3": {"template": "qwen3.jinja", "tokens": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
              "added": QWEN_ADDED},
}

P1 = "What is 12 + 34?"
P2 = "Solve $x^2 - 5x + 6 = 0$.\nGive both roots, then the larger one."
MATH_SYS = "Please reason step by step, and put your final answer within \\boxed{}."
CASES = [
    ("qwen2.5-instruct", None, {}, P1),
    ("qwen2.5-instruct", MATH_SYS, {}, P2),
    ("qwen2.5-math", None, {}, P2),
    ("r1-distill-qwen", None, {}, P1),
    ("r1-distill-qwen", "You are a careful mathematician.", {}, P2),
    ("qwen3", None, {}, P1),
    ("qwen3", None, {"enable_thinking": False}, P2),
]


def pieces(text, added):
    pat = re.compile("|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)))
    out, at = [], 0
    for m in pat.finditer(text):
        if m.start() > at:
            out.append(text[at:m.start()])
        out.append(added[m.group(0)])
        at = m.end()
    if at < len(text):
        out.append(text[at:])
    return out


def main():
    lines = []
    for fixture, system, extra, problem in CASES:
        f = FIXTURES[fixture]
        with open(os.path.join(DATA, "templates", f["template"]), encoding="utf-8") as fh:
            src = fh.read()
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": problem}]
        vars = dict(f["tokens"], **extra)
        text = env.from_string(src).render(messages=messages, add_generation_prompt=True, tools=None,
                                           documents=None, **vars)
        lines.append(json.dumps({"fixture": fixture, "system": system, "vars": extra, "problem": problem,
                                 "text": text, "pieces": pieces(text, f["added"])}, ensure_ascii=False))
    path = os.path.join(DATA, "prompts.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} prompts to {path}")


if __name__ == "__main__":
    main()
