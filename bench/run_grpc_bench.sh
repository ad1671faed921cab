#!/usr/bin/env bash
# run_grpc_bench.sh - latency and throughput of `planverify serve` over gRPC.
#
#   bench/run_grpc_bench.sh [BUILD_DIR]        (default ./build)
#
# Builds nothing: BUILD_DIR must hold planverify and bench_grpc. For 1 and 2
# server worker threads it starts `planverify serve --listen 127.0.0.1:0`,
# runs bench_grpc against it for Health/Check and for Verify of the built-in
# 10-step support-refunds plan (3 unknowns) at 1, 4, 16 and 64 calls in
# flight, each on one channel (one connection), stops the server with
# SIGTERM, and prints a Markdown table, also written to
# bench/results/grpc-latest.md.
#
# Environment:
#   DURATION   measured seconds per row (default 5)
#   WARMUP     warm-up seconds per row, not measured (default 1)
#   SPECS_DIR  the specs the server loads (default: a temporary directory
#              holding only specs/support-refunds.yaml)
#
# Traffic goes to 127.0.0.1 only. Every run is bounded by `timeout`; with
# the defaults the whole script takes about 2 minutes.
# Exit: 0 when every call of every row was OK, 1 when some row had non-OK
# calls or failed (the table is still written), 2 for a setup problem.
set -euo pipefail

BUILD_DIR=${1:-./build}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
THREADS=(1 2)
CONCURRENCY=(1 4 16 64)
METHODS=(health verify)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PV="$BUILD_DIR/planverify"
BENCH="$BUILD_DIR/bench_grpc"
OUT_DIR="$REPO/bench/results"
OUT="$OUT_DIR/grpc-latest.md"

die() {
    echo "run_grpc_bench.sh: $*" >&2
    exit 2
}

for exe in "$PV" "$BENCH"; do
    [[ -x $exe ]] || die "$exe is missing: build first (cmake --build $BUILD_DIR)"
done
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DURATION must be a number of seconds"
[[ $WARMUP =~ ^[0-9]+([.][0-9]+)?$ ]] || die "WARMUP must be a number of seconds"

tmp=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -n ${SPECS_DIR:-} ]]; then
    specs=$SPECS_DIR
else
    specs="$tmp/specs"
    mkdir "$specs"
    cp "$REPO/specs/support-refunds.yaml" "$specs/"
fi

# Whole seconds for `timeout`: warm-up, measurement, the drain (a call's
# 10 s deadline and 2 s more) and the 5 s connect wait, rounded up.
run_limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 20 }')
clk_tck=$(getconf CLK_TCK)

# CPU seconds (user + system) used so far by a process.
cpu_of() {
    awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / t }' "/proc/$1/stat"
}

port=""
start_server() {
    local threads=$1 log="$tmp/server-$1.log"
    "$PV" serve --listen 127.0.0.1:0 --threads "$threads" --specs "$specs" 2>"$log" &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/^planverify: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
        [[ -n $port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    die "the server with $threads thread(s) did not start listening"
}

server_exit=()
stop_server() {
    local threads=$1 rc=0
    kill -TERM "$server_pid"
    for _ in $(seq 200); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        server_exit+=("threads=$threads: did not stop within 20 s of SIGTERM; killed")
    fi
    wait "$server_pid" || rc=$?
    server_exit+=("threads=$threads: exit status $rc")
    # Anything the server said besides starting and stopping.
    while IFS= read -r line; do
        notes+=("server threads=$threads: $line")
    done < <(grep -vE '^planverify: (serving |listening on |SIGTERM received|stopped)' \
        "$tmp/server-$threads.log" || true)
    server_pid=""
}

# JSON field of bench_grpc's flat output line: field FILE NAME
field() {
    sed -n "s/^{.*\"$2\":\([^,}]*\).*/\1/p" "$1" | head -n 1
}

declare -A P50 P90 P99 P999 THR NONOK CONNS SCPU CCPU
notes=()
failed=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

for t in "${THREADS[@]}"; do
    start_server "$t"
    echo "server: $t thread(s) on 127.0.0.1:$port" >&2
    for c in "${CONCURRENCY[@]}"; do
        for m in "${METHODS[@]}"; do
            key="$t,$m,$c"
            out="$tmp/run-$t-$m-$c.txt"
            cpu0=$(cpu_of "$server_pid")
            wall0=$(date +%s.%N)
            rc=0
            timeout "$run_limit" "$BENCH" --server "127.0.0.1:$port" --method "$m" \
                --concurrency "$c" --duration-s "$DURATION" --warmup-s "$WARMUP" --json \
                >"$out" 2>"$out.err" &
            bench_pid=$!
            # Connections to the server, counted mid-run from the client side.
            sleep "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print w + d / 2 }')"
            CONNS[$key]=$(ss -Htn state established "( dport = :$port )" 2>/dev/null | wc -l) ||
                CONNS[$key]="n/a"
            wait "$bench_pid" || rc=$?
            cpu1=$(cpu_of "$server_pid")
            wall1=$(date +%s.%N)
            SCPU[$key]=$(awk -v a="$cpu0" -v b="$cpu1" -v s="$wall0" -v e="$wall1" \
                'BEGIN { printf "%.0f", 100 * (b - a) / (e - s) }')
            sed 's/^/    /' "$out" "$out.err" | grep -v '^    {' >&2 || true
            if ! grep -q '^{' "$out"; then
                failed=1
                notes+=("threads=$t $m c=$c: bench_grpc failed (exit $rc): $(head -c 300 "$out.err")")
                P50[$key]="FAILED"
                continue
            fi
            P50[$key]=$(field "$out" p50_us)
            P90[$key]=$(field "$out" p90_us)
            P99[$key]=$(field "$out" p99_us)
            P999[$key]=$(field "$out" p99_9_us)
            THR[$key]=$(field "$out" throughput_per_s)
            CCPU[$key]=$(field "$out" client_cpu_pct)
            n_in=$(field "$out" non_ok)
            n_out=$(field "$out" non_ok_outside_window)
            NONOK[$key]=$n_in
            [[ $n_out == 0 ]] || NONOK[$key]="$n_in (+$n_out)"
            if [[ $rc != 0 ]]; then
                failed=1
            fi
            # Anything bench_grpc flagged: non-OK codes, changing verdicts.
            while IFS= read -r line; do
                notes+=("threads=$t $m c=$c:${line#  }")
            done < <(grep -E '^  (non-OK|note: the same plan)' "$out" || true)
            if [[ $m == verify && -z ${verdict:-} ]]; then
                verdict=$(sed -n 's/^  plan: .*first verdict: //p' "$out")
            fi
        done
    done
    stop_server "$t"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'
}
num() {
    awk -v a="$1" 'BEGIN { if (a ~ /^[0-9.]+$/) printf "%.0f", a; else printf "%s", a }'
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
grpc_version=$(pkg-config --modversion grpc 2>/dev/null || echo unknown)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)

{
    echo "# planverify gRPC benchmark"
    echo
    echo "- started $started; host $(uname -srm), $(nproc) cores (${cpu_model:-unknown CPU})"
    echo "- gRPC core $grpc_version; build type ${build_type:-unknown}"
    echo "- command: \`DURATION=$DURATION WARMUP=$WARMUP bench/run_grpc_bench.sh $BUILD_DIR\`"
    echo "- server: \`planverify serve --listen 127.0.0.1:0 --threads T --specs DIR\`" \
        "(DIR: ${SPECS_DIR:-only specs/support-refunds.yaml})"
    echo "- client: bench_grpc, one channel and one completion queue, closed loop with" \
        "\`conc\` calls in flight; ${WARMUP} s warm-up, then ${DURATION} s measured per row"
    echo "- Verify plan: \`bench_grpc --print-plan\` (10 steps, 3 unknowns); verdict:" \
        "${verdict:-none received}"
    echo "- load average (1/5/15 min) before: $load_before; after: $load_after." \
        "Client and server share the machine, and other work may be running on it."
    echo
    echo "Latencies in microseconds over the OK calls of the measured window." \
        "non-OK: calls in the window that did not end OK (+ during warm-up/drain)." \
        "conns: established TCP connections to the server, mid-run." \
        "CPU %: 100 = one core busy (server: over the row; client: its whole run)." \
        "V/H p50: Verify p50 / Health p50 of the same server and concurrency." \
        "2T/1T: calls/s at 2 server threads / at 1."
    echo
    echo "| threads | method | conc | p50 | p90 | p99 | p99.9 | calls/s | non-OK | conns | server CPU % | client CPU % | V/H p50 | 2T/1T calls/s |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for t in "${THREADS[@]}"; do
        for m in "${METHODS[@]}"; do
            for c in "${CONCURRENCY[@]}"; do
                key="$t,$m,$c"
                vh="–"
                [[ $m == verify ]] && vh=$(ratio "${P50[$t,verify,$c]}" "${P50[$t,health,$c]}")
                sc="–"
                [[ $t != 1 ]] && sc=$(ratio "${THR[$key]:-}" "${THR[1,$m,$c]:-}")
                if [[ ${P50[$key]} == FAILED ]]; then
                    echo "| $t | $m | $c | FAILED | | | | | | ${CONNS[$key]} | ${SCPU[$key]} | | | |"
                    continue
                fi
                echo "| $t | $m | $c | $(num "${P50[$key]}") | $(num "${P90[$key]}")" \
                    "| $(num "${P99[$key]}") | $(num "${P999[$key]}") | $(num "${THR[$key]}")" \
                    "| ${NONOK[$key]} | ${CONNS[$key]} | ${SCPU[$key]} | ${CCPU[$key]}" \
                    "| $vh | $sc |"
            done
        done
    done
    echo
    echo "Server stops (SIGTERM): $(printf '%s; ' "${server_exit[@]}" | sed 's/; $//')"
    if ((${#notes[@]})); then
        echo
        echo "Notes from the runs:"
        echo
        for n in "${notes[@]}"; do
            echo "- $n"
        done
    fi
} >"$tmp/table.md"

mkdir -p "$OUT_DIR"
cp "$tmp/table.md" "$OUT"
cat "$tmp/table.md"
exit "$failed"
