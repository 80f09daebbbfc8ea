#!/usr/bin/python3
"""torch_accuracy.py: PyTorch's float64 accuracy against the xentcheck oracle.

Reads a dump written by `xentcheck_accuracy --dump FILE` (the cases, their correctly rounded
oracle values and the reference's outputs; format in docs/accuracy.md), runs torch.softmax and
F.cross_entropy (forward and autograd backward) in float64 on every case, and prints the same
table as xentcheck_accuracy, computed the same way; then the reference's table recomputed from
the dump (a check that both programs measure alike) and a paired comparison on the same values:
  ulp error           |computed - true| / ulp(nearest), true = nearest + residual
  magnitude ulp error |computed - true| / ulp(magnitude), magnitude from the dump
with (computed - nearest) - residual evaluated in long double, NaN/inf matched exactly (a
disagreement is counted as non-finite, not in the maximum), and ratios capped at DBL_MAX.

Usage: torch_accuracy.py DUMP   (exit 2 on a malformed dump)
"""

import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

REDUCTIONS = ("none", "mean", "sum")
COLUMNS = ("probs ulp", "loss ulp", "loss mag-ulp", "grad ulp", "grad* ulp", "grad mag-ulp")
RECORD = struct.Struct("<QIIIBBBBqd")  # case id, regime, rows, classes, flags, ignore, eps
DBL_MAX = np.finfo(np.float64).max


class DumpError(Exception):
    """A malformed dump: names the file, the case and the field."""


class Column:
    """The largest finite error of one column and the count of non-finite disagreements."""

    def __init__(self):
        self.max = 0.0
        self.worst = 0
        self.values = 0
        self.nonfinite = 0

    def add(self, errors, case_id):
        if errors.size == 0:
            return
        self.values += errors.size
        infinite = np.isinf(errors)
        self.nonfinite += int(infinite.sum())
        finite = errors[~infinite]
        if finite.size and float(finite.max()) > self.max:
            self.max = float(finite.max())
            self.worst = case_id


def errors_against(computed, nearest, residual, denominator):
    """|computed - (nearest + residual)| / denominator, element-wise, with NaN/inf rules."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = computed.astype(np.longdouble)
        n = nearest.astype(np.longdouble)
        diff = np.abs((c - n) - residual.astype(np.longdouble))
        err = diff / denominator.astype(np.longdouble)
    err = np.minimum(err, DBL_MAX).astype(np.float64)
    true_nan = np.isnan(nearest)
    true_inf = np.isinf(nearest)
    err = np.where(true_nan, np.where(np.isnan(computed), 0.0, np.inf), err)
    err = np.where(true_inf, np.where(computed == nearest, 0.0, np.inf), err)
    err = np.where(np.isfinite(nearest) & ~np.isfinite(computed), np.inf, err)
    return err


def ulp(x):
    """Spacing of doubles at |x| (2^-1074 at 0 and for subnormals); 1 where x is not finite."""
    a = np.abs(np.where(np.isfinite(x), x, 1.0))
    return np.spacing(a)


def magnitude_ulp(m, nearest):
    """ulp(max(m, |nearest|)), |nearest| alone where m is not finite: as oracle::magnitude_error."""
    a = np.abs(np.where(np.isfinite(nearest), nearest, 0.0))
    return ulp(np.where(np.isfinite(m), np.maximum(m, a), a))


def read_array(f, path, case_id, field, dtype, count):
    size = np.dtype(dtype).itemsize * count
    data = f.read(size)
    if len(data) != size:
        raise DumpError(f"{path}: case {case_id}: {field}: truncated record")
    return np.frombuffer(data, dtype=dtype)


def read_cases(path):
    """Yields (header, case dict) for every record of the dump."""
    with open(path, "rb") as f:
        try:
            header = json.loads(f.readline())
        except (ValueError, UnicodeDecodeError) as e:
            raise DumpError(f"{path}: header: not a JSON line ({e})") from None
        if not isinstance(header, dict) or header.get("format") != "xentcheck-accuracy-dump":
            raise DumpError(f"{path}: header: format is not xentcheck-accuracy-dump")
        if header.get("version") != 2:
            raise DumpError(f"{path}: header: version {header.get('version')} is not 2")
        regimes = header.get("regimes", [])
        index = 0
        while True:
            head = f.read(RECORD.size)
            if not head:
                return
            if len(head) != RECORD.size:
                raise DumpError(f"{path}: case #{index}: record header: truncated")
            (case_id, regime, rows, classes, index_form, red, has_weight, _, ignore_index,
             eps) = RECORD.unpack(head)
            if regime >= len(regimes):
                raise DumpError(f"{path}: case {case_id}: regime: {regime} out of range")
            if red >= len(REDUCTIONS):
                raise DumpError(f"{path}: case {case_id}: reduction: {red} out of range")
            if rows == 0 or classes == 0:
                raise DumpError(f"{path}: case {case_id}: shape: {rows} x {classes}")
            n = rows * classes
            losses = rows if red == 0 else 1
            c = {"id": case_id, "regime": regimes[regime], "rows": rows, "classes": classes,
                 "index_form": bool(index_form), "reduction": REDUCTIONS[red],
                 "ignore_index": ignore_index, "label_smoothing": eps}
            rd = lambda field, dtype, count: read_array(f, path, case_id, field, dtype, count)
            c["logits"] = rd("logits", "<f8", n)
            c["target"] = rd("target", "<i8", rows) if index_form else rd("target", "<f8", n)
            c["weight"] = rd("weight", "<f8", classes) if has_weight else None
            for field, count in (("probs", n), ("probs_residual", n), ("loss", losses),
                                 ("loss_residual", losses), ("loss_magnitude", losses),
                                 ("grad", n), ("grad_residual", n), ("grad_magnitude", n),
                                 ("ref_probs", n), ("ref_loss", losses), ("ref_grad", n)):
                c[field] = rd(field, "<f8", count)
            index += 1
            yield header, c


def torch_outputs(c):
    """PyTorch's float64 softmax, loss and gradient (of the sum of row losses for none)."""
    rows, classes = c["rows"], c["classes"]
    z = torch.tensor(c["logits"].reshape(rows, classes), dtype=torch.float64, requires_grad=True)
    probs = torch.softmax(z.detach(), dim=1)
    if c["index_form"]:
        target = torch.tensor(c["target"], dtype=torch.int64)
    else:
        target = torch.tensor(c["target"].reshape(rows, classes), dtype=torch.float64)
    weight = None if c["weight"] is None else torch.tensor(c["weight"], dtype=torch.float64)
    loss = F.cross_entropy(z, target, weight=weight, ignore_index=int(c["ignore_index"]),
                           reduction=c["reduction"], label_smoothing=float(c["label_smoothing"]))
    (loss.sum() if c["reduction"] == "none" else loss).backward()
    return (probs.numpy().reshape(-1), loss.detach().numpy().reshape(-1),
            z.grad.numpy().reshape(-1))


def column_errors(c, probs, loss, grad):
    """The error arrays of one case's outputs, one per column (grad* is a subset of grad)."""
    g = errors_against(grad, c["grad"], c["grad_residual"], ulp(c["grad"]))
    if c["index_form"] and c["label_smoothing"] == 0:
        single = g[np.repeat(c["target"] != c["ignore_index"], c["classes"])]
    else:
        single = g[:0]
    return [
        errors_against(probs, c["probs"], c["probs_residual"], ulp(c["probs"])),
        errors_against(loss, c["loss"], c["loss_residual"], ulp(c["loss"])),
        errors_against(loss, c["loss"], c["loss_residual"],
                       magnitude_ulp(c["loss_magnitude"], c["loss"])),
        g,
        single,
        errors_against(grad, c["grad"], c["grad_residual"],
                       magnitude_ulp(c["grad_magnitude"], c["grad"])),
    ]


class Paired:
    """Reference against PyTorch on the same values: mean errors, and how often each is worse
    by more than half an ulp (values where both agreed with the oracle on finiteness)."""

    def __init__(self):
        self.count = 0
        self.ref_sum = 0.0
        self.torch_sum = 0.0
        self.ref_worse = 0
        self.torch_worse = 0

    def add(self, ref, other):
        both = np.isfinite(ref) & np.isfinite(other)
        r, t = ref[both], other[both]
        self.count += r.size
        self.ref_sum += float(r.sum())
        self.torch_sum += float(t.sum())
        self.ref_worse += int((r > t + 0.5).sum())
        self.torch_worse += int((t > r + 0.5).sum())


def new_stats():
    return {"cases": 0, "columns": [Column() for _ in COLUMNS]}


def measure(c, torch_values, stats, ref_stats, paired):
    ref_values = (c["ref_probs"], c["ref_loss"], c["ref_grad"])
    ours = column_errors(c, *torch_values)
    theirs = column_errors(c, *ref_values)
    for target, errors in ((stats, ours), (ref_stats, theirs)):
        target["cases"] += 1
        for column, e in zip(target["columns"], errors):
            column.add(e, c["id"])
    for p, r, t in zip(paired, theirs, ours):
        p.add(r, t)


def cell(column):
    text = f"{column.max:.3g}"
    if column.nonfinite:
        text += f" ({column.nonfinite} nf)"
    return text


def print_paired(regimes, paired):
    print("| regime | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name in regimes + ["**all**"]:
        cells = []
        for p in paired[name]:
            if p.count == 0:
                cells.append("-")
                continue
            cells.append(f"{p.ref_sum / p.count:.3g} / {p.torch_sum / p.count:.3g} "
                         f"({100 * p.ref_worse / p.count:.2g}% / "
                         f"{100 * p.torch_worse / p.count:.2g}%)")
        print(f"| {name} | " + " | ".join(cells) + " |")


def print_tables(regimes, stats):
    print("| regime | cases | " + " | ".join(COLUMNS) + " |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    total = {"cases": 0, "columns": [Column() for _ in COLUMNS]}
    for name in regimes:
        s = stats[name]
        print(f"| {name} | {s['cases']} | " + " | ".join(cell(c) for c in s["columns"]) + " |")
        total["cases"] += s["cases"]
        for a, b in zip(total["columns"], s["columns"]):
            a.values += b.values
            a.nonfinite += b.nonfinite
            if b.max > a.max:
                a.max, a.worst = b.max, b.worst
    print(f"| **all** | {total['cases']} | " + " | ".join(cell(c) for c in total["columns"])
          + " |")
    print("\nCase ids of each maximum:\n")
    print("| regime | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name in regimes:
        ids = [f"#{c.worst}" if c.max > 0 else "-" for c in stats[name]["columns"]]
        print(f"| {name} | " + " | ".join(ids) + " |")


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 2
    path = argv[1]
    torch.set_num_threads(1)  # one reduction order, and frugal on a shared machine
    start = time.monotonic()
    regimes, stats, ref_stats, paired, header = [], {}, {}, {}, None
    try:
        for header, c in read_cases(path):
            if not regimes:
                regimes = header["regimes"]
                stats = {r: new_stats() for r in regimes}
                ref_stats = {r: new_stats() for r in regimes}
                paired = {r: [Paired() for _ in COLUMNS] for r in regimes + ["**all**"]}
            r = c["regime"]
            measure(c, torch_outputs(c), stats[r], ref_stats[r], paired[r])
    except OSError as e:
        print(f"torch_accuracy.py: {path}: {e.strerror}", file=sys.stderr)
        return 2
    except DumpError as e:
        print(f"torch_accuracy.py: {e}", file=sys.stderr)
        return 2
    if header is None:
        print(f"torch_accuracy.py: {path}: no cases", file=sys.stderr)
        return 2
    for name in regimes:  # the "all" row of the paired table
        for a, b in zip(paired["**all**"], paired[name]):
            for field in ("count", "ref_sum", "torch_sum", "ref_worse", "torch_worse"):
                setattr(a, field, getattr(a, field) + getattr(b, field))
    cases = sum(s["cases"] for s in stats.values())
    print(f"## PyTorch {torch.__version__} float64 against the oracle ({cases} cases, seed "
          f"{header.get('seed')})\n")
    print_tables(regimes, stats)
    print("\n## xentcheck::cross_entropy<double> from the same dump, measured here (must equal "
          "xentcheck_accuracy's table)\n")
    print_tables(regimes, ref_stats)
    print("\n## Paired: mean error, reference / PyTorch (share of values where the reference / "
          "PyTorch is worse by more than 0.5)\n")
    print_paired(regimes, paired)
    print(f"\nelapsed: {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
