#!/usr/bin/python3
"""Forward + backward of cross-entropy side by side: xentcheck (1 and 2 threads), PyTorch's
F.cross_entropy (1 thread), numpy, and the bound max(exp throughput, memory pass).

Everything is measured in one run, interleaved in rounds (each round times every variant once),
and each number is the median over the rounds of the wall time per call, so a change in the
machine's load hits all variants alike. The xentcheck and bound timings come from
build/bin/xentcheck_bench (Google Benchmark, --benchmark_format=json); the bound is the larger
of bound/exp (glibc libmvec's AVX2 exp over the same number of logits, in cache) and
bound/memory (one pass reading the logits and writing a gradient-sized array). Each round also
runs the one-thread (4096, 1000) benchmarks in two processes at once, a reference point for the
two-thread target: how much of one core's work two cores did in that round's phase; with the
two-thread exp and memory bounds (bound/exp/.../threads:2), it is printed round by round next
to the reference's own two-thread gain.

Prints a Markdown table with the ratios of the performance targets and draws time per logit
against the class count (docs/performance.svg by default). Then it runs the tool's timing
scripts (bench/tool_targets.py: eval, check, the per-request overhead, and the build from a
fresh clone of HEAD), prints every target's verdict, and exits with 1 if one is not met.

    /usr/bin/python3 bench/compare.py                     # about 20 minutes here
    /usr/bin/python3 bench/compare.py --skip-build        # without the fresh clone's build
    /usr/bin/python3 bench/compare.py --skip-tool --rounds 9 --json results.json
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import tool_targets

# (rows, classes): the three target shapes, then a class-count sweep at ~4M logits, then two
# small batches where a second thread has little to do. Names match xentcheck_bench.
TARGET_SHAPES = [(1, 1000000), (4096, 1000), (8, 128000)]
SWEEP_SHAPES = [(40960, 100), (400, 10000)]
SMALL_SHAPES = [(64, 1000), (1, 50000)]
SHAPES = TARGET_SHAPES + SWEEP_SHAPES + SMALL_SHAPES
DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


def shape_name(shape):
    return f"{shape[0]}x{shape[1]}"


def inputs(shape, np_dtype, seed=1):
    """Logits ~ N(0, 3^2) and uniform class targets, like bench_support.h (not the same values)."""
    rng = np.random.default_rng(seed)
    rows, classes = shape
    logits = (3.0 * rng.standard_normal((rows, classes))).astype(np_dtype)
    target = rng.integers(0, classes, size=rows, dtype=np.int64)
    return logits, target


def time_per_call(step, min_time):
    """Median (wall, CPU) seconds per call of `step` over batches of ~min_time / 3 each. The CPU
    time is the process's (torch runs on one thread here), less disturbed by other jobs."""
    step()  # warm-up (allocations, first-touch)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time / 3 or calls < 2:
        step()
        calls += 1
    per_batch = max(1, calls)
    walls, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_batch):
            step()
        walls.append((time.perf_counter() - t0) / per_batch)
        cpus.append((time.process_time() - c0) / per_batch)
    return statistics.median(walls), statistics.median(cpus)


def torch_step(logits, target):
    z = torch.from_numpy(logits.copy()).requires_grad_(True)
    t = torch.from_numpy(target)

    def step():
        z.grad = None
        loss = F.cross_entropy(z, t)
        loss.backward()

    return step


def numpy_step(logits, target):
    rows = logits.shape[0]
    index = np.arange(rows)

    def step():
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) + m[:, 0] - logits[index, target])
        grad = e / s
        grad[index, target] -= 1
        grad /= rows
        return loss, grad

    return step


def iterations(json_text):
    """(name, real ms, cpu ms, label) of each iteration run in Google Benchmark's JSON output
    (aggregates left out)."""
    for b in json.loads(json_text)["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        yield (b.get("run_name", b["name"]), b["real_time"] * scale, b["cpu_time"] * scale,
               b.get("label", ""))


def run_bench(binary, min_time):
    """Every benchmark of interest, three repetitions in random order after a warm-up (the
    benchmark run first in a process, or right after another, was measurably slower than the
    same code elsewhere in the order): name -> (median real ms, median cpu ms, label)."""
    names = "|".join(shape_name(s) for s in SHAPES)
    pattern = f"^(bound/exp/|bound/memory/)?float(32|64)/({names})(/threads:2)?$"
    out = subprocess.run(
        [binary, f"--benchmark_filter={pattern}", "--benchmark_format=json",
         f"--benchmark_min_time={min_time / 3}", "--benchmark_min_warmup_time=0.02",
         "--benchmark_repetitions=3", "--benchmark_enable_random_interleaving=true"],
        check=True, capture_output=True, text=True).stdout
    runs = {}
    for name, real, cpu, label in iterations(out):
        runs.setdefault(name, []).append((real, cpu, label))
    return {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                   rs[0][2]) for name, rs in runs.items()}


def two_at_once(binary, min_time):
    """A reference point for the two-thread target: the one-thread benchmarks of its shape run
    in two processes at the same time, on separate buffers, so nothing is shared but the
    machine (caches, memory, the host's scheduling of the two virtual CPUs). Returns {dtype: one
    call's median ms in either process}: two cores finish two calls in that time, so one-thread
    time / (that time / 2) is what two cores gained on independent work in this round. It is
    not a strict limit for the two-thread benchmark, which runs at another moment."""
    pattern = "^float(32|64)/4096x1000$"
    cmd = [binary, f"--benchmark_filter={pattern}", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}", "--benchmark_min_warmup_time=0.02"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    times = {}
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{binary} failed with exit code {proc.returncode}")
        for name, real, _, _ in iterations(out):
            times.setdefault(name.split("/")[0], []).append(real)
    return {dtype: statistics.median(ts) for dtype, ts in times.items()}


def machine():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    isa = [x for x in ("avx2", "fma", "avx512f") if x in flags]
    return {"cpu": model, "cores": os.cpu_count(), "isa": isa,
            "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def load_average():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def measure(args):
    data = {}  # (variant, dtype, shape) -> list of ms
    cpu = {}
    labels = {}
    loads = [load_average()]
    prepared = {}
    for dtype, (np_dtype, _) in DTYPES.items():
        for shape in SHAPES:
            logits, target = inputs(shape, np_dtype)
            prepared[(dtype, shape)] = (torch_step(logits, target), numpy_step(logits, target))
    torch.set_num_threads(1)
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} (load {load_average()[0]:.2f})", file=sys.stderr)
        bench = run_bench(args.bench, args.min_time)
        for dtype, ms in two_at_once(args.bench, args.min_time).items():
            data.setdefault(("two_at_once", dtype, "4096x1000"), []).append(ms)
        for name, (real, cpu_ms, label) in bench.items():
            parts = name.split("/")
            if parts[0] == "bound":
                variant, dtype, sname = "bound/" + parts[1], parts[2], parts[3]
                variant += "/threads:2" if len(parts) > 4 else ""
            else:
                dtype, sname = parts[0], parts[1]
                variant = "xentcheck/threads:2" if len(parts) > 2 else "xentcheck"
            data.setdefault((variant, dtype, sname), []).append(real)
            cpu.setdefault((variant, dtype, sname), []).append(cpu_ms)
            labels[variant] = label
        for (dtype, shape), (tstep, nstep) in prepared.items():
            sname = shape_name(shape)
            steps = [("pytorch", tstep)] + ([] if args.skip_numpy else [("numpy", nstep)])
            for variant, step in steps:
                wall, cpu_s = time_per_call(step, args.min_time)
                data.setdefault((variant, dtype, sname), []).append(1e3 * wall)
                cpu.setdefault((variant, dtype, sname), []).append(1e3 * cpu_s)
        loads.append(load_average())
    med = {k: statistics.median(v) for k, v in data.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    return med, med_cpu, labels, loads, data


def table(med, med_cpu):
    """Markdown table of the wall-time medians and the target ratios; the last column repeats
    PyTorch / xentcheck in CPU time (one thread each), which other jobs disturb less."""
    head = ("| shape | dtype | xentcheck | xentcheck 2 threads | PyTorch | numpy | exp bound |"
            " memory bound | PyTorch / xentcheck | xentcheck / bound | 1 thread / 2 threads |"
            " PyTorch / xentcheck (CPU time) |")
    lines = [head, "|" + "---|" * 12]
    for shape in SHAPES:
        sname = shape_name(shape)
        for dtype in DTYPES:
            g = lambda v: med.get((v, dtype, sname), float("nan"))  # noqa: E731
            x1, x2 = g("xentcheck"), g("xentcheck/threads:2")
            pt, npy = g("pytorch"), g("numpy")
            eb, mb = g("bound/exp"), g("bound/memory")
            bound = max(eb, mb)
            cpu_ratio = (med_cpu.get(("pytorch", dtype, sname), float("nan")) /
                         med_cpu.get(("xentcheck", dtype, sname), float("nan")))
            lines.append(
                f"| {sname} | {dtype} | {x1:.3g} ms | {x2:.3g} ms | {pt:.3g} ms | {npy:.3g} ms |"
                f" {eb:.3g} ms | {mb:.3g} ms | {pt / x1:.2f} | {x1 / bound:.2f} | {x1 / x2:.2f} |"
                f" {cpu_ratio:.2f} |")
    return "\n".join(lines)


def two_thread_gains(times, dtype):
    """What two threads (or two processes) gained over one at (4096, 1000) in `times` (variant,
    dtype, shape) -> ms: xentcheck, the exp bound's work alone (in cache), the memory pass
    alone, and two one-thread processes at once (one's work done twice)."""
    g = lambda v: times.get((v, dtype, "4096x1000"), float("nan"))  # noqa: E731
    return {"xentcheck": g("xentcheck") / g("xentcheck/threads:2"),
            "exp alone": g("bound/exp") / g("bound/exp/threads:2"),
            "memory pass alone": g("bound/memory") / g("bound/memory/threads:2"),
            "two processes": 2 * g("xentcheck") / g("two_at_once")}


def two_thread_context(med, dtype):
    """The machine's own two-CPU gains in this run, printed next to the two-thread verdict: the
    exp bound's work, which has no memory traffic, and the memory pass show what the two
    virtual CPUs and the memory gave each kind of work the kernel does."""
    gains = two_thread_gains(med, dtype)
    return (f"the exp bound's work on two threads ran {gains['exp alone']:.2f}x as fast as on "
            f"one, the memory pass {gains['memory pass alone']:.2f}x, and two one-thread "
            f"processes at once did {gains['two processes']:.2f}x one's work")


def rounds_table(rounds):
    """Markdown table of the two-thread gains at (4096, 1000), round by round (no verdict): a
    round where the machine's two CPUs gave less for work without memory traffic shows here
    next to the reference's gain in the same round."""
    count = min(len(v) for v in rounds.values())
    lines = ["| round | dtype | xentcheck | exp alone | memory pass alone | two processes |",
             "|" + "---|" * 6]
    for r in range(count):
        for dtype in DTYPES:
            gains = two_thread_gains({k: v[r] for k, v in rounds.items()}, dtype)
            lines.append(f"| {r + 1} | {dtype} | " +
                         " | ".join(f"{x:.2f}" for x in gains.values()) + " |")
    return "\n".join(lines)


def verdicts(med, rounds):
    """Which targets hold in this run: (line, met) pairs. `rounds` holds each variant's time in
    every round, for the small shapes' verdict: there two threads run the one-thread code
    (below 32768 logits a thread), so a difference is the machine's noise unless it repeats.
    SLOWER needs the median over 1.05 and two threads slower in at least 80% of the rounds; two
    equal codes are slower in 6 or more of 7 rounds by chance in 6% of runs (4 of 5: 19%),
    before the median's condition."""
    out = []
    for shape in TARGET_SHAPES:
        sname = shape_name(shape)
        for dtype in DTYPES:
            g = lambda v: med.get((v, dtype, sname), float("nan"))  # noqa: E731
            x1 = g("xentcheck")
            bound = max(g("bound/exp"), g("bound/memory"))
            speedup, to_bound = g("pytorch") / x1, x1 / bound
            out.append((f"{dtype}/{sname}: {speedup:.2f}x PyTorch "
                        f"({'met' if speedup >= 2.5 else 'NOT met'}: >= 2.5), {to_bound:.2f}x "
                        f"the bound ({'met' if to_bound <= 2 else 'NOT met'}: <= 2)",
                        speedup >= 2.5 and to_bound <= 2))
    for dtype in DTYPES:
        g = lambda v, s: med.get((v, dtype, s), float("nan"))  # noqa: E731
        gain = g("xentcheck", "4096x1000") / g("xentcheck/threads:2", "4096x1000")
        context = two_thread_context(med, dtype)
        out.append((f"{dtype}/4096x1000 two threads: {gain:.2f}x one thread "
                    f"({'met' if gain >= 1.7 else 'NOT met'}: >= 1.7; for reference, in this "
                    f"run {context})", gain >= 1.7))
        for shape in SMALL_SHAPES:
            s = shape_name(shape)
            ratio = g("xentcheck/threads:2", s) / g("xentcheck", s)
            pairs = list(zip(rounds[("xentcheck/threads:2", dtype, s)],
                             rounds[("xentcheck", dtype, s)]))
            slower = sum(two > one for two, one in pairs)
            systematic = ratio > 1.05 and slower >= math.ceil(0.8 * len(pairs))
            out.append((f"{dtype}/{s} two threads / one thread: {ratio:.2f}, two threads "
                        f"slower in {slower} of {len(pairs)} rounds "
                        f"({'SLOWER' if systematic else 'not slower'}: SLOWER needs a median "
                        "over 1.05 and 80% of the rounds)", not systematic))
    return out


def plot(med, path, machine_info, loads):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "xentcheck"
    import matplotlib.pyplot as plt

    sweep = sorted(TARGET_SHAPES + SWEEP_SHAPES, key=lambda s: s[1])
    classes = [s[1] for s in sweep]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    series = [("xentcheck", "xentcheck, 1 thread", "o-"),
              ("xentcheck/threads:2", "xentcheck, 2 threads", "o--"),
              ("pytorch", "PyTorch F.cross_entropy, 1 thread", "s-"),
              ("numpy", "numpy", "^-"),
              ("bound", "bound: max(exp, memory pass)", "k:")]
    for ax, dtype in zip(axes, DTYPES):
        for key, label, style in series:
            ys = []
            for s in sweep:
                sname = shape_name(s)
                if key == "bound":
                    ms = max(med.get(("bound/exp", dtype, sname), float("nan")),
                             med.get(("bound/memory", dtype, sname), float("nan")))
                else:
                    ms = med.get((key, dtype, sname), float("nan"))
                ys.append(1e6 * ms / (s[0] * s[1]))  # ns per logit
            ax.plot(classes, ys, style, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{dtype}, forward + backward (index targets, mean)")
        ax.set_xlabel("classes C (N x C = 1e6 to 4.1e6 logits)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time per logit (ns), median")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{machine_info['cpu']}, {machine_info['cores']} cores, load average "
                 f"{min(l[0] for l in loads):.1f}-{max(l[0] for l in loads):.1f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", default=os.path.join(root, "build", "bin", "xentcheck_bench"),
                   help="the xentcheck_bench binary (default: build/bin/xentcheck_bench)")
    # 9 rounds: a median over 9 resists two rounds in which the machine's two CPUs gave little
    # (a 5-round run on 29 November missed the two-thread target on two such rounds).
    p.add_argument("--rounds", type=int, default=9, help="interleaved rounds (median over them)")
    p.add_argument("--min-time", type=float, default=0.3,
                   help="seconds per timing in each round (Google Benchmark's min_time)")
    p.add_argument("--svg", default=os.path.join(root, "docs", "performance.svg"),
                   help="where to draw the picture ('' for none)")
    p.add_argument("--json", default="", help="also write every median to this file")
    p.add_argument("--skip-numpy", action="store_true", help="leave numpy out (it is slow)")
    p.add_argument("--skip-tool", action="store_true",
                   help="only the reference: leave out eval, check, per-request and build")
    p.add_argument("--skip-build", action="store_true",
                   help="leave out make test from a fresh clone (about 6 minutes here)")
    args = p.parse_args()
    if not os.access(args.bench, os.X_OK):
        sys.exit(f"{args.bench} not found: build it with "
                 "`cmake --build build --target xentcheck_bench` or pass --bench")

    info = machine()
    med, med_cpu, labels, loads, rounds = measure(args)
    print(f"Machine: {info['cpu']}, {info['cores']} cores, ISA {' '.join(info['isa'])}; "
          f"PyTorch {info['torch']}, numpy {info['numpy']}, Python {info['python']}")
    print("Load average (1 min) during the run: " +
          ", ".join(f"{l[0]:.2f}" for l in loads))
    print(f"Kernels: {labels.get('xentcheck', '?')}; exp bound: {labels.get('bound/exp', '?')}")
    print(f"Medians of {args.rounds} interleaved rounds, wall time per forward + backward call:\n")
    print(table(med, med_cpu))
    print("\nTwo threads against one at (4096, 1000), round by round (how many times as fast):\n")
    print(rounds_table(rounds))
    print()
    reference = verdicts(med, rounds)
    for line, _ in reference:
        print(line)
    if args.svg:
        plot(med, args.svg, info, loads)
        print(f"\nwrote {args.svg}")
    sys.stdout.flush()
    tool = []
    if not args.skip_tool:
        build_dir = os.path.dirname(os.path.dirname(os.path.abspath(args.bench)))
        tool = tool_targets.measure_tool(root, build_dir, not args.skip_build)
        print("\nThe tool's targets (bench/eval_throughput.sh, check_timing.sh, "
              "per_request_timing.sh" + ("" if args.skip_build else ", build_timing.sh") + "):")
        for group, line, _ in tool:
            print(f"{group}: {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "loads": loads, "rounds": args.rounds,
                       "median_ms": {"/".join(k): v for k, v in med.items()},
                       "median_cpu_ms": {"/".join(k): v for k, v in med_cpu.items()},
                       "verdicts": [line for line, _ in reference] +
                                   [f"{g}: {line}" for g, line, _ in tool]},
                      f, indent=1)
    missed = [line for line, met in reference if not met]
    missed += [f"{g}: {line}" for g, line, is_verdict in tool
               if is_verdict and not tool_targets.met(line)]
    print()
    if missed:
        print(f"{len(missed)} target(s) NOT met:")
        for line in missed:
            print(f"  {line}")
        sys.exit(1)
    print("Every target measured in this run is met" +
          (" (the tool's targets were left out)" if args.skip_tool else
           " (the build targets were left out)" if args.skip_build else "") + ".")


if __name__ == "__main__":
    main()
