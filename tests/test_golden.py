#!/usr/bin/python3
"""test_golden.py - golden verdicts for the example plans of the bundled specs.

For each specs/examples/NAME.yaml, `planverify check --format json` must
print the verdict stored in tests/golden/NAME.json: the same decision,
safe_prefix, spec version and digest, and the same findings (rule, kind,
step, tool, action, escalate_to, certain, chain). A witness is one run that
breaks the rule, and the solver may pick another, so witnesses are compared
by their keys, and the messages of possible findings (which quote witness
values) are not compared; tests/test_witness.c checks that witnesses replay.

After a deliberate change to a spec or the engine, regenerate with
  PV_GOLDEN_UPDATE=1 /usr/bin/python3 tests/test_golden.py
and review the diff.
"""

import json
import os
import subprocess
import sys
import unittest

SOURCE = os.environ.get("PV_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("PV_BINARY", os.path.join(SOURCE, "build", "planverify"))
EXAMPLES = os.path.join(SOURCE, "specs", "examples")
GOLDEN = os.path.join(SOURCE, "tests", "golden")


def check_json(path):
    out = subprocess.run([BINARY, "check", "--format", "json", os.path.relpath(path, SOURCE)],
                         cwd=SOURCE, capture_output=True, text=True, timeout=120)
    if out.returncode not in (0, 1):
        raise AssertionError("check exited %d: %s" % (out.returncode, out.stderr))
    return json.loads(out.stdout)


def comparable(verdict):
    """The parts of a verdict that do not depend on the solver's choice of
    witness."""
    v = dict(verdict)
    found = []
    for f in v.pop("violations"):
        f = dict(f)
        f["witness"] = sorted(f["witness"].keys())
        if not f["certain"]:
            f.pop("message")
        found.append(f)
    v["violations"] = found
    return v


class GoldenTest(unittest.TestCase):
    pass


def make_test(name):
    def test(self):
        got = check_json(os.path.join(EXAMPLES, name + ".yaml"))
        path = os.path.join(GOLDEN, name + ".json")
        if os.environ.get("PV_GOLDEN_UPDATE"):
            with open(path, "w") as f:
                json.dump(got, f, indent=2)
                f.write("\n")
        with open(path) as f:
            want = json.load(f)
        self.assertEqual(comparable(got), comparable(want))
    return test


for file in sorted(os.listdir(EXAMPLES)):
    if file.endswith(".yaml"):
        stem = file[:-5]
        setattr(GoldenTest, "test_" + stem.replace("-", "_"), make_test(stem))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
