"""protocol_io.py: protocol plumbing and a plain-Python reference shared by the deliberately
faulty implementations in this folder (not a module for users: see ../python for templates)."""
import json
import math
import sys

TOKENS = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
          "-inf": -math.inf, "-infinity": -math.inf, "nan": math.nan}


def number(v):
    """A JSON number or non-finite token string as a Python float."""
    return TOKENS[v.lower()] if isinstance(v, str) else float(v)


def numbers(value):
    """Nested lists of JSON numbers/tokens as nested lists of floats."""
    return [numbers(x) for x in value] if isinstance(value, list) else number(value)


def encode(value):
    """Nested floats for json.dumps: non-finite values become the protocol's token strings."""
    if isinstance(value, list):
        return [encode(x) for x in value]
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def requests():
    """Yields (request dict or None, raw line) for each non-blank input line."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        try:
            yield json.loads(line), line
        except ValueError:
            yield None, line


def send_text(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def send(obj):
    send_text(json.dumps(obj, allow_nan=False) + "\n")


def reference(req):
    """(probs, loss, grad) in float64 with plain Python and PyTorch's semantics, for the fault
    implementations, whose values must be right wherever their planted fault is not. Exact
    PyTorch corner cases of non-finite input (0 * -inf) are not reproduced."""
    z = numbers(req["logits"])
    n, c = len(z), len(z[0])
    weight = numbers(req["weight"]) if "weight" in req else [1.0] * c
    eps = number(req.get("label_smoothing", 0.0))
    ignore = req.get("ignore_index", -100)
    reduction = req["reduction"]
    index = not isinstance(req["target"][0], list)
    target = req["target"] if index else numbers(req["target"])
    probs, grad, losses, divisor = [], [], [], 0.0
    for i in range(n):
        m = max(z[i])
        if any(math.isnan(x) for x in z[i]) or math.isinf(m):
            p, logp = [math.nan] * c, [math.nan] * c  # NaN, +inf or only -inf: NaN row
        else:
            e = [math.exp(x - m) for x in z[i]]
            s = sum(e)
            p = [x / s for x in e]
            logp = [(x - m) - math.log(s) for x in z[i]]
        if index:
            t = target[i]
            kept = t != ignore
            a = [(((1 - eps) * weight[j] if j == t else 0.0) + eps / c * weight[j]) if kept
                 else 0.0 for j in range(c)]
            divisor += weight[t] if kept else 0.0
        else:
            a = [(target[i][j] * (1 - eps) + eps / c) * weight[j] for j in range(c)]
            divisor += 1.0
        losses.append(-sum(aj * lp for aj, lp in zip(a, logp) if aj != 0.0))
        mass = sum(a)
        probs.append(p)
        grad.append([mass * pj - aj for pj, aj in zip(p, a)])
    if reduction == "none":
        return probs, losses, grad
    total = sum(losses)
    if reduction == "sum":
        return probs, total, grad
    return probs, total / divisor, [[g / divisor for g in row] for row in grad]
