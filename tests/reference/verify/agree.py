#!/usr/bin/python3
"""agree.py FLUXRL [--first N] [--check-corpus] [--expect-pairs N] [--min-decided N] [--min-agreement F]
— fluxrl's answer verifier against two independent judges, SymPy and the CortexJS Compute Engine,
on corpus.jsonl (make_corpus.py).

fluxrl judges each whole response (`fluxrl verify`: extraction and comparison). The judges compare
the answer as the response writes it ("written") with the gold, both after the notation conventions
below (notation only: no arithmetic), and say equal, not equal, or cannot decide. For each judge:
agreement with fluxrl on the pairs it decides, every disagreement, and verifications per second of
each in the same run. Exit 1 when the corpus is not make_corpus.py's (--check-corpus) or does not
hold --expect-pairs pairs, or a judge decides fewer than --min-decided pairs or agrees on less than
--min-agreement of them (the ctest verify_agreement); 2 when a judge or fluxrl cannot run.

Notation conventions, applied to both sides before a judge sees them (the usual reading of answers
in MATH and GSM8K; fluxrl's rules are the same, docs/tasks.md): $ and \\$ removed; \\left, \\right,
spacing commands removed; \\dfrac, \\tfrac → \\frac; \\text{…} after a value (a unit) and unit words
after a value dropped, other \\text{…} unwrapped; % and degree marks dropped; a number written with
thousands separators (1,234) read as one number; `x = …` and `x \\in …` with one letter on the left
read as their right side; a bare list `a, b` read as a set; a mixed number 2\\frac12 read as 2+\\frac12;
a \\pm b read as the set {a+b, a-b}.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import sympy
from sympy.parsing.sympy_parser import (implicit_multiplication_application, parse_expr,
                                        standard_transformations)

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- notation conventions ----------------------------------------------------------------------


def match_brace(s, i):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def unwrap(s, names):
    """\\name{X} → X for each name, innermost structure kept."""
    changed = True
    while changed:
        changed = False
        for name in names:
            k = s.find("\\" + name + "{")
            if k < 0:
                continue
            o = k + len(name) + 1
            c = match_brace(s, o)
            if c < 0:
                continue
            s = s[:k] + s[o + 1:c] + s[c + 1:]
            changed = True
    return s


def top_split(s, sep):
    parts, depth, start, i = [], 0, 0, 0
    while i < len(s):
        ch = s[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            parts.append(s[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


UNIT = r"(?:\^\{?[23]\}?)?"


def conventions(s):
    s = s.replace("\u2212", "-").replace("\\$", "").replace("$", "")
    for a, b in [("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\left", ""), ("\\right", ""),
                 ("\\displaystyle", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\:", ""), ("~", " "),
                 ("^{\\circ}", ""), ("^\\circ", ""), ("\\degree", ""), ("\\%", ""), ("%", "")]:
        s = s.replace(a, b)
    s = s.strip().rstrip(".").strip()
    # a unit: \text{letters} (or \mbox) after a value, then unit words after a value
    s = re.sub(r"^(.*\S)\s*\\(?:text|mbox|mathrm|textrm)\{\s*[A-Za-z][A-Za-z .]*\}" + UNIT + r"$", r"\1", s)
    s = unwrap(s, ["text", "textbf", "mathrm", "mbox", "textrm", "boxed"])
    m = re.match(r"^(.*[\d}])\s+[A-Za-z]{2,}(?:\s+[A-Za-z]{2,})*" + UNIT + r"$", s)
    if m:
        s = m.group(1)
    s = s.strip()
    if re.fullmatch(r"-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    m = re.match(r"^[A-Za-z]\s*(=|\\in)\s*(.+)$", s)
    if m and "=" not in m.group(2):
        s = m.group(2).strip()
    s = re.sub(r"(?<![\d.])(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}", r"(\1+\\frac{\2}{\3})", s)
    for pm in ("\\pm", "\\mp"):  # a \pm b is the pair {a + b, a - b}
        if s.count(pm) == 1 and not re.search(re.escape(pm) + "[A-Za-z]", s):
            pre, post = s.split(pm)
            s = "\\{" + pre + "+" + post + ", " + pre + "-" + post + "\\}"
    if "," in s and len(top_split(s, ",")) > 1 and not (s[0] in "([" and s[-1] in ")]") \
            and not s.startswith("\\{"):
        s = "\\{" + s + "\\}"
    return s

# ---- the SymPy judge: LaTeX (after the conventions) into SymPy objects, then SymPy's equality ---


class Undecided(Exception):
    pass


GREEK = ["alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "phi", "omega", "sigma", "tau", "rho"]


def latex_to_python(s):
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt\s*(\d)", r"\\sqrt{\1}", s)
    while True:  # \frac{A}{B} and \sqrt[n]{A} / \sqrt{A}, innermost last
        k = s.find("\\frac{")
        if k >= 0:
            c1 = match_brace(s, k + 5)
            if c1 < 0 or c1 + 1 >= len(s) or s[c1 + 1] != "{":
                raise Undecided("\\frac")
            c2 = match_brace(s, c1 + 1)
            if c2 < 0:
                raise Undecided("\\frac")
            s = s[:k] + "((" + s[k + 6:c1] + ")/(" + s[c1 + 2:c2] + "))" + s[c2 + 1:]
            continue
        k = s.find("\\sqrt")
        if k >= 0:
            j = k + 5
            while j < len(s) and s[j] == " ":
                j += 1
            n = "2"
            if j < len(s) and s[j] == "[":
                e = s.index("]", j)
                n, j = s[j + 1:e], e + 1
            if j >= len(s) or s[j] != "{":
                raise Undecided("\\sqrt")
            c = match_brace(s, j)
            s = s[:k] + "root((" + s[j + 1:c] + "),(" + n + "))" + s[c + 1:]
            continue
        break
    for a, b in [("\\pi", " pi "), ("\\infty", " oo "), ("\\cdot", "*"), ("\\times", "*"), ("\\div", "/"),
                 ("^", "**"), ("{", "("), ("}", ")")]:
        s = s.replace(a, b)
    # \sin x is sin(x): one token after a function name is its argument, as LaTeX readers take it
    s = re.sub(r"\\(arcsin|arccos|arctan|sin|cos|tan|ln|exp)\s*([A-Za-z0-9]|\\pi)(?![A-Za-z0-9(])", r"\\\1(\2)", s)
    for f in ["arcsin", "arccos", "arctan", "sin", "cos", "tan", "ln", "exp"]:
        s = s.replace("\\" + f, " " + ("log" if f == "ln" else f) + " ")
    for g in GREEK:
        s = s.replace("\\" + g, " " + g + " ")
    if "\\" in s:
        raise Undecided("a LaTeX command SymPy's reader here does not know")
    return s


TRANSFORMS = standard_transformations + (implicit_multiplication_application,)
LOCALS = {name: sympy.Symbol(name) for name in
          [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)] + GREEK}
LOCALS.update({"pi": sympy.pi, "oo": sympy.oo, "root": sympy.root, "e": sympy.E, "log": sympy.log,
               "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "arcsin": sympy.asin,
               "arccos": sympy.acos, "arctan": sympy.atan})


def sympy_expr(s):
    try:
        return parse_expr(latex_to_python(s), local_dict=dict(LOCALS), transformations=TRANSFORMS, evaluate=True)
    except Undecided:
        raise
    except Exception as e:  # SymPy's reader refuses it
        raise Undecided(str(e)[:60])


RELATION = r"(\\leqslant|\\geqslant|\\leq|\\geq|\\le(?![a-z])|\\ge(?![a-z])|\\lt|\\gt|<|>)"


def sympy_relation(s):
    """An inequality chain in one symbol, solved by SymPy over the reals into an interval."""
    pieces = re.split(RELATION, s)
    exprs = [sympy_expr(p) for p in pieces[0::2]]
    ops = pieces[1::2]
    free = set().union(*(e.free_symbols for e in exprs))
    if len(free) != 1:
        raise Undecided("not an inequality in one symbol")
    x = free.pop()
    sol = sympy.S.Reals
    for (a, op, b) in zip(exprs, ops, exprs[1:]):
        rel = {"<": sympy.Lt, "\\lt": sympy.Lt, ">": sympy.Gt, "\\gt": sympy.Gt}.get(op)
        if rel is None:
            rel = sympy.Le if op.startswith("\\le") else sympy.Ge
        sol = sol.intersect(sympy.solveset(rel(a, b), x, domain=sympy.S.Reals))
    if isinstance(sol, sympy.Interval):
        return ("interval", sol.start, sol.end, bool(sol.left_open), bool(sol.right_open))
    raise Undecided("an inequality whose solution is not one interval")


def sympy_value(s):
    """("set", [..]) | ("tuple", [..]) | ("interval", lo, hi, lopen, ropen) | ("union", [..]) | ("expr", e)."""
    s = s.strip()
    parts = top_split(s, "\\cup")
    if len(parts) > 1:
        return ("union", [sympy_value(p) for p in parts])
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2].strip()
        return ("set", [sympy_value(p) for p in top_split(inner, ",")] if inner else [])
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        inner = top_split(s[1:-1], ",")
        if len(inner) == 2 and (s[0] == "[" or s[-1] == "]"):
            return ("interval", sympy_expr(inner[0]), sympy_expr(inner[1]), s[0] == "(", s[-1] == ")")
        if len(inner) >= 2:
            return ("tuple", [sympy_value(p) for p in inner])
    if re.search(RELATION, s):
        return sympy_relation(s)
    if "=" in s:
        l, r = s.split("=", 1)
        return ("eq", sympy_expr(l), sympy_expr(r))
    return ("expr", sympy_expr(s))


def sympy_eq_expr(a, b):
    if a == b:
        return True
    d = sympy.simplify(a - b)
    if d == 0:
        return True
    if d.free_symbols or d.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return sympy.expand(a - b) == 0
    return False


def open_interval(v):
    """(a, b) written as a pair is also the open interval (a, b)."""
    if v[0] == "tuple" and len(v[1]) == 2 and all(e[0] == "expr" for e in v[1]):
        return ("interval", v[1][0][1], v[1][1][1], True, True)
    return v


def sympy_eq(a, b):
    if a[0] == "interval" or b[0] == "interval":
        a, b = open_interval(a), open_interval(b)
    if a[0] != b[0]:
        return False
    if a[0] == "expr":
        return sympy_eq_expr(a[1], b[1])
    if a[0] == "eq":
        return sympy_eq_expr(a[1], b[1]) and sympy_eq_expr(a[2], b[2])
    if a[0] == "interval":
        return a[3:] == b[3:] and sympy_eq_expr(a[1], b[1]) and sympy_eq_expr(a[2], b[2])
    if a[0] == "tuple":
        return len(a[1]) == len(b[1]) and all(sympy_eq(x, y) for x, y in zip(a[1], b[1]))
    # sets and unions: every element of one equals one of the other
    return all(any(sympy_eq(x, y) for y in b[1]) for x in a[1]) and \
        all(any(sympy_eq(x, y) for x in a[1]) for y in b[1])


def sympy_judge(answer, gold):
    try:
        return sympy_eq(sympy_value(answer), sympy_value(gold))
    except Undecided:
        return None
    except Exception:  # SymPy failing inside simplify: cannot decide
        return None

# ---- the run ----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fluxrl")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus.jsonl"))
    ap.add_argument("--first", type=int, default=0, help="only the first N pairs (0: all)")
    ap.add_argument("--min-agreement", type=float, default=0.0)
    ap.add_argument("--min-decided", type=int, default=0, help="each judge must decide at least N pairs")
    ap.add_argument("--speed-repeat", type=int, default=20, help="fluxrl's speed: the pairs N times in one process")
    ap.add_argument("--check-corpus", action="store_true",
                    help="fail unless make_corpus.py writes the corpus byte for byte")
    ap.add_argument("--expect-pairs", type=int, default=0, help="the corpus (or its first N) must hold N pairs")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(HERE, "node_modules", "@cortex-js", "compute-engine")):
        print("agree.py: the Compute Engine is not installed: run tests/reference/verify/setup.sh "
              "(launch/deps.sh does)", file=sys.stderr)
        return 2
    if args.check_corpus:
        made = subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py")], capture_output=True).stdout
        with open(args.corpus, "rb") as f:
            if f.read() != made:
                print(f"FAIL: {args.corpus} is not what make_corpus.py writes: regenerate it", file=sys.stderr)
                return 1
    rows = [json.loads(l) for l in open(args.corpus, encoding="utf-8") if l.strip()]
    if args.first:
        rows = rows[:args.first]
    n = len(rows)
    if args.expect_pairs and n != args.expect_pairs:
        print(f"FAIL: {n} pairs in {args.corpus}, expected {args.expect_pairs}", file=sys.stderr)
        return 1

    def run_fluxrl(times):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
            for _ in range(times):
                for r in rows:
                    f.write(json.dumps({"response": r["response"], "answer": r["answer"]}) + "\n")
            path = f.name
        t0 = time.perf_counter()
        proc = subprocess.run([args.fluxrl, "verify", "--input", path], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        os.unlink(path)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            sys.exit(2)
        return proc.stdout.splitlines(), seconds

    lines, _ = run_fluxrl(1)
    fx = [json.loads(l) for l in lines]
    assert len(fx) == n, (len(fx), n)
    _, t_fx = run_fluxrl(args.speed_repeat)  # its speed: the corpus several times in one process

    pairs = [(conventions(r["written"]), conventions(r["answer"])) for r in rows]
    t0 = time.perf_counter()
    sy = [sympy_judge(a, b) for a, b in pairs]
    t_sy = time.perf_counter() - t0

    inp = "".join(json.dumps([a, b]) + "\n" for a, b in pairs)
    proc = subprocess.run(["node", os.path.join(HERE, "ce_judge.mjs")], input=inp, capture_output=True,
                          text=True, cwd=HERE)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 2
    lines = proc.stdout.splitlines()
    ce, t_ce = [json.loads(l) for l in lines[:-1]], json.loads(lines[-1])["seconds"]
    assert len(ce) == n

    ok = True
    print(f"corpus: {n} pairs ({sum(r['kind'] == 'gsm8k' for r in rows)} GSM8K-style, "
          f"{sum(r['kind'] != 'gsm8k' for r in rows)} MATH-style); fluxrl says correct on "
          f"{sum(f['correct'] for f in fx)}")
    print(f"{'judge':<16} {'decided':>8} {'agree':>7} {'agreement':>10} {'disagree':>9}")
    for name, verdicts in (("SymPy", sy), ("Compute Engine", ce)):
        dec = [i for i in range(n) if verdicts[i] is not None]
        dis = [i for i in dec if verdicts[i] != fx[i]["correct"]]
        agr = (len(dec) - len(dis)) / len(dec) if dec else 0.0
        print(f"{name:<16} {len(dec):>8} {len(dec) - len(dis):>7} {100 * agr:>9.2f}% {len(dis):>9}")
        if agr < args.min_agreement or len(dec) < args.min_decided:
            ok = False
            print(f"FAIL {name}: {len(dec)} decided (want >= {args.min_decided}), agreement "
                  f"{100 * agr:.2f}% (want >= {100 * args.min_agreement:.2f}%)")
        for i in dis:
            r = rows[i]
            print(f"  [{name}] #{i} {r['kind']}: written {r['written']!r} gold {r['answer']!r} -> judge sees "
                  f"{pairs[i][0]!r} vs {pairs[i][1]!r}; judge {verdicts[i]}, fluxrl {fx[i]['correct']} "
                  f"(extracted {fx[i]['extracted']!r}), generator meant {r['intended']}")
    both = [i for i in range(n) if sy[i] is not None and ce[i] is not None and sy[i] != ce[i]]
    print(f"SymPy and the Compute Engine disagree with each other on {len(both)} pairs both decide")
    print(f"undecided: SymPy {sum(v is None for v in sy)}, Compute Engine {sum(v is None for v in ce)}")
    print(f"{'speed':<16} {'seconds':>8} {'verifications/s':>16}")
    for name, t, m in (("fluxrl verify", t_fx, n * args.speed_repeat), ("SymPy", t_sy, n), ("Compute Engine", t_ce, n)):
        print(f"{name:<16} {t:>8.3f} {m / t:>16.0f}")
    print(f"fluxrl: one `fluxrl verify` process on the pairs {args.speed_repeat} times (start, JSON, extraction and "
          "comparison); the judges: their judging loop only (compare two extracted answers)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
