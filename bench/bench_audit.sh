#!/usr/bin/env bash
# bench_audit.sh - `planverify audit` throughput, in plans per second, with
# --jobs 1 and --jobs 2 on a generated, realistic mix of plans over the
# bundled specs; prints a Markdown table. Results are reported, not asserted.
#
# usage: bench/bench_audit.sh [PLANVERIFY [N [JOBS...]]]
#   PLANVERIFY  the binary (default: $PV_BINARY, else build/planverify)
#   N           plans to generate (default 20000)
#   JOBS        --jobs values to compare (default: 1 2)
#
# The mix: support-refunds, db-infra and email-docs in equal parts; plan
# lengths with median 3 and a tail to 60 steps; about a third of the plans
# have unknowns (results not given, {unknown: true} arguments); about 2% are
# bad input. The plan file is generated once (fixed seed) and every run reads
# the same file; runs also check that the output does not depend on --jobs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${PV_BINARY:-$here/build/planverify}}
n=${2:-20000}
shift $(( $# > 2 ? 2 : $# ))
jobs_list=("$@")
[ ${#jobs_list[@]} -gt 0 ] || jobs_list=(1 2)
specs=$here/specs

if [ ! -x "$bin" ]; then
    echo "bench_audit: no planverify binary at $bin (build first, or pass its path)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pv-bench-audit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 - "$n" "$tmp/plans.jsonl" > "$tmp/shape" <<'EOF'
import json, random, sys

n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261101)

def length():
    r = rng.random()
    if r < 0.80:
        return rng.choices([1, 2, 3, 4, 5], weights=[20, 20, 25, 20, 15])[0]
    if r < 0.97:
        return rng.randint(6, 20)
    return rng.randint(21, 60)

U = {"unknown": True}

def refunds(k, unk):
    steps, orders = [], []
    for i in range(k):
        r = rng.random()
        if not orders or r < 0.3:
            oid = "A%d" % rng.randint(1, 9999)
            st = {"id": "o%d" % i, "tool": "lookup_order", "args": {"order_id": oid}}
            if not unk or rng.random() < 0.7:
                st["result"] = {"amount": rng.randint(10, 1500), "age_days": rng.randint(0, 60),
                                "status": "delivered", "email": "c%d@example.com" % i}
            orders.append((st["id"], oid))
        elif r < 0.55:
            sid, oid = rng.choice(orders)
            amount = rng.randint(1, 700)
            q = rng.random()
            if unk and q < 0.3:
                amount = U
            elif q < 0.45:
                amount = {"ref": sid + ".amount"}
            st = {"tool": "issue_refund", "args": {"order_id": oid, "amount": amount}}
        elif r < 0.65:
            st = {"tool": "request_approval",
                  "args": {"order_id": rng.choice(orders)[1], "amount": rng.randint(100, 900)}}
            if not unk or rng.random() < 0.5:
                st["result"] = {"approved": rng.random() < 0.6}
        elif r < 0.8:
            st = {"tool": "create_return_label", "args": {"order_id": rng.choice(orders)[1]}}
        else:
            st = {"tool": "send_customer_message", "args": {"body": "Update %d" % i}}
        steps.append(st)
    return {"spec": "support-refunds", "steps": steps}

SQL = [("INSERT INTO log VALUES (1)", "insert", False),
       ("UPDATE users SET a = 1 WHERE id = 7", "update", True),
       ("DELETE FROM sessions", "delete", False),
       ("DROP TABLE legacy", "drop", False)]

def db(k, unk):
    steps = [{"tool": "connect_database",
              "args": {"env": rng.choice(["staging", "production"]), "database": "crm"}}]
    for i in range(1, k):
        r = rng.random()
        if r < 0.15:
            st = {"tool": "get_change_calendar", "args": {}}
            if not unk or rng.random() < 0.6:
                st["result"] = {"freeze": rng.random() < 0.3}
        elif r < 0.55:
            st = {"tool": "run_query", "args": {"statement": "SELECT id FROM t%d" % i}}
            if not unk or rng.random() < 0.7:
                st["result"] = {"ok": rng.random() < 0.95, "rows": rng.randint(0, 99)}
        elif r < 0.75:
            stmt, kind, where = rng.choice(SQL)
            st = {"tool": "run_sql", "args": {"statement": stmt, "kind": kind}}
            if where:
                st["args"]["has_where"] = True
        elif r < 0.85:
            st = {"tool": "insert_records",
                  "args": {"table": "t", "rows": rng.randint(1, 500),
                           "source": rng.choice(["user_provided", "generated"])}}
        else:
            st = {"tool": "describe_table", "args": {"table": "t%d" % i},
                  "result": {"exists": True, "row_count": rng.randint(0, 10 ** 6)}}
        steps.append(st)
    return {"spec": "db-infra", "steps": steps[:k]}

def email(k, unk):
    steps, read, unknown_to = [], [], False
    for i in range(k):
        r = rng.random()
        if r < 0.3:
            doc = "docs/d%d" % i
            st = {"tool": "read_document", "args": {"doc_id": doc}}
            if not unk or rng.random() < 0.7:
                st["result"] = {"title": "T", "contains_pii": rng.random() < 0.3,
                                "classification": rng.choice(["public", "internal"]),
                                "legal_hold": False}
            read.append(doc)
        elif r < 0.4:
            st = {"tool": "lookup_customer", "args": {"customer_id": "C-%d" % i}}
        elif r < 0.8:
            to = rng.choice(["team@acme.com", "x%d@partner.example" % i])
            # An unknown recipient after PII costs the solver much more: rare.
            if unk and not unknown_to and rng.random() < 0.02:
                to, unknown_to = U, True
            st = {"tool": "send_email", "args": {"to": to, "subject": "s", "body": "b"}}
        elif read:
            st = {"tool": "share_document", "args": {"doc_id": rng.choice(read),
                  "with": rng.choice(["pm@acme.com", "a@example.com"]), "permission": "view"}}
        else:
            st = {"tool": "search_documents", "args": {"query": "q"}, "result": {"count": 3}}
        steps.append(st)
    return {"spec": "email-docs", "steps": steps}

lengths = []
with open(path, "w") as f:
    for i in range(n):
        k = length()
        plan = rng.choice([refunds, db, email])(k, rng.random() < 0.35)
        plan = dict([("id", "bench-%06d" % i)] + list(plan.items()))
        if rng.random() < 0.02:  # bad input: an argument no tool declares
            plan["steps"][0]["args"]["bogus"] = 1
        lengths.append(len(plan["steps"]))
        f.write(json.dumps(plan, separators=(",", ":")) + "\n")
lengths.sort()
print("%d plans, median %d steps, max %d steps, mean %.1f steps" % (
    n, lengths[n // 2], lengths[-1], sum(lengths) / n))
EOF

now() { date +%s.%N; }

echo "## planverify audit throughput"
echo
echo "$(cat "$tmp/shape"); $(nproc) CPUs online; $(uname -m)"
echo
echo "| --jobs | plans | seconds | plans/s | speedup |"
echo "|---:|---:|---:|---:|---:|"
base=
first_out=
for j in "${jobs_list[@]}"; do
    t0=$(now)
    rc=0
    "$bin" audit --specs "$specs" --jobs "$j" "$tmp/plans.jsonl" > "$tmp/out.$j" 2> "$tmp/err.$j" || rc=$?
    t1=$(now)
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "bench_audit: audit --jobs $j failed (exit $rc):" >&2
        cat "$tmp/err.$j" >&2
        exit 1
    fi
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
    [ -n "$base" ] || base=$rate
    printf '| %s | %d | %.2f | %.0f | %.2fx |\n' "$j" "$n" "$secs" "$rate" \
        "$(awk -v r="$rate" -v b="$base" 'BEGIN { printf "%.3f", r / b }')"
    if [ -z "$first_out" ]; then
        first_out=$tmp/out.$j
    elif ! cmp -s "$first_out" "$tmp/out.$j"; then
        # The output does not depend on --jobs, except for a plan whose
        # verification came near its spec's wall-clock solver budget (the
        # machine was busy): say so rather than fail the benchmark.
        echo "bench_audit: warning: the output of --jobs $j differs from --jobs" \
             "${jobs_list[0]} on $(diff "$first_out" "$tmp/out.$j" | grep -c '^<') lines" \
             "(a plan near its solver time budget on a busy machine?)" >&2
    fi
done
echo
echo "Decisions (from the last run's summary):"
echo
sed -n 's/^  decisions: /    /p; s/^  malformed or bad input: /    malformed or bad input: /p' "$tmp/err.${jobs_list[-1]}"
