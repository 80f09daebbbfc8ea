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


if __name__ == "__main__":
    unittest.main()
