#!/usr/bin/env bash
# run_grpc_bench.sh - latency and throughput of `planverify serve` over gRPC.
#
#   bench/run_grpc_bench.sh [BUILD_DIR]        (default ./build)
#
# Builds nothing: BUILD_DIR must hold planverify and bench_grpc. For each
# server thread count (1 and 2) it starts `planverify serve --listen
# 127.0.0.1:0 --threads T`, and for each number of calls in flight (1, 4, 16,
# 64) runs one bench_grpc on one channel (one connection) that alternates
# Health/Check and Verify phases (health, verify, health, verify, ...:
# ROUNDS of each), so that Verify is compared with the floor of an empty
# call on the same server and connection in the same run. Verify sends the
# built-in 10-step support-refunds plan with 3 unknowns (PLAN to change).
# Then, per thread count, Verify alone with CONNS_CONC calls in flight spread
# over CONNS connections (whether the server spreads one connection's calls
# over its workers, or only different connections'). The server is stopped
# with SIGTERM after its rows. Last, per thread count, Verify alone on a
# server started with --solver-only, SOLVER_CONC calls in flight: the same
# plan with every question sent to Z3, so that the workers' scaling is
# measured where verification, not gRPC's transport, is the work; and
# (SOLVER_PROCS) the same on two servers of one thread each at once, one
# client each with half the calls in flight: what two workers that share
# nothing can reach on this machine, the ceiling for 2T/1T.
#
# Figures per row are medians over the rounds (bench/report.py grpc-md);
# V/H p50 is the median over rounds of Verify p50 / Health p50 of the same
# round; 2T/1T is calls/s at 2 threads over calls/s at 1, round by round.
# The table goes to OUT_MD (default bench/results/grpc-latest.md) and
# stdout; with RAW_DIR set, the raw JSON lines stay there as
# grpc-tT-cC.jsonl with grpc-meta.json (bench/run_bench.sh reads them).
#
# Environment:
#   DURATION     measured seconds per phase (default 2)
#   WARMUP       warm-up seconds per phase, not measured (default 0.5)
#   ROUNDS       health/verify rounds per row (default 3)
#   THREADS      server thread counts (default "1 2")
#   CONCURRENCY  calls in flight (default "1 4 16 64")
#   CONNS        connections for the extra Verify rows (default 2; 1: none)
#   CONNS_CONC   calls in flight for those rows (default 16)
#   SOLVER_CONC  calls in flight for the --solver-only rows (default 8; 0: none)
#   SOLVER_PROCS 1: also the two-process --solver-only row (default 1; 0: not)
#   SPECS_DIR    the specs the server loads (default: the bundled specs/)
#   PLAN         a plan file to verify instead of the built-in plan
#   RAW_DIR, OUT_MD  see above
#
# Traffic goes to 127.0.0.1 only. Every run is bounded by `timeout`; with
# the defaults the whole script takes about 2.5 minutes.
# Exit: 0 when every call of every row was OK, 1 when some row had non-OK
# calls or failed (the table is still written), 2 for a setup problem.
set -euo pipefail

BUILD_DIR=${1:-./build}
DURATION=${DURATION:-2}
WARMUP=${WARMUP:-0.5}
ROUNDS=${ROUNDS:-3}
read -r -a THREADS <<<"${THREADS:-1 2}"
read -r -a CONCURRENCY <<<"${CONCURRENCY:-1 4 16 64}"
CONNS=${CONNS:-2}
CONNS_CONC=${CONNS_CONC:-16}
SOLVER_CONC=${SOLVER_CONC:-8}
SOLVER_PROCS=${SOLVER_PROCS:-1}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PV="$BUILD_DIR/planverify"
BENCH="$BUILD_DIR/bench_grpc"
OUT_MD=${OUT_MD:-$REPO/bench/results/grpc-latest.md}
SPECS=${SPECS_DIR:-$REPO/specs}

die() {
    echo "run_grpc_bench.sh: $*" >&2
    exit 2
}

for exe in "$PV" "$BENCH"; do
    [[ -x $exe ]] || die "$exe is missing: build first (cmake --build $BUILD_DIR)"
done
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DURATION must be a number of seconds"
[[ $WARMUP =~ ^[0-9]+([.][0-9]+)?$ ]] || die "WARMUP must be a number of seconds"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive whole number"
[[ $CONNS =~ ^[1-9][0-9]*$ && $CONNS_CONC =~ ^[1-9][0-9]*$ ]] ||
    die "CONNS and CONNS_CONC must be positive whole numbers"
[[ $SOLVER_CONC =~ ^[0-9]+$ ]] || die "SOLVER_CONC must be a whole number"
[[ $SOLVER_PROCS =~ ^[01]$ ]] || die "SOLVER_PROCS must be 0 or 1"
[[ -z ${PLAN:-} || -f $PLAN ]] || die "PLAN: no file $PLAN"

tmp=$(mktemp -d)
# shellcheck source=bench/server_lib.sh
. "$REPO/bench/server_lib.sh"
raw=${RAW_DIR:-$tmp/raw}
mkdir -p "$raw"

# Whole seconds for `timeout`: both methods' rounds, each phase's drain (a
# call's 10 s deadline and 2 s more at worst) and the 5 s connect wait.
run_limit=$(awk -v d="$DURATION" -v w="$WARMUP" -v r="$ROUNDS" \
    'BEGIN { printf "%d", 2 * r * (d + w + 3) + 20 }')

server_exit=()
notes=()
stop_server() {
    local threads=$1 rc=0
    kill -TERM "$server_pid" 2>/dev/null || true
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

# A JSON string literal for s (quotes, backslashes and control characters
# escaped).
json_str() {
    python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}

# verify_start JSONL [OPTION...]: start Verify alone on the server at
# $port ($server_pid) for ROUNDS phases, with bench_grpc's OPTIONs, in the
# background; sets client_pid. verify_end JSONL WHAT waits for it: its
# JSON lines go to $raw/JSONL, its text to stderr, and a failure into notes
# under WHAT. verify_alone JSONL WHAT [OPTION...] does both.
verify_start() {
    local out="$tmp/run-${1%.jsonl}.txt"
    shift
    timeout "$run_limit" "$BENCH" --server "127.0.0.1:$port" --method verify \
        --rounds "$ROUNDS" --duration-s "$DURATION" --warmup-s "$WARMUP" \
        --server-pid "$server_pid" "${plan_args[@]}" --json "$@" >"$out" 2>"$out.err" &
    client_pid=$!
}
verify_end() {
    local jsonl=$1 what=$2 out="$tmp/run-${1%.jsonl}.txt" rc=0
    wait "$client_pid" || rc=$?
    client_pid=""
    grep -v '^{' "$out" "$out.err" | sed 's/^[^:]*:/    /' >&2 || true
    grep '^{' "$out" >"$raw/$jsonl" || true
    if [[ $rc != 0 ]]; then
        failed=1
        notes+=("$what: bench_grpc exit $rc")
    fi
}
verify_alone() {
    verify_start "$1" "${@:3}"
    verify_end "$1" "$2"
}

failed=0
conns=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
plan_args=()
[[ -n ${PLAN:-} ]] && plan_args=(--plan "$PLAN")

for t in "${THREADS[@]}"; do
    start_server "$t" "$SPECS" "$tmp/server-$t.log"
    echo "server: $t thread(s) on 127.0.0.1:$port" >&2
    for c in "${CONCURRENCY[@]}"; do
        out="$tmp/run-$t-$c.txt"
        rc=0
        timeout "$run_limit" "$BENCH" --server "127.0.0.1:$port" --method health,verify \
            --rounds "$ROUNDS" --concurrency "$c" --duration-s "$DURATION" \
            --warmup-s "$WARMUP" --server-pid "$server_pid" "${plan_args[@]}" --json \
            >"$out" 2>"$out.err" &
        bench_pid=$!
        # Connections to the server, counted from the client side during the
        # first Verify phase.
        sleep "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print 1.5 * (w + d) }')"
        n_conn=$(ss -Htn state established "( dport = :$port )" 2>/dev/null | wc -l) || n_conn=-1
        conns+=("\"$t,$c\": $n_conn")
        wait "$bench_pid" || rc=$?
        grep -v '^{' "$out" "$out.err" | sed 's/^[^:]*:/    /' >&2 || true
        grep '^{' "$out" >"$raw/grpc-t$t-c$c.jsonl" || true
        if [[ $rc != 0 ]]; then
            failed=1
            notes+=("threads=$t c=$c: bench_grpc exit $rc: $(head -c 300 "$out.err" | tr '\n' ' ')")
        fi
        # Anything bench_grpc flagged: non-OK codes, changing verdicts.
        while IFS= read -r line; do
            notes+=("threads=$t c=$c:${line#  }")
        done < <(grep -E '^  (non-OK|note: the same plan)' "$out" || true)
        if [[ -z ${verdict:-} ]]; then
            verdict=$(sed -n 's/^  plan: .*first verdict: //p' "$out" | head -n 1)
        fi
    done
    if ((CONNS > 1)); then
        # Verify alone over CONNS connections, for whether the server spreads
        # one connection's calls over its workers or only different
        # connections'.
        verify_alone "grpc-t$t-c$CONNS_CONC-n$CONNS.jsonl" \
            "threads=$t c=$CONNS_CONC over $CONNS connections" \
            --concurrency "$CONNS_CONC" --channels "$CONNS"
    fi
    stop_server "$t"
done
if ((SOLVER_CONC > 0)); then
    for t in "${THREADS[@]}"; do
        start_server "$t" "$SPECS" "$tmp/server-$t-solver.log" --solver-only
        echo "server: $t thread(s), --solver-only, on 127.0.0.1:$port" >&2
        verify_alone "grpc-solver-t$t-c$SOLVER_CONC.jsonl" \
            "threads=$t --solver-only c=$SOLVER_CONC" --concurrency "$SOLVER_CONC"
        stop_server "$t-solver"
    done
    if ((SOLVER_PROCS && SOLVER_CONC >= 2)); then
        # The same work on two servers of one thread each, one client each
        # with half the calls in flight: two processes share no Z3 state,
        # so this is what the machine allows two workers, whatever the
        # server's design.
        half_a=$((SOLVER_CONC / 2))
        half_b=$((SOLVER_CONC - half_a))
        start_server 1 "$SPECS" "$tmp/server-p2a-solver.log" --solver-only
        pid_a=$server_pid port_a=$port
        other_server_pid=$pid_a
        start_server 1 "$SPECS" "$tmp/server-p2b-solver.log" --solver-only
        echo "servers: 2 processes of 1 thread, --solver-only, on 127.0.0.1:$port_a and :$port" >&2
        port_b=$port pid_b=$server_pid
        port=$port_a server_pid=$pid_a
        verify_start "grpc-solver-p2a-c$SOLVER_CONC.jsonl" --concurrency "$half_a"
        client_a=$client_pid other_client_pid=$client_pid
        port=$port_b server_pid=$pid_b
        verify_start "grpc-solver-p2b-c$SOLVER_CONC.jsonl" --concurrency "$half_b"
        verify_end "grpc-solver-p2b-c$SOLVER_CONC.jsonl" "2 processes --solver-only, the second"
        client_pid=$client_a
        verify_end "grpc-solver-p2a-c$SOLVER_CONC.jsonl" "2 processes --solver-only, the first"
        other_client_pid=""
        for f in p2a p2b; do
            [[ -s $raw/grpc-solver-$f-c$SOLVER_CONC.jsonl ]] ||
                { failed=1; notes+=("2 processes --solver-only: no results from $f"); }
        done
        stop_server p2b-solver
        server_pid=$pid_a other_server_pid=""
        stop_server p2a-solver
    fi
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "{"
    echo "  \"started\": \"$started\","
    echo "  \"duration_s\": $DURATION, \"warmup_s\": $WARMUP, \"rounds\": $ROUNDS,"
    echo "  \"threads\": [$(IFS=,; echo "${THREADS[*]}")],"
    echo "  \"concurrency\": [$(IFS=,; echo "${CONCURRENCY[*]}")],"
    echo "  \"conns\": $CONNS, \"conns_concurrency\": $CONNS_CONC,"
    echo "  \"solver_concurrency\": $SOLVER_CONC,"
    echo "  \"specs\": $(json_str "$SPECS"),"
    echo "  \"plan\": $(json_str "${PLAN:-built-in 10-step support-refunds plan, 3 unknowns}"),"
    echo "  \"verdict\": $(json_str "${verdict:-none received}"),"
    echo "  \"load_before\": \"$load_before\", \"load_after\": \"$load_after\","
    echo "  \"connections\": {$(IFS=,; echo "${conns[*]}")},"
    echo "  \"server_exit\": $(json_str "$(printf '%s; ' "${server_exit[@]}" | sed 's/; $//')"),"
    printf '  "notes": ['
    sep=""
    for n in "${notes[@]}"; do
        printf '%s%s' "$sep" "$(json_str "$n")"
        sep=", "
    done
    echo "],"
    echo "  \"failed\": $failed"
    echo "}"
} >"$raw/grpc-meta.json"

python3 "$REPO/bench/report.py" grpc-md "$raw" >"$tmp/table.md"
mkdir -p "$(dirname "$OUT_MD")"
cp "$tmp/table.md" "$OUT_MD"
cat "$tmp/table.md"
exit "$failed"
