"""results_section.py — what the evidence scripts under bench/ share when they write their section
of docs/results.md (imported by their inline Python, with bench/ on sys.path)."""
import re
import sys


def machine():
    """This machine's CPU as docs/results.md names it: the model name, and AVX-512 when it has it."""
    info = open("/proc/cpuinfo").read()
    cpu = re.search(r"model name\s*:\s*(.*)", info).group(1).strip()
    # A VM's model name may be as bare as "AMD EPYC": family and model tell the generation apart
    # (OpenBLAS picks its kernels by them, so numbers are reproducible only on the same pair).
    fam, mod = re.search(r"cpu family\s*:\s*(\d+)", info), re.search(r"\nmodel\s*:\s*(\d+)", info)
    if fam and mod: cpu += f" (family {fam.group(1)}, model {mod.group(1)})"
    return cpu + (" with AVX-512" if " avx512f" in info else "")


def write_between(tag, script, body, path):
    """Puts body between the markers <!-- TAG: written by SCRIPT --> and <!-- /TAG --> of path, which
    must be there (the text around them is the reader's, not the script's); exits naming them if not."""
    doc = open(path).read()
    a, b = f"<!-- {tag}: written by {script} -->", f"<!-- /{tag} -->"
    if a not in doc or b not in doc:
        sys.exit(f"{path}: the markers {a} and {b} are missing; put them where the table goes")
    open(path, "w").write(doc[:doc.index(a) + len(a)] + f"\n{body}\n" + doc[doc.index(b):])
    print(f"(written to {path})", file=sys.stderr)


def write_section(tag, section, path="docs/results.md"):
    """Replaces the section between <!-- TAG: ... --> and <!-- /TAG --> in path (section includes both
    markers), or appends it when the file has none."""
    text = open(path).read()
    pat = re.compile(r"<!-- %s:.*?<!-- /%s -->\n" % (re.escape(tag), re.escape(tag)), re.S)
    text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
    open(path, "w").write(text)


def evidence_args():
    """The arguments an evidence script passes its summary: OUT_DIR STEPS SEEDS CORES MINUTES, with
    the machine's name: (out, steps, seeds, cores, minutes, cpu)."""
    out, steps, seeds, cores, minutes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    return out, steps, seeds, cores, minutes, machine()
