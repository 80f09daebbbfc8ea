#!/usr/bin/python3
"""bench/make_eval_input.py: deterministic JSON Lines case files for the eval throughput benchmark.

Each line is one case of the case format (docs/case-format.md): `rows` x `classes` logits drawn
uniformly from [-4, 4), class-index targets, and `expect` values (probs, loss, grad) computed in
float64 with the usual stable formulas, so that every check of `xentcheck eval` runs and passes.
Numbers are written in Python's shortest round-trip form, as json.dumps writes them.

    /usr/bin/python3 bench/make_eval_input.py --cases 100000 out.jsonl
    /usr/bin/python3 bench/make_eval_input.py --megabytes 200 big.jsonl
    /usr/bin/python3 bench/make_eval_input.py --cases 1 --rows 8 --classes 128000 --no-expect vocab.json

The same arguments always give the same bytes (NumPy's PCG64 uniform stream, seeded).
"""

import argparse
import sys

import numpy as np


def case_lines(rng, count, rows, classes, expect=True):
    """`count` cases as JSON text lines (without the newline); without `expect`, only logits
    and targets."""
    z = rng.random((count, rows, classes)) * 8.0 - 4.0
    t = rng.integers(0, classes, size=(count, rows))
    m = z.max(axis=2, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=2, keepdims=True)
    p = e / s
    log_p = (z - m) - np.log(s)
    picked = np.take_along_axis(log_p, t[:, :, None], axis=2)[:, :, 0]
    loss = -picked.mean(axis=1)  # reduction "mean", no weights: the divisor is the row count
    onehot = np.zeros_like(z)
    np.put_along_axis(onehot, t[:, :, None], 1.0, axis=2)
    grad = (p - onehot) / rows
    fmt_row = lambda v: "[" + ",".join(repr(float(x)) for x in v) + "]"
    for k in range(count):
        if rows == 1:
            logits, probs, g = fmt_row(z[k, 0]), fmt_row(p[k, 0]), fmt_row(grad[k, 0])
            target = str(int(t[k, 0]))
        else:
            logits = "[" + ",".join(fmt_row(r) for r in z[k]) + "]"
            probs = "[" + ",".join(fmt_row(r) for r in p[k]) + "]"
            g = "[" + ",".join(fmt_row(r) for r in grad[k]) + "]"
            target = "[" + ",".join(str(int(x)) for x in t[k]) + "]"
        if not expect:
            yield f'{{"logits":{logits},"target":{target}}}'
            continue
        yield (
            f'{{"logits":{logits},"target":{target},'
            f'"expect":{{"probs":{probs},"loss":{repr(float(loss[k]))},"grad":{g}}}}}'
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", help="the .jsonl file to write")
    size = ap.add_mutually_exclusive_group(required=True)
    size.add_argument("--cases", type=int, help="number of cases")
    size.add_argument("--megabytes", type=float, help="write cases until the file has this size (10^6 bytes)")
    ap.add_argument("--rows", type=int, default=1, help="rows per case (1: 1-D logits)")
    ap.add_argument("--classes", type=int, default=3, help="classes per row")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--no-expect", action="store_true",
                    help="logits and targets only (a case for check --cases)")
    args = ap.parse_args()
    if args.rows < 1 or args.classes < 1:
        sys.exit("rows and classes must be >= 1")
    rng = np.random.default_rng(args.seed)
    limit_bytes = None if args.megabytes is None else int(args.megabytes * 1e6)
    written_cases = written_bytes = 0
    chunk = 10000
    with open(args.output, "w", encoding="ascii", newline="\n") as out:
        while True:
            n = chunk if args.cases is None else min(chunk, args.cases - written_cases)
            if n <= 0:
                break
            for line in case_lines(rng, n, args.rows, args.classes, not args.no_expect):
                if limit_bytes is not None and written_bytes + len(line) + 1 > limit_bytes:
                    n = 0
                    break
                out.write(line)
                out.write("\n")
                written_bytes += len(line) + 1
                written_cases += 1
            if n == 0:
                break
    print(f"{args.output}: {written_cases} cases, {written_bytes} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
