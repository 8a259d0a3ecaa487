#!/usr/bin/env python3
"""code_exec.py — a fluxrl reward server (reward.outcome = command) for programming problems: it runs the
program in a response on the problem's test cases, each in a subprocess with a time and a memory limit,
and rewards the fraction of tests passed. JSON lines on stdin/stdout (docs/protocol.md, docs/rewards.md).

The tests come with the dataset line (its other fields reach the program as the request's "meta"):
    {"question": "Read two integers, print their sum.", "answer": "",
     "tests": [{"input": "1 2\\n", "output": "3"}, {"input": "5 -5\\n", "output": "0"}]}
The program is the last ```python fenced block of the text after </think>, else that whole text.

Usage:  --set reward.outcome=command --set reward.workers=2 \\
        --set reward.command="python3 examples/rewards/code_exec.py --time-limit 2 --memory-mb 256"

Each test runs `python3 -I -S program.py` in a fresh temporary folder, in a session of its own, with
RLIMIT_CPU = the time limit, RLIMIT_AS = the memory limit, a 1 MB file-size limit and no core dumps;
the wall clock is limited to twice the time limit, and the whole session is killed after it.
Result: {"id", "reward": passed / tests, "info": {"passed", "tests", "status"}}; status is "ok", "wrong",
"time limit", "memory limit", "error" (the first failing test's) or "no tests" (reward 0).
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile

FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def program_of(response):
    text = response.rsplit("</think>", 1)[-1]
    blocks = FENCE.findall(text)
    return blocks[-1] if blocks else text


def limits(seconds, memory_mb):
    def apply():
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_test(path, folder, test, args):
    try:
        p = subprocess.Popen([sys.executable, "-I", "-S", path], cwd=folder, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                             preexec_fn=limits(args.time_limit, args.memory_mb))
    except OSError as e:
        return "error: " + str(e)
    try:
        out, err = p.communicate(test.get("input", "").encode(), timeout=2 * args.time_limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return "time limit"
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # anything it left running
        except ProcessLookupError:
            pass
    if p.returncode == -signal.SIGXCPU or p.returncode == -signal.SIGKILL:
        return "time limit"
    if p.returncode != 0:
        return "memory limit" if b"MemoryError" in err else "error"
    want = str(test.get("output", "")).split()
    return "ok" if out.decode(errors="replace").split() == want else "wrong"


def score(req, args):
    tests = (req.get("meta") or {}).get("tests") or []
    if not tests:
        return {"id": req["id"], "reward": 0.0, "info": {"passed": 0, "tests": 0, "status": "no tests"}}
    passed, status = 0, "ok"
    with tempfile.TemporaryDirectory(prefix="fluxrl-code-") as folder:
        path = os.path.join(folder, "program.py")
        with open(path, "w") as f:
            f.write(program_of(req["response"]))
        for t in tests:
            s = run_test(path, folder, t, args)
            passed += s == "ok"
            if s != "ok" and status == "ok":
                status = s
    return {"id": req["id"], "reward": passed / len(tests),
            "info": {"passed": passed, "tests": len(tests), "status": status}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=int, default=2, help="CPU seconds per test (wall: twice that)")
    ap.add_argument("--memory-mb", type=int, default=256, help="address-space limit per test")
    args = ap.parse_args()
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(score(json.loads(line), args)) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
