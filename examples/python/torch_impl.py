#!/usr/bin/python3
"""torch_impl.py: softmax + cross-entropy computed by PyTorch itself, speaking xentcheck's
JSON-lines protocol (version 1, docs/protocol.md).

Run it as `xentcheck check --impl 'examples/python/torch_impl.py'`. Each request is computed in
its dtype (torch.float32 or torch.float64) with F.cross_entropy and torch.softmax; the gradient
comes from autograd (for reduction "none", of the sum of the row losses). This is the
implementation the protocol's semantics are defined by, so xentcheck should find no fault in it
beyond PyTorch's own documented corner cases.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # one small problem at a time: threads only add start-up cost

TOKENS = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
          "-inf": -math.inf, "-infinity": -math.inf, "nan": math.nan}


def number(v):
    """A JSON number or non-finite token string as a Python float."""
    if isinstance(v, str):
        return TOKENS[v.lower()]
    return float(v)


def numbers(value):
    if isinstance(value, list):
        return [numbers(x) for x in value]
    return number(value)


def encode(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def encode_tensor(t):
    values = t.detach().to(torch.float64).tolist()  # float32 values widen exactly
    if isinstance(values, float):
        return encode(values)
    if values and isinstance(values[0], list):
        return [[encode(x) for x in row] for row in values]
    return [encode(x) for x in values]


def answer(req):
    dtype = torch.float32 if req["dtype"] == "float32" else torch.float64
    logits = torch.tensor(numbers(req["logits"]), dtype=dtype)
    if logits.dim() != 2:
        raise ValueError("logits must be 2-D")
    logits.requires_grad_(True)
    raw_target = req["target"]
    if raw_target and isinstance(raw_target[0], list):
        target = torch.tensor(numbers(raw_target), dtype=dtype)
    else:
        target = torch.tensor(raw_target, dtype=torch.long)
    weight = req.get("weight")
    if weight is not None:
        weight = torch.tensor(numbers(weight), dtype=dtype)
    reduction = req["reduction"]
    loss = F.cross_entropy(logits, target, weight=weight,
                           ignore_index=int(req.get("ignore_index", -100)),
                           reduction=reduction,
                           label_smoothing=number(req.get("label_smoothing", 0.0)))
    (loss.sum() if reduction == "none" else loss).backward()
    with torch.no_grad():
        probs = torch.softmax(logits, 1)
    return {"id": req["id"], "probs": encode_tensor(probs), "loss": encode_tensor(loss),
            "grad": encode_tensor(logits.grad)}


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
        except Exception as e:  # PyTorch's own input errors become error responses
            response = {"id": req_id, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(response, allow_nan=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
