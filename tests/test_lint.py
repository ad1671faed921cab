#!/usr/bin/python3
"""test_lint.py - `planverify lint`: load errors, the review checklist, and
the solver's findings, with their exact text, positions and exit codes.

Ends with "N passed, M failed"; exit code non-zero on failure.
"""

import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("PV_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("PV_BINARY", os.path.join(SOURCE, "build", "planverify"))
FIXTURES = os.path.join("tests", "fixtures", "lint")


def lint(*args):
    r = subprocess.run([BINARY, "lint"] + list(args), cwd=SOURCE, capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout.splitlines(), r.stderr.strip()


class LintTest(unittest.TestCase):
    def test_bundled_specs_are_clean(self):
        specs = sorted(os.path.join("specs", f) for f in os.listdir(os.path.join(SOURCE, "specs"))
                       if f.endswith(".yaml"))
        rc, out, err = lint(*specs)
        self.assertEqual((rc, out), (0, []), err)
        self.assertEqual(err, "%d specs clean" % len(specs))

    def test_solver_findings(self):
        path = os.path.join(FIXTURES, "flawed.yaml")
        rc, out, err = lint(path)
        self.assertEqual(rc, 1)
        self.assertEqual(out, [
            path + ":9:14: warning: ensures of tool 'fetch' can never hold: no result "
                   "satisfies it [contradictory-ensures]",
            path + ":12:15: warning: requires of tool 'pay' can never hold: the tool can never "
                   "be called [contradictory-requires]",
            path + ":18:7: warning: exclusion 'huge-notes' can never apply to a call of 'note': "
                   "its when is never true [never-fires]",
            path + ":25:13: warning: invariant 'any-note' can never fail: no call breaks it, so "
                   "it checks nothing [vacuous]",
            path + ":30:13: warning: invariant 'never-pay' fails on every call it guards "
                   "[always-fails]",
        ])
        self.assertEqual(err, "1 spec loaded; 5 findings")

    def test_checklist_without_solver(self):
        path = os.path.join(FIXTURES, "checklist.yaml")
        rc, out, err = lint(path)
        self.assertEqual(rc, 1)
        self.assertEqual(out, [
            path + ":14:5: warning: invariant 'high-level' names no enforcement: say what stops "
                   "the call [no-enforcement]",
            path + ":11:3: warning: tool 'orphan' is covered by no rule, exclusion or test "
                   "[uncovered-tool]",
            path + ":7:3: warning: state variable 'flag' is changed by no tool's effects "
                   "[unchanged-state]",
            path + ": warning: the always rules cannot hold together over the state's types and "
                   "bounds [contradictory-always]",
        ])

    def test_syntax_only_skips_the_checklist(self):
        rc, out, err = lint("--syntax-only", os.path.join(FIXTURES, "flawed.yaml"),
                            os.path.join(FIXTURES, "checklist.yaml"))
        self.assertEqual((rc, out, err), (0, [], "2 specs clean"))

    def test_misspelled_key_exits_2_with_did_you_mean(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "typo.yaml")
            with open(path, "w") as f:
                f.write("spec: typo\nversion: '1'\ntools: {t: {}}\ninvariant:\n  - id: x\n")
            rc, out, err = lint("--syntax-only", path)
        self.assertEqual(rc, 2)
        self.assertEqual(out, [path + ":4:1: error: unknown key 'invariant' in the spec; did "
                                      "you mean 'invariants'?"])
        self.assertEqual(err, "1 of 1 spec did not load (1 error)")

    def test_usage(self):
        rc, out, err = lint()
        self.assertEqual(rc, 2)
        self.assertIn("no spec files given", err)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
