#!/usr/bin/env bash
# run_callgrind.sh - instruction counts (callgrind's Ir) for a fixed small
# set of plans: repeatable on a noisy machine where times are not.
#
#   bench/run_callgrind.sh [BUILD_DIR]        (default ./build)
#
# For each case, runs
#   valgrind --tool=callgrind --toggle-collect=bench_ir_measure \
#       BUILD_DIR/bench_ir --reps CALLGRIND_REPS CASE
# so that only loading the plan and verifying it CALLGRIND_REPS times is
# counted (after a warm-up; see bench/bench_ir.c). The cases: the
# support-refunds 10-step plan with 3 unknowns (the key case, with
# --dump-instr=yes for callgrind_annotate), the same plan fully known with
# the default options (the concrete fast path) and with no_fast_path (Z3),
# the plan with 3 unknowns with every question sent to Z3 (-solver: the
# path of plans the quick path cannot settle), its concrete twin checked
# call by call, 50 steps with 3 unknowns, the
# other two domains at 10 steps with 3 unknowns, and bench_grpc's built-in
# plan. bench/report.py reads the profiles (total Ir per verification, and
# where the instructions go).
#
# Then, when perf works on this machine, samples the key case's wall-clock
# time (perf record --call-graph dwarf, PERF_REPS verifications without
# valgrind) for the shares that instruction counts miss: the kernel (system
# calls, page faults), waiting, other threads.
#
# Environment:
#   CALLGRIND_REPS  verifications per case (default 10)
#   PERF_REPS       verifications sampled by perf (default 1000)
#   RAW_DIR         where callgrind.CASE.out, annotate.txt and perf-*.txt go
#                   (default: a temporary directory, removed)
#
# Exit 0; 3 when valgrind is not installed (nothing is measured then).
set -euo pipefail

BUILD_DIR=${1:-./build}
CALLGRIND_REPS=${CALLGRIND_REPS:-10}
PERF_REPS=${PERF_REPS:-1000}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IR="$BUILD_DIR/bench_ir"

[[ -x $IR ]] || {
    echo "run_callgrind.sh: $IR is missing: build first" >&2
    exit 2
}
[[ $CALLGRIND_REPS =~ ^[1-9][0-9]*$ && $PERF_REPS =~ ^[1-9][0-9]*$ ]] || {
    echo "run_callgrind.sh: CALLGRIND_REPS and PERF_REPS must be positive whole numbers" >&2
    exit 2
}
if ! command -v valgrind >/dev/null; then
    echo "run_callgrind.sh: valgrind is not installed (apt-get install valgrind); skipped" >&2
    exit 3
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=${RAW_DIR:-$tmp}
mkdir -p "$raw"
"$BUILD_DIR/bench_grpc" --print-plan >"$raw/service-plan.yaml"

KEY=refunds-10-u3
CASES=(refunds-10-u3 refunds-10-u0 refunds-10-u0-nofast refunds-10-u3-solver
    refunds-10-u3-call refunds-50-u3 database-10-u3 email-10-u3 service-plan)
for c in "${CASES[@]}"; do
    args=("$c")
    [[ $c == service-plan ]] && args=(--plan "$raw/service-plan.yaml")
    extra=()
    [[ $c == "$KEY" ]] && extra=(--dump-instr=yes)
    (cd "$REPO" && valgrind --tool=callgrind --toggle-collect=bench_ir_measure \
        "${extra[@]}" --callgrind-out-file="$raw/callgrind.$c.out" \
        "$IR" --reps "$CALLGRIND_REPS" "${args[@]}") >"$tmp/$c.txt" 2>"$tmp/$c.err" || {
        cat "$tmp/$c.err" >&2
        echo "run_callgrind.sh: $c failed" >&2
        exit 2
    }
    echo "$c: $(grep -h '^bench_ir:' "$tmp/$c.txt") ($(sed -n 's/^==[0-9]*== Collected : //p' \
        "$tmp/$c.err") Ir)" | tee -a "$raw/callgrind-cases.txt" >&2
done
echo "$CALLGRIND_REPS" >"$raw/callgrind-reps.txt"
# Wall-clock shares of the key case, which instruction counts do not show
# (system calls, page faults, other threads): perf samples with DWARF call
# graphs, when perf can record here. Skipped quietly otherwise.
if command -v perf >/dev/null &&
    (cd "$REPO" && perf record -q -F 1000 --call-graph dwarf,16384 -o "$tmp/perf.data" \
        "$IR" --reps "$PERF_REPS" "$KEY") >/dev/null 2>&1; then
    perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        grep '%' | sed 's/[[:space:]]*$//' >"$raw/perf-dso.txt" || true
    perf report -i "$tmp/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
        grep '%' | sed 's/[[:space:]-]*$//' >"$raw/perf-symbols.txt" || true
    echo "$KEY: perf samples of $PERF_REPS verifications (perf-dso.txt, perf-symbols.txt)" >&2
fi

# The top of the inclusive profile, without Z3's anonymous internal functions
# (the library is stripped: they show as bare addresses).
callgrind_annotate --inclusive=yes --threshold=99 "$raw/callgrind.$KEY.out" 2>/dev/null |
    grep -v '???:0x' | head -n 70 >"$raw/annotate.txt" || true
