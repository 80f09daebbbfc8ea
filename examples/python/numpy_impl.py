#!/usr/bin/python3
"""numpy_impl.py: a correct softmax + cross-entropy implementation with NumPy, speaking
xentcheck's JSON-lines protocol (version 1, docs/protocol.md).

Run it as `xentcheck check --impl 'examples/python/numpy_impl.py'`, or by hand:
    echo '{"id":1,"dtype":"float64","logits":[[1,2,3]],"target":[2],"reduction":"mean"}' \
        | examples/python/numpy_impl.py

Semantics are PyTorch's F.cross_entropy and torch.softmax(logits, 1): every option (index or
probability targets, weight, ignore_index, label_smoothing, reduction none/mean/sum), each
computed in the request's dtype (float32 requests in float32 throughout). Softmax subtracts
each row's maximum first, so no finite logit overflows; log-probabilities are (z - m) - log(S).
"""
import json
import math
import sys

import numpy as np

TOKENS = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
          "-inf": -math.inf, "-infinity": -math.inf, "nan": math.nan}


def number(v):
    """A JSON number or non-finite token string as a Python float."""
    if isinstance(v, str):
        return TOKENS[v.lower()]
    return float(v)


def to_array(value, dtype):
    if value and isinstance(value[0], list):
        return np.array([[number(x) for x in row] for row in value], dtype=dtype)
    return np.array([number(x) for x in value], dtype=dtype)


def encode(x):
    """A float for JSON: finite values as numbers (repr round-trips), others as tokens."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def encode_array(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return encode(float(a))
    if a.ndim == 1:
        return [encode(x) for x in a.tolist()]
    return [[encode(x) for x in row] for row in a.tolist()]


def cross_entropy(z, target, weight, ignore_index, eps, reduction, dtype):
    """Returns (probs, loss, grad) for logits z (N x C) in `dtype`."""
    n, c = z.shape
    with np.errstate(all="ignore"):
        m = z.max(axis=1, keepdims=True)  # NaN propagates; a row of only -inf gives NaN below
        shifted = z - m
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        probs = e / s
        logp = shifted - np.log(s)
        w = np.ones(c, dtype=dtype) if weight is None else weight
        one = dtype(1)
        if target.ndim == 1:  # class indices
            keep = target != ignore_index
            t = np.where(keep, target, 0)
            if np.any((t < 0) | (t >= c)):
                raise ValueError("target index out of range [0, %d)" % c)
            rows = np.arange(n)
            wt = np.where(keep, w[t], dtype(0))
            # nll_loss: -w[t] * logp[t] for kept rows, exactly 0 for ignored ones.
            nll = np.where(keep, -(w[t] * logp[rows, t]), dtype(0))
            divisor = wt.sum()
            a = np.zeros((n, c), dtype=dtype)
            a[rows, t] = wt * (one - dtype(eps))
            if eps > 0:
                smooth = np.where(keep, -(logp * w).sum(axis=1), dtype(0))
                a += np.where(keep[:, None], w * dtype(eps / c), dtype(0))
                if reduction == "none":
                    loss = (one - dtype(eps)) * nll + dtype(eps / c) * smooth
                elif reduction == "sum":
                    loss = (one - dtype(eps)) * nll.sum() + dtype(eps / c) * smooth.sum()
                else:
                    loss = ((one - dtype(eps)) * (nll.sum() / divisor) +
                            dtype(eps / c) * (smooth.sum() / divisor))
            else:
                loss = nll if reduction == "none" else nll.sum()
                if reduction == "mean":
                    loss = loss / divisor
        else:  # probability rows, smoothed towards uniform
            y = target * (one - dtype(eps)) + dtype(eps / c) if eps > 0 else target
            a = y * w
            row_loss = -(logp * y * w).sum(axis=1)
            divisor = dtype(n)
            loss = row_loss if reduction == "none" else row_loss.sum()
            if reduction == "mean":
                loss = loss / divisor
        scale = one / divisor if reduction == "mean" else one
        mass = a.sum(axis=1, keepdims=True)
        grad = scale * (mass * probs - a)
        if target.ndim == 1:
            # Ignored rows contribute exactly 0, also when every row is ignored and the mean's
            # divisor is 0 (PyTorch: loss 0/0 = NaN, gradient 0).
            grad = np.where(keep[:, None], grad, dtype(0))
    return probs, np.asarray(loss, dtype=dtype), grad


def answer(req):
    dtype = np.float32 if req["dtype"] == "float32" else np.float64
    z = to_array(req["logits"], dtype)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError("logits must be a non-empty 2-D array")
    raw_target = req["target"]
    if raw_target and isinstance(raw_target[0], list):
        target = to_array(raw_target, dtype)
        if target.shape != z.shape:
            raise ValueError("probability targets must be N x C")
    else:
        target = np.array(raw_target, dtype=np.int64)
        if target.shape != (z.shape[0],):
            raise ValueError("need one class index per row")
    weight = req.get("weight")
    if weight is not None:
        weight = to_array(weight, dtype)
        if weight.shape != (z.shape[1],):
            raise ValueError("weight must have one value per class")
    eps = number(req.get("label_smoothing", 0.0))
    if not 0.0 <= eps <= 1.0:
        raise ValueError("label_smoothing must be in [0, 1]")
    reduction = req["reduction"]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError("unknown reduction " + str(reduction))
    probs, loss, grad = cross_entropy(z, target, weight, int(req.get("ignore_index", -100)), eps,
                                      reduction, dtype)
    return {"id": req["id"], "probs": encode_array(probs), "loss": encode_array(loss),
            "grad": encode_array(grad)}


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        req_id = None
        try:
            req = json.loads(line)
            req_id = req.get("id")
            response = answer(req)
        except Exception as e:  # a bad request gets an error response, never a crash
            response = {"id": req_id, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(response, allow_nan=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
