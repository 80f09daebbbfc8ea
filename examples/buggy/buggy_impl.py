#!/usr/bin/python3
"""buggy_impl.py: NumPy softmax + cross-entropy with one planted bug, chosen with --bug, speaking
xentcheck's protocol. Each bug is a mistake real kernels make; xentcheck's properties should
catch every one (and each needs specific inputs to show):

  no_max               exp(z) without subtracting the row maximum: overflow for large logits
  nan_masked           loss as -sum_j a_j log p_j over all classes: 0 * -inf = NaN for masked
                       (-inf) logits with index targets
  grad_wrt_probs       returns dE/dp = -a / p instead of dE/dz = A p - a
  mean_divisor         reduction mean divides by N even with weights or ignored rows
  smoothing_unweighted label smoothing's uniform term ignores the class weights (in loss and
                       gradient alike, so the gradient matches its own wrong loss)
  block_max            chunked kernel: the row maximum is taken over the first 256 classes only
  f32_accumulate       float64 requests accumulate their sums in float32
  noisy                adds random noise of a few ulps to every output (not deterministic)
  row_mixup            pairs row i with the target of row i - 1 (when N > 1)
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol_io import encode, number, numbers, requests, send  # noqa: E402

BUGS = ["no_max", "nan_masked", "grad_wrt_probs", "mean_divisor", "smoothing_unweighted",
        "block_max", "f32_accumulate", "noisy", "row_mixup"]
RNG = np.random.default_rng()


def row_sum(x, bug, dtype):
    if bug == "f32_accumulate" and dtype == np.float64:
        return x.astype(np.float32).sum(axis=1, keepdims=True).astype(np.float64)
    return x.sum(axis=1, keepdims=True)


def cross_entropy(req, bug):
    dtype = np.float32 if req["dtype"] == "float32" else np.float64
    z = np.array(numbers(req["logits"]), dtype=dtype)
    n, c = z.shape
    w = np.array(numbers(req["weight"]), dtype=dtype) if "weight" in req else np.ones(c, dtype)
    eps = number(req.get("label_smoothing", 0.0))
    reduction = req["reduction"]
    one = dtype(1)
    with np.errstate(all="ignore"):
        if bug == "no_max":
            m = np.zeros((n, 1), dtype=dtype)
        elif bug == "block_max":
            m = z[:, :256].max(axis=1, keepdims=True)
        else:
            m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = row_sum(e, bug, dtype)
        probs = e / s
        logp = (z - m) - np.log(s)
        smooth_w = np.ones(c, dtype) if bug == "smoothing_unweighted" else w
        if not isinstance(req["target"][0], list):
            t = np.array(req["target"], dtype=np.int64)
            if bug == "row_mixup" and n > 1:
                t = np.roll(t, 1)
            keep = t != req.get("ignore_index", -100)
            tc = np.where(keep, t, 0)
            a = np.zeros((n, c), dtype=dtype)
            a[np.arange(n), tc] = np.where(keep, w[tc], 0) * (one - dtype(eps))
            a += np.where(keep[:, None], smooth_w * dtype(eps / c), dtype(0))
            divisor = np.where(keep, w[tc], 0).sum()
            if bug == "nan_masked":
                rows = -row_sum(a * logp, bug, dtype)[:, 0]
            else:
                logp_safe = np.where(a != 0, logp, 0)  # gather-like: 0 mass contributes 0
                rows = -row_sum(a * logp_safe, bug, dtype)[:, 0]
        else:
            y = np.array(numbers(req["target"]), dtype=dtype)
            if eps > 0:
                y = y * (one - dtype(eps)) + dtype(eps / c)
            a = y * w
            rows = -row_sum(logp * y * w, bug, dtype)[:, 0]
            divisor = dtype(n)
        if bug == "mean_divisor":
            divisor = dtype(n)
        if reduction == "none":
            loss = rows
        elif reduction == "sum":
            loss = row_sum(rows[None, :], bug, dtype)[0, 0]
        else:
            loss = row_sum(rows[None, :], bug, dtype)[0, 0] / divisor
        scale = one / divisor if reduction == "mean" else one
        if bug == "grad_wrt_probs":
            grad = -scale * a / probs
        else:
            grad = scale * (row_sum(a, bug, dtype) * probs - a)
    outputs = [probs, np.asarray(loss, dtype=dtype), grad]
    if bug == "noisy":
        outputs = [x * (1 + RNG.standard_normal(x.shape) * 4 * np.finfo(dtype).eps) for x in
                   outputs]
    return [np.asarray(x, dtype=dtype).tolist() for x in outputs]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bug", required=True, choices=BUGS)
    args = parser.parse_args()
    for req, _ in requests():
        try:
            probs, loss, grad = cross_entropy(req, args.bug)
            send({"id": req["id"], "probs": encode(probs), "loss": encode(loss),
                  "grad": encode(grad)})
        except Exception as e:
            send({"id": req.get("id") if req else None, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    main()
