"""Tests of bench/tool_targets.py: the verdict lines that bench/compare.py turns into its
final "every target met" or exit code 1."""

import os
import sys
import tempfile
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)
import tool_targets  # noqa: E402


def fake_root(script_text):
    """A directory with bench/fake.sh holding script_text."""
    root = tempfile.mkdtemp()
    os.mkdir(os.path.join(root, "bench"))
    with open(os.path.join(root, "bench", "fake.sh"), "w") as f:
        f.write(script_text)
    return root


class Verdicts(unittest.TestCase):
    def test_met_lines(self):
        self.assertTrue(tool_targets.met("throughput: 555556 cases/s (target >= 300000): met"))
        self.assertTrue(tool_targets.met(
            "BM_x: min 9 us, median 12 us, max 21 us over 10 runs, 1 of them >= 20 us "
            "(target < 20 us): met by the median only"))

    def test_not_met_and_unreadable_lines(self):
        self.assertFalse(tool_targets.met("throughput: 277778 cases/s (target >= 300000): NOT met"))
        self.assertFalse(tool_targets.met("throughput: 277778 cases/s"))
        self.assertFalse(tool_targets.met(""))


class RunScript(unittest.TestCase):
    def test_collects_verdict_and_context_lines(self):
        root = fake_root('echo "run 1: 0.2 s"\n'
                         'echo "a: 1 s (target < 2 s): met"\n'
                         'echo "c: 30 us (context, no target: the kernel)"\n'
                         'echo "b: 3 s (target < 2 s): NOT met"\n')
        lines = tool_targets.run_script(root, "fake.sh", "build", {})
        self.assertEqual(lines, [("a: 1 s (target < 2 s): met", True),
                                 ("c: 30 us (context, no target: the kernel)", False),
                                 ("b: 3 s (target < 2 s): NOT met", True)])
        self.assertEqual([tool_targets.met(l) for l, is_verdict in lines if is_verdict],
                         [True, False])

    def test_a_failing_script_is_a_target_not_met(self):
        root = fake_root('echo "a: 1 s (target < 2 s): met"\nexit 3\n')
        lines = tool_targets.run_script(root, "fake.sh", "build", {})
        self.assertEqual(len(lines), 2)
        line, is_verdict = lines[1]
        self.assertIn("exit code 3", line)
        self.assertTrue(is_verdict)
        self.assertFalse(tool_targets.met(line))

    def test_defaults_yield_to_the_environment(self):
        root = fake_root('echo "r: $REPEAT (target < 10 runs): met"\n')
        os.environ["REPEAT"] = "9"
        try:
            lines = tool_targets.run_script(root, "fake.sh", "build", {"REPEAT": "5"})
        finally:
            del os.environ["REPEAT"]
        self.assertEqual(lines, [("r: 9 (target < 10 runs): met", True)])

    def test_every_listed_script_exists(self):
        for _, name, _ in tool_targets.SCRIPTS + [tool_targets.BUILD_SCRIPT]:
            self.assertTrue(os.path.isfile(os.path.join(BENCH, name)), name)


def reference_medians(one_thread_ms, two_thread_ms):
    """compare.py's medians for every variant it reads, with 4096x1000 at the given times and
    every target ratio comfortably met."""
    med = {}
    for dtype in ("float64", "float32"):
        for shape in ("1x1000000", "4096x1000", "8x128000", "64x1000", "1x50000"):
            med[("xentcheck", dtype, shape)] = one_thread_ms
            med[("xentcheck/threads:2", dtype, shape)] = two_thread_ms
            med[("pytorch", dtype, shape)] = 3 * one_thread_ms
            med[("bound/exp", dtype, shape)] = one_thread_ms / 1.5
            med[("bound/memory", dtype, shape)] = one_thread_ms / 4
        med[("two_at_once", dtype, "4096x1000")] = one_thread_ms * 1.1
        med[("bound/exp/threads:2", dtype, "4096x1000")] = one_thread_ms / 1.5 / 1.6
        med[("bound/memory/threads:2", dtype, "4096x1000")] = one_thread_ms / 4 / 1.2
    return med


class CompareVerdicts(unittest.TestCase):
    """compare.py's own verdicts (it imports torch: skipped where python3-torch is missing)."""

    def setUp(self):
        try:
            import compare  # noqa: F401
        except ImportError as e:
            self.skipTest(f"compare.py cannot be imported: {e}")
        self.compare = sys.modules["compare"]

    def small_shape_verdicts(self, one, two):
        """The small shapes' (line, met) pairs when every small shape took `one` and `two` ms
        (one thread, two threads) in the rounds."""
        med = reference_medians(1.0, 0.55)
        for dtype in ("float64", "float32"):
            for shape in ("64x1000", "1x50000"):
                med[("xentcheck", dtype, shape)] = sorted(one)[len(one) // 2]
                med[("xentcheck/threads:2", dtype, shape)] = sorted(two)[len(two) // 2]
        rounds = {key: one if key[0] == "xentcheck" else two
                  for key in med if key[2] in ("64x1000", "1x50000")}
        return [v for v in self.compare.verdicts(med, rounds) if "two threads / one" in v[0]]

    def test_target_ratios(self):
        lines = self.compare.verdicts(reference_medians(1.0, 0.55), {
            (v, d, s): [1.0] for v in ("xentcheck", "xentcheck/threads:2")
            for d in ("float64", "float32") for s in ("64x1000", "1x50000")})
        self.assertTrue(all(met for _, met in lines), lines)
        slow = self.compare.verdicts(reference_medians(1.0, 0.62), {
            (v, d, s): [1.0] for v in ("xentcheck", "xentcheck/threads:2")
            for d in ("float64", "float32") for s in ("64x1000", "1x50000")})
        missed = [line for line, met in slow if not met]
        self.assertEqual(len(missed), 2, slow)  # 1.61x: both dtypes' two-thread target
        self.assertTrue(all("two threads: 1.61x" in line for line in missed))

    def test_two_thread_context_and_rounds(self):
        # The machine's gains are context: printed next to the target, never its verdict.
        lines = self.compare.verdicts(reference_medians(1.0, 0.62), {
            (v, d, s): [1.0] for v in ("xentcheck", "xentcheck/threads:2")
            for d in ("float64", "float32") for s in ("64x1000", "1x50000")})
        two = [line for line, met in lines if "4096x1000 two threads" in line]
        self.assertEqual(len(two), 2)
        self.assertTrue(all("exp bound's work on two threads ran 1.60x" in line and
                            "memory pass 1.20x" in line and "did 1.82x" in line for line in two))
        # Round by round: round 2's numbers in round 2's row, each dtype in its own row.
        rounds = {key: [value, value * (1.25 if "threads:2" in key[0] else 1.0)]
                  for key, value in reference_medians(1.0, 0.5).items()}
        rows = self.compare.rounds_table(rounds).splitlines()[2:]
        self.assertEqual(len(rows), 4, rows)
        self.assertEqual(rows[0], "| 1 | float64 | 2.00 | 1.60 | 1.20 | 1.82 |")
        self.assertEqual(rows[2], "| 2 | float64 | 1.60 | 1.28 | 0.96 | 1.82 |")

    def test_a_repeated_slowdown_is_slower(self):
        verdicts = self.small_shape_verdicts([1.0] * 9, [1.10] * 8 + [0.9])
        self.assertTrue(verdicts and not any(met for _, met in verdicts), verdicts)
        self.assertIn("SLOWER", verdicts[0][0])

    def test_noise_is_not_slower(self):
        # The median 10% slower, but in only 5 of 9 rounds: the same code in a noisy phase.
        verdicts = self.small_shape_verdicts([1.0] * 9, [1.1] * 5 + [0.9] * 4)
        self.assertTrue(verdicts and all(met for _, met in verdicts), verdicts)
        # Slower in every round, but by 2%: within the allowance.
        verdicts = self.small_shape_verdicts([1.0] * 9, [1.02] * 9)
        self.assertTrue(all(met for _, met in verdicts), verdicts)


if __name__ == "__main__":
    unittest.main()
