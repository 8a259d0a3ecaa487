#!/usr/bin/env python3
"""sympy_equal.py — a fluxrl reward server (reward.outcome = command): judges a response's final answer
against the gold answer with SymPy. JSON lines on stdin/stdout (docs/protocol.md, docs/rewards.md):

    request  {"id": 7, "problem": "...", "response": "...", "answer": "1/2", "steps": [...], "meta": {...}}
    result   {"id": 7, "reward": 1.0, "info": {"extracted": "0.5", "how": "sympy"}}

Usage:  --set reward.outcome=command --set reward.command="python3 examples/rewards/sympy_equal.py"
The final answer is the last \\boxed{...}, else what follows the last "answer is", else the last number,
in the text after the last </think> (a response that never closes its thinking gets reward 0 when the
request's meta says the prompt opened <think>). Both sides are read as SymPy expressions after a light
LaTeX clean-up (\\frac, \\sqrt, \\cdot, ^, $, commas in numbers); equal when their difference simplifies
to 0; text that does not parse is compared as text without spaces.
"""
import json
import re
import sys

import sympy
from sympy.parsing.sympy_parser import (convert_xor, implicit_multiplication_application, parse_expr,
                                        standard_transformations)

TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def last_boxed(text):
    i = text.rfind("\\boxed")
    while i >= 0:
        j = text.find("{", i)
        if j < 0:
            break
        depth, k = 0, j
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                inner = text[j + 1:k].strip()
                if inner:
                    return inner
                break
            k += 1
        i = text.rfind("\\boxed", 0, i)
    return None


def extract(response):
    text = response.rsplit("</think>", 1)[-1]
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    m = list(re.finditer(r"answer\s*(?:is|:)\s*([^\n]*)", text, re.IGNORECASE))
    if m:
        line = m[-1].group(1).strip().rstrip(".").strip()
        nums = NUMBER.findall(line)
        if line and not re.search(r"[A-Za-z]{3,}", re.sub(r"\\[A-Za-z]+", "", line)):
            return line
        if nums:
            return nums[0]
    nums = NUMBER.findall(text)
    return nums[-1] if nums else None


def latex_to_sympy(s):
    s = s.strip().strip("$").strip()
    s = re.sub(r"\\(?:left|right|displaystyle|!|,|;)", "", s)
    s = re.sub(r"\\text\{[^}]*\}", "", s)
    for _ in range(5):
        s = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", s)
        s = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", s)
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\pi", "pi").replace("{", "(").replace("}", ")")
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,234 -> 1234
    s = s.replace("%", "")
    if "=" in s:  # "x = 4" -> 4
        s = s.rsplit("=", 1)[1]
    return s


def to_expr(s):
    try:
        return parse_expr(latex_to_sympy(s), transformations=TRANSFORMS, evaluate=True)
    except Exception:  # noqa: BLE001 - anything SymPy cannot read is compared as text
        return None


def equal(a, b):
    ea, eb = to_expr(a), to_expr(b)
    if ea is not None and eb is not None:
        try:
            return sympy.simplify(ea - eb) == 0, "sympy"
        except Exception:  # noqa: BLE001
            pass
    return re.sub(r"\s+", "", a) == re.sub(r"\s+", "", b), "text"


def score(req):
    meta = req.get("meta") or {}
    response = req["response"]
    if meta.get("opened_think") and "</think>" not in response:
        return {"id": req["id"], "reward": 0.0, "info": {"extracted": None, "how": "unclosed"}}
    got = extract(response)
    if got is None:
        return {"id": req["id"], "reward": 0.0, "info": {"extracted": None, "how": "none"}}
    ok, how = equal(got, str(req["answer"]))
    return {"id": req["id"], "reward": 1.0 if ok else 0.0, "info": {"extracted": got, "how": how}}


def main():
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(score(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
