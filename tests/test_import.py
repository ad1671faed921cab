"""test_import.py - `planverify audit --from openai-chat|mcp-jsonrpc`, end to end.

The importers turn other trace formats into plans; these tests run the real
binary on the fixtures in tests/fixtures/import/ and assert exactly what
comes out for each trace: the decision (or the error), every finding's rule,
step, action and certainty, and every note about what was dropped.

Environment (from ctest): PV_BINARY, PV_SOURCE_DIR. The last line printed
is "N passed, M failed"; the exit code is non-zero on any failure.
"""

import json
import os
import subprocess
import sys
import time
import unittest

BINARY = os.environ.get("PV_BINARY")
SOURCE_DIR = os.environ.get(
    "PV_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS_DIR = os.path.join(SOURCE_DIR, "specs")
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "import")


def fixture(name):
    return os.path.join(FIXTURES, name)


def audit(args, input_text=None):
    r = subprocess.run([BINARY, "audit"] + args, input=input_text, capture_output=True,
                       text=True, timeout=120)
    return r, [json.loads(x) for x in r.stdout.splitlines()]


def summary(o):
    """The parts of an output line the tests pin down exactly."""
    s = {"line": o["line"]}
    for k in ("id", "session", "decision", "safe_prefix", "error"):
        if k in o:
            s[k] = o[k]
    if "violations" in o:
        s["violations"] = [(f["rule"], f["step"], f["action"], f["certain"])
                           for f in o["violations"]]
    s["notes"] = o["notes"]
    return s


class OpenAIChatTest(unittest.TestCase):
    maxDiff = None

    def test_conversations(self):
        r, out = audit(["--specs", SPECS_DIR, "--from", "openai-chat",
                        fixture("openai-chat.jsonl")])
        self.assertEqual(r.returncode, 1, r.stderr)
        got = [summary(o) for o in out]
        want = [
            # A customer record (PII) read, then an email to an outside address.
            {"line": 1, "id": "conv-pii-email", "decision": "block", "safe_prefix": 1,
             "violations": [("no-pii-to-external-email", 1, "block", True)],
             "notes": ["step 0 (call_K7x2lookup): result fields that lookup_customer does not "
                       "declare, ignored: address.city, address.country, orders"]},
            # Three refunds of 400, each under the approval threshold, together
            # over the conversation cap; the send's plain-text reply is not noted
            # (send tools declare no results).
            {"line": 2, "id": "conv-split-refund", "decision": "block", "safe_prefix": 1,
             "violations": [("refunds-per-conversation-cap", 3, "block", True)],
             "notes": ["step 0 (call_lookupA4): result fields that lookup_order does not "
                       "declare, ignored: currency"]},
            # The lookup answered in plain text: the order's age is unknown, so
            # the return label may be outside the window.
            {"line": 3, "id": "conv-plain-text", "decision": "escalate", "safe_prefix": 1,
             "violations": [("returns-within-window", 1, "escalate", False)],
             "notes": ["step 0 (call_a7): the result is plain text, not JSON; no result "
                       "fields, so the result stays unknown"]},
            # Arguments that are not JSON: every argument is unknown, so every
            # rule on issue_refund can break.
            {"line": 4, "id": "conv-bad-arguments", "decision": "block", "safe_prefix": 1,
             "violations": [("precondition", 1, "halt", False),
                            ("refund-over-500-needs-approval", 1, "escalate", False),
                            ("refund-within-order-amount", 1, "block", False),
                            ("refunds-per-conversation-cap", 1, "block", False)],
             "notes": ["step 1 (call_refund_a9), field args: the arguments are not valid JSON "
                       "('}' expected near end of file); every argument of issue_refund is "
                       "taken as unknown"]},
            # A bare array of messages names no spec, and three specs are loaded.
            {"line": 5, "error": "the conversation names no spec; add a \"spec\" member or "
                                 "pass --spec FILE", "notes": []},
            # Loose ends are notes; a result outside its declared bounds is bad
            # input naming the step and field. "call 1" is no step id.
            {"line": 6, "id": "conv-loose-ends",
             "error": "step 0, field result.age_days: -3 is below the minimum 0 of 'age_days'",
             "notes": ["message 1: a tool message without tool_call_id; ignored",
                       "message 3: a tool message for tool_call_id 'call_zzz', which no "
                       "earlier unanswered tool call has; ignored",
                       "step 1 (call_b2): no tool message answers this call; the result stays "
                       "unknown"]},
            # An integer id comes back as text, as in every verdict.
            {"line": 7, "id": "4471", "decision": "escalate", "safe_prefix": 0,
             "violations": [("payment-disputes", 0, "escalate", True),
                            ("account-changes", 1, "escalate", True)],
             "notes": []},
        ]
        self.assertEqual(got, want)
        self.assertIn("audit: 7 lines in ", r.stderr)
        self.assertIn("2 bad input", r.stderr)

    def test_nested_results_and_the_legacy_api(self):
        r, out = audit(["--spec", fixture("crm.yaml"), "--from", "openai-chat",
                        fixture("openai-crm.jsonl")])
        got = [summary(o) for o in out]
        want = [
            # customer.email and customer_email both name customer_email: the
            # exact key wins; customer.tier maps to customer_tier; a float, a
            # null and an array are dropped; the email goes to the customer.
            {"line": 1, "id": "crm-flatten", "decision": "allow", "safe_prefix": 2,
             "violations": [],
             "notes": ["step 0 (call_get), field result.customer_email: given both as "
                       "'customer.email' and as 'customer_email'; 'customer_email' is used",
                       "step 0 (call_get), field result.balance: the number 12.5 is not an "
                       "integer, string or boolean; ignored, so the field stays unknown",
                       "step 0 (call_get), field result.active: null is not an integer, "
                       "string or boolean; ignored, so the field stays unknown",
                       "step 0 (call_get): result fields that get_customer does not declare, "
                       "ignored: customer.address.zip, tags"]},
            # function_call / role "function", content as a list of parts: the
            # tier is basic, so a credit of 300 needs an account manager.
            {"line": 2, "id": "crm-legacy", "decision": "escalate", "safe_prefix": 1,
             "violations": [("credit-needs-gold", 1, "escalate", True)], "notes": []},
            {"line": 3, "id": "crm-wrong-type",
             "error": "step 0 (call_get), field result.balance: expected an int, found the "
                      "string '700'", "notes": []},
            {"line": 4, "id": "crm-bad-arg",
             "error": "step 0 (call_get): unknown argument 'verbose' of tool 'get_customer'",
             "notes": ["step 0 (call_get): no tool message answers this call; the result "
                       "stays unknown"]},
        ]
        self.assertEqual(got, want)
        self.assertEqual(r.returncode, 1)

    def test_result_values_reach_the_engine(self):
        """A mapped result is a known value: the witness has no entry for it."""
        _, out = audit(["--spec", fixture("crm.yaml"), "--from", "openai-chat",
                        fixture("openai-crm.jsonl")])
        w = out[1]["violations"][0]
        self.assertEqual(w["witness"], {})
        self.assertIn("credit", w["message"])

    def test_bare_array_with_spec_option_and_stdin(self):
        conv = [
            {"role": "user", "content": "Tell the team."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
                "name": "send_email",
                "arguments": json.dumps({"to": "team@acme.com", "subject": "s", "body": "b"})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sent"}]
        r, out = audit(["--spec", os.path.join(SPECS_DIR, "email-docs.yaml"),
                        "--from", "openai-chat", "-"], json.dumps(conv) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(summary(out[0]), {"line": 1, "decision": "allow", "safe_prefix": 1,
                                           "violations": [], "notes": []})

    def test_spec_member_must_match_the_spec_option(self):
        conv = {"id": "x", "spec": "db-infra", "messages": []}
        r, out = audit(["--spec", os.path.join(SPECS_DIR, "email-docs.yaml"),
                        "--from", "openai-chat", "-"], json.dumps(conv) + "\n")
        self.assertEqual(summary(out[0]), {
            "line": 1, "id": "x", "notes": [],
            "error": "field spec: the conversation is for spec 'db-infra', but it is checked "
                     "against 'email-docs'"})
        self.assertEqual(r.returncode, 1)

    def test_shapes_that_are_not_conversations(self):
        lines = ['{"id": "a", "spec": "email-docs"}',
                 '{"id": "b", "spec": "email-docs", "messages": {"role": "user"}}',
                 '"hello"',
                 '{"id": "c", "spec": "nope", "messages": []}',
                 '{"id": "d", "spec": "email-docs", "messages": [42, {"content": "x"}, '
                 '{"role": "assistant", "tool_calls": [{"id": "t", "type": "custom", '
                 '"custom": {"name": "x"}}, {"id": "u", "type": "function", "function": {}}]}]}']
        r, out = audit(["--specs", SPECS_DIR, "--from", "openai-chat", "-"],
                       "\n".join(lines) + "\n")
        got = [(o.get("id"), o.get("error"), o.get("decision"), o["notes"]) for o in out]
        self.assertEqual(got, [
            ("a", "a conversation needs \"messages\" (or is a bare array of messages)", None,
             []),
            ("b", "field messages: expected an array of messages, found an object", None, []),
            (None, "a conversation is an object with \"messages\" or an array of messages, "
                   "found a string", None, []),
            ("c", "field spec: no loaded spec has the id 'nope'", None, []),
            ("d", None, "allow", ["message 0 is not an object; ignored",
                                  "message 1 has no role; ignored",
                                  "message 2, tool call 0: type 'custom' is not a function "
                                  "call; ignored",
                                  "message 2, tool call 1: no function name; ignored"]),
        ])


class McpJsonRpcTest(unittest.TestCase):
    maxDiff = None

    def test_two_interleaved_sessions(self):
        r, out = audit(["--specs", SPECS_DIR, "--from", "mcp-jsonrpc",
                        fixture("mcp-jsonrpc.jsonl")])
        self.assertEqual(r.returncode, 1, r.stderr)
        got = [summary(o) for o in out]
        want = [
            # initialize, tools/list and notifications are skipped; the lookup's
            # structuredContent gives the amount, so the refund of 700 is within
            # the order but needs an approval nobody asked for.
            {"line": 1, "session": "sess-a", "decision": "escalate", "safe_prefix": 1,
             "violations": [("refund-over-500-needs-approval", 1, "escalate", True)],
             "notes": ["step 0: result fields that lookup_order does not declare, ignored: "
                       "items",
                       "line 20: a response to id 99, which no pending request of this "
                       "session has; ignored"]},
            # sessionId at the top level. The lookup failed with a JSON-RPC error
            # and the read with isError, so their results are unknown; the
            # lookup's effect (PII in context) applies whatever it returned.
            {"line": 4, "session": "sess-b", "decision": "block", "safe_prefix": 2,
             "violations": [("no-pii-to-external-email", 2, "block", True)],
             "notes": ["step 0: the call failed (JSON-RPC error -32603: CRM timeout); the "
                       "result stays unknown",
                       "step 1: the call failed (isError: Permission denied: "
                       "support/escalations-q3); the result stays unknown"]},
        ]
        self.assertEqual(got, want)
        self.assertIn("audit: 2 results from 20 lines in ", r.stderr)

    def test_default_session_batches_and_malformed_lines(self):
        r, out = audit(["--spec", os.path.join(SPECS_DIR, "support-refunds.yaml"),
                        "--from", "mcp-jsonrpc", fixture("mcp-default-session.jsonl")])
        got = [summary(o) for o in out]
        self.assertEqual(got, [
            # Lines without a session form the default session (JSON null); a
            # batch line answers l1 and asks for a refund over the order's amount.
            {"line": 1, "session": None, "decision": "block", "safe_prefix": 1,
             "violations": [("refund-within-order-amount", 1, "block", True)],
             "notes": ["line 4, batch item 2: not a JSON-RPC message (not an object); "
                       "ignored"]},
            {"line": 2, "error": "invalid JSON at column 5: string or '}' expected near 'this'",
             "notes": []},
            {"line": 3, "error": "not a JSON-RPC message (no \"method\", \"result\" or "
                                 "\"error\")", "notes": []},
            {"line": 5, "error": "empty line", "notes": []},
            {"line": 6, "session": 7,
             "error": "the session's lines name different specs: 'db-infra' (line 6) and "
                      "'email-docs' (line 7)", "notes": []},
        ])
        self.assertIn("2 malformed lines, 2 bad input", r.stderr)
        self.assertEqual(r.returncode, 1)

    def test_sessions_need_a_spec(self):
        line = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "lookup_order", "arguments": {"order_id": "A1"}}}
        r, out = audit(["--specs", SPECS_DIR, "--from", "mcp-jsonrpc", "-"],
                       json.dumps(line) + "\n")
        self.assertEqual(summary(out[0]), {
            "line": 1, "session": None, "notes": [],
            "error": "the session names no spec; add a \"spec\" member or pass --spec FILE"})

    def test_unanswered_calls_and_text_results(self):
        spec = os.path.join(SPECS_DIR, "support-refunds.yaml")
        msgs = [
            {"jsonrpc": "2.0", "id": "q1", "method": "tools/call",
             "params": {"name": "lookup_order", "arguments": {"order_id": "A1"}}},
            {"jsonrpc": "2.0", "id": "q1", "result": {"content": [
                {"type": "text", "text": "Looking it up..."},
                {"type": "text", "text": "{\"amount\": 50, \"age_days\": 1, "
                                         "\"status\": \"shipped\", \"email\": \"a@b.c\"}"}]}},
            {"jsonrpc": "2.0", "id": "q2", "method": "tools/call",
             "params": {"name": "lookup_order", "arguments": {"order_id": "A2"}}},
            {"jsonrpc": "2.0", "id": "q2", "result": {"content": [
                {"type": "image", "data": "AAAA", "mimeType": "image/png"}]}},
            {"jsonrpc": "2.0", "id": "q3", "method": "tools/call",
             "params": {"name": "lookup_order", "arguments": {"order_id": "A3"}}},
            {"jsonrpc": "2.0", "id": "q4", "method": "tools/call",
             "params": {"name": "lookup_order", "arguments": {"order_id": "A4"}}},
            {"jsonrpc": "2.0", "id": "q4", "result": {"content": [
                {"type": "text", "text": "[1, 2]"}]}},
        ]
        r, out = audit(["--spec", spec, "--from", "mcp-jsonrpc", "-"],
                       "".join(json.dumps(m) + "\n" for m in msgs))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(summary(out[0]), {
            "line": 1, "session": None, "decision": "allow", "safe_prefix": 4,
            "violations": [],
            "notes": ["step 1 (q2): the result has no text content; no result fields, so the "
                      "result stays unknown",
                      "step 2 (q3): no response to request id \"q3\" (line 5); the result "
                      "stays unknown",
                      "step 3 (q4): the result is an array, not a JSON object; no result "
                      "fields, so the result stays unknown"]})

    def test_jobs_do_not_change_the_output(self):
        args = ["--specs", SPECS_DIR, "--from", "mcp-jsonrpc", fixture("mcp-jsonrpc.jsonl")]
        r1, _ = audit(["--jobs", "1"] + args)
        r2, _ = audit(["--jobs", "2"] + args)
        self.assertEqual(r1.stdout, r2.stdout)


def main():
    if not BINARY:
        sys.stdout.write("PV_BINARY is not set (run the tests through ctest)\n0 passed, 1 failed\n")
        sys.exit(1)
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules[__name__])
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = {getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
    passed = max(0, result.testsRun - len(failed) - len(result.skipped))
    sys.stdout.write("(%.1f s)\n" % (time.monotonic() - started))
    sys.stdout.write("%d passed, %d failed\n" % (passed, len(failed)))
    sys.stdout.flush()
    sys.exit(1 if failed or result.testsRun == 0 else 0)


if __name__ == "__main__":
    main()
