"""e2e_support.py - shared helpers for the end-to-end tests of `planverify serve`.

Only the system interpreter's python3-grpcio and python3-protobuf and the
standard library are used. The environment comes from ctest:

  PV_BINARY      the planverify executable
  PV_SOURCE_DIR  the source tree (specs/, tests/)
  PV_BUILD_DIR   the build tree
  PYTHONPATH     <build>/python, which holds planverify/v1/planverify_pb2.py

What is here:
  * Server: starts `planverify serve --listen 127.0.0.1:0`, reads the port
    from its stderr (in a background thread), stops it (always: use
    `start_server(testcase, ...)`, which registers the stop as a cleanup,
    or try/finally).
  * Stubs for planverify.v1.PlanVerifier and grpc.health.v1.Health (the
    health messages as raw bytes: grpc.health.v1 is not importable here).
  * A small, strict YAML-subset reader for plan files and spec `tests:`
    sections (PyYAML is not a dependency), and plan -> VerifyRequest.
  * `check_json`: what `planverify check --format json PLAN` says, and
    `verdict_to_dict` / `comparable` to compare it with a gRPC Verdict.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from planverify.v1 import planverify_pb2 as pb

# ---------------------------------------------------------------------------
# environment


def _env_path(name, default=None):
    value = os.environ.get(name, default)
    if not value:
        raise RuntimeError("%s is not set (run the tests through ctest)" % name)
    return value


SOURCE_DIR = _env_path(
    "PV_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = _env_path("PV_BINARY")
BUILD_DIR = os.environ.get("PV_BUILD_DIR", "")
SPECS_DIR = os.path.join(SOURCE_DIR, "specs")
EXAMPLES_DIR = os.path.join(SPECS_DIR, "examples")

# Every RPC gets a deadline; no test waits on anything without a bound.
RPC_TIMEOUT = 10.0
STARTUP_TIMEOUT = 10.0


def example_plans():
    """The example plan files, sorted, as absolute paths."""
    return sorted(
        os.path.join(EXAMPLES_DIR, f) for f in os.listdir(EXAMPLES_DIR)
        if f.endswith((".yaml", ".yml", ".json")))


def bundled_spec_files():
    return sorted(
        os.path.join(SPECS_DIR, f) for f in os.listdir(SPECS_DIR)
        if f.endswith((".yaml", ".yml")))


def sha256_file(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def run_binary(args, timeout=60, cwd=None):
    """Run PV_BINARY with args; returns CompletedProcess (text)."""
    return subprocess.run([BINARY] + list(args), cwd=cwd or SOURCE_DIR,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------------------
# the server process

LISTEN_RE = re.compile(r"^planverify: listening on 127\.0\.0\.1:(\d+)\s*$")


class ServerError(Exception):
    pass


class Server:
    """One `planverify serve` process on 127.0.0.1.

    Server(extra_args).start() waits (at most STARTUP_TIMEOUT) for the
    `listening on` line; .port and .address are then set. .stop() sends
    SIGTERM (then SIGKILL after a bound) and returns the exit code.
    """

    def __init__(self, extra_args=(), specs=SPECS_DIR, listen="127.0.0.1:0",
                 threads=2):
        self.args = [BINARY, "serve", "--listen", listen]
        if specs is not None:
            self.args += ["--specs", specs]
        if threads is not None:
            self.args += ["--threads", str(threads)]
        self.args += list(extra_args)
        self.proc = None
        self.port = None
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = None

    # -- stderr, read by a background thread
    def _read_stderr(self):
        stream = self.proc.stderr
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    @property
    def stderr_text(self):
        with self._cond:
            return "\n".join(self._lines)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self, expect_listening=True, timeout=STARTUP_TIMEOUT):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=SOURCE_DIR)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not expect_listening:
            return self
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    m = LISTEN_RE.match(line)
                    if m:
                        self.port = int(m.group(1))
                        return self
                if self._eof:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
        self.kill()
        raise ServerError("the server did not say where it listens within %.0f s "
                          "(exit %r); stderr:\n%s"
                          % (timeout, self.proc.returncode, self.stderr_text))

    def wait_exit(self, timeout):
        """Wait for the process to exit; returns its code, None on timeout.
        Also waits (bounded) for the stderr reader to drain."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader:
            self._reader.join(timeout=5)
        return rc

    def signal(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self._reader:
            self._reader.join(timeout=5)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL if it has not exited within timeout.
        Returns the exit code (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._reader:
            self._reader.join(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        return self.proc.returncode


def start_server(testcase, *args, **kwargs):
    """Start a server whose stop is registered as a cleanup of testcase
    (so it runs even when the test fails)."""
    srv = Server(*args, **kwargs)
    testcase.addCleanup(srv.stop)
    srv.start()
    return srv


# ---------------------------------------------------------------------------
# stubs


class PlanVerifierStub:
    """The four methods of planverify.v1.PlanVerifier on a channel."""

    def __init__(self, channel):
        p = "/planverify.v1.PlanVerifier/"
        self.Verify = channel.unary_unary(
            p + "Verify", request_serializer=pb.VerifyRequest.SerializeToString,
            response_deserializer=pb.Verdict.FromString)
        self.Session = channel.stream_stream(
            p + "Session", request_serializer=pb.SessionRequest.SerializeToString,
            response_deserializer=pb.Verdict.FromString)
        self.ListSpecs = channel.unary_unary(
            p + "ListSpecs", request_serializer=pb.ListSpecsRequest.SerializeToString,
            response_deserializer=pb.ListSpecsResponse.FromString)
        self.GetSpec = channel.unary_unary(
            p + "GetSpec", request_serializer=pb.GetSpecRequest.SerializeToString,
            response_deserializer=pb.SpecInfo.FromString)


# grpc.health.v1 as raw bytes. HealthCheckRequest{string service = 1};
# HealthCheckResponse{ServingStatus status = 1}.
HEALTH_UNKNOWN, HEALTH_SERVING, HEALTH_NOT_SERVING, HEALTH_SERVICE_UNKNOWN = 0, 1, 2, 3
HEALTH_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def health_request(service):
    data = service.encode("utf-8")
    return (b"\x0a" + _varint(len(data)) + data) if data else b""


def health_status(response):
    """The status enum of a serialized HealthCheckResponse."""
    i, status = 0, HEALTH_UNKNOWN
    while i < len(response):
        key = response[i]
        i += 1
        if key == 0x08:  # field 1, varint
            value, shift = 0, 0
            while True:
                b = response[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            status = value
        else:
            raise ValueError("unexpected HealthCheckResponse bytes %r" % response)
    return status


class HealthStub:
    def __init__(self, channel):
        ident = lambda b: b  # noqa: E731
        self.Check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                         request_serializer=ident,
                                         response_deserializer=ident)
        self.Watch = channel.unary_stream("/grpc.health.v1.Health/Watch",
                                          request_serializer=ident,
                                          response_deserializer=ident)


# ---------------------------------------------------------------------------
# a strict YAML subset: enough for plan files and spec `tests:` sections
#
# Block mappings and sequences, flow mappings and sequences on one line,
# plain / single- / double-quoted scalars, comments. Plain scalars resolve
# as the YAML 1.2 core schema does (null, bool, int; floats are refused).
# Anything else (anchors, tags, block scalars, multi-line flow) raises.


class YamlSubsetError(ValueError):
    pass


_INT_RE = re.compile(r"^[-+]?[0-9]+$")


def _resolve_plain(text):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text, 10)
    if re.match(r"^0o[0-7]+$", text):
        return int(text[2:], 8)
    if re.match(r"^0x[0-9a-fA-F]+$", text):
        return int(text[2:], 16)
    if re.match(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", text) or \
            re.match(r"^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$", text):
        raise YamlSubsetError("floats are not supported: %r" % text)
    if text[0] in "&*!|>%@`":
        raise YamlSubsetError("unsupported YAML construct: %r" % text)
    return text


_DQ_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
               "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
               "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0"}


class _Flow:
    """Recursive descent over one line of flow / scalar text."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def expect(self, ch):
        self.ws()
        if self.peek() != ch:
            raise YamlSubsetError("expected %r at column %d of %r" % (ch, self.i, self.s))
        self.i += 1

    def double_quoted(self):
        assert self.s[self.i] == '"'
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                raise YamlSubsetError("unterminated double-quoted string in %r" % self.s)
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                e = self.s[self.i + 1:self.i + 2]
                if e in _DQ_ESCAPES:
                    out.append(_DQ_ESCAPES[e])
                    self.i += 2
                elif e in ("x", "u", "U"):
                    n = {"x": 2, "u": 4, "U": 8}[e]
                    out.append(chr(int(self.s[self.i + 2:self.i + 2 + n], 16)))
                    self.i += 2 + n
                else:
                    raise YamlSubsetError("bad escape in %r" % self.s)
                continue
            out.append(c)
            self.i += 1

    def single_quoted(self):
        assert self.s[self.i] == "'"
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                raise YamlSubsetError("unterminated single-quoted string in %r" % self.s)
            c = self.s[self.i]
            if c == "'":
                if self.s[self.i + 1:self.i + 2] == "'":
                    out.append("'")
                    self.i += 2
                    continue
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1

    def plain(self, flow, key):
        start = self.i
        while self.i < len(self.s):
            c = self.s[self.i]
            if flow and c in ",[]{}":
                break
            if key and c == ":" and self.s[self.i + 1:self.i + 2] in ("", " ", ",", "}", "]"):
                break
            self.i += 1
        return _resolve_plain(self.s[start:self.i].strip())

    def node(self, flow, key=False):
        self.ws()
        c = self.peek()
        if c == "{":
            return self.mapping()
        if c == "[":
            return self.sequence()
        if c == '"':
            return self.double_quoted()
        if c == "'":
            return self.single_quoted()
        return self.plain(flow, key)

    def mapping(self):
        self.expect("{")
        out = {}
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return out
        while True:
            k = self.node(True, key=True)
            if not isinstance(k, str):
                raise YamlSubsetError("non-string key %r in %r" % (k, self.s))
            if k in out:
                raise YamlSubsetError("duplicate key %r in %r" % (k, self.s))
            self.expect(":")
            self.ws()
            if self.peek() in (",", "}"):
                out[k] = None
            else:
                out[k] = self.node(True)
            self.ws()
            if self.peek() == ",":
                self.i += 1
                continue
            self.expect("}")
            return out

    def sequence(self):
        self.expect("[")
        out = []
        self.ws()
        if self.peek() == "]":
            self.i += 1
            return out
        while True:
            out.append(self.node(True))
            self.ws()
            if self.peek() == ",":
                self.i += 1
                continue
            self.expect("]")
            return out

    def whole(self):
        value = self.node(False)
        self.ws()
        if self.i != len(self.s):
            raise YamlSubsetError("trailing text in %r" % self.s)
        return value


def _strip_comment(line):
    """Drop a comment: '#' at the start or after whitespace, outside quotes
    that open a scalar."""
    quote = None
    prev = " "
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                if quote == "'" and line[i + 1:i + 2] == "'":
                    continue
                if quote == '"' and line[i - 1] == "\\" and line[i - 2:i] != "\\\\":
                    continue
                quote = None
        elif c in "'\"" and prev in " :-{[,":
            quote = c
        elif c == "#" and prev in " \t":
            return line[:i].rstrip()
        if not c.isspace() or not quote:
            prev = c
    return line.rstrip()


def _split_key(text):
    """'key: rest' -> (key, rest) or None when text is not a mapping entry."""
    f = _Flow(text)
    c = f.peek()
    if c in "{[":
        return None
    if c in "'\"":
        key = f.node(False)
    else:
        m = re.match(r"^([^:#{}\[\],]+?)\s*:(\s|$)", text)
        if not m:
            return None
        key = _resolve_plain(m.group(1).strip())
        f.i = m.end(1)
    f.ws()
    if f.peek() != ":" or f.s[f.i + 1:f.i + 2] not in ("", " "):
        return None
    return str(key) if key is not None else "", text[f.i + 1:].strip()


def load_yaml_subset(text):
    lines = []
    for raw in text.splitlines():
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError("tab indentation: %r" % raw)
        body = _strip_comment(raw)
        if not body.strip() or body.strip() in ("---", "..."):
            continue
        indent = len(body) - len(body.lstrip(" "))
        lines.append([indent, body.strip()])
    if not lines:
        return None
    value, i = _block(lines, 0, lines[0][0])
    if i != len(lines):
        raise YamlSubsetError("unexpected line: %r" % lines[i][1])
    return value


def _inline(text):
    if text[:1] in ("|", ">"):
        raise YamlSubsetError("block scalars are not supported: %r" % text)
    return _Flow(text).whole()


def _block(lines, i, indent):
    """Parse the block node whose lines start at i with this indent."""
    text = lines[i][1]
    if text == "-" or text.startswith("- "):
        out = []
        while i < len(lines) and lines[i][0] == indent and \
                (lines[i][1] == "-" or lines[i][1].startswith("- ")):
            rest = lines[i][1][1:].lstrip(" ")
            if not rest:
                if i + 1 < len(lines) and lines[i + 1][0] > indent:
                    value, i = _block(lines, i + 1, lines[i + 1][0])
                else:
                    value, i = None, i + 1
                out.append(value)
                continue
            if _split_key(rest) is not None:
                # "- key: value": a mapping that starts on this line
                col = indent + (len(lines[i][1]) - len(rest))
                lines[i] = [col, rest]
                value, i = _block(lines, i, col)
                out.append(value)
                continue
            out.append(_inline(rest))
            i += 1
        if i < len(lines) and lines[i][0] > indent:
            raise YamlSubsetError("bad indentation: %r" % lines[i][1])
        return out, i
    if _split_key(text) is None:
        value = _inline(text)
        if i + 1 < len(lines) and lines[i + 1][0] > indent:
            raise YamlSubsetError("multi-line scalars are not supported: %r" % text)
        return value, i + 1
    out = {}
    while i < len(lines) and lines[i][0] == indent:
        kv = _split_key(lines[i][1])
        if kv is None:
            raise YamlSubsetError("expected 'key: value': %r" % lines[i][1])
        key, rest = kv
        if key in out:
            raise YamlSubsetError("duplicate key %r" % key)
        i += 1
        if rest:
            out[key] = _inline(rest)
        elif i < len(lines) and lines[i][0] > indent:
            out[key], i = _block(lines, i, lines[i][0])
        elif i < len(lines) and lines[i][0] == indent and \
                (lines[i][1] == "-" or lines[i][1].startswith("- ")):
            out[key], i = _block(lines, i, indent)
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise YamlSubsetError("bad indentation: %r" % lines[i][1])
    return out, i


def load_plan_file(path):
    """A plan file (JSON or the YAML subset) as Python data."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return json.loads(text)
    return load_yaml_subset(text)


def spec_tests(spec_path):
    """The `spec:` id and the `tests:` list of a spec file. Only the tests
    section is parsed (the rest may use YAML this reader does not know)."""
    with open(spec_path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^spec:\s*(\S+)\s*$", text, re.M)
    if not m:
        raise YamlSubsetError("%s: no 'spec:' line" % spec_path)
    spec_id = m.group(1).strip("\"'")
    lines = text.splitlines()
    section = None
    for n, line in enumerate(lines):
        if section is None:
            if re.match(r"^tests:\s*(#.*)?$", line):
                section = [line]
        elif line and not line[0].isspace() and not line.startswith("#"):
            break
        else:
            section.append(line)
    if section is None:
        return spec_id, []
    return spec_id, load_yaml_subset("\n".join(section))["tests"] or []


def write_spec_test_plans(directory):
    """Write every bundled spec's `tests:` plans as JSON plan files in
    directory; returns their paths."""
    paths = []
    for spec_path in bundled_spec_files():
        spec_id, tests = spec_tests(spec_path)
        for n, t in enumerate(tests):
            plan = {"spec": spec_id, "id": "%s-test-%d" % (spec_id, n)}
            if t.get("initial_state") is not None:
                plan["initial_state"] = t["initial_state"]
            plan["steps"] = t["plan"]
            path = os.path.join(directory, "%s-test-%02d.json" % (spec_id, n))
            with open(path, "w", encoding="utf-8") as f:
                json.dump(plan, f, indent=1)
            paths.append(path)
    return paths


def copy_specs_with_solver_budget(directory, budget_ms):
    """Copy the bundled specs into directory with every
    limits.solver_timeout_ms set to budget_ms; returns directory.

    The budget is wall-clock time for a whole verification, so on a busy
    machine a plan that needs a good part of it can end in solver_unknown
    in one run and not in another. Tests that compare verdicts across
    processes and threads use a budget no run gets near."""
    changed = 0
    for path in bundled_spec_files():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text, n = re.subn(r"^(\s+solver_timeout_ms:\s*)\d+", r"\g<1>%d" % budget_ms, text,
                          flags=re.M)
        changed += n
        with open(os.path.join(directory, os.path.basename(path)), "w", encoding="utf-8") as f:
            f.write(text)
    if changed == 0:
        raise RuntimeError("no spec sets limits.solver_timeout_ms any more")
    return directory


# ---------------------------------------------------------------------------
# plan -> VerifyRequest


def to_value(v):
    """A plan value (Python data) as a planverify.v1.Value."""
    if isinstance(v, dict):
        if set(v) == {"ref"}:
            return pb.Value(ref=v["ref"])
        if set(v) == {"unknown"} and isinstance(v["unknown"], bool):
            return pb.Value(unknown=v["unknown"])
        raise ValueError("not a plan value: %r" % (v,))
    if isinstance(v, bool):
        return pb.Value(bool_value=v)
    if isinstance(v, int):
        return pb.Value(int_value=v)
    if isinstance(v, str):
        return pb.Value(string_value=v)
    raise ValueError("not a plan value: %r" % (v,))


def make_step(tool, args=None, result=None, id=None):
    step = pb.Step(tool=tool, id=id or "")
    for k, v in (args or {}).items():
        step.args[k].CopyFrom(to_value(v))
    if result is not None:
        step.has_result = True
        for k, v in result.items():
            step.result[k].CopyFrom(to_value(v))
    return step


def plan_to_request(plan):
    """A plan (Python data, as in a plan file) as a VerifyRequest."""
    req = pb.VerifyRequest(spec=plan.get("spec") or "", id=plan.get("id") or "")
    for k, v in (plan.get("initial_state") or {}).items():
        req.initial_state[k].CopyFrom(to_value(v))
    for s in plan.get("steps") or []:
        req.steps.append(make_step(s.get("tool", ""), s.get("args"), s.get("result"),
                                   s.get("id")))
    return req


def plan_file_to_request(path):
    return plan_to_request(load_plan_file(path))


# ---------------------------------------------------------------------------
# verdicts


def value_to_python(v):
    kind = v.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "unknown":
        return {"unknown": v.unknown}
    if kind == "ref":
        return {"ref": v.ref}
    return getattr(v, kind)


def verdict_to_dict(v):
    """A Verdict message in the shape of `check --format json` (less `file`)."""
    out = {"decision": v.decision, "safe_prefix": v.safe_prefix, "spec": v.spec,
           "spec_version": v.spec_version, "spec_digest": v.spec_digest,
           "violations": []}
    if v.id:
        out["id"] = v.id
    for x in v.violations:
        d = {"rule": x.rule, "kind": x.kind, "step": x.step, "tool": x.tool,
             "action": x.action, "certain": x.certain, "chain": list(x.chain),
             "witness": {k: value_to_python(val) for k, val in x.witness.items()},
             "message": x.message}
        if x.escalate_to:
            d["escalate_to"] = x.escalate_to
        out["violations"].append(d)
    return out


def comparable(verdict):
    """What must agree between two verdicts on the same plan: everything but
    a possible finding's witness (any breaking run will do, so only its
    presence is compared) and the message built from that witness."""
    out = {k: verdict.get(k) for k in
           ("decision", "safe_prefix", "spec", "spec_version", "spec_digest")}
    out["id"] = verdict.get("id") or ""
    vs = []
    for x in verdict.get("violations", []):
        d = {k: x.get(k) for k in ("rule", "kind", "step", "action", "certain")}
        d["tool"] = x.get("tool") or ""
        d["escalate_to"] = x.get("escalate_to") or ""
        d["chain"] = list(x.get("chain") or [])
        if x.get("certain"):
            d["witness"] = dict(x.get("witness") or {})
            d["message"] = x.get("message")
        else:
            d["witness"] = "present" if x.get("witness") else "absent"
        vs.append(d)
    out["violations"] = vs
    return out


def check_json(plan_path, timeout=60, specs=None):
    """(exit code, [verdict dicts], stderr) of
    `planverify check --format json [--specs DIR] PLAN`."""
    args = ["check", "--format", "json"] + (["--specs", specs] if specs else [])
    r = run_binary(args + [plan_path], timeout=timeout)
    verdicts = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return r.returncode, verdicts, r.stderr


# ---------------------------------------------------------------------------
# TLS material made with the openssl command line


def make_tls_material(directory):
    """A throwaway CA, a server certificate for 127.0.0.1 / localhost, a
    client certificate from the same CA, and a client certificate from
    another CA. Returns a dict of paths."""
    def openssl(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=directory,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr))

    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", name)

    def ca(name, cn):
        key(name + ".key")
        openssl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem",
                "-days", "2", "-subj", "/CN=" + cn, "-sha256",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name, cn, ca_name, ext):
        key(name + ".key")
        openssl("req", "-new", "-key", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn, "-sha256")
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem",
                "-CAkey", ca_name + ".key", "-CAcreateserial", "-out", name + ".pem",
                "-days", "2", "-sha256", "-extfile", name + ".ext")

    ca("ca", "planverify e2e test CA")
    ca("other-ca", "planverify e2e other CA")
    leaf("server", "localhost", "ca",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    leaf("client", "planverify e2e client", "ca",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
         "extendedKeyUsage=clientAuth\n")
    leaf("stranger", "planverify e2e stranger", "other-ca",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
         "extendedKeyUsage=clientAuth\n")
    return {n: os.path.join(directory, n) for n in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key",
             "stranger.pem", "stranger.key", "other-ca.pem")}


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def make_tempdir(testcase):
    """A temporary directory removed when testcase's cleanups run."""
    d = tempfile.TemporaryDirectory(prefix="pv-e2e-")
    testcase.addCleanup(d.cleanup)
    return d.name


# ---------------------------------------------------------------------------
# the runner: unittest, then one last line "N passed, M failed"


def main(module_name="__main__"):
    import unittest
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromModule(sys.modules[module_name])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    started = time.monotonic()
    result = runner.run(suite)
    # Count tests, not failure records: a test with two failing subtests is
    # one failed test; a failing setUpModule/setUpClass counts as one more.
    failed_ids, failed_run = set(), 0
    for test in ([t for t, _ in result.failures + result.errors]
                 + list(result.unexpectedSuccesses)):
        case = getattr(test, "test_case", test)
        if case.id() not in failed_ids:
            failed_ids.add(case.id())
            if isinstance(case, unittest.TestCase) and \
                    type(case).__name__ != "_ErrorHolder":
                failed_run += 1
    skipped = len({getattr(t, "test_case", t).id() for t, _ in result.skipped})
    failed = len(failed_ids)
    passed = max(0, result.testsRun - failed_run - skipped)
    sys.stdout.write("(%.1f s%s)\n" % (time.monotonic() - started,
                                      ", %d skipped" % skipped if skipped else ""))
    sys.stdout.write("%d passed, %d failed\n" % (passed, failed))
    sys.stdout.flush()
    sys.exit(1 if failed or result.testsRun == 0 else 0)
