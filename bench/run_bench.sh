#!/usr/bin/env bash
# run_bench.sh - every benchmark of planverify, one report.
#
#   bench/run_bench.sh [--compare BASE.json] [BUILD_DIR]   (default ./build)
#
# `make bench` runs this after building; `make bench-compare BASE=FILE` runs
# it with --compare. Builds nothing: BUILD_DIR must hold planverify,
# bench_engine, bench_ir and bench_grpc. Runs, in order:
#
#   engine     bench_engine: in-process verification times along plan
#              length, unknowns, invariants and state size, the bundled
#              example plans, path-level against call-level checking, and
#              throughput with 1 and 2 threads in one process
#   callgrind  bench/run_callgrind.sh: instruction counts of a fixed set,
#              and where they go (with perf's wall-clock shares when perf
#              works)
#   service    bench/run_grpc_bench.sh: Verify against Health/Check on one
#              connection, 1 and 2 server threads, 1 to 64 calls in flight;
#              Verify over 2 connections
#   memory     bench/bench_memory.sh: server RSS after start-up and along
#              MEM_REQUESTS Verify calls
#
# and writes BENCH_OUT.md and BENCH_OUT.json (default
# bench/results/latest.{md,json}) with bench/report.py. With --compare, the
# new figures are compared with BASE (a JSON file of an earlier run): a
# figure is flagged when it is worse by more than 10% and by more than two
# standard deviations of its per-round samples; the comparison is printed
# and added to the report. To keep a baseline, copy latest.json first.
#
# Environment (defaults keep the run under about 10 minutes on 2 cores):
#   BENCH_PARTS      parts to run, comma-separated (default
#                    engine,callgrind,service,memory)
#   BENCH_ROUNDS     engine rounds (default 5)
#   BENCH_ROUND_MS   engine time per case per round in ms (default 40)
#   BENCH_MAX_STEPS  longest engine plan (default 500)
#   BENCH_THREAD_MS  engine time per thread count per round (default 500)
#   CALLGRIND_REPS PERF_REPS                     see run_callgrind.sh
#   DURATION WARMUP ROUNDS THREADS CONCURRENCY CONNS CONNS_CONC
#                                                see run_grpc_bench.sh
#   MEM_REQUESTS MEM_CONCURRENCY MEM_THREADS     see bench_memory.sh
#                    (MEM_REQUESTS=1000000 for the million-call run)
#   BENCH_OUT        output path without extension (default
#                    bench/results/latest)
#   BENCH_RAW_DIR    keep the raw outputs (callgrind profiles, JSON lines)
#                    there instead of in a temporary directory
#   BENCH_STRICT=1   with --compare, exit 1 when a figure is flagged
#
# Figures are reported, never asserted: the exit status is 0 unless a part
# could not run (2), whatever the figures are.
set -euo pipefail

base=""
if [[ ${1:-} == --compare ]]; then
    base=${2:?--compare needs a result file}
    shift 2
fi
BUILD_DIR=${1:-./build}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARTS=${BENCH_PARTS:-engine,callgrind,service,memory}
OUT=${BENCH_OUT:-$REPO/bench/results/latest}

die() {
    echo "run_bench.sh: $*" >&2
    exit 2
}
[[ -z $base || -f $base ]] || die "no result file $base"
for exe in planverify bench_engine bench_ir bench_grpc; do
    [[ -x $BUILD_DIR/$exe ]] || die "$BUILD_DIR/$exe is missing: build first"
done
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
want() {
    [[ ,$PARTS, == *",$1,"* ]]
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=${BENCH_RAW_DIR:-$tmp/raw}
mkdir -p "$raw"
t_start=$(date +%s)
log() {
    echo "[bench $(($(date +%s) - t_start))s] $*" >&2
}

# What the run is: machine, tree, build.
commit=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=false
if [[ -n $(git -C "$REPO" --no-optional-locks status --porcelain --untracked-files=no \
    2>/dev/null) ]]; then
    dirty=true
fi
M_STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ) M_HOST=$(uname -srm) M_CORES=$(nproc) \
    M_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) \
    M_COMMIT=$commit M_DIRTY=$dirty M_BUILD_DIR=$BUILD_DIR \
    M_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null) \
    M_Z3=$(pkg-config --modversion z3 2>/dev/null || echo unknown) \
    M_GRPC=$(pkg-config --modversion grpc 2>/dev/null || echo unknown) \
    M_LOAD=$(cut -d' ' -f1-3 /proc/loadavg) M_PARTS=$PARTS \
    M_COMMAND=$([[ -n $base ]] && echo "make bench-compare BASE=$base" || echo "make bench") \
    python3 - "$raw/meta.json" <<'EOF'
import json, os, sys
e = os.environ
meta = {
    "started": e["M_STARTED"], "host": e["M_HOST"], "cores": int(e["M_CORES"]),
    "cpu": e["M_CPU"], "commit": e["M_COMMIT"], "dirty": e["M_DIRTY"] == "true",
    "build_dir": e["M_BUILD_DIR"], "build_type": e["M_BUILD_TYPE"], "z3": e["M_Z3"],
    "grpc": e["M_GRPC"], "load_before": e["M_LOAD"], "parts": e["M_PARTS"],
    "command": e["M_COMMAND"],
    "env": {k: e[k] for k in sorted(e) if k.startswith(("BENCH_", "MEM_", "CALLGRIND_"))
            or k in ("DURATION", "WARMUP", "ROUNDS", "THREADS", "CONCURRENCY", "CONNS",
                     "CONNS_CONC", "PERF_REPS")},
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF

failed=()
if want engine; then
    log "engine: in-process verification times"
    "$BUILD_DIR/bench_grpc" --print-plan >"$raw/service-plan.yaml"
    (cd "$REPO" && "$BUILD_DIR/bench_engine" --rounds "${BENCH_ROUNDS:-5}" \
        --round-ms "${BENCH_ROUND_MS:-40}" --max-steps "${BENCH_MAX_STEPS:-500}" \
        --thread-ms "${BENCH_THREAD_MS:-500}" \
        --plan "$raw/service-plan.yaml" --json "$raw/engine.json") || failed+=(engine)
fi
if want callgrind; then
    log "callgrind: instruction counts"
    rc=0
    RAW_DIR=$raw "$REPO/bench/run_callgrind.sh" "$BUILD_DIR" || rc=$?
    if ((rc == 3)); then
        echo "valgrind is not installed" >"$raw/callgrind-skipped.txt"
    elif ((rc != 0)); then
        failed+=(callgrind)
    fi
fi
if want service; then
    log "service: gRPC latency and throughput"
    rc=0
    RAW_DIR=$raw OUT_MD=$raw/grpc.md "$REPO/bench/run_grpc_bench.sh" "$BUILD_DIR" \
        >/dev/null || rc=$?
    # 1: some calls were not OK; the figures and notes are still there.
    ((rc <= 1)) || failed+=(service)
fi
if want memory; then
    log "memory: server RSS over ${MEM_REQUESTS:-100000} Verify calls"
    rc=0
    RAW_DIR=$raw "$REPO/bench/bench_memory.sh" "$BUILD_DIR" >/dev/null || rc=$?
    ((rc <= 1)) || failed+=(memory)
fi

python3 - "$raw/meta.json" "$(($(date +%s) - t_start))" "${failed[*]:-}" <<'EOF'
import json, sys
path, secs, failed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
meta = json.load(open(path))
meta["load_after"] = open("/proc/loadavg").read().split()[:3]
meta["load_after"] = " ".join(meta["load_after"])
meta["seconds"] = secs
meta["failed_parts"] = failed.split()
json.dump(meta, open(path, "w"), indent=1)
EOF

log "report"
mkdir -p "$(dirname "$OUT")"
cmp_args=()
[[ -n $base ]] && cmp_args=(--compare "$base")
rc=0
python3 "$REPO/bench/report.py" build "$raw" "$OUT" "${cmp_args[@]}" || rc=$?
# report.py: 3 when the comparison flagged a figure, other non-zero on error.
((rc == 0 || rc == 3)) || die "the report could not be written (report.py exit $rc)"
log "wrote $OUT.md and $OUT.json"
((${#failed[@]} == 0)) || die "parts that did not run: ${failed[*]}"
if ((rc == 3)) && [[ ${BENCH_STRICT:-0} == 1 ]]; then
    exit 1
fi
exit 0
