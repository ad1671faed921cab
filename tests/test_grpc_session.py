#!/usr/bin/python3
"""test_grpc_session.py - runtime Session streams through python3-grpcio.

An orchestrator starts a session with its plan, runs the safe prefix,
reports each executed step with its actual result, and gets a fresh verdict
after every message. Covered: approval of the safe prefix; a reported result
that turns a possible violation into a certain one, or into allow; deviations
(another argument, a step beyond safe_prefix, out of order, a result that
does not fit the spec) giving halt with rule plan_deviation; revising the
remainder; a session that starts badly; the idle timeout; the session cap;
a dropped stream freeing its slot.

Ends with "N passed, M failed"; exit code non-zero on failure.
"""

import threading
import time
import unittest

import grpc

import e2e_support as s
from planverify.v1 import planverify_pb2 as pb


def refund_plan():
    """A lookup, then a refund of the looked-up amount: whether the refund
    is fine depends on a result nobody knows yet."""
    req = pb.VerifyRequest(spec="support-refunds", id="session-1")
    st = req.steps.add()
    st.id = "order"
    st.tool = "lookup_order"
    st.args["order_id"].string_value = "A17"
    st = req.steps.add()
    st.tool = "issue_refund"
    st.args["order_id"].string_value = "A17"
    st.args["amount"].ref = "order.amount"
    st.args["reason"].string_value = "damaged"
    return req


def executed(index, amount=None, call=None):
    ex = pb.StepExecuted(index=index)
    if amount is not None:
        ex.result["amount"].int_value = amount
        ex.result["age_days"].int_value = 3
        ex.result["status"].string_value = "delivered"
        ex.result["email"].string_value = "c@example.com"
    if call is not None:
        ex.call.CopyFrom(call)
    return pb.SessionRequest(executed=ex)


def start(req=None):
    return pb.SessionRequest(start=req or refund_plan())


def rules(verdict):
    return sorted((v.rule, v.step, v.certain) for v in verdict.violations)


class SessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s.Server(extra_args=["--session-idle-ms", "1500", "--max-sessions", "3"])
        cls.server.start()
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.stub = s.PlanVerifierStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    def run_session(self, messages, timeout=20):
        return list(self.stub.Session(iter(messages), timeout=timeout))

    def test_approve_then_result_allows(self):
        v = self.run_session([start(), executed(0, amount=300)])
        self.assertEqual(len(v), 2)
        first, second = v
        # Before the lookup: the refund may exceed the cap or need approval.
        self.assertEqual(first.decision, "block")
        self.assertEqual(first.safe_prefix, 1)
        self.assertEqual(first.executed, 0)
        self.assertEqual(rules(first), [("refund-over-500-needs-approval", 1, False),
                                        ("refunds-per-conversation-cap", 1, False)])
        # The lookup ran and returned 300: the rest is provably fine.
        self.assertEqual(second.decision, "allow")
        self.assertEqual(second.executed, 1)
        self.assertEqual(second.safe_prefix, 2)
        self.assertEqual(list(second.violations), [])
        self.assertEqual(second.id, "session-1")

    def test_result_makes_violation_certain(self):
        first, second = self.run_session([start(), executed(0, amount=1500)])
        self.assertEqual(second.decision, "block")
        self.assertEqual(second.executed, 1)
        self.assertEqual(rules(second), [("refund-over-500-needs-approval", 1, True),
                                         ("refunds-per-conversation-cap", 1, True)])
        cap = [x for x in second.violations if x.rule == "refunds-per-conversation-cap"][0]
        self.assertEqual(cap.message,
                         "refunded_total reaches 1500 > 1000 after step 1 (issue_refund)")

    def test_other_arguments_is_a_deviation(self):
        call = pb.Step(tool="lookup_order")
        call.args["order_id"].string_value = "B99"
        v = self.run_session([start(), executed(0, amount=300, call=call),
                              executed(1)])
        self.assertEqual([x.decision for x in v], ["block", "halt", "halt"])
        dev = v[1].violations
        self.assertEqual([(d.rule, d.kind, d.step, d.action, d.certain) for d in dev],
                         [("plan_deviation", "deviation", 0, "halt", True)])
        self.assertIn("args.order_id differs", dev[0].message)
        # Once deviated, the session stays halted.
        self.assertEqual(v[2].violations[0].rule, "plan_deviation")

    def test_same_call_is_not_a_deviation(self):
        call = pb.Step(tool="lookup_order")
        call.args["order_id"].string_value = "A17"
        v = self.run_session([start(), executed(0, amount=300, call=call)])
        self.assertEqual(v[1].decision, "allow")

    def test_step_beyond_safe_prefix(self):
        v = self.run_session([start(), executed(0, amount=1500), executed(1)])
        self.assertEqual(v[2].decision, "halt")
        d = v[2].violations[0]
        self.assertEqual((d.rule, d.step), ("plan_deviation", 1))
        self.assertEqual(d.message,
                         "step 1 ran although the last verdict allowed only 1 step (safe_prefix)")

    def test_out_of_order(self):
        v = self.run_session([start(), executed(1)])
        d = v[1].violations[0]
        self.assertEqual(d.rule, "plan_deviation")
        self.assertEqual(d.message, "step 1 was reported run, but step 0 is the next step of "
                                    "the plan")

    def test_result_that_does_not_fit_is_a_deviation(self):
        v = self.run_session([start(), executed(0, amount=-5)])
        self.assertEqual(v[1].decision, "halt")
        d = v[1].violations[0]
        self.assertEqual(d.rule, "plan_deviation")
        self.assertIn("field result.amount: -5 is below the minimum 0", d.message)

    def test_revise_the_remainder(self):
        rev = pb.Revise()
        st = rev.steps.add()
        st.tool = "issue_refund"
        st.args["order_id"].string_value = "A17"
        st.args["amount"].int_value = 100
        st.args["reason"].string_value = "partial"
        v = self.run_session([start(), executed(0, amount=1500),
                              pb.SessionRequest(revise=rev)])
        self.assertEqual(v[1].decision, "block")
        self.assertEqual(v[2].decision, "allow")
        self.assertEqual(v[2].executed, 1)
        self.assertEqual(v[2].safe_prefix, 2)

    def test_revise_to_an_unknown_argument_is_invalid(self):
        rev = pb.Revise()
        st = rev.steps.add()
        st.tool = "issue_refund"
        st.args["amont"].int_value = 100
        with self.assertRaises(grpc.RpcError) as cm:
            self.run_session([start(), executed(0, amount=300), pb.SessionRequest(revise=rev)])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("step 1: unknown argument 'amont' of tool 'issue_refund'",
                      cm.exception.details())

    def test_must_start_first(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.run_session([executed(0, amount=1)])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(cm.exception.details(), "the first message of a session must be start")

    def test_unknown_spec(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.run_session([start(pb.VerifyRequest(spec="nope"))])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_idle_timeout(self):
        def slow():
            yield start()
            time.sleep(3.0)
            yield executed(0, amount=300)
        got = []
        with self.assertRaises(grpc.RpcError) as cm:
            for v in self.stub.Session(slow(), timeout=10):
                got.append(v)
        self.assertEqual(len(got), 1)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertEqual(cm.exception.details(), "the session was idle for more than 1500 ms")

    def test_session_cap_and_dropped_streams(self):
        # Three sessions held open (the cap), a fourth is refused; when the
        # held streams are dropped, their slots are freed.
        release = threading.Event()
        ready = threading.Barrier(4, timeout=10)
        calls = []

        def holder():
            def msgs():
                yield start()
                ready.wait()
                release.wait(10)
            call = self.stub.Session(msgs(), timeout=15)
            calls.append(call)
            try:
                for _ in call:
                    pass
            except grpc.RpcError:
                pass

        threads = [threading.Thread(target=holder) for _ in range(3)]
        for t in threads:
            t.start()
        ready.wait()
        time.sleep(0.3)  # the three starts have been answered
        with self.assertRaises(grpc.RpcError) as cm:
            self.run_session([start()], timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        for c in calls:
            c.cancel()
        release.set()
        for t in threads:
            t.join(10)
        # Freed: a new session works again (allow a moment for the server
        # to see the cancellations).
        deadline = time.monotonic() + 5
        while True:
            try:
                v = self.run_session([start(), executed(0, amount=300)], timeout=5)
                break
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual(v[-1].decision, "allow")


if __name__ == "__main__":
    s.main()
