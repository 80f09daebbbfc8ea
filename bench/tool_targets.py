"""The tool's targets for bench/compare.py: runs the committed timing scripts one after another
and collects their verdict lines, so that one compare.py run shows every target of
docs/performance.md.

- bench/eval_throughput.sh: eval's cases/s, its ratio to numpy, and its peak memory;
- bench/check_timing.sh: a default check run, and --cases with an (8, 128000) case;
- bench/per_request_timing.sh: check --impl's own cost per request, up to 16 classes;
- bench/build_timing.sh: `make test` from a fresh clone, and after touching one lib source.

Each script prints its runs and then lines ending "(target ...): <verdict>"; those lines are
the result. Lines with "(context" are measurements printed next to them without a target (the
per-request script's user + system time of whole check runs); they are kept and shown, but
have no verdict. The scripts keep their own repetition counts (REPEAT, SEEDS, ROUNDS in the
environment); eval runs 5 times here unless REPEAT says otherwise.
"""

import os
import re
import subprocess
import sys

VERDICT = re.compile(r"\(target [^)]*\): (.*)$")
CONTEXT = re.compile(r"\(context\b")

SCRIPTS = [
    ("eval", "eval_throughput.sh", {"REPEAT": "5"}),
    ("check", "check_timing.sh", {}),
    ("per request", "per_request_timing.sh", {}),
]
BUILD_SCRIPT = ("build", "build_timing.sh", {})


def run_script(root, name, build_dir, defaults):
    """Runs bench/<name>, echoing its output to stderr as progress; returns its verdict and
    context lines in order as (line, is_verdict), and a verdict line saying how it failed if it
    did."""
    env = dict(defaults)
    env.update(os.environ)
    args = ["sh", os.path.join(root, "bench", name)]
    if name != "build_timing.sh":
        args.append(build_dir)
    print(f"--- bench/{name}", file=sys.stderr)
    verdicts = []
    with subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True) as proc:
        for line in proc.stdout:
            sys.stderr.write(line)
            if VERDICT.search(line):
                verdicts.append((line.rstrip("\n"), True))
            elif CONTEXT.search(line):
                verdicts.append((line.rstrip("\n"), False))
    code = proc.returncode
    if code != 0:
        verdicts.append((f"bench/{name} failed with exit code {code} "
                         "(target a measurement): NOT met", True))
    return verdicts


def measure_tool(root, build_dir, with_build):
    """(group, line, is_verdict) for every tool target and context line, in the scripts'
    order."""
    scripts = SCRIPTS + ([BUILD_SCRIPT] if with_build else [])
    out = []
    for group, name, defaults in scripts:
        out.extend((group, line, is_verdict)
                   for line, is_verdict in run_script(root, name, build_dir, defaults))
    return out


def met(line):
    """A verdict counts as met unless it says NOT met. The per-request script's "met by the
    median only" counts as met: the target is read as a median, as the issue's own tables are,
    and the script prints how many runs were over."""
    verdict = VERDICT.search(line)
    return verdict is not None and "NOT met" not in verdict.group(1)
