#!/usr/bin/python3
"""test_grpc_service.py - end-to-end tests of `planverify serve` over gRPC.

Run by ctest as `/usr/bin/python3 tests/test_grpc_service.py` from the source
tree, with PV_BINARY, PV_SOURCE_DIR, PV_BUILD_DIR and PYTHONPATH=<build>/python
(see tests/e2e_support.py). Every server these tests start listens on
127.0.0.1 with a port the kernel picks, and is stopped by a cleanup even when
a test fails. Every RPC has a deadline and every loop a bound.

Covered (contract sections 4-7):
  1. Verify: allow, block with a witness, escalate with escalate_to
  2. status codes: NOT_FOUND, INVALID_ARGUMENT (naming step and field),
     RESOURCE_EXHAUSTED, UNIMPLEMENTED for Session
  3. grpc.health.v1.Health Check and Watch
  4. ListSpecs and GetSpec
  5. 8 threads x 500 Verify calls agree with `planverify check`
  6. TLS and mutual TLS (openssl-made throwaway CA)
  7. SIGTERM under load: accepted calls finish, the process exits 0
  8. start-up errors: busy port, missing spec directory, bad certificate
  9. `planverify verify --server` prints what `planverify check` prints

The last line of output is "N passed, M failed"; the exit code is non-zero
on any failure.
"""

import concurrent.futures
import hashlib
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import e2e_support as s  # noqa: E402
from e2e_support import pb  # noqa: E402

SPLIT_REFUND = os.path.join(s.EXAMPLES_DIR, "split-refund-unknown.yaml")
SUPPORT_REFUNDS = os.path.join(s.SPECS_DIR, "support-refunds.yaml")

# One server for the tests that only read (sections 1-4); the others start
# their own.
_shared = None


def setUpModule():
    global _shared
    srv = s.Server(threads=2)
    unittest.addModuleCleanup(srv.stop)
    srv.start()
    _shared = srv


def shared_stub():
    ch = grpc.insecure_channel(_shared.address)
    return ch, s.PlanVerifierStub(ch)


def lookup(order_id="A17", result=None, id=None):
    return s.make_step("lookup_order", {"order_id": order_id}, result=result, id=id)


def refund(order_id="A17", amount=450):
    return s.make_step("issue_refund", {"order_id": order_id, "amount": amount})


def spec_field(path, key):
    """A top-level scalar (spec, version) of a spec file, by its line."""
    with open(path, encoding="utf-8") as f:
        m = re.search(r"^%s:\s*(.+?)\s*$" % re.escape(key), f.read(), re.M)
    return m.group(1).strip("\"'") if m else None


class _Base(unittest.TestCase):
    def setUp(self):
        self.channel, self.stub = shared_stub()
        self.addCleanup(self.channel.close)

    def assertRpcError(self, fn, request, code, details=None, timeout=s.RPC_TIMEOUT):
        """fn(request) must fail with code (and exactly these details)."""
        try:
            response = fn(request, timeout=timeout)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), code, "details: %r" % e.details())
            if details is not None:
                self.assertEqual(e.details(), details)
            return e
        self.fail("expected %s, got a response: %r" % (code, response))


# ---------------------------------------------------------------------------
# 1. Verify


class VerifyTest(_Base):
    digest = s.sha256_file(SUPPORT_REFUNDS)

    def assertHeader(self, v, decision, safe_prefix, plan_id=""):
        self.assertEqual(v.decision, decision)
        self.assertEqual(v.safe_prefix, safe_prefix)
        self.assertEqual(v.spec, "support-refunds")
        self.assertEqual(v.spec_version, "2026.11.1")
        self.assertEqual(v.spec_digest, self.digest)
        self.assertEqual(v.id, plan_id)
        self.assertEqual(v.executed, 0)

    def test_allow(self):
        req = pb.VerifyRequest(spec="support-refunds", id="run-allow", steps=[
            lookup("A2", id="order", result={"amount": 120, "age_days": 3,
                                             "status": "delivered", "email": "b@example.com"}),
            s.make_step("issue_refund", {"order_id": "A2", "amount": {"ref": "order.amount"}}),
        ])
        v = self.stub.Verify(req, timeout=s.RPC_TIMEOUT)
        self.assertHeader(v, "allow", 2, "run-allow")
        self.assertEqual(list(v.violations), [])

    def test_block_with_witness(self):
        # specs/examples/split-refund-unknown.yaml: 450, then an unknown amount
        req = s.plan_file_to_request(SPLIT_REFUND)
        self.assertEqual(req.steps[2].args["amount"].WhichOneof("kind"), "unknown")
        v = self.stub.Verify(req, timeout=s.RPC_TIMEOUT)
        self.assertHeader(v, "block", 1, "split-refund-unknown")
        self.assertEqual([(x.rule, x.step, x.action) for x in v.violations], [
            ("refund-within-order-amount", 1, "block"),
            ("refund-over-500-needs-approval", 2, "escalate"),
            ("refund-within-order-amount", 2, "block"),
            ("refunds-per-conversation-cap", 2, "block"),
        ])
        cap = v.violations[3]
        self.assertEqual(cap.kind, "state")
        self.assertEqual(cap.tool, "issue_refund")
        self.assertEqual(cap.escalate_to, "")
        self.assertFalse(cap.certain)
        self.assertEqual(list(cap.chain), [1, 2])
        self.assertIn("steps[2].args.amount", cap.witness)
        amount = cap.witness["steps[2].args.amount"]
        self.assertEqual(amount.WhichOneof("kind"), "int_value")
        self.assertGreaterEqual(amount.int_value, 1)  # the declared min
        total = 450 + amount.int_value
        self.assertGreater(total, 1000)
        self.assertEqual(cap.message,
                         "refunded_total reaches %d > 1000 after step 2 (issue_refund)" % total)
        esc = v.violations[1]
        self.assertEqual(esc.escalate_to, "finance-approvers")
        self.assertFalse(esc.certain)
        self.assertGreater(esc.witness["steps[2].args.amount"].int_value, 500)

    def test_escalate_with_escalate_to(self):
        req = pb.VerifyRequest(spec="support-refunds", steps=[
            lookup("A3", result={"amount": 900, "age_days": 3, "status": "delivered",
                                 "email": "c@example.com"}),
            refund("A3", 700),
        ])
        v = self.stub.Verify(req, timeout=s.RPC_TIMEOUT)
        self.assertHeader(v, "escalate", 1)
        self.assertEqual(len(v.violations), 1)
        x = v.violations[0]
        self.assertEqual((x.rule, x.kind, x.step, x.tool, x.action, x.escalate_to, x.certain),
                         ("refund-over-500-needs-approval", "call", 1, "issue_refund",
                          "escalate", "finance-approvers", True))
        self.assertEqual(list(x.chain), [1])
        self.assertTrue(x.message.endswith("fails at step 1 (issue_refund) with args.amount = 700"),
                        x.message)

    def test_matching_pins_are_accepted(self):
        req = pb.VerifyRequest(spec="support-refunds", version="2026.11.1", digest=self.digest,
                               steps=[lookup()])
        v = self.stub.Verify(req, timeout=s.RPC_TIMEOUT)
        self.assertHeader(v, "allow", 1)


# ---------------------------------------------------------------------------
# 2. status codes


class StatusCodeTest(_Base):
    def test_unknown_spec_is_not_found(self):
        req = pb.VerifyRequest(spec="no-such-spec", steps=[lookup()])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.NOT_FOUND,
                            "no spec 'no-such-spec' is loaded")

    def test_version_pin_mismatch_is_not_found(self):
        req = pb.VerifyRequest(spec="support-refunds", version="1999.1", steps=[lookup()])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.NOT_FOUND,
                            "spec 'support-refunds' is loaded at version '2026.11.1', "
                            "not '1999.1'")

    def test_digest_pin_mismatch_is_not_found(self):
        req = pb.VerifyRequest(spec="support-refunds", digest="sha256:" + "0" * 64,
                               steps=[lookup()])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.NOT_FOUND,
                            "spec 'support-refunds' is loaded with digest %s, not sha256:%s"
                            % (s.sha256_file(SUPPORT_REFUNDS), "0" * 64))

    def test_unknown_argument_is_invalid(self):
        step = refund()
        step.args["colour"].string_value = "red"
        req = pb.VerifyRequest(spec="support-refunds", steps=[lookup(), step])
        e = self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                                "step 1: unknown argument 'colour' of tool 'issue_refund'")
        self.assertIn("step 1", e.details())
        self.assertIn("colour", e.details())

    def test_wrong_type_is_invalid(self):
        req = pb.VerifyRequest(spec="support-refunds", steps=[lookup(), refund(amount="five")])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                            "step 1, field args.amount: expected an int, found the string 'five'")
        req = pb.VerifyRequest(spec="support-refunds", steps=[
            s.make_step("lookup_order", {"order_id": True})])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                            'step 0, field args.order_id: expected a string, found true '
                            '(quote it: "true")')

    def test_ref_to_a_later_step_is_invalid(self):
        req = pb.VerifyRequest(spec="support-refunds", steps=[
            refund(amount={"ref": "later.amount"}), lookup(id="later")])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                            "step 0, field args.amount: ref 'later.amount' points to step 1 "
                            "(later), which is not before this step")
        req = pb.VerifyRequest(spec="support-refunds", steps=[
            refund(amount={"ref": "1.amount"}), lookup()])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                            "step 0, field args.amount: ref '1.amount' points to step 1, "
                            "which is not before this step")

    def test_value_with_no_case_is_invalid(self):
        req = pb.VerifyRequest(spec="support-refunds", steps=[
            pb.Step(tool="lookup_order", args={"order_id": pb.Value()})])
        self.assertRpcError(self.stub.Verify, req, grpc.StatusCode.INVALID_ARGUMENT,
                            "step 0, field args.order_id: expected a string, integer, boolean, "
                            "{ref: STEP.FIELD} or {unknown: true}, found null")

    def test_request_over_max_request_bytes_is_resource_exhausted(self):
        srv = s.start_server(self, ["--max-request-bytes", "4096"])
        ch = grpc.insecure_channel(srv.address)
        self.addCleanup(ch.close)
        stub = s.PlanVerifierStub(ch)
        big = pb.VerifyRequest(spec="support-refunds", steps=[
            s.make_step("send_customer_message", {"body": "x" * 5000})])
        self.assertGreater(big.ByteSize(), 4096)
        e = self.assertRpcError(stub.Verify, big, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertRegex(e.details(), r"\b%d\b.*\b4096\b" % big.ByteSize())
        # Under the limit the same server answers (and is still up).
        small = pb.VerifyRequest(spec="support-refunds", steps=[
            s.make_step("send_customer_message", {"body": "x" * 3900})])
        self.assertLess(small.ByteSize(), 4096)
        self.assertEqual(stub.Verify(small, timeout=s.RPC_TIMEOUT).decision, "allow")

    def test_unknown_method_is_unimplemented(self):
        # What every gRPC server answers for a method it does not have.
        for path in ("/planverify.v1.PlanVerifier/NoSuchMethod", "/no.such.Service/Call"):
            with self.subTest(path=path):
                fn = self.channel.unary_unary(path, request_serializer=lambda b: b,
                                              response_deserializer=lambda b: b)
                t0 = time.monotonic()
                try:
                    fn(b"", timeout=3)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.UNIMPLEMENTED,
                                     "%s ended with %s (%r) after %.1f s"
                                     % (path, e.code(), e.details(), time.monotonic() - t0))
                    continue
                self.fail("%s answered" % path)


# ---------------------------------------------------------------------------
# 3. health


class HealthTest(_Base):
    def setUp(self):
        super().setUp()
        self.health = s.HealthStub(self.channel)

    def test_check_serving(self):
        for service in ("", "planverify.v1.PlanVerifier"):
            with self.subTest(service=service):
                raw = self.health.Check(s.health_request(service), timeout=s.RPC_TIMEOUT)
                self.assertEqual(raw, b"\x08\x01")
                self.assertEqual(s.health_status(raw), s.HEALTH_SERVING)

    def test_check_other_service_is_not_found(self):
        self.assertRpcError(self.health.Check, s.health_request("other.v1.Service"),
                            grpc.StatusCode.NOT_FOUND, "unknown service 'other.v1.Service'")

    def test_watch_streams_serving_first(self):
        call = self.health.Watch(s.health_request(""), timeout=s.RPC_TIMEOUT)
        try:
            first = next(call)
        finally:
            call.cancel()
        self.assertEqual(first, b"\x08\x01")
        call = self.health.Watch(s.health_request("planverify.v1.PlanVerifier"),
                                 timeout=s.RPC_TIMEOUT)
        try:
            first = next(call)
        finally:
            call.cancel()
        self.assertEqual(s.health_status(first), s.HEALTH_SERVING)


# ---------------------------------------------------------------------------
# 4. ListSpecs, GetSpec


class SpecsTest(_Base):
    def expected(self):
        out = {}
        for path in s.bundled_spec_files():
            out[spec_field(path, "spec")] = path
        return out

    def test_list_specs(self):
        resp = self.stub.ListSpecs(pb.ListSpecsRequest(), timeout=s.RPC_TIMEOUT)
        expected = self.expected()
        self.assertEqual([x.id for x in resp.specs], sorted(expected))
        self.assertEqual(sorted(expected), ["db-infra", "email-docs", "support-refunds"])
        for info in resp.specs:
            with self.subTest(spec=info.id):
                path = expected[info.id]
                self.assertEqual(info.version, spec_field(path, "version"))
                self.assertRegex(info.digest, r"^sha256:[0-9a-f]{64}$")
                self.assertEqual(info.digest, s.sha256_file(path))
                self.assertEqual(info.source, "")
                self.assertNotEqual(info.description.strip(), "")
        refunds = [x for x in resp.specs if x.id == "support-refunds"][0]
        self.assertTrue(refunds.description.startswith("Support agent for order status"),
                        refunds.description)

    def test_get_spec_source_matches_digest(self):
        listed = {x.id: x for x in
                  self.stub.ListSpecs(pb.ListSpecsRequest(), timeout=s.RPC_TIMEOUT).specs}
        for spec_id, path in self.expected().items():
            with self.subTest(spec=spec_id):
                info = self.stub.GetSpec(pb.GetSpecRequest(id=spec_id), timeout=s.RPC_TIMEOUT)
                self.assertEqual(info.id, spec_id)
                self.assertEqual(info.version, listed[spec_id].version)
                self.assertEqual(info.description, listed[spec_id].description)
                with open(path, encoding="utf-8") as f:
                    self.assertEqual(info.source, f.read())
                digest = "sha256:" + hashlib.sha256(info.source.encode("utf-8")).hexdigest()
                self.assertEqual(info.digest, digest)
                self.assertEqual(listed[spec_id].digest, digest)

    def test_get_unknown_spec_is_not_found(self):
        self.assertRpcError(self.stub.GetSpec, pb.GetSpecRequest(id="no-such-spec"),
                            grpc.StatusCode.NOT_FOUND, "no spec 'no-such-spec' is loaded")


# ---------------------------------------------------------------------------
# 5. concurrency


def check_all(paths, specs=None):
    """{path: comparable verdict} from one `check --format json` per plan
    file, and {path: seconds it took}; two at a time."""
    def one(path):
        t0 = time.monotonic()
        rc, verdicts, err = s.check_json(path, specs=specs)
        took = time.monotonic() - t0
        if rc not in (0, 1) or len(verdicts) != 1:
            raise AssertionError("check %s: exit %d, %d verdicts; stderr: %s"
                                 % (path, rc, len(verdicts), err))
        return path, s.comparable(verdicts[0]), took
    expected, took = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for path, verdict, seconds in pool.map(one, paths):
            expected[path] = verdict
            took[path] = seconds
    return expected, took


class ConcurrencyTest(unittest.TestCase):
    maxDiff = None
    THREADS = 8
    CALLS = 500

    def test_8_threads_500_calls_agree_with_check(self):
        tmp = s.make_tempdir(self)
        # The bundled specs with a solver budget that no run comes near, on
        # both sides: a wall-clock budget of 2 s that a plan needs 0.5 s of
        # when alone can run out with 8 clients on 2 busy cores, and that
        # would be a timing difference, not a concurrency one.
        specs = s.copy_specs_with_solver_budget(s.make_tempdir(self), 120000)
        paths = s.example_plans() + s.write_spec_test_plans(tmp)
        self.assertGreaterEqual(len(paths), 20)
        requests = {p: s.plan_file_to_request(p) for p in paths}
        expected, took = check_all(paths, specs=specs)
        # A few plans take the solver a few hundred milliseconds (unknown
        # string recipients); each thread sends those once, and fills its
        # 500 calls with the others, so that the test stays short.
        median = sorted(took.values())[len(took) // 2]
        heavy = [p for p in paths if took[p] > max(0.15, 4 * median)]
        light = [p for p in paths if p not in heavy] or paths

        srv = s.start_server(self, specs=specs, threads=2)
        results = [None] * self.THREADS

        def worker(k):
            rng = random.Random(1000 + k)
            seq = list(paths)
            while len(seq) < self.CALLS:
                seq.append(light[rng.randrange(len(light))])
            rng.shuffle(seq)
            ch = grpc.insecure_channel(srv.address)
            stub = s.PlanVerifierStub(ch)
            ok, errors, mismatches, seen = 0, [], [], {}
            try:
                for path in seq[:self.CALLS]:
                    try:
                        v = stub.Verify(requests[path], timeout=30)
                    except grpc.RpcError as e:
                        errors.append((os.path.basename(path), e.code(), e.details()))
                        continue
                    key = (path, v.SerializeToString(deterministic=True))
                    if key not in seen:
                        seen[key] = s.comparable(s.verdict_to_dict(v)) == expected[path]
                        if not seen[key]:
                            mismatches.append((path, s.verdict_to_dict(v)))
                    if seen[key]:
                        ok += 1
            finally:
                ch.close()
            results[k] = (ok, errors, mismatches)

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, 75 - (time.monotonic() - t0)))
        self.assertFalse(any(t.is_alive() for t in threads),
                         "client threads still running after %.0f s" % (time.monotonic() - t0))
        for k, (ok, errors, mismatches) in enumerate(results):
            with self.subTest(thread=k):
                self.assertEqual(errors[:5], [], "%d failed calls" % len(errors))
                for path, got in mismatches[:3]:
                    self.assertEqual(s.comparable(got), expected[path], path)
                self.assertEqual(ok, self.CALLS)
        self.assertEqual(srv.proc.poll(), None, "the server died: " + srv.stderr_text)
        # Its own count agrees: every call accepted, every one answered.
        self.assertEqual(srv.stop(), 0, srv.stderr_text)
        total = self.THREADS * self.CALLS
        self.assertIn("planverify: stopped; %d calls accepted, %d verdicts sent" % (total, total),
                      srv.stderr_text)


# ---------------------------------------------------------------------------
# 6. TLS


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise AssertionError("the openssl command is missing (Debian package openssl)")
        tmp = tempfile.TemporaryDirectory(prefix="pv-e2e-tls-")
        cls.addClassCleanup(tmp.cleanup)
        cls.tls = s.make_tls_material(tmp.name)
        cls.ca = s.read_bytes(cls.tls["ca.pem"])
        rc, verdicts, err = s.check_json(SPLIT_REFUND)
        cls.expected = s.comparable(verdicts[0])
        r = s.run_binary(["check", SPLIT_REFUND])
        cls.check_text, cls.check_rc = r.stdout, r.returncode

    def verify(self, address, creds):
        ch = grpc.secure_channel(address, creds)
        self.addCleanup(ch.close)
        return s.PlanVerifierStub(ch).Verify(s.plan_file_to_request(SPLIT_REFUND),
                                             timeout=s.RPC_TIMEOUT)

    def assertVerifyFails(self, address, creds):
        try:
            v = self.verify(address, creds)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
            return
        self.fail("the call succeeded: %s" % v.decision)

    def test_tls_round_trip(self):
        srv = s.start_server(self, ["--tls-cert", self.tls["server.pem"],
                                    "--tls-key", self.tls["server.key"]])
        self.assertIn("(TLS)", srv.stderr_text)
        v = self.verify(srv.address, grpc.ssl_channel_credentials(root_certificates=self.ca))
        self.assertEqual(s.comparable(s.verdict_to_dict(v)), self.expected)
        # by name too (the certificate is for DNS:localhost as well)
        v = self.verify("localhost:%d" % srv.port,
                        grpc.ssl_channel_credentials(root_certificates=self.ca))
        self.assertEqual(v.decision, "block")
        # a client that does not trust the CA, and one that does not speak TLS
        self.assertVerifyFails(srv.address, grpc.ssl_channel_credentials(
            root_certificates=s.read_bytes(self.tls["other-ca.pem"])))
        ch = grpc.insecure_channel(srv.address)
        self.addCleanup(ch.close)
        with self.assertRaises(grpc.RpcError) as cm:
            s.PlanVerifierStub(ch).ListSpecs(pb.ListSpecsRequest(), timeout=s.RPC_TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # the command-line client
        r = s.run_binary(["verify", "--server", srv.address, "--tls-ca", self.tls["ca.pem"],
                          SPLIT_REFUND])
        self.assertEqual((r.returncode, r.stdout), (self.check_rc, self.check_text), r.stderr)

    def test_mutual_tls(self):
        srv = s.start_server(self, ["--tls-cert", self.tls["server.pem"],
                                    "--tls-key", self.tls["server.key"],
                                    "--tls-client-ca", self.tls["ca.pem"]])
        # no client certificate
        self.assertVerifyFails(srv.address, grpc.ssl_channel_credentials(root_certificates=self.ca))
        # a certificate from another CA
        self.assertVerifyFails(srv.address, grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=s.read_bytes(self.tls["stranger.key"]),
            certificate_chain=s.read_bytes(self.tls["stranger.pem"])))
        # a certificate signed by the client CA
        v = self.verify(srv.address, grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=s.read_bytes(self.tls["client.key"]),
            certificate_chain=s.read_bytes(self.tls["client.pem"])))
        self.assertEqual(s.comparable(s.verdict_to_dict(v)), self.expected)
        # the command-line client, with and without its certificate
        r = s.run_binary(["verify", "--server", srv.address, "--tls-ca", self.tls["ca.pem"],
                          "--tls-cert", self.tls["client.pem"],
                          "--tls-key", self.tls["client.key"], SPLIT_REFUND])
        self.assertEqual((r.returncode, r.stdout), (self.check_rc, self.check_text), r.stderr)
        r = s.run_binary(["verify", "--server", srv.address, "--tls-ca", self.tls["ca.pem"],
                          "--timeout-ms", "5000", SPLIT_REFUND])
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s: error: UNAVAILABLE" % SPLIT_REFUND, r.stderr)


# ---------------------------------------------------------------------------
# 7. shutdown


class ShutdownTest(unittest.TestCase):
    maxDiff = None
    GRACE_MS = 8000

    def test_sigterm_under_load(self):
        """SIGTERM while 4 client threads loop on Verify.

        One worker thread and four clients, each with a call outstanding
        most of the time, so that at the signal one call is being verified
        and three wait at the server. Every call the server took must end
        with its verdict; a call it never took must end with UNAVAILABLE.

        The clients pause issuing new calls from 50 ms before the signal
        until the server has announced the shutdown (plus 200 ms for its
        GOAWAY to arrive), and then go on: a call sent at the very moment
        the gRPC core starts shutting down can be killed by the core itself
        (it never reaches the server's code), which is a race of the
        library, not of this server. The calls already sent keep running.

        The server runs with --solver-only so that the slow plan goes to
        Z3 and takes a few hundred ms (the quick path would answer it in
        microseconds, leaving nothing in flight at the signal).
        """
        slow = "email-pii-then-unknown-recipient.yaml"  # a few hundred ms of solving
        plans = [os.path.join(s.EXAMPLES_DIR, n) for n in (
            slow, slow, "split-refund-unknown.yaml", slow, slow,
            "db-drop-table-in-code-freeze.yaml", slow, slow,
            "email-share-escalations-externally.yaml")]
        expected, _ = check_all(sorted(set(plans)))
        requests = [(p, s.plan_file_to_request(p)) for p in plans]
        srv = s.start_server(self, ["--grace-ms", str(self.GRACE_MS), "--solver-only"], threads=1)

        # a Watch stream open across the shutdown
        watch_ch = grpc.insecure_channel(srv.address)
        self.addCleanup(watch_ch.close)
        watch = s.HealthStub(watch_ch).Watch(s.health_request(""), timeout=30)
        watched = {"messages": [], "end": None}

        def watcher():
            try:
                for m in watch:
                    watched["messages"].append(s.health_status(m))
                watched["end"] = grpc.StatusCode.OK
            except grpc.RpcError as e:
                watched["end"] = e.code()

        go = threading.Event()      # clear: do not start a new call
        go.set()
        stop = threading.Event()
        exited = threading.Event()
        lock = threading.Lock()
        outcomes = []  # (client, started, ended, plan, None or (code, details), same verdict)
        verdicts_seen = [threading.Event() for _ in range(4)]

        def client(k):
            ch = grpc.insecure_channel(srv.address)
            stub = s.PlanVerifierStub(ch)
            after_exit = 0
            try:
                for i in range(100000):  # bounded by stop and the joins below
                    if stop.is_set() or after_exit >= 2:
                        break
                    if not go.wait(0.05):
                        continue
                    path, req = requests[(k + i) % len(requests)]
                    was_exited = exited.is_set()
                    t0 = time.monotonic()
                    try:
                        v = stub.Verify(req, timeout=20)
                        code, same = None, s.comparable(s.verdict_to_dict(v)) == expected[path]
                        verdicts_seen[k].set()
                    except grpc.RpcError as e:
                        code, same = (e.code(), e.details()), None
                    with lock:
                        outcomes.append((k, t0, time.monotonic(), os.path.basename(path),
                                         code, same))
                    if code is not None:
                        time.sleep(0.01)
                    if was_exited:
                        after_exit += 1
            finally:
                ch.close()

        wt = threading.Thread(target=watcher, daemon=True)
        wt.start()
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        health = []
        rc = None
        try:
            deadline = time.monotonic() + 20
            for ev in verdicts_seen:
                ev.wait(max(0.0, deadline - time.monotonic()))
            self.assertTrue(all(ev.is_set() for ev in verdicts_seen),
                            "not every client had a verdict within 20 s")
            go.clear()
            time.sleep(0.05)
            t_term = time.monotonic()
            srv.signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            while "SIGTERM received" not in srv.stderr_text and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertIn("SIGTERM received", srv.stderr_text)
            time.sleep(0.2)
            go.set()
            # Health during the grace period, on a new connection
            hch = grpc.insecure_channel(srv.address)
            self.addCleanup(hch.close)
            hstub = s.HealthStub(hch)
            try:
                health.append(s.health_status(hstub.Check(s.health_request(""), timeout=5)))
            except grpc.RpcError as e:
                health.append(e.code())
            rc = srv.wait_exit(timeout=self.GRACE_MS / 1000.0 + 2)
            t_exit = time.monotonic()
            exited.set()
        finally:
            go.set()
            if not exited.is_set():
                stop.set()
            deadline = time.monotonic() + 25
            for t in threads:
                t.join(timeout=max(0.1, deadline - time.monotonic()))
            stop.set()
            for t in threads:
                t.join(timeout=5)
            wt.join(timeout=5)

        self.assertIsNotNone(rc, "the server did not exit within the grace period + 2 s; "
                                 "stderr:\n" + srv.stderr_text)
        self.assertEqual(rc, 0, srv.stderr_text)
        self.assertLessEqual(t_exit - t_term, self.GRACE_MS / 1000.0 + 1.0)
        self.assertNotIn("grace period over", srv.stderr_text)
        self.assertFalse(any(t.is_alive() for t in threads), "client threads hang")

        def show(os_):
            return ["client %d %s: sent %+.3f s, ended %+.3f s after SIGTERM: %s"
                    % (k, plan, a - t_term, b - t_term, code)
                    for k, a, b, plan, code, same in os_]
        bad = [o for o in outcomes if o[4] is not None and o[4][0] != grpc.StatusCode.UNAVAILABLE]
        self.assertEqual(show(bad), [], "calls that ended with an error other than UNAVAILABLE")
        wrong = [o for o in outcomes if o[4] is None and not o[5]]
        self.assertEqual(show(wrong), [], "verdicts that differ from check")
        in_flight = [o for o in outcomes if o[1] < t_term < o[2]]
        self.assertTrue(any(o[4] is None for o in in_flight),
                        "no call in flight at SIGTERM ended with a verdict: %s" % show(in_flight))
        refused = [o for o in outcomes if o[1] > t_term]
        self.assertTrue(refused and all(o[4] is not None for o in refused),
                        "calls sent after the shutdown: %s" % show(refused))
        # The server's own count of verdicts sent (its last line) is what
        # the clients received: no verdict went missing on the way.
        m = re.search(r"planverify: stopped; (\d+) calls accepted, (\d+) verdicts sent",
                      srv.stderr_text)
        self.assertIsNotNone(m, srv.stderr_text)
        self.assertEqual(int(m.group(2)), sum(1 for o in outcomes if o[4] is None),
                         srv.stderr_text)
        # Health: NOT_SERVING, or the connection refused
        self.assertIn(health[0], (s.HEALTH_NOT_SERVING, grpc.StatusCode.UNAVAILABLE), health)
        with self.assertRaises(grpc.RpcError) as cm:
            hstub.Check(s.health_request(""), timeout=2)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # the Watch stream: SERVING first, then NOT_SERVING, then its end
        self.assertEqual(watched["messages"][:1], [s.HEALTH_SERVING], watched)
        self.assertTrue(all(m == s.HEALTH_NOT_SERVING for m in watched["messages"][1:]), watched)
        self.assertIn(watched["end"], (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.OK), watched)


# ---------------------------------------------------------------------------
# 8. start-up errors


class StartupErrorTest(unittest.TestCase):
    def serve_fails(self, args, timeout=15):
        r = s.run_binary(["serve"] + list(args), timeout=timeout)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn("listening on", r.stderr)
        return r.stderr

    def test_busy_port(self):
        srv = s.start_server(self)
        err = self.serve_fails(["--listen", srv.address, "--specs", s.SPECS_DIR])
        self.assertIn("Address already in use", err)
        self.assertIn(srv.address, err)
        self.assertIsNone(srv.proc.poll(), "the first server died")
        ch = grpc.insecure_channel(srv.address)
        self.addCleanup(ch.close)
        h = s.HealthStub(ch)
        self.assertEqual(h.Check(s.health_request(""), timeout=s.RPC_TIMEOUT), b"\x08\x01")

    def test_missing_spec_directory(self):
        missing = os.path.join(s.make_tempdir(self), "no-such-specs")
        err = self.serve_fails(["--listen", "127.0.0.1:0", "--specs", missing])
        self.assertIn(missing, err)

    def test_unreadable_certificate(self):
        tmp = s.make_tempdir(self)
        key = os.path.join(tmp, "key.pem")
        with open(key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        cases = {"missing": os.path.join(tmp, "no-such-cert.pem"), "directory": tmp}
        if os.geteuid() != 0:  # root reads mode-000 files
            locked = os.path.join(tmp, "locked.pem")
            with open(locked, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            os.chmod(locked, 0)
            cases["mode 000"] = locked
        for what, cert in cases.items():
            with self.subTest(what):
                err = self.serve_fails(["--listen", "127.0.0.1:0", "--specs", s.SPECS_DIR,
                                        "--tls-cert", cert, "--tls-key", key])
                self.assertIn(cert, err)

    def test_invalid_certificate_or_key_is_named(self):
        if shutil.which("openssl") is None:
            raise AssertionError("the openssl command is missing (Debian package openssl)")
        tmp = s.make_tempdir(self)
        tls = s.make_tls_material(tmp)
        garbage = os.path.join(tmp, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        cases = {
            # PEM-shaped, but not a certificate
            "garbage certificate": (garbage, tls["server.key"], [garbage]),
            # a certificate whose key is another one
            "mismatched key": (tls["ca.pem"], tls["server.key"],
                               [tls["ca.pem"], tls["server.key"]]),
        }
        for what, (cert, key, named) in cases.items():
            with self.subTest(what):
                err = self.serve_fails(["--listen", "127.0.0.1:0", "--specs", s.SPECS_DIR,
                                        "--tls-cert", cert, "--tls-key", key])
                self.assertTrue(any(p in err for p in named),
                                "stderr names none of %s:\n%s" % (named, err))
                self.assertNotIn("address invalid or in use", err)


# ---------------------------------------------------------------------------
# 9. `planverify verify --server`


class CliVerifyTest(unittest.TestCase):
    def test_verify_prints_what_check_prints(self):
        for plan in s.example_plans():
            with self.subTest(plan=os.path.basename(plan)):
                c = s.run_binary(["check", plan])
                v = s.run_binary(["verify", "--server", _shared.address, plan])
                self.assertIn(c.returncode, (0, 1), c.stderr)
                self.assertEqual(v.stdout, c.stdout)
                self.assertEqual(v.returncode, c.returncode, v.stderr)

    def test_verify_all_examples_at_once(self):
        plans = s.example_plans()
        c = s.run_binary(["check"] + plans)
        v = s.run_binary(["verify", "--server", _shared.address] + plans)
        self.assertEqual(v.stdout, c.stdout)
        self.assertEqual(v.returncode, c.returncode, v.stderr)
        self.assertRegex(v.stdout.splitlines()[-1], r"^%d plans: " % len(plans))


if __name__ == "__main__":
    s.main()
