#!/usr/bin/python3
"""make_corpus.py — writes corpus.jsonl: (response, gold) pairs written the way models write them,
GSM8K-style and MATH-style, correct and incorrect, for measuring fluxrl's answer verifier against
SymPy and the CortexJS Compute Engine (agree.py). Deterministic: a fixed seed, no input.

Each line: {"response", "answer" (the gold), "written" (the answer as the response writes it, what
the judges compare with the gold), "kind" (the generator), "intended" (whether the generator meant
the written answer to equal the gold)}.

    /usr/bin/python3 tests/reference/verify/make_corpus.py > tests/reference/verify/corpus.jsonl
"""
import json
import math
import random
import sys
from fractions import Fraction

SEED = 16
N_GSM8K = 900
N_MATH = 1500


def squarefree(n):
    return all(n % (p * p) for p in range(2, int(n ** 0.5) + 1))


def frac_tex(f, cmd="\\frac"):
    s = "-" if f < 0 else ""
    f = abs(f)
    if f.denominator == 1:
        return f"{s}{f.numerator}"
    return f"{s}{cmd}{{{f.numerator}}}{{{f.denominator}}}"


def terminating(f):
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def dec(f):
    """A terminating fraction as a decimal string."""
    s = "-" if f < 0 else ""
    f = abs(f)
    for k in range(0, 12):
        if (f * 10 ** k).denominator == 1:
            n = (f * 10 ** k).numerator
            if k == 0:
                return s + str(n)
            t = str(n).rjust(k + 1, "0")
            return s + t[:-k] + "." + t[-k:]
    raise ValueError(f)


def commas(n):
    return f"{n:,}"


# ---- MATH-style generators: each returns (gold, written, intended) --------------------------------

def g_integer(r):
    n = r.randint(-50, 2000)
    forms = [str(n), f"{n}.0" if r.random() < 0.3 else str(n), f"{{{n}}}", f"\\text{{{n}}}" if n >= 0 else str(n)]
    if r.random() < 0.75:
        return str(n), r.choice(forms), True
    return str(n), str(n + r.choice([-2, -1, 1, 2, 10])), False


def g_fraction(r):
    q = r.randint(2, 24)
    p = r.randint(1, 60)
    f = Fraction(p, q) * r.choice([1, 1, 1, -1])
    if f.denominator == 1:
        f += Fraction(1, 2)
    gold = r.choice([frac_tex(f), frac_tex(f, "\\dfrac"), f"{f.numerator}/{f.denominator}"])
    k = r.randint(2, 5)
    a, b = abs(f.numerator), f.denominator
    sign = "-" if f < 0 else ""
    correct = [frac_tex(f), f"{sign}\\dfrac{{{a}}}{{{b}}}", f"{sign}\\tfrac{{{a}}}{{{b}}}",
               f"{sign}\\frac{{{k * a}}}{{{k * b}}}", f"{{{sign}\\frac{{{k * a}}}{{{k * b}}}}}",
               f"{sign}{a}/{b}", f"\\frac{{{sign}{a}}}{{{b}}}"]
    if terminating(f):
        correct += [dec(f)] * 3
    if a > b and f > 0 and r.random() < 0.15:
        correct.append(f"{a // b}\\frac{{{a % b}}}{{{b}}}" if a % b else str(a // b))  # a mixed number
    wrong = [f"{sign}\\frac{{{b}}}{{{a}}}", f"{sign}\\frac{{{a + 1}}}{{{b}}}", frac_tex(-f),
             f"{sign}\\frac{{{a}}}{{{b + 1}}}"]
    if not terminating(f):
        wrong.append(f"{float(f):.3f}")  # rounded: not exact
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    w = r.choice(wrong)
    return gold, w, False


def g_radical(r):
    b = r.choice([n for n in range(2, 40) if squarefree(n)])
    a = r.randint(1, 9)
    c = r.choice([1, 1, 2, 3, 4, 6])
    f = Fraction(a, c)
    num, den = f.numerator, f.denominator
    coef = "" if num == 1 else str(num)
    gold = f"{coef}\\sqrt{{{b}}}" if den == 1 else f"\\frac{{{coef}\\sqrt{{{b}}}}}{{{den}}}"
    correct = [gold.replace("\\sqrt{", "\\sqrt {"), f"\\sqrt{{{num * num * b}}}" if den == 1 else
               f"\\frac{{\\sqrt{{{num * num * b}}}}}{{{den}}}",
               f"{coef} \\sqrt{{{b}}}" if den == 1 else f"\\frac{{{num}}}{{{den}}}\\sqrt{{{b}}}",
               f"\\sqrt{{{b}}} \\cdot {num}" if den == 1 else f"\\frac{{{num * b}}}{{{den}\\sqrt{{{b}}}}}",
               f"\\sqrt{{\\frac{{{num * num * b}}}{{{den * den}}}}}" if den > 1 else f"{num}\\sqrt{b}" if b < 10 else gold]
    wrong = [gold.replace(f"{{{b}}}", f"{{{b + 1}}}"), f"\\sqrt{{{b}}}" if num != 1 else f"2\\sqrt{{{b}}}",
             f"{num * num * b}" if den == 1 else f"\\frac{{{num}}}{{{den}}}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_radical_sum(r):
    a, b = r.randint(1, 9), r.choice([2, 3, 5, 6, 7])
    c = r.randint(1, 5)
    s = r.choice(["+", "-"])
    gold = f"{a} {s} {'' if c == 1 else c}\\sqrt{{{b}}}"
    correct = [f"{'' if c == 1 else c}\\sqrt{{{b}}} {s} {a}" if s == "+" else f"-{'' if c == 1 else c}\\sqrt{{{b}}} + {a}",
               f"{a}{s}\\sqrt{{{c * c * b}}}", gold.replace(" ", "")]
    if s == "+" and c == 1 and a * a != b:  # (a² - b) / (a - √b) = a + √b
        d = a * a - b
        correct.append(f"\\frac{{{d}}}{{{a} - \\sqrt{{{b}}}}}")
    wrong = [f"{a} {'-' if s == '+' else '+'} {'' if c == 1 else c}\\sqrt{{{b}}}", f"{a + 1} {s} {'' if c == 1 else c}\\sqrt{{{b}}}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_pi(r):
    f = Fraction(r.randint(1, 12), r.choice([1, 2, 3, 4, 6, 8]))
    p, q = f.numerator, f.denominator
    pc = "" if p == 1 else str(p)
    gold = f"{pc}\\pi" if q == 1 else r.choice([f"\\frac{{{pc}\\pi}}{{{q}}}", f"\\frac{{{p}}}{{{q}}}\\pi"])
    correct = [f"{pc}\\pi" if q == 1 else f"\\frac{{{p}\\pi}}{{{q}}}", f"{pc} \\pi" if q == 1 else f"\\frac{{{p}}}{{{q}}} \\pi",
               f"\\pi \\cdot {p}" if q == 1 else f"{p}\\pi/{q}", f"\\frac{{{2 * p}\\pi}}{{{2 * q}}}"]
    wrong = [f"\\frac{{{p + 1}\\pi}}{{{q}}}", f"{p}" if q == 1 else f"\\frac{{{p}}}{{{q}}}", f"\\frac{{{p}\\pi}}{{{q + 1}}}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_degrees(r):
    n = r.choice([30, 45, 60, 72, 90, 108, 120, 135, 150, 36, 54, 18])
    gold = r.choice([str(n), f"{n}^\\circ"])
    correct = [f"{n}^\\circ", f"{n}^{{\\circ}}", f"{n}", f"{n}\\degree", f"{n}^{{\\circ}}."]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice([f"{n + 10}^\\circ", f"{180 - n}^\\circ" if n != 90 else "45^\\circ"]), False


def g_percent(r):
    n = r.choice([5, 10, 12.5, 20, 25, 30, 40, 50, 60, 75, 80, 150])
    ns = f"{n:g}"
    gold = r.choice([ns, f"{ns}\\%"])
    if r.random() < 0.7:
        return gold, r.choice([f"{ns}\\%", f"{ns}%", ns, f"{ns}\\,\\%"]), True
    return gold, r.choice([f"{n + 5:g}\\%", f"{n * 2:g}%"]), False


def g_scientific(r):
    m = r.choice([1.5, 2, 2.5, 3, 4.2, 6, 7.5])
    e = r.randint(2, 6)
    v = Fraction(str(m)) * 10 ** e
    gold = str(int(v)) if v.denominator == 1 else dec(v)
    ms = f"{m:g}"
    correct = [f"{ms} \\times 10^{{{e}}}", f"{ms}\\times10^{e}" if e < 10 else ms, f"{ms} \\cdot 10^{{{e}}}",
               commas(int(v)) if v.denominator == 1 else gold]
    if r.random() < 0.08:
        correct = [f"{ms}e{e}"]  # scientific notation as plain text (rare in LaTeX answers)
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice([f"{ms} \\times 10^{{{e + 1}}}", f"{ms} \\times 10^{{{e - 1}}}"]), False


def g_equation(r):
    v = r.randint(-20, 40)
    var = r.choice(["x", "x", "y", "n", "k", "a", "t"])
    gold = r.choice([str(v), f"{var} = {v}"])
    if r.random() < 0.7:
        return gold, r.choice([f"{var} = {v}", f"{var}={v}", str(v)]), True
    return gold, r.choice([f"{var} = {v + 1}", f"{var} = {-v if v else 3}"]), False


def g_interval(r):
    a = r.randint(-10, 5)
    b = a + r.randint(1, 10)
    lo, hi = r.choice(["[", "("]), r.choice(["]", ")"])
    kind = r.random()
    if kind < 0.25:
        gold = f"(-\\infty, {b}{hi}"
        lo, a_s = "(", "-\\infty"
    elif kind < 0.5:
        gold = f"{lo}{a}, \\infty)"
        hi, b_s = ")", "\\infty"
    else:
        gold = f"{lo}{a}, {b}{hi}"
    a_s = "-\\infty" if kind < 0.25 else str(a)
    b_s = "\\infty" if 0.25 <= kind < 0.5 else str(b)
    correct = [f"{lo}{a_s},{b_s}{hi}", f"\\left{lo} {a_s}, {b_s} \\right{hi}", f"{lo}{a_s}, {b_s}{hi}"]
    flip = {"[": "(", "(": "["}
    wrong = [f"{lo}{a_s}, {b + 1 if kind >= 0.25 and kind < 0.5 or kind >= 0.5 else b + 1}{hi}"]
    if a_s != "-\\infty":
        wrong.append(f"{flip[lo]}{a_s}, {b_s}{hi}")
    if kind < 0.5 and r.random() < 0.5:  # a union of two rays, written in either order
        c = b + r.randint(2, 5)
        gold = f"(-\\infty, {b}) \\cup ({c}, \\infty)"
        correct = [f"({c}, \\infty) \\cup (-\\infty, {b})", f"(-\\infty,{b})\\cup({c},\\infty)"]
        wrong = [f"(-\\infty, {b}] \\cup ({c}, \\infty)", f"(-\\infty, {c}) \\cup ({b}, \\infty)"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_tuple(r):
    x, y = r.randint(-9, 9), r.randint(-9, 9)
    if x == y:
        y += 1
    fy = Fraction(y, r.choice([1, 1, 2, 3]))
    ys = frac_tex(fy)
    gold = f"({x}, {ys})"
    correct = [f"({x},{ys})", f"\\left( {x}, {ys} \\right)", f"({x}, {dec(fy) if terminating(fy) else ys})"]
    wrong = [f"({ys}, {x})", f"({x}, {frac_tex(fy + 1)})", f"({x + 1}, {ys})"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_roots(r):
    k = r.choice([2, 2, 3])
    roots = r.sample(range(-9, 10), k)
    rs = [str(v) for v in roots]
    gold = r.choice([", ".join(rs), "\\{" + ", ".join(rs) + "\\}"])
    sh = rs[:]
    r.shuffle(sh)
    correct = [", ".join(sh), ",".join(sh), "\\{" + ", ".join(sh) + "\\}"]
    wrong = [", ".join(rs[:-1]), ", ".join(rs[:-1] + [str(roots[-1] + 1)])]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_polynomial(r):
    a, b = r.randint(1, 5), r.randint(-6, 6)
    if b == 0:
        b = 2
    var = r.choice(["x", "x", "t", "n"])
    # (a·var + b)² expanded, and a linear form
    c2, c1, c0 = a * a, 2 * a * b, b * b
    def lin(p, q):
        return f"{'' if p == 1 else p}{var} {'+' if q >= 0 else '-'} {abs(q)}"
    if r.random() < 0.5:
        gold = f"{'' if c2 == 1 else c2}{var}^2 {'+' if c1 >= 0 else '-'} {abs(c1)}{var} + {c0}"
        correct = [f"({lin(a, b)})^2", f"{c0} {'+' if c1 >= 0 else '-'} {abs(c1)}{var} + {'' if c2 == 1 else c2}{var}^2",
                   gold.replace(" ", "")]
        wrong = [f"({lin(a, -b)})^2", gold.replace(f"+ {c0}", f"- {c0}")]
    else:
        gold = lin(a, b)
        correct = [f"{b} + {'' if a == 1 else a}{var}", gold.replace(" ", ""), f"{'' if a == 1 else a}{var}+{b}".replace("+-", "-")]
        wrong = [lin(a, b + 1), lin(a + 1, b)]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_choice(r):
    c = r.choice("ABCDE")
    gold = r.choice([c, f"\\text{{({c})}}", f"({c})", f"\\text{{{c}}}"])
    if r.random() < 0.7:
        return gold, r.choice([f"({c})", f"\\text{{{c}}}", c, f"\\textbf{{{c}}}", f"\\mathrm{{{c}}}"]), True
    o = r.choice([x for x in "ABCDE" if x != c])
    return gold, r.choice([f"({o})", o]), False


def g_units(r):
    n = r.randint(2, 500)
    unit = r.choice(["cm", "inches", "meters", "square units", "units", "feet", "degrees"])
    gold = str(n)
    correct = [f"{n} \\text{{ {unit}}}", f"{n}\\text{{ {unit}}}", f"{n} \\mbox{{ {unit}}}", f"{n}\\text{{ cm}}^2", f"{n} {unit}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, f"{n + r.choice([1, 2, -1])} \\text{{ {unit}}}", False


def g_decimal(r):
    f = Fraction(r.randint(1, 999), r.choice([2, 4, 5, 8, 10, 20, 25, 100]))
    gold = dec(f)
    correct = [dec(f) + "0" if "." in dec(f) else dec(f) + ".0", frac_tex(f), dec(f), "0" + dec(f) if dec(f).startswith(".") else dec(f)]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice([dec(f + Fraction(1, 10)), dec(f * 10)]), False


def g_power(r):
    b, e = r.randint(2, 9), r.randint(2, 6)
    v = b ** e
    gold = str(v)
    if r.random() < 0.7:
        return gold, r.choice([f"{b}^{e}" if e < 10 else str(v), f"{b}^{{{e}}}", commas(v)]), True
    return gold, r.choice([f"{b}^{{{e + 1}}}", str(v + b)]), False


def g_function(r):
    a, b = r.randint(1, 9), r.randint(1, 9)
    t = r.random()
    if t < 0.3:  # a rational function
        gold = f"\\frac{{1}}{{x + {a}}}"
        correct = [f"\\frac{{1}}{{{a} + x}}", f"(x+{a})^{{-1}}", f"\\frac{{2}}{{2x + {2 * a}}}", f"\\dfrac{{1}}{{x+{a}}}"]
        wrong = [f"\\frac{{1}}{{x - {a}}}", f"\\frac{{1}}{{x + {a + 1}}}", f"x + {a}"]
    elif t < 0.5:
        gold = f"\\frac{{x + {a}}}{{x - {b}}}"
        correct = [f"\\frac{{{a} + x}}{{x - {b}}}", f"\\frac{{x+{a}}}{{-{b}+x}}"]
        wrong = [f"\\frac{{x - {a}}}{{x - {b}}}", f"\\frac{{x - {b}}}{{x + {a}}}"]
    elif t < 0.75:  # trigonometric and logarithmic values
        fn = r.choice(["\\sin", "\\cos", "\\tan"])
        gold = f"{a if a > 1 else ''}{fn} x"
        correct = [f"{a if a > 1 else ''}{fn}(x)", f"{a if a > 1 else ''} {fn} x", f"{fn} x \\cdot {a}" if a > 1 else f"{fn}(x)"]
        other = "\\cos" if fn != "\\cos" else "\\sin"
        wrong = [f"{a if a > 1 else ''}{other} x", f"{a + 1}{fn} x"]
    elif t < 0.9:
        gold = f"e^{{{a}x}}"
        correct = [f"e^{{{a} x}}", f"e^{{x \\cdot {a}}}" if a > 1 else "e^{x}"]
        wrong = [f"e^{{{a + 1}x}}", f"e^{{{a}}}"]
    else:  # one value written two ways a verifier must evaluate logarithms to see
        gold = f"{a + 1}\\ln 2"
        correct = [f"\\ln {2 ** (a + 1)}"]
        wrong = [f"\\ln {2 ** (a + 1) + 1}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_relation(r):
    a = r.randint(-9, 9)
    var = r.choice(["x", "x", "t", "a"])
    if r.random() < 0.55:  # an interval written as an inequality
        b = a + r.randint(1, 8)
        t = r.random()
        if t < 0.25:
            gold, correct, wrong = f"({a}, \\infty)", [f"{var} > {a}", f"{a} < {var}"], [f"{var} \\ge {a}", f"{var} > {a + 1}"]
        elif t < 0.5:
            gold, correct, wrong = f"(-\\infty, {a}]", [f"{var} \\le {a}", f"{var} \\leq {a}", f"{a} \\geq {var}"], [f"{var} < {a}", f"{var} \\ge {a}"]
        else:
            gold = f"[{a}, {b})"
            correct = [f"{a} \\le {var} < {b}", f"{a} \\leq {var} < {b}", f"{b} > {var} \\ge {a}"]
            wrong = [f"{a} < {var} < {b}", f"{a} \\le {var} \\le {b}", f"{a} \\le {var} < {b + 1}"]
    else:  # the two roots of a quadratic
        c = r.choice([2, 3, 5, 6, 7, 10])
        k = r.choice([1, 1, 2, 3])
        ks = "" if k == 1 else str(k)
        gold = f"{a} \\pm {ks}\\sqrt{{{c}}}"
        correct = [f"{a} \\pm {ks}\\sqrt {c}" if c < 10 else gold.replace(" ", ""),
                   f"{a} + {ks}\\sqrt{{{c}}}, {a} - {ks}\\sqrt{{{c}}}", f"{a} - {ks}\\sqrt{{{c}}}, {a} + {ks}\\sqrt{{{c}}}",
                   f"{var} = {a} \\pm \\sqrt{{{k * k * c}}}"]
        wrong = [f"{a} + {ks}\\sqrt{{{c}}}", f"{a} \\pm {ks}\\sqrt{{{c + 1}}}", f"{-a if a else 1} \\pm {ks}\\sqrt{{{c}}}"]
    if r.random() < 0.7:
        return gold, r.choice(correct), True
    return gold, r.choice(wrong), False


def g_beyond(r):
    """Answers past the verifier's reading (its known limits, docs/tasks.md), at a small share."""
    t = r.random()
    if t < 0.35:  # a function at a special angle, left unevaluated
        written, val, other = r.choice([("\\sin\\frac{\\pi}{6}", "\\frac{1}{2}", "\\frac{\\sqrt{3}}{2}"),
                                        ("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}", "\\frac{\\sqrt{2}}{2}"),
                                        ("\\tan\\frac{\\pi}{4}", "1", "\\sqrt{3}"), ("\\cos 0", "1", "0"),
                                        ("\\sin\\frac{\\pi}{2}", "1", "-1")])
        if r.random() < 0.7:
            return val, written, True
        return other, written, False
    if t < 0.7:  # a rational function left uncancelled
        a = r.randint(1, 9)
        gold = f"x + {a}"
        if r.random() < 0.7:
            return gold, f"\\frac{{x^2 - {a * a}}}{{x - {a}}}", True
        return gold, f"\\frac{{x^2 - {a * a}}}{{x + {a}}}", False
    e = r.randint(64, 80)  # an integer past 64 bits
    gold = str(2 ** e)
    if r.random() < 0.7:
        return gold, f"2^{{{e}}}", True
    return gold, f"2^{{{e + 1}}}", False


MATH_KINDS = [(g_integer, 12), (g_fraction, 14), (g_radical, 10), (g_radical_sum, 5), (g_pi, 7), (g_degrees, 4),
              (g_percent, 4), (g_scientific, 4), (g_equation, 6), (g_interval, 7), (g_tuple, 5), (g_roots, 5),
              (g_polynomial, 6), (g_choice, 4), (g_units, 4), (g_decimal, 5), (g_power, 3), (g_function, 5), (g_relation, 5), (g_beyond, 1)]

PROSE = ["Let's work through this carefully.", "First, we simplify the expression.", "We can factor the quadratic.",
         "Note that $2 + 3 = 5$ and $4 \\cdot 3 = 12$.", "Substituting back, we get the value.",
         "By the Pythagorean theorem, $3^2 + 4^2 = 5^2$.", "Checking our work, everything is consistent.",
         "Hmm, wait, let me recompute: $7 \\times 8 = 56$.", "So we have two cases to consider."]


def math_response(r, written):
    body = " ".join(r.sample(PROSE, r.randint(1, 3)))
    t = r.random()
    if t < 0.40:
        return f"{body}\n\nTherefore, the answer is $\\boxed{{{written}}}$."
    if t < 0.55:
        return f"{body}\nFinal Answer: The final answer is ${written}$. I hope it is correct."
    if t < 0.70:
        return f"{body}\n\n**Final Answer**\n\\[\n\\boxed{{{written}}}\n\\]"
    if t < 0.82:
        decoy = r.randint(1, 99)
        return f"<think>\n{body} Maybe it is \\boxed{{{decoy}}}? No, let me check.\n</think>\n{body}\n\nThe answer is $\\boxed{{{written}}}$."
    if t < 0.92:
        return f"{body}\n\nThe answer is ${written}$."
    return f"{body} So the final result is \\(\\boxed{{{written}}}\\)."


# ---- GSM8K-style ------------------------------------------------------------------------------------

NAMES = ["Natalia", "Weng", "Betty", "Julie", "James", "Albert", "Mark", "Ken", "Alexis", "Tina"]
ITEMS = [("clips", ""), ("apples", ""), ("dollars", "$"), ("cookies", ""), ("pages", ""), ("miles", ""), ("eggs", "")]


def gsm_written(r, n, money):
    forms = [str(n), commas(n)]
    if money:
        forms += [f"${commas(n)}", f"\\${n}", f"${n}.00", f"{n} dollars"]
    else:
        forms += [f"{n}"]
    return r.choice(forms)


def gsm_pair(r):
    name = r.choice(NAMES)
    item, cur = r.choice(ITEMS)
    a, b = r.randint(2, 90), r.randint(2, 40)
    op = r.choice(["+", "*", "-"])
    n = a + b if op == "+" else a * b if op == "*" else a - b
    if r.random() < 0.12:
        n = n * r.choice([100, 1000, 25])  # thousands separators
    gold = str(n)
    correct = r.random() < 0.65
    v = n if correct else n + r.choice([-10, -2, -1, 1, 2, 5, n]) or n + 3
    written = gsm_written(r, v, cur == "$")
    steps = f"{name} has {a} {item} and gets {b} more per day.\n{a} {op} {b} = {a + b if op == '+' else a * b if op == '*' else a - b}."
    t = r.random()
    if t < 0.35:
        resp = f"{steps}\n#### {written}"
    elif t < 0.55:
        resp = f"{steps}\nThe answer is {written}."
    elif t < 0.70:
        resp = f"{steps}\nSo {name} has {written} {item} in total." if not written.endswith("dollars") else f"{steps}\nSo {name} has {written} in total."
        if any(c.isdigit() for c in item):
            resp += ""
    elif t < 0.82:
        written = written.replace("\\$", "").replace("$", "")
        resp = f"{steps}\nTherefore, the final answer is $\\boxed{{{written}}}$."
    elif t < 0.92:
        resp = f"{steps}\n\n**Answer:** {written}"
    else:
        resp = f"<think>\n{steps}\nWait, maybe {v + 7}? No.\n</think>\nThe answer is: {written} {item}."
        written = f"{written} {item}" if not written.endswith("dollars") else written
    return gold, written, v == n, resp


def main():
    r = random.Random(SEED)
    out = sys.stdout
    rows = []
    for _ in range(N_GSM8K):
        gold, written, intended, resp = gsm_pair(r)
        rows.append({"response": resp, "answer": gold, "written": written, "kind": "gsm8k", "intended": intended})
    kinds = [g for g, w in MATH_KINDS for _ in range(w)]
    for _ in range(N_MATH):
        g = r.choice(kinds)
        gold, written, intended = g(r)
        rows.append({"response": math_response(r, written), "answer": gold, "written": written,
                     "kind": g.__name__[2:], "intended": intended})
    r.shuffle(rows)  # any prefix (the ctest's first 300) mixes every kind
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
