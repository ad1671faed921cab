#!/usr/bin/env bash
# bench_memory.sh - the server's memory: resident set size after start-up
# with the bundled specs, and along a long run of Verify calls, to show
# whether it grows.
#
#   bench/bench_memory.sh [BUILD_DIR]        (default ./build)
#
# Starts `planverify serve --listen 127.0.0.1:0 --threads MEM_THREADS` on the
# bundled specs, reads VmRSS and VmHWM from /proc/PID/status once it listens
# (start-up), then sends MEM_REQUESTS Verify calls with MEM_CONCURRENCY in
# flight on one connection (bench_grpc --calls), taking in turn a mix of
# realistic plans: the built-in 10-step support-refunds plan, the 10-step
# plans of each domain with 3 unknowns and fully known
# (bench_engine --write-plans), and the bundled example plans except the
# one whose unknown recipient costs the solver a tenth of a second. RSS is
# sampled MEM_SAMPLES times along the way. Then the server is stopped with
# SIGTERM.
#
# Environment:
#   MEM_REQUESTS     Verify calls (default 100000, about a minute on 2
#                    cores; 1000000 for the full run of issue 6)
#   MEM_CONCURRENCY  calls in flight (default 16)
#   MEM_THREADS      server worker threads (default 2)
#   MEM_SAMPLES      RSS samples along the run (default 20)
#   RAW_DIR          where memory.jsonl goes (default: printed only)
#
# Output: the JSON lines (a {"startup": ...} line, bench_grpc's
# {"rss_sample": ...} lines and its summary line, a {"server": ...} line)
# to RAW_DIR/memory.jsonl and stdout. Exit 0, 1 when some call was not OK,
# 2 for a setup problem.
set -euo pipefail

BUILD_DIR=${1:-./build}
MEM_REQUESTS=${MEM_REQUESTS:-100000}
MEM_CONCURRENCY=${MEM_CONCURRENCY:-16}
MEM_THREADS=${MEM_THREADS:-2}
MEM_SAMPLES=${MEM_SAMPLES:-20}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PV="$BUILD_DIR/planverify"
BENCH="$BUILD_DIR/bench_grpc"
ENGINE="$BUILD_DIR/bench_engine"

die() {
    echo "bench_memory.sh: $*" >&2
    exit 2
}

for exe in "$PV" "$BENCH" "$ENGINE"; do
    [[ -x $exe ]] || die "$exe is missing: build first (cmake --build $BUILD_DIR)"
done
for v in MEM_REQUESTS MEM_CONCURRENCY MEM_THREADS MEM_SAMPLES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number"
done

tmp=$(mktemp -d)
# shellcheck source=bench/server_lib.sh
. "$REPO/bench/server_lib.sh"
out=$tmp/memory.jsonl

# The plan mix.
(cd "$REPO" && "$ENGINE" --write-plans "$tmp") >/dev/null
"$BENCH" --print-plan >"$tmp/service-plan.yaml"
plans=("$tmp/service-plan.yaml" "$tmp"/*-10-*.yaml)
for p in "$REPO"/specs/examples/*.yaml; do
    [[ $p == *email-pii-then-unknown-recipient* ]] && continue
    plans+=("$p")
done
plan_args=()
for p in "${plans[@]}"; do
    plan_args+=(--plan "$p")
done

log=$tmp/server.log
start_server "$MEM_THREADS" "$REPO/specs" "$log"

status_kb() {
    sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB$/\1/p" "/proc/$server_pid/status"
}
echo "{\"startup\":{\"vmrss_kb\":$(status_kb VmRSS),\"vmhwm_kb\":$(status_kb VmHWM)," \
    "\"threads\":$MEM_THREADS,\"specs\":$(ls "$REPO"/specs/*.yaml | wc -l)}}" >"$out"

every=$((MEM_REQUESTS / MEM_SAMPLES))
((every > 0)) || every=1
echo "memory: $MEM_REQUESTS Verify calls, ${#plans[@]} plans in turn, $MEM_CONCURRENCY in" \
    "flight, server $MEM_THREADS thread(s) on 127.0.0.1:$port" >&2
rc=0
"$BENCH" --server "127.0.0.1:$port" --method verify --calls "$MEM_REQUESTS" \
    --concurrency "$MEM_CONCURRENCY" --server-pid "$server_pid" --rss-every "$every" \
    "${plan_args[@]}" --json >"$tmp/bench.txt" 2>"$tmp/bench.err" || rc=$?
grep '^{' "$tmp/bench.txt" >>"$out" || true
grep -v '^{' "$tmp/bench.txt" "$tmp/bench.err" | sed 's/^[^:]*:/    /' >&2 || true

kill -TERM "$server_pid"
src=0
wait "$server_pid" || src=$?
server_pid=""
echo "{\"server\":{\"exit\":$src,\"plans\":${#plans[@]},\"concurrency\":$MEM_CONCURRENCY}}" >>"$out"
[[ -n ${RAW_DIR:-} ]] && mkdir -p "$RAW_DIR" && cp "$out" "$RAW_DIR/memory.jsonl"
cat "$out"
if ((rc > 1)); then
    exit 2
fi
exit "$rc"
