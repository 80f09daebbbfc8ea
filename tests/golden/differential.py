#!/usr/bin/python3
"""Differential test: the reference agrees with PyTorch on cases it has never seen.

Draws fresh random cross-entropy cases (every option, target form and reduction, ties, -inf
masks, large magnitudes, C from 1 to 300, N from 1 to 8), computes PyTorch's float64 probs, loss
and autograd gradient for each, writes them as JSON Lines in the case format
(docs/case-format.md) and runs `xentcheck eval --format json FILE`, which must exit 0 and
report every case as passed.

Logits are finite apart from -inf masks, which never fill a row, and class weights are
positive: the regimes where PyTorch 1.13 and the reference are known to differ (ignored rows
holding NaN, +inf or only -inf; selected weights summing to 0 under mean) are left to the
golden file, where they are recorded case by case.

The seed comes from the clock unless XENTCHECK_DIFF_SEED is set; it is always printed, so a
failure can be replayed with XENTCHECK_DIFF_SEED=<seed>.

Usage:
  differential.py --xentcheck PATH [--cases N]   run the test
  differential.py --write FILE [--cases N]       only write the cases (FILE.json: an object
                                                 {"cases": [...]}; otherwise JSON Lines)
  differential.py --library-test PATH [--cases N]
      check the cases with the reference library directly, through the golden test binary
      (xentcheck_golden_test reads them from XENTCHECK_GOLDEN_FILE): works without the CLI
Exit codes: 0 pass, 1 failure, 2 usage error.
"""

import argparse
import json
import math
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures" / "golden"))
from make_golden import make_case  # noqa: E402  (PyTorch evaluation shared with the fixture)

INF = math.inf


def draw_logits(rng, rows, classes):
    """Logits in one of several regimes, with optional ties and -inf masks."""
    regime = rng.choice(["unit", "wide", "1e4", "1e8", "ties", "dominant"])
    scale = {"unit": 1.0, "wide": 10.0, "1e4": 1e4, "1e8": 1e8, "ties": 1.0, "dominant": 1.0}
    z = [[rng.gauss(0.0, scale[regime]) for _ in range(classes)] for _ in range(rows)]
    if regime == "ties":  # few distinct small integers: exact ties everywhere
        z = [[float(rng.randint(-2, 2)) for _ in range(classes)] for _ in range(rows)]
    elif regime == "dominant":  # one logit far above the rest: p close to 1
        for row in z:
            row[rng.randrange(classes)] += rng.uniform(20.0, 45.0)
    return z, regime


def mask(rng, z, keep):
    """Sets some entries to -inf, never those in keep[i] (a set per row), never a whole row."""
    for i, row in enumerate(z):
        for j in range(len(row)):
            if j not in keep[i] and rng.random() < 0.3:
                row[j] = -INF
        if all(v == -INF for v in row):
            row[min(keep[i]) if keep[i] else 0] = 0.0


def draw_case(rng, k):
    """One random case (a dict in the case format, with PyTorch's values in expect)."""
    classes = rng.choice([1, 2, 3, 5, 10, 37, 100, 300]) if rng.random() < 0.7 else \
        rng.randint(1, 300)
    rows = rng.randint(1, 8)
    unbatched = rows == 1 and rng.random() < 0.3
    z, regime = draw_logits(rng, rows, classes)
    kw = {"reduction": rng.choice(["none", "mean", "sum"])}
    if rng.random() < 0.4:
        kw["weight"] = [rng.uniform(0.1, 3.0) for _ in range(classes)]
    if rng.random() < 0.4:
        kw["label_smoothing"] = rng.choice([0.05, 0.1, 0.3, rng.random(), 1.0])
    probability = rng.random() < 0.35
    masked = rng.random() < 0.25
    if probability:
        form = rng.choice(["simplex", "one-hot", "sparse", "unnormalised"])
        target = []
        for _ in range(rows):
            if form == "one-hot":
                y = [0.0] * classes
                y[rng.randrange(classes)] = 1.0
            elif form == "unnormalised":  # PyTorch accepts any finite entries
                y = [rng.uniform(-0.5, 2.0) for _ in range(classes)]
            else:
                y = [rng.expovariate(1.0) for _ in range(classes)]
                if form == "sparse":
                    y = [v if rng.random() < 0.5 else 0.0 for v in y]
                total = sum(y) or 1.0
                y = [v / total for v in y]
            target.append(y)
        if masked:  # a -inf logit only where the target puts mass, so the loss stays defined
            mask(rng, z, [{j for j, v in enumerate(y) if v != 0.0} or {0} for y in target])
        if rng.random() < 0.2:
            kw["ignore_index"] = -1  # accepted and ignored for probability targets
    else:
        form = "index"
        target = [rng.randrange(classes) for _ in range(rows)]
        if rng.random() < 0.3 and classes > 1:
            kw["ignore_index"] = rng.randrange(classes)  # an in-range custom ignore_index
        ignored = kw.get("ignore_index", -100)
        for i in range(rows):
            if rng.random() < 0.2:
                target[i] = ignored
        if masked:
            mask(rng, z, [{t} if t != ignored else set(range(classes)) for t in target])
    if unbatched:
        z, target = z[0], target[0]
    name = f"diff #{k}: N={rows} C={classes} {regime} {form}" + (" masked" if masked else "")
    return make_case(name, "differential test case", z, target, **kw)


def draw_cases(seed, count):
    rng = random.Random(seed)
    return [draw_case(rng, k) for k in range(count)]


def verdicts(report, names):
    """Maps each case name found in the CLI's JSON report to its verdict ("pass" or other)."""
    found = {}

    def walk(node):
        if isinstance(node, list):
            for v in node:
                walk(v)
            return
        if not isinstance(node, dict):
            return
        name = node.get("name")
        if isinstance(name, str) and name in names and name not in found:
            for key in ("status", "verdict", "result", "outcome"):
                if isinstance(node.get(key), str):
                    found[name] = node[key].lower()
                    break
            else:
                for key in ("passed", "pass", "ok"):
                    if isinstance(node.get(key), bool):
                        found[name] = "pass" if node[key] else "fail"
                        break
        for v in node.values():
            walk(v)

    walk(report)
    return found


def parse_report(text):
    """The CLI's JSON output: one document, or JSON Lines."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(xentcheck, cases):
    names = [c["name"] for c in cases]
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "differential.jsonl"
        write_cases(cases, path)
        proc = subprocess.run([xentcheck, "eval", "--format", "json", str(path)],
                              capture_output=True, text=True, timeout=240)
    try:
        report = parse_report(proc.stdout)
    except json.JSONDecodeError as e:
        print(f"FAIL: xentcheck eval printed no JSON ({e}); exit {proc.returncode}\n"
              f"stdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[:2000]}")
        return 1
    found = verdicts(report, set(names))
    bad = [n for n in names if found.get(n) not in ("pass", "passed", "ok")]
    if proc.returncode == 0 and not bad:
        print(f"PASS: all {len(cases)} cases agree with PyTorch")
        return 0
    print(f"FAIL: xentcheck eval exited {proc.returncode}; {len(bad)} of {len(cases)} cases "
          f"not reported as passed")
    if not found:
        print("(no per-case results with these names were found in the JSON output)")
        print(proc.stdout[:2000])
    records = {}
    for node in report if isinstance(report, list) else [report]:
        collect = [node]
        while collect:
            n = collect.pop()
            if isinstance(n, dict):
                if n.get("name") in found:
                    records.setdefault(n["name"], n)
                collect.extend(n.values())
            elif isinstance(n, list):
                collect.extend(n)
    for case in cases:
        if case["name"] in bad:
            print(f"\n--- {case['name']}: {found.get(case['name'], 'no result')}")
            print("case:", json.dumps(case, allow_nan=False)[:4000])
            if case["name"] in records:
                print("xentcheck:", json.dumps(records[case["name"]])[:4000])
    if proc.stderr:
        print("stderr:", proc.stderr[:4000])
    return 1


def write_cases(cases, out):
    """FILE.json: an object {"cases": [...]}; any other name: JSON Lines."""
    lines = [json.dumps(c, allow_nan=False) for c in cases]
    if out.suffix == ".json":
        out.write_text('{"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    else:
        out.write_text("".join(line + "\n" for line in lines))


def run_library_test(golden_test, cases):
    """Runs the golden test binary's per-case comparison on these cases."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "differential.json"
        write_cases(cases, path)
        env = dict(os.environ, XENTCHECK_GOLDEN_FILE=str(path))
        proc = subprocess.run([golden_test, "--gtest_filter=PyTorch/*", "--gtest_brief=1"],
                              env=env, capture_output=True, text=True, timeout=240)
    print(proc.stdout[-20000:], proc.stderr[-4000:], sep="")
    print(("PASS" if proc.returncode == 0 else "FAIL") + f": {len(cases)} cases, reference "
          "library against PyTorch")
    return 0 if proc.returncode == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xentcheck", help="path of the xentcheck executable")
    parser.add_argument("--write", help="only write the cases to this file")
    parser.add_argument("--library-test", help="path of xentcheck_golden_test")
    parser.add_argument("--cases", type=int, default=200, help="how many cases (default 200)")
    args = parser.parse_args()
    if [args.xentcheck, args.write, args.library_test].count(None) != 2:
        parser.error("give one of --xentcheck PATH, --write FILE, --library-test PATH")
    env_seed = os.environ.get("XENTCHECK_DIFF_SEED")
    seed = int(env_seed) if env_seed else time.time_ns() % 2**32
    print(f"differential: seed {seed} (replay with XENTCHECK_DIFF_SEED={seed}), "
          f"{args.cases} cases", flush=True)
    cases = draw_cases(seed, args.cases)
    if args.write:
        write_cases(cases, pathlib.Path(args.write))
        print(f"wrote {len(cases)} cases to {args.write}")
        return 0
    if args.library_test:
        return run_library_test(args.library_test, cases)
    return run(args.xentcheck, cases)


if __name__ == "__main__":
    sys.exit(main())
