#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer targets of tests/fuzz/ with clang
# (ASan + UBSan) and run each for a short while on a seed corpus made from
# the repository. ctest's fuzz_smoke runs it; a longer campaign is the same
# script with a larger FUZZ_SECONDS.
#
# Usage: tests/fuzz/run.sh BUILD_DIR
#   BUILD_DIR  a configured and built tree: the generated protobuf-c code
#              (BUILD_DIR/gen) and Python modules (BUILD_DIR/python) come
#              from it, and the targets are built under BUILD_DIR/fuzz.
# Environment:
#   FUZZ_SECONDS  how long each target runs (default 5)
#   FUZZ_TARGETS  which targets (default: "spec expr plan proto")
#   FUZZ_JOBS     parallel compiles (default: the number of CPUs)
#   FUZZ_CC       the clang to build with (default: clang)
#
# Exits non-zero when a target cannot be built or finds a crash, a leak, a
# sanitizer error or a timeout; the input that did it is kept in
# BUILD_DIR/fuzz/crashes/ and printed in hex.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "$1" && pwd)
seconds=${FUZZ_SECONDS:-5}
read -r -a targets <<<"${FUZZ_TARGETS:-spec expr plan proto}"
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
cc=${FUZZ_CC:-clang}
gen_c=$build/gen/planverify/v1/planverify.pb-c.c
python=/usr/bin/python3

if [[ ! -f $gen_c ]]; then
    echo "run.sh: $gen_c is missing: build $build first" >&2
    exit 2
fi

work=$build/fuzz
rm -rf "$work/obj" "$work/seeds" "$work/corpus" "$work/logs"
mkdir -p "$work/obj" "$work/bin" "$work/seeds" "$work/corpus" "$work/logs" "$work/crashes"

# UBSan recovers by default, and libFuzzer would never hear of the error:
# make every sanitizer finding fatal, as the project's sanitizer build does.
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer
        "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
        -I "$src/solver" -I "$src/server" -I "$build/gen" -I "$src/tests/fuzz")
# The project's own warnings, for the fuzz targets' code.
warn=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes)
libs=(-lyaml -lz3 -ljansson -lprotobuf-c -lm -lpthread)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# --- build -------------------------------------------------------------------

# Each source is compiled once, in parallel; the four targets link from the
# objects. solver/ has one object per file, named after it.
build_start=$SECONDS
compile_one()
{
    "$cc" "${cflags[@]}" "${@:3}" -c "$1" -o "$2"
}
pids=()
compile()
{
    compile_one "$@" &
    pids+=($!)
    if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}"
        pids=("${pids[@]:1}")
    fi
}
for f in "$src"/solver/*.c; do
    compile "$f" "$work/obj/solver_$(basename "$f" .c).o"
done
compile "$gen_c" "$work/obj/planverify.pb-c.o"
compile "$src/server/proto_conv.c" "$work/obj/proto_conv.o"
compile "$src/server/wire.c" "$work/obj/wire.o"
for f in "$src"/tests/fuzz/*.c; do
    compile "$f" "$work/obj/$(basename "$f" .c).o" "${warn[@]}"
done
for p in "${pids[@]}"; do
    wait "$p"
done

solver_objs=("$work"/obj/solver_*.o)
link()
{
    local name=$1
    shift
    "$cc" "${cflags[@]}" "$work/obj/fuzz_$name.o" "$@" "${solver_objs[@]}" "${libs[@]}" \
        -o "$work/bin/fuzz_$name"
}
for t in "${targets[@]}"; do
    case $t in
    spec | expr) link "$t" ;;
    plan) link plan "$work/obj/fuzz_support.o" ;;
    proto)
        link proto "$work/obj/fuzz_support.o" "$work/obj/proto_conv.o" "$work/obj/wire.o" \
            "$work/obj/planverify.pb-c.o"
        ;;
    *)
        echo "run.sh: no fuzz target '$t'" >&2
        exit 2
        ;;
    esac
done
echo "built ${#targets[@]} fuzz targets in $((SECONDS - build_start)) s under $work/bin"

# --- seed corpora -------------------------------------------------------------

mkdir -p "$work/seeds/spec" "$work/seeds/expr" "$work/seeds/plan" "$work/seeds/proto"

# specs: the bundled specs and the lint fixtures (flawed on purpose).
cp "$src"/specs/*.yaml "$work/seeds/spec/"
for f in "$src"/tests/fixtures/lint/*.yaml; do
    [[ -f $f ]] && cp "$f" "$work/seeds/spec/lint-$(basename "$f")"
done

# expressions: the one-line rules of the bundled specs, and a few that use
# what those do not (escapes, in-lists, arithmetic functions, paths over
# several tools).
n=0
while IFS= read -r expr; do
    n=$((n + 1))
    printf '%s' "$expr" >"$work/seeds/expr/spec-$n"
done < <(grep -hoE '(assert|always|requires|ensures|when): "[^"]+"' "$src"/specs/*.yaml |
    sed -E 's/^[a-z]+: "//; s/"$//' | sort -u | head -n 40)
printf '%s' "args.kind in ['drop', 'truncate'] && !args.has_where" >"$work/seeds/expr/in"
printf '%s' "x ? -(3) : min(abs(y - 2), max(1, len(s) % 4))" >"$work/seeds/expr/arith"
printf '%s' "starts_with(args.to, 'a\\'b\\n\\u00e9') || ends_with(\"x\\\\\", 'z')" \
    >"$work/seeds/expr/strings"
printf '%s' "count([a, 'b-c'], it.result.ok && it.args.n >= 2) <= 3 => !earlier(a)" \
    >"$work/seeds/expr/paths"
printf '%s' "-9223372036854775808 < 9223372036854775807 * 2 / 1" >"$work/seeds/expr/ints"

# plans: the examples, the bundled specs (their tests' plans), and plans
# for the targets' embedded spec (fuzz_support.c), in YAML and in JSON.
cp "$src"/specs/examples/*.yaml "$work/seeds/plan/"
cp "$src"/specs/*.yaml "$work/seeds/plan/"
cat >"$work/seeds/plan/shop-refs.yaml" <<'EOF'
spec: fuzz-shop
id: refs
initial_state: {total: 10, mode: open, approved: false, last_to: bob}
steps:
  - id: look
    tool: lookup
    args: {order_id: A1}
    result: {amount: 900, status: delivered, email: a@example.com, vip: true}
  - {id: ok, tool: approve, args: {order_id: A1, amount: {ref: look.amount}}, result: {ok: true}}
  - tool: refund
    args: {order_id: A1, amount: {ref: 0.amount}, reason: {unknown: true}, notify: true}
  - {tool: message, args: {to: {ref: look.email}, body: done, channel: email}}
  - {tool: freeze, args: {}}
  - {tool: open_dispute, args: {order_id: A1}}
EOF
cat >"$work/seeds/plan/shop.json" <<'EOF'
{"spec": "fuzz-shop", "steps": [
  {"id": "l", "tool": "lookup", "args": {"order_id": "B2"}},
  {"tool": "refund", "args": {"order_id": "B2", "amount": {"ref": "l.amount"}}, "result": {}},
  {"tool": "message", "args": {"to": "x", "body": "\u00e9"}}]}
EOF
cat >"$work/seeds/plan/shop-steps.yaml" <<'EOF'
- {tool: lookup, args: {order_id: &o C3}}
- {tool: refund, args: {order_id: *o, amount: 5001}}
- {tool: approve, args: {amount: 0}, result: {ok: yes, limit: -1}}
EOF

# protobuf requests: VerifyRequests and each kind of SessionRequest, made
# with the generated Python module when python3-protobuf is there, and two
# by hand otherwise.
printf '\x0a\x09fuzz-shop\x32\x0f\x12\x06lookup\x1a\x05\x0a\x01x\x1a\x00' \
    >"$work/seeds/proto/verify-hand"
printf '\x1a\x0a\x0a\x08\x12\x06freeze' >"$work/seeds/proto/revise-hand"
if [[ -x $python ]] && PYTHONPATH=$build/python "$python" - "$work/seeds/proto" <<'EOF'; then
import sys
from planverify.v1 import planverify_pb2 as pb

out = sys.argv[1]


def step(tool, args, result=None, id=""):
    s = pb.Step(id=id, tool=tool)
    for k, v in args.items():
        s.args[k].CopyFrom(v)
    for k, v in (result or {}).items():
        s.result[k].CopyFrom(v)
    s.has_result = result is not None
    return s


def verify():
    r = pb.VerifyRequest(spec="fuzz-shop", id="p1", version="1")
    r.initial_state["total"].int_value = 5
    r.initial_state["mode"].string_value = "open"
    r.initial_state["approved"].unknown = True
    r.steps.append(step("lookup", {"order_id": pb.Value(string_value="A1")},
                        {"amount": pb.Value(int_value=900), "vip": pb.Value(bool_value=True)},
                        id="look"))
    r.steps.append(step("refund", {"order_id": pb.Value(string_value="A1"),
                                   "amount": pb.Value(ref="look.amount"),
                                   "notify": pb.Value(bool_value=False)}))
    r.steps.append(step("message", {"to": pb.Value(ref="0.email"), "body": pb.Value()}))
    r.steps.append(step("open_dispute", {}))
    return r


seeds = {
    "verify": verify(),
    "verify-empty": pb.VerifyRequest(spec="fuzz-shop"),
    "session-start": pb.SessionRequest(start=verify()),
    "session-executed": pb.SessionRequest(executed=pb.StepExecuted(
        index=0, result={"amount": pb.Value(int_value=3)},
        call=step("lookup", {"order_id": pb.Value(string_value="A1")}))),
    "session-revise": pb.SessionRequest(revise=pb.Revise(steps=[
        step("freeze", {}), step("approve", {"amount": pb.Value(int_value=-4)},
                                 {"ok": pb.Value(bool_value=True)})])),
}
for name, msg in seeds.items():
    with open(f"{out}/{name}", "wb") as f:
        f.write(msg.SerializeToString())
EOF
    :
else
    echo "run.sh: no Python protobuf seeds (python3-protobuf missing?); using the hand-made ones"
fi

# --- run -----------------------------------------------------------------------

passed=0
failed=0
failures=()
for t in "${targets[@]}"; do
    dict=()
    case $t in
    expr) dict=(-dict="$src/tests/fuzz/expr.dict") ;;
    spec | plan) dict=(-dict="$src/tests/fuzz/yaml.dict") ;;
    esac
    mkdir -p "$work/corpus/$t"
    log=$work/logs/$t.log
    start=$SECONDS
    # New inputs go to corpus/$t (fresh each run); seeds/$t is read only.
    if "$work/bin/fuzz_$t" "$work/corpus/$t" "$work/seeds/$t" "${dict[@]}" \
        -max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$work/crashes/$t-" >"$log" 2>&1; then
        passed=$((passed + 1))
        status=ok
    else
        failed=$((failed + 1))
        failures+=("$t")
        status=FAILED
    fi
    # The last status line: executions, coverage, corpus, exec/s.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(sed -nE 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$t: $status in $((SECONDS - start)) s, ${execs:-?} runs; $last"
    if [[ $status == FAILED ]]; then
        echo "---- fuzz_$t log (tail) ----"
        tail -n 60 "$log"
        while IFS= read -r a; do
            if [[ -f $a ]]; then
                echo "---- input $a ($(wc -c <"$a") bytes), hex: ----"
                od -An -tx1 -v "$a" | head -n 40
            fi
        done < <(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log")
        echo "----"
    fi
done

if ((failed > 0)); then
    echo "failed: ${failures[*]} (logs in $work/logs, inputs in $work/crashes)"
fi
echo "$passed passed, $failed failed"
((failed == 0))
