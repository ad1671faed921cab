"""test_audit.py - `planverify audit` end to end, through the real binary.

A seeded generator writes a realistic mix of JSON-lines traces over the
bundled specs (valid plans of varying length, some with unknowns, bad input
of several kinds, malformed lines); the tests then check the contract's
audit row: one output line per input line in input order, each with "line"
and the plan's "id"; verdicts equal to `planverify check`'s for the same
plans; stdin; identical output whatever the number of jobs; exit codes; the
summary on stderr and no progress line unless stderr is a terminal.

Environment (from ctest): PV_BINARY, PV_SOURCE_DIR. The last line printed
is "N passed, M failed"; the exit code is non-zero on any failure.
"""

import json
import os
import pty
import random
import select
import subprocess
import sys
import tempfile
import time
import unittest

BINARY = os.environ.get("PV_BINARY")
SOURCE_DIR = os.environ.get(
    "PV_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS_DIR = os.path.join(SOURCE_DIR, "specs")

# ---------------------------------------------------------------------------
# the trace generator


def _lengths(rng):
    """Plan lengths: median 3, a tail to 60."""
    r = rng.random()
    if r < 0.80:
        return rng.choices([1, 2, 3, 4, 5], weights=[20, 20, 25, 20, 15])[0]
    if r < 0.97:
        return rng.randint(6, 20)
    return rng.randint(21, 60)


def _unknown():
    return {"unknown": True}


def gen_refunds(rng, n, with_unknowns):
    steps, lookups = [], []
    for i in range(n):
        r = rng.random()
        if not lookups or r < 0.30:
            oid = "A%d" % rng.randint(1, 999)
            step = {"id": "o%d" % i, "tool": "lookup_order", "args": {"order_id": oid}}
            if not with_unknowns or rng.random() < 0.7:
                step["result"] = {
                    "amount": rng.randint(10, 1500), "age_days": rng.randint(0, 60),
                    "status": rng.choice(["processing", "shipped", "delivered", "cancelled"]),
                    "email": "c%d@example.com" % i}
            lookups.append((step["id"], oid))
        elif r < 0.55:
            sid, oid = rng.choice(lookups)
            if rng.random() < 0.05:
                oid = "Z%d" % i  # an order nobody looked up
            amount = rng.randint(1, 700)
            q = rng.random()
            if with_unknowns and q < 0.3:
                amount = _unknown()
            elif q < 0.45:
                amount = {"ref": "%s.amount" % sid}
            step = {"tool": "issue_refund", "args": {"order_id": oid, "amount": amount}}
            if rng.random() < 0.2:
                step["args"]["reason"] = "damaged"
        elif r < 0.65:
            sid, oid = rng.choice(lookups)
            step = {"tool": "request_approval",
                    "args": {"order_id": oid, "amount": rng.randint(100, 900)}}
            if not with_unknowns or rng.random() < 0.5:
                step["result"] = {"approved": rng.random() < 0.6}
        elif r < 0.78:
            step = {"tool": "create_return_label", "args": {"order_id": rng.choice(lookups)[1]}}
        elif r < 0.96:
            step = {"tool": "send_customer_message", "args": {"body": "Update %d" % i}}
        else:
            step = rng.choice([
                {"tool": "open_dispute", "args": {"order_id": "A1"}},
                {"tool": "update_order_price", "args": {"order_id": "A1", "amount": 1}},
                {"tool": "send_customer_message", "args": {}},
            ])
        steps.append(step)
    plan = {"spec": "support-refunds", "steps": steps}
    if rng.random() < 0.1:
        plan["initial_state"] = {"refunded_total": rng.randint(0, 900)}
    return plan


SQL = [
    ("INSERT INTO audit_log VALUES (1, 'x')", "insert", None),
    ("UPDATE users SET active = false WHERE id = 7", "update", True),
    ("DELETE FROM sessions WHERE created < now()", "delete", True),
    ("DELETE FROM sessions", "delete", None),
    ("CREATE INDEX idx_a ON t (a)", "create", None),
    ("DROP TABLE legacy_sessions", "drop", None),
    ("TRUNCATE TABLE report_cache", "truncate", None),
]


def gen_db(rng, n, with_unknowns):
    steps = []
    migrations = []
    for i in range(n):
        r = rng.random()
        if i == 0 and rng.random() < 0.8:
            step = {"tool": "connect_database",
                    "args": {"env": rng.choice(["staging", "production"]), "database": "crm"}}
        elif r < 0.12:
            step = {"tool": "get_change_calendar", "args": {}}
            if not with_unknowns or rng.random() < 0.6:
                step["result"] = {"freeze": rng.random() < 0.3}
        elif r < 0.25:
            step = {"tool": "describe_table", "args": {"table": "t%d" % i},
                    "result": {"exists": True, "row_count": rng.randint(0, 10 ** 6)}}
        elif r < 0.50:
            step = {"tool": "run_query",
                    "args": {"statement": "SELECT id FROM t%d WHERE a = %d" % (i, i)}}
            if not with_unknowns or rng.random() < 0.7:
                step["result"] = {"ok": rng.random() < 0.95, "rows": rng.randint(0, 100)}
        elif r < 0.65:
            stmt, kind, where = rng.choice(SQL)
            step = {"tool": "run_sql", "args": {"statement": stmt, "kind": kind}}
            if where:
                step["args"]["has_where"] = True
            if rng.random() < 0.5:
                step["result"] = {"ok": rng.random() < 0.9, "rows_affected": rng.randint(0, 50)}
        elif r < 0.75:
            mid = "m_%d" % i
            migrations.append(mid)
            step = {"tool": "plan_migration", "args": {"migration_id": mid},
                    "result": {"ok": rng.random() < 0.9, "statements": rng.randint(1, 9)}}
        elif r < 0.82 and migrations:
            step = {"tool": "run_migration", "args": {"migration_id": rng.choice(migrations)}}
        elif r < 0.90:
            step = {"tool": "insert_records",
                    "args": {"table": "t", "rows": rng.randint(1, 5000),
                             "source": rng.choice(["user_provided", "query_result",
                                                   "backup_file", "generated"])}}
        else:
            stmt = rng.choice(SQL)[0]
            step = {"tool": "request_human_approval",
                    "args": {"operation": "destructive_sql", "subject": stmt, "reason": "cleanup"}}
            if not with_unknowns or rng.random() < 0.5:
                step["result"] = {"approved": rng.random() < 0.7, "approver": "dba-jane"}
        steps.append(step)
    plan = {"spec": "db-infra", "steps": steps}
    if rng.random() < 0.4:
        plan["initial_state"] = {"code_freeze": rng.random() < 0.3}
    return plan


def gen_email(rng, n, with_unknowns):
    steps, read = [], []
    unknown_to_used = False
    for i in range(n):
        r = rng.random()
        if r < 0.15:
            step = {"tool": "search_documents", "args": {"query": "q%d" % i},
                    "result": {"count": rng.randint(0, 40)}}
        elif r < 0.40:
            doc = rng.choice(["sales/pricing-%d" % i, "support/esc-%d" % i, "eng/rfc-%d" % i])
            step = {"tool": "read_document", "args": {"doc_id": doc}}
            if not with_unknowns or rng.random() < 0.7:
                step["result"] = {
                    "title": "Doc %d" % i, "contains_pii": rng.random() < 0.3,
                    "classification": rng.choice(["public", "internal", "confidential"]),
                    "legal_hold": rng.random() < 0.05}
            read.append(doc)
        elif r < 0.50:
            step = {"tool": "lookup_customer", "args": {"customer_id": "C-%d" % i}}
        elif r < 0.60:
            step = {"tool": "draft_email",
                    "args": {"to": "x%d@partner.example" % i, "subject": "s", "body": "b"}}
        elif r < 0.85:
            to = rng.choice(["team@acme.com", "ops@acme.com", "buyer%d@partner.example" % i])
            # Unknown recipients are slow for the solver: at most one per plan.
            if with_unknowns and not unknown_to_used and rng.random() < 0.03:
                to = _unknown()
                unknown_to_used = True
            step = {"tool": "send_email", "args": {"to": to, "subject": "s%d" % i, "body": "b"}}
        elif r < 0.95 and read:
            step = {"tool": "share_document",
                    "args": {"doc_id": rng.choice(read),
                             "with": rng.choice(["pm@acme.com", "auditor@example.com"]),
                             "permission": rng.choice(["view", "comment", "edit"])}}
        elif read:
            step = {"tool": "delete_document", "args": {"doc_id": rng.choice(read)}}
        else:
            step = {"tool": "read_hr_record", "args": {"employee_id": "E-%d" % i}}
        steps.append(step)
    return {"spec": "email-docs", "steps": steps}


UNDECLARED = {"open_dispute", "update_order_price", "read_hr_record"}


def make_bad(rng, plan):
    """Turn a valid plan into bad input; returns (plan, a word the error names)."""
    plan = json.loads(json.dumps(plan))
    # Arguments of undeclared tools are checked only for shape: mutate a
    # step whose tool the spec declares.
    declared = [i for i, st in enumerate(plan["steps"]) if st["tool"] not in UNDECLARED]
    k = rng.choice(declared) if declared else 0
    if not declared:
        plan["steps"][0] = {"tool": "lookup_order", "args": {"order_id": "A1"}}
        plan["spec"] = "support-refunds"
        plan.pop("initial_state", None)
    kind = rng.choice(["unknown_arg", "float", "spec", "later_ref", "no_steps", "step_type"])
    if kind == "unknown_arg":
        plan["steps"][k].setdefault("args", {})["bogus_field"] = 1
        return plan, "bogus_field"
    if kind == "float":
        plan["steps"][k].setdefault("args", {})["x"] = 1.5
        return plan, "step %d" % k
    if kind == "spec":
        plan["spec"] = "no-such-spec"
        return plan, "no-such-spec"
    if kind == "later_ref":
        plan["steps"].insert(0, {"tool": "send_customer_message",
                                 "args": {"body": {"ref": "later.x"}}})
        plan["steps"].append({"id": "later", "tool": "send_customer_message",
                              "args": {"body": "x"}})
        plan["spec"] = "support-refunds"
        plan.pop("initial_state", None)
        for st in plan["steps"][1:-1]:
            st.clear()
            st.update({"tool": "send_customer_message", "args": {"body": "y"}})
        return plan, "later"
    if kind == "no_steps":
        del plan["steps"]
        return plan, "steps"
    plan["steps"][k] = "not a step"
    return plan, "step %d" % k


def generate(path, n, seed=20261101):
    """Write n trace lines to path; returns one dict per line:
    {"kind": valid|bad|malformed, "id": id or None, "plan": plan or None, "word": ...}."""
    rng = random.Random(seed)
    gens = [gen_refunds, gen_db, gen_email]
    lines, meta = [], []
    for i in range(n):
        r = rng.random()
        plan = rng.choice(gens)(rng, _lengths(rng), rng.random() < 0.35)
        pid = ("run-%05d" % i) if rng.random() < 0.9 else (100000 + i)
        if rng.random() < 0.9:
            plan = dict([("id", pid)] + list(plan.items()))
        else:
            pid = None
        if r < 0.88:
            lines.append(json.dumps(plan, separators=(",", ":")))
            meta.append({"kind": "valid", "id": pid, "plan": plan})
        elif r < 0.95:
            bad, word = make_bad(rng, plan)
            lines.append(json.dumps(bad))
            meta.append({"kind": "bad", "id": pid, "plan": bad, "word": word})
        else:
            m = rng.choice(["garbage", "truncated", "dup", "empty", "blank"])
            text = {"garbage": "this is not JSON",
                    "truncated": json.dumps(plan)[:-7],
                    "dup": '{"id": "d%d", "id": "e%d", "steps": []}' % (i, i),
                    "empty": "",
                    "blank": "   \t"}[m]
            lines.append(text)
            meta.append({"kind": "malformed", "id": None, "plan": None, "word": m})
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return meta


# ---------------------------------------------------------------------------
# helpers


def run(args, stdin=None, input_text=None, timeout=300):
    return subprocess.run([BINARY] + args, stdin=stdin, input=input_text,
                          capture_output=True, text=True, timeout=timeout)


def out_lines(stdout):
    return [json.loads(x) for x in stdout.splitlines()]


def comparable(v):
    """The parts of a verdict that must not depend on how it was computed."""
    return {
        "decision": v["decision"], "safe_prefix": v["safe_prefix"], "spec": v["spec"],
        "spec_digest": v["spec_digest"], "id": v.get("id"),
        "violations": [(f["rule"], f["kind"], f["step"], f["tool"], f["action"],
                        f.get("escalate_to"), f["certain"], f["chain"])
                       for f in v["violations"]],
    }


N_PLANS = 1200


class _Shared:
    """One generated trace file and one default audit run, for every test."""
    tmp = None
    path = None
    meta = None
    result = None

    @classmethod
    def get(cls):
        if cls.path is None:
            cls.tmp = tempfile.TemporaryDirectory(prefix="pv-audit-")
            cls.path = os.path.join(cls.tmp.name, "traces.jsonl")
            cls.meta = generate(cls.path, N_PLANS)
            started = time.monotonic()
            cls.result = run(["audit", "--specs", SPECS_DIR, cls.path])
            cls.seconds = time.monotonic() - started
            sys.stdout.write("audit of %d lines: %.2f s\n" % (N_PLANS, cls.seconds))
        return cls


def tearDownModule():
    if _Shared.tmp is not None:
        _Shared.tmp.cleanup()


# ---------------------------------------------------------------------------
# tests


class AuditOutputTest(unittest.TestCase):
    def test_generator_mix_is_realistic(self):
        s = _Shared.get()
        kinds = [m["kind"] for m in s.meta]
        self.assertGreaterEqual(len(kinds), 1000)
        self.assertGreater(kinds.count("bad"), 30)
        self.assertGreater(kinds.count("malformed"), 20)
        lengths = sorted(len(m["plan"]["steps"]) for m in s.meta if m["kind"] == "valid")
        self.assertEqual(lengths[len(lengths) // 2], 3)
        self.assertGreater(lengths[-1], 20)
        valid = [m["plan"] for m in s.meta if m["kind"] == "valid"]
        # Unknown arguments ({unknown: true}) and unknown results (absent).
        self.assertGreater(sum(1 for p in valid if '"unknown": true' in json.dumps(p)), 30)
        readers = ("lookup_order", "read_document", "run_query", "get_change_calendar")
        self.assertGreater(sum(1 for p in valid if any(
            st["tool"] in readers and "result" not in st for st in p["steps"])), 100)

    def test_one_output_line_per_input_line_in_order(self):
        s = _Shared.get()
        out = out_lines(s.result.stdout)
        self.assertEqual(len(out), len(s.meta))
        decisions = set()
        for i, (o, m) in enumerate(zip(out, s.meta)):
            with self.subTest(line=i + 1, kind=m["kind"]):
                self.assertEqual(o["line"], i + 1)
                if m["kind"] == "valid":
                    self.assertIn("decision", o, o)
                    decisions.add(o["decision"])
                else:
                    self.assertIn("error", o)
                    self.assertNotIn("decision", o)
                if m["kind"] == "malformed":
                    self.assertNotIn("id", o)
                    if m["word"] in ("empty", "blank"):
                        self.assertEqual(o["error"], "empty line")
                    else:
                        self.assertIn("JSON", o["error"])
                elif m["id"] is not None:
                    self.assertEqual(o.get("id"), str(m["id"]))
                else:
                    self.assertNotIn("id", o)
                if m["kind"] == "bad":
                    self.assertIn(m["word"], o["error"])
        # The mix reaches every decision.
        self.assertEqual(decisions, {"allow", "clarify", "escalate", "halt", "block"})

    def test_bad_input_names_step_and_field(self):
        s = _Shared.get()
        out = out_lines(s.result.stdout)
        for o, m in zip(out, s.meta):
            if m["kind"] == "bad" and m["word"] == "bogus_field":
                self.assertRegex(o["error"], r"step \d+.*unknown argument 'bogus_field'")
                return
        self.fail("no bad-input line with an unknown argument was generated")

    def test_verdicts_equal_check(self):
        s = _Shared.get()
        out = out_lines(s.result.stdout)
        rng = random.Random(7)
        valid = [i for i, m in enumerate(s.meta) if m["kind"] == "valid"]
        sample = sorted(rng.sample(valid, 150))
        with tempfile.TemporaryDirectory(prefix="pv-audit-check-") as d:
            files = []
            for i in sample:
                f = os.path.join(d, "plan-%05d.json" % (i + 1))
                with open(f, "w") as fh:
                    json.dump(s.meta[i]["plan"], fh)
                files.append(f)
            c = run(["check", "--specs", SPECS_DIR, "--format", "json"] + files)
            self.assertIn(c.returncode, (0, 1), c.stderr)
            checked = out_lines(c.stdout)
        self.assertEqual(len(checked), len(sample))
        for i, v in zip(sample, checked):
            with self.subTest(line=i + 1):
                self.assertEqual(v["file"], files[sample.index(i)])
                self.assertEqual(comparable(out[i]), comparable(v))

    def test_stdin_gives_the_same_output(self):
        s = _Shared.get()
        with open(s.path) as f:
            r = run(["audit", "--specs", SPECS_DIR, "-"], stdin=f)
        self.assertEqual(r.returncode, s.result.returncode)
        self.assertEqual(r.stdout, s.result.stdout)

    def test_jobs_1_and_jobs_2_give_identical_output(self):
        s = _Shared.get()
        one = run(["audit", "--specs", SPECS_DIR, "--jobs", "1", s.path])
        two = run(["audit", "--specs", SPECS_DIR, "--jobs", "2", s.path])
        self.assertEqual(one.returncode, 1)
        self.assertEqual(two.returncode, 1)
        self.assertEqual(one.stdout, two.stdout)
        self.assertIn("1 job)", one.stderr)
        self.assertIn("2 jobs)", two.stderr)

    def test_summary_on_stderr_and_no_progress_without_a_terminal(self):
        s = _Shared.get()
        err = s.result.stderr
        counts = {k: 0 for k in ("block", "halt", "escalate", "clarify", "allow")}
        for o in out_lines(s.result.stdout):
            if "decision" in o:
                counts[o["decision"]] += 1
        self.assertIn("audit: %d lines in " % N_PLANS, err)
        self.assertIn("  decisions: block %(block)d, halt %(halt)d, escalate %(escalate)d, "
                      "clarify %(clarify)d, allow %(allow)d" % counts, err)
        n_mal = sum(1 for m in s.meta if m["kind"] == "malformed")
        n_bad = sum(1 for m in s.meta if m["kind"] == "bad")
        self.assertIn("malformed or bad input: %d (%d malformed lines, %d bad input)"
                      % (n_mal + n_bad, n_mal, n_bad), err)
        self.assertIn("rules broken most often", err)
        self.assertIn("slowest plans:", err)
        self.assertEqual(len([x for x in err.splitlines() if " ms  line " in x]), 5)
        self.assertNotIn("\r", err)
        self.assertNotIn("\033", err)

    def test_rule_counts_in_summary(self):
        s = _Shared.get()
        counts = {}
        for o in out_lines(s.result.stdout):
            for rule in {(f["rule"], o["spec"]) for f in o.get("violations", [])}:
                counts[rule] = counts.get(rule, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], "%s (%s)" % kv[0]))[:5]
        err = s.result.stderr.splitlines()
        start = err.index("  rules broken most often (plans):")
        for (rule, spec), n in top:
            self.assertIn("    %8d  %s (%s)" % (n, rule, spec), err[start + 1:start + 6])


class AuditBehaviourTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pv-audit-")
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        p = os.path.join(self.tmp.name, name)
        with open(p, "w", newline="") as f:
            f.write(text)
        return p

    ALLOW = {"spec": "support-refunds", "id": "ok", "steps": [
        {"tool": "send_customer_message", "args": {"body": "hello"}}]}
    HALT = {"spec": "support-refunds", "id": "halt", "steps": [
        {"tool": "issue_refund", "args": {"order_id": "A6", "amount": 50}}]}

    def test_exit_0_when_every_plan_is_allowed(self):
        p = self.write("t.jsonl", (json.dumps(self.ALLOW) + "\n") * 3)
        r = run(["audit", p])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([o["decision"] for o in out_lines(r.stdout)], ["allow"] * 3)

    def test_exit_1_on_a_non_allow_decision_or_an_error_line(self):
        p = self.write("a.jsonl", json.dumps(self.ALLOW) + "\n" + json.dumps(self.HALT) + "\n")
        self.assertEqual(run(["audit", p]).returncode, 1)
        p = self.write("b.jsonl", json.dumps(self.ALLOW) + "\n{oops\n")
        r = run(["audit", p])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(out_lines(r.stdout)[1]["line"], 2)

    def test_exit_2_on_usage_errors_and_specs_that_do_not_load(self):
        p = self.write("a.jsonl", json.dumps(self.ALLOW) + "\n")
        bad_spec = self.write("bad.yaml", "spec: x\nversion: 1\ntools: {}\n")
        for args in (["audit"],
                     ["audit", p, p],
                     ["audit", "--jobs", "0", p],
                     ["audit", "--jobs", "many", p],
                     ["audit", "--from", "csv", p],
                     ["audit", "--timeout-ms", "-5", p],
                     ["audit", "--spec", bad_spec, "--specs", SPECS_DIR, p],
                     ["audit", "--bogus", p],
                     ["audit", "--spec", bad_spec, p],
                     ["audit", "--specs", self.tmp.name + "/nowhere", p],
                     ["audit", os.path.join(self.tmp.name, "missing.jsonl")],
                     ["audit", self.tmp.name]):
            with self.subTest(args=args[1:]):
                r = run(args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.strip())
        r = run(["audit", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: planverify audit", r.stdout)

    def test_empty_input(self):
        p = self.write("empty.jsonl", "")
        r = run(["audit", p])
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertIn("audit: 0 lines", r.stderr)

    def test_blank_lines_crlf_and_a_last_line_without_newline(self):
        text = json.dumps(self.ALLOW) + "\r\n\r\n  \n" + json.dumps(self.HALT)
        r = run(["audit", self.write("c.jsonl", text)])
        out = out_lines(r.stdout)
        self.assertEqual([o["line"] for o in out], [1, 2, 3, 4])
        self.assertEqual(out[0]["decision"], "allow")
        self.assertEqual(out[1], {"line": 2, "error": "empty line"})
        self.assertEqual(out[2], {"line": 3, "error": "empty line"})
        self.assertEqual(out[3]["decision"], "halt")
        self.assertEqual(r.returncode, 1)

    def test_a_line_over_16_mib_is_malformed_and_the_run_goes_on(self):
        big = '{"id": "big", "steps": [], "description": "' + "x" * (16 << 20) + '"}'
        p = self.write("big.jsonl", json.dumps(self.ALLOW) + "\n" + big + "\n"
                       + json.dumps(self.ALLOW) + "\n")
        r = run(["audit", p])
        out = out_lines(r.stdout)
        self.assertEqual(len(out), 3)
        self.assertEqual(out[1], {"line": 2, "error": "the line is longer than 16 MiB"})
        self.assertEqual(out[2]["decision"], "allow")
        self.assertIn("1 malformed line", r.stderr)

    def test_duplicate_keys_are_malformed(self):
        r = run(["audit", self.write("d.jsonl", '{"spec": "a", "spec": "b", "steps": []}\n')])
        o = out_lines(r.stdout)[0]
        self.assertIn("duplicate object key", o["error"])

    def test_spec_option(self):
        spec = os.path.join(SPECS_DIR, "support-refunds.yaml")
        no_spec = {"id": "n", "steps": [{"tool": "send_customer_message", "args": {"body": "x"}}]}
        other = dict(no_spec, spec="db-infra", id="o")
        p = self.write("s.jsonl", json.dumps(no_spec) + "\n" + json.dumps(other) + "\n")
        r = run(["audit", "--spec", spec, p])
        out = out_lines(r.stdout)
        self.assertEqual(out[0]["decision"], "allow")
        self.assertEqual(out[1], {"line": 2, "id": "o", "error":
                                  "field spec: the plan is for spec 'db-infra', but it is "
                                  "checked against 'support-refunds'"})
        # Without --spec, a plan that names no spec needs exactly one loaded spec.
        r = run(["audit", "--specs", SPECS_DIR, p])
        self.assertIn("names no spec", out_lines(r.stdout)[0]["error"])

    def test_output_streams_before_the_input_ends(self):
        """Results come out while the input is still open: the reorder window,
        not the whole input, is what is held."""
        proc = subprocess.Popen([BINARY, "audit", "--jobs", "2", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            got = []
            for k in range(5):
                proc.stdin.write(json.dumps(dict(self.ALLOW, id="s%d" % k)) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], 20)
                self.assertTrue(ready, "no output for line %d while stdin is open" % (k + 1))
                got.append(json.loads(proc.stdout.readline()))
            self.assertEqual([o["id"] for o in got], ["s0", "s1", "s2", "s3", "s4"])
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(proc.returncode, 0)

    def test_progress_line_on_a_terminal(self):
        lines = [json.dumps(dict(self.ALLOW, id="p%d" % k)) for k in range(50)]
        p = self.write("p.jsonl", "\n".join(lines) + "\n")
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([BINARY, "audit", p], stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            err = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
            out, _ = proc.communicate(timeout=60)
        finally:
            os.close(master)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(len(out.splitlines()), 50)
        text = err.decode()
        # The progress line is cleared before the summary.
        self.assertIn("\r\033[K", text)
        self.assertIn("audit: 50 lines in ", text)


# ---------------------------------------------------------------------------


def main():
    if not BINARY:
        sys.stdout.write("PV_BINARY is not set (run the tests through ctest)\n0 passed, 1 failed\n")
        sys.exit(1)
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules[__name__])
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = {getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
    failed_run = len({t.id() for t in (getattr(x, "test_case", x)
                                       for x, _ in result.failures + result.errors)
                      if isinstance(t, unittest.TestCase) and type(t).__name__ != "_ErrorHolder"})
    passed = max(0, result.testsRun - failed_run - len(result.skipped))
    sys.stdout.write("(%.1f s)\n" % (time.monotonic() - started))
    sys.stdout.write("%d passed, %d failed\n" % (passed, len(failed)))
    sys.stdout.flush()
    sys.exit(1 if failed or result.testsRun == 0 else 0)


if __name__ == "__main__":
    main()
