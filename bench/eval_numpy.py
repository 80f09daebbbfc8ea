#!/usr/bin/python3
"""bench/eval_numpy.py: the Python equivalent of `xentcheck eval --format json`, vectorised with NumPy.

The comparison point of bench/eval_throughput.sh: it reads the same JSON Lines file (json.loads per
line, the C-accelerated standard parser), groups cases of one shape and evaluates each group with
array operations across cases: the reference softmax, loss and gradient in long double (np.longdouble,
80-bit on x86-64 as xentcheck's), the tolerance model of docs/tolerances.md, the reference checks
(probs in [0, 1], rows summing to 1, gradient rows summing to 0, loss >= its floor, central
differences of the long double loss with xentcheck's step and error bound) and the `expect`
comparisons (probs, loss, grad with the gradient magnitudes, and the invariants of the given values).
It writes the report of docs/eval.md (same structure, checks, counts and tolerances; numbers in
Python's shortest repr) and exits 0, 1 or 2 like xentcheck.

Scope: class-index targets without weights, label smoothing or ignored rows, logits input, finite
values (what bench/make_eval_input.py writes); anything else is reported as unsupported (exit 2).

    /usr/bin/python3 bench/eval_numpy.py cases.jsonl > report.json
"""

import json
import math
import sys

import numpy as np

LD = np.longdouble
U64 = 2.0**-53
ULD = float(np.finfo(np.longdouble).eps) / 2  # 2^-64 on x86-64
SAFETY = 8.0
CHUNK = 20000  # cases read and evaluated together: memory stays flat in the file's size
KNOWN = {"name", "note", "logits", "target", "reduction", "dtype", "expect"}


def num(x):
    if x != x:
        return '"nan"'
    if x == math.inf:
        return '"inf"'
    if x == -math.inf:
        return '"-inf"'
    return repr(x)


class Check:
    """One check over a group: per-case arrays of the outcome, built from element arrays."""

    def __init__(self, name, expected, actual, allowed, ok, atol, rtol, per_class):
        k = expected.shape[0]
        e = expected.reshape(k, -1)
        a = actual.reshape(k, -1)
        allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), expected.shape).reshape(k, -1)
        ok = ok.reshape(k, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            both_nan = np.isnan(e) & np.isnan(a)
            finite = np.isfinite(e) & np.isfinite(a)
            abs_err = np.where(both_nan | (e == a), 0.0, np.where(finite, np.abs(a - e), np.inf))
            rel_err = np.where(abs_err == 0, 0.0, np.where(e != 0, abs_err / np.abs(e), np.inf))
            severity = np.where(ok, abs_err / np.maximum(allowed, 1e-300), np.inf)
        severity = np.nan_to_num(severity, nan=0.0, posinf=np.inf)
        self.name, self.per_class = name, per_class
        self.columns = expected.shape[-1] if per_class else 1
        self.checked = e.shape[1]
        self.violations = (~ok).sum(axis=1).tolist()
        self.max_abs = abs_err.max(axis=1).tolist()
        self.max_rel = rel_err.max(axis=1).tolist()
        self.worst = severity.argmax(axis=1).tolist()
        self.atol, self.rtol = atol.tolist(), rtol.tolist()
        self.arrays = (e, a, abs_err, rel_err, allowed, ok)

    def where(self, index):
        if self.per_class:
            return f'"row {index // self.columns}, class {index % self.columns}"'
        return f'"row {index}"'

    def text(self, c):
        v = self.violations[c]
        findings = ""
        if v:
            e, a, abs_err, rel_err, allowed, ok = self.arrays
            bad = np.flatnonzero(~ok[c])[:8]
            findings = ",".join(
                f'{{"where":{self.where(int(i))},"expected":{num(float(e[c, i]))},"actual":'
                f'{num(float(a[c, i]))},"abs_error":{num(float(abs_err[c, i]))},"rel_error":'
                f'{num(float(rel_err[c, i]))},"allowed":{num(float(allowed[c, i]))}}}'
                for i in bad)
        return (f'{{"name":"{self.name}","status":"{"fail" if v else "pass"}","checked":'
                f'{self.checked},"violations":{v},"max_abs_error":{num(self.max_abs[c])},'
                f'"max_rel_error":{num(self.max_rel[c])},"tolerance":{{"atol":{num(self.atol[c])},'
                f'"rtol":{num(self.rtol[c])}}},"where":{self.where(self.worst[c])},'
                f'"findings":[{findings}]}}')


def per_case(x, k):
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (k,))


def compare(name, ref, got, atol, rtol, magnitude=None):
    k = ref.shape[0]
    shape = (k,) + (1,) * (ref.ndim - 1)
    mag = np.abs(ref) if magnitude is None else magnitude
    allowed = atol.reshape(shape) + rtol.reshape(shape) * mag
    with np.errstate(invalid="ignore"):
        ok = (got == ref) | (np.isfinite(ref) & np.isfinite(got) & (np.abs(got - ref) <= allowed))
        ok |= np.isnan(ref) & np.isnan(got)
    return Check(name, ref, got, allowed, ok, atol, rtol, ref.ndim > 2 or (ref.ndim == 2 and name != "expect.loss"))


def row_sums(name, values, target, atol):
    k = values.shape[0]
    sums = values.sum(axis=2)
    expected = np.full_like(sums, target)
    allowed = np.broadcast_to(atol.reshape(k, 1), sums.shape)
    ok = np.abs(sums - expected) <= allowed
    return Check(name, expected, sums, allowed, ok, atol, np.zeros(k), False)


def unit_interval(name, p, atol, rtol):
    k = p.shape[0]
    nearest = np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
    allowed = np.broadcast_to((atol + rtol).reshape(k, 1, 1), p.shape)
    ok = ~np.isnan(p) & (np.abs(p - nearest) <= allowed)
    return Check(name, nearest, p, allowed, ok, atol, rtol, True)


def row_losses(z, t):
    """Long double loss of each row: logsumexp(z) - z_t."""
    m = z.max(axis=-1, keepdims=True)
    s = np.exp(z - m).sum(axis=-1)
    return m[..., 0] + np.log(s) - np.take_along_axis(z, t[..., None], axis=-1)[..., 0]


def evaluate_group(cases):
    """Evaluates cases of one shape and option set; returns each case's report entry text."""
    k = len(cases)
    first = cases[0]
    batched, reduction = first["batched"], first["reduction"]
    z = np.array([c["logits"] for c in cases], dtype=np.float64).reshape(k, -1, first["classes"])
    n, c_ = z.shape[1], z.shape[2]
    t = np.array([c["target"] for c in cases], dtype=np.int64).reshape(k, n)
    onehot = np.zeros_like(z)
    np.put_along_axis(onehot, t[..., None], 1.0, axis=2)
    s = 1.0 / n if reduction == "mean" else 1.0

    # The reference in long double, rounded to double.
    zl = z.astype(LD)
    m = zl.max(axis=2, keepdims=True)
    e = np.exp(zl - m)
    pl = e / e.sum(axis=2, keepdims=True)
    rl = row_losses(zl, t)
    probs = pl.astype(np.float64)
    grad = (LD(s) * (pl - onehot)).astype(np.float64)
    loss = (rl if reduction == "none" else LD(s) * rl.sum(axis=1, keepdims=True)).astype(np.float64)

    # The float64 tolerance model (no weights: every row has target mass 1).
    big_m = np.where(np.isfinite(z), np.abs(z), 0).reshape(k, -1).max(axis=1)
    r = 2 * big_m + math.log(c_) + 1
    loss_scale = {"mean": 1.0, "sum": float(n), "none": 1.0}[reduction]
    grad_scale = s

    def model(u):
        p = (np.full(k, SAFETY * u * u), SAFETY * u * (r + c_ + 2))
        lo = (SAFETY * u * (r + c_ + 2) * loss_scale, np.full(k, SAFETY * u * (c_ + n + 2)))
        g = (np.full(k, SAFETY * u * u * grad_scale), SAFETY * u * (r + c_ + n + 4))
        return p, lo, g

    (pa, pr), (la, lr), (ga, gr) = model(U64)
    probs_row = pr + c_ * pa
    grad_row = 2 * gr * grad_scale + c_ * ga
    zeros = np.zeros(k)
    checks = [
        unit_interval("probs_in_unit_interval", probs, pa, pr),
        row_sums("probs_sum_to_one", probs, 1.0, probs_row),
        row_sums("grad_rows_sum_to_zero", grad, 0.0, grad_row),
    ]
    floor = -la
    lv = loss.reshape(k, -1)
    checks.append(Check("loss_nonnegative", np.maximum(lv, 0), lv, la[:, None], lv >= floor[:, None],
                        la, zeros, False))

    # Central differences of the long double loss s * sum of row losses (long double model,
    # reduction sum), with xentcheck's step and error bound.
    value = LD(s) * rl.sum(axis=1)
    lda = SAFETY * ULD * (r + c_ + 2) * n
    ldr = SAFETY * ULD * (c_ + n + 2)
    loss_error = s * (lda + ldr * np.abs(value.astype(np.float64)) / s)
    third = s / (6 * math.sqrt(3.0))
    h = np.cbrt(3 * np.maximum(loss_error, 1e-300) / third)
    error_bound = SAFETY * (third * h * h / 6 + loss_error / h)
    fd_atol = SAFETY * ULD * ULD * s
    fd_rtol = SAFETY * ULD * (r + c_ + n + 4)
    fd = np.empty_like(z)
    base = rl
    for i in range(n):
        others = LD(s) * (base.sum(axis=1) - base[:, i])
        for j in range(c_):
            grow = np.maximum(1.0, np.abs(z[:, i, j]) * 2.0**-20)
            step = LD(1) * h * grow
            up_z, down_z = zl[:, i, :].copy(), zl[:, i, :].copy()
            up_z[:, j] += step
            down_z[:, j] -= step
            up = others + LD(s) * row_losses(up_z, t[:, i])
            down = others + LD(s) * row_losses(down_z, t[:, i])
            fd[:, i, j] = ((up - down) / (up_z[:, j] - down_z[:, j])).astype(np.float64)
    grow = np.maximum(1.0, np.abs(z) * 2.0**-20)
    hk = h[:, None, None] * grow
    fd_error = np.where(grow == 1.0, error_bound[:, None, None],
                        SAFETY * (third * hk * hk / 6 + loss_error[:, None, None] / hk))
    allowed = fd_error + fd_atol + fd_rtol[:, None, None] * np.maximum(np.abs(grad), grad_scale)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(fd) & (np.abs(fd - grad) <= allowed)
    checks.append(Check("grad_matches_finite_difference", fd, grad, allowed, ok,
                        error_bound + fd_atol, fd_rtol, True))

    # The given values, with the float64 model (dtype float64, no case tolerance).
    expect = first["expect"]
    if "probs" in expect:
        given = np.array([c["expect"]["probs"] for c in cases], dtype=np.float64).reshape(z.shape)
        checks.append(compare("expect.probs", probs, given, pa, pr))
        checks.append(unit_interval("expect.probs_in_unit_interval", given, pa, pr))
        checks.append(row_sums("expect.probs_sum_to_one", given, 1.0, probs_row))
    if "loss" in expect:
        given = np.array([c["expect"]["loss"] for c in cases], dtype=np.float64).reshape(loss.shape)
        checks.append(compare("expect.loss", loss, given, la, lr))
    if "grad" in expect:
        given = np.array([c["expect"]["grad"] for c in cases], dtype=np.float64).reshape(z.shape)
        magnitude = s * (probs + onehot)  # s (|a|_1 p_j + |a_j|) with |a|_1 = 1
        checks.append(compare("expect.grad", grad, given, ga, gr, magnitude))
        checks.append(row_sums("expect.grad_rows_sum_to_zero", given, 0.0, grad_row))

    def matrix(a):
        if batched:
            return "[" + ",".join("[" + ",".join(map(num, row)) + "]" for row in a) + "]"
        return "[" + ",".join(map(num, a[0])) + "]"

    probs_l, grad_l, loss_l = probs.tolist(), grad.tolist(), loss.tolist()
    failed = np.zeros(k, dtype=bool)
    for ch in checks:
        failed |= np.asarray(ch.violations) > 0
    entries = []
    for q, case in enumerate(cases):
        lt = ("[" + ",".join(map(num, loss_l[q])) + "]") if reduction == "none" else num(loss_l[q][0])
        checks_text = ",".join(ch.text(q) for ch in checks)
        name = case["name"] if case["name"] is not None else f"#{case['index']}"
        entries.append(
            f'{{"file":{case["file"]},"index":{case["index"]},"line":{case["line"]},'
            f'"name":{json.dumps(name)},"status":"{"fail" if failed[q] else "pass"}","rows":{n},'
            f'"classes":{c_},"reduction":"{reduction}","dtype":"float64","probs":{matrix(probs_l[q])},'
            f'"loss":{lt},"grad":{matrix(grad_l[q])},"checks":[{checks_text}],"field":null,'
            f'"error":null}}')
    return entries, int(failed.sum())


def read_case(value, file_json, index, line):
    if not isinstance(value, dict) or not set(value) <= KNOWN:
        raise ValueError("unsupported case form")
    logits = value["logits"]
    batched = isinstance(logits[0], list)
    rows = logits if batched else [logits]
    target = value["target"]
    target = target if isinstance(target, list) else [target]
    if any(isinstance(x, (list, str)) for x in target) or len(target) != len(rows):
        raise ValueError("only class-index targets are supported")
    if value.get("dtype", "float64") != "float64":
        raise ValueError("only dtype float64 is supported")
    return {"file": file_json, "index": index, "line": line, "name": value.get("name"),
            "batched": batched, "classes": len(rows[0]), "logits": rows, "target": target,
            "reduction": value.get("reduction", "mean"), "expect": value.get("expect", {})}


def group_key(c):
    return (c["batched"], len(c["logits"]), c["classes"], c["reduction"], tuple(sorted(c["expect"])))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.stdout
    out.write('{"cases":[')
    passed = failed = errors = 0
    first_entry = True
    for path in sys.argv[1:]:
        file_json = json.dumps(path)
        with open(path, encoding="utf-8") as f:
            index = 0
            line_no = 0
            while True:
                chunk = []
                for text in f:
                    line_no += 1
                    if not text.strip():
                        continue
                    chunk.append(read_case(json.loads(text), file_json, index, line_no))
                    index += 1
                    if len(chunk) == CHUNK:
                        break
                if not chunk:
                    break
                groups = {}
                for c in chunk:
                    groups.setdefault(group_key(c), []).append(c)
                texts = {}
                for cases in groups.values():
                    entries, group_failed = evaluate_group(cases)
                    failed += group_failed
                    passed += len(cases) - group_failed
                    for c, entry in zip(cases, entries):
                        texts[c["index"]] = entry
                ordered = [texts[c["index"]] for c in chunk]
                out.write(("\n" if first_entry else ",\n") + ",\n".join(ordered))
                first_entry = False
    code = 2 if errors else 1 if failed else 0
    out.write(f'{"" if first_entry else chr(10)}],\n"summary":{{"passed":{passed},"failed":{failed},'
              f'"errors":{errors},"exit_code":{code}}}}}\n')
    return code


if __name__ == "__main__":
    sys.exit(main())
