#!/usr/bin/env python3
"""report.py - turn the raw outputs of the benchmarks into one report.

    bench/report.py build RAW_DIR OUT [--compare BASE.json]
        RAW_DIR holds what bench/run_bench.sh collected (meta.json,
        engine.json, callgrind.*.out, grpc-*.jsonl, memory.jsonl); writes
        OUT.json and OUT.md (and OUT-callgrind.txt when there are
        profiles). With --compare, adds a comparison with BASE and prints
        it; exit 3 when a figure is flagged.
    bench/report.py compare BASE.json NEW.json
        Compare two result files; prints the comparison; exit 3 when a
        figure is flagged.
    bench/report.py grpc-md RAW_DIR
        The service table alone, as Markdown (bench/run_grpc_bench.sh).
    bench/report.py memory-md RAW_DIR
        The memory section alone, as Markdown (bench/bench_memory.sh with
        RAW_DIR set).

Every figure of a result file is {"value", "samples", "unit", "better"}:
samples are the figure's value in each repeated round (per-round medians
for times), so that a comparison can tell a change from noise. A figure is
flagged when it is worse than the base by more than 10% of the base value
and by more than twice the pooled standard deviation of the two runs'
samples. Standard library only.
"""

import json
import math
import os
import re
import statistics
import sys
from collections import defaultdict

# Exit status when a comparison flags a figure (1 is Python's own error).
FLAGGED = 3

# Issue 6's targets, shown next to the key figures (informative only).
TARGETS = {
    "inproc_10_3": "< 100 us",
    "vh_ratio": "<= 1.5x",
    "length_exponent": "<= 1 (linear)",
    "scaling_2t": ">= 1.8x",
}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def stdev(xs):
    xs = [x for x in xs if x is not None]
    return statistics.stdev(xs) if len(xs) >= 2 else 0.0


def fit_exponent(points):
    """Least-squares slope of log y against log x over (x, y) points with
    x, y > 0; None with fewer than two distinct x."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x and y and x > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    return sxy / sxx


def fig(value, samples=None, unit="us", better="lower", label=None):
    """A figure record."""
    out = {"value": value, "samples": list(samples) if samples else [value], "unit": unit,
           "better": better}
    if label:
        out["label"] = label
    return out


def fmt(v, unit="us"):
    """A figure for a table: times in us or ms, counts with separators."""
    if v is None:
        return "–"
    if unit == "us":
        if v >= 10000:
            return "%.1f ms" % (v / 1000)
        if v >= 100:
            return "%.0f" % v
        return "%.1f" % v
    if unit == "x":
        return "%.2fx" % v
    if unit == "exp":
        return "%.2f" % v
    if unit in ("Ir", "kB", "calls"):
        return "{:,.0f}".format(v)
    if unit == "calls/s":
        return "%.0f" % v
    return "%.3g" % v


def table(header, rows, align=None):
    """Markdown table lines."""
    align = align or ["---:"] * len(header)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return out


# ---------------------------------------------------------------------------
# engine

def verdict_of(c):
    return "%s (%d)" % (c["decision"], c["findings"])


def engine_report(eng):
    """Figures, fits and Markdown for bench_engine's JSON."""
    cases = eng["cases"]
    by_id = {c["id"]: c for c in cases}
    rounds = eng["rounds"]
    figures = {}
    for c in cases:
        base = "engine/" + c["id"]
        figures[base + "/median_us"] = fig(c["median_us"], c["round_median_us"])
        figures[base + "/p90_us"] = fig(c["p90_us"], c["round_p90_us"])
        figures[base + "/p99_us"] = fig(c["p99_us"], c["round_p99_us"])

    # Growth exponents: per section, domain and series, over the points
    # whose unknowns are those the series asks for (short plans hold fewer).
    series = defaultdict(list)
    for c in cases:
        if c["section"] in ("length", "unknowns", "invariants", "state"):
            series[(c["section"], c["domain"], c["series"])].append(c)
    fits = []
    for (section, domain, name), cs in series.items():
        m = re.match(r"u(\d+)", name)
        if section == "length" and m:
            cs = [c for c in cs if c["unknowns"] == int(m.group(1))]
        if section == "unknowns":
            cs = [c for c in cs if c["x"] > 0]
        cs.sort(key=lambda c: c["x"])
        if len(cs) < 2:
            continue
        ranges = [("all", cs)]
        if section == "length":
            ranges.append(("le200", [c for c in cs if c["x"] <= 200]))
        for rname, rc in ranges:
            value = fit_exponent([(c["x"], c["median_us"]) for c in rc])
            if value is None:
                continue
            samples = [fit_exponent([(c["x"], c["round_median_us"][r]) for c in rc])
                       for r in range(rounds)]
            last = None
            if len(rc) >= 2:
                last = fit_exponent([(c["x"], c["median_us"]) for c in rc[-2:]])
            key = "fit/%s/%s/%s/%s" % (section, domain, name, rname)
            figures[key] = fig(value, samples, unit="exp")
            fits.append({"section": section, "domain": domain, "series": name, "range": rname,
                         "x": [c["x"] for c in rc], "exponent": value,
                         "exponent_sd": stdev(samples), "last_segment": last})

    # Path-level against call-level: ratios of medians, round by round.
    pathcall = []
    for c in cases:
        if c["section"] != "pathcall" or c["series"] == "call_level":
            continue
        ref = by_id["pathcall/%s/call_level/%g" % (c["domain"], c["x"])]
        value = c["median_us"] / ref["median_us"]
        samples = [a / b for a, b in zip(c["round_median_us"], ref["round_median_us"]) if b]
        figures["pathcall/%s/%g/%s/ratio" % (c["domain"], c["x"], c["series"])] = fig(
            value, samples, unit="x")
        pathcall.append({"domain": c["domain"], "steps": c["x"], "series": c["series"],
                         "ratio": value, "median_us": c["median_us"],
                         "call_level_us": ref["median_us"], "verdict": verdict_of(c),
                         "call_level_verdict": verdict_of(ref)})

    threads = eng.get("threads")
    if threads:
        t1, t2 = threads["throughput_1"], threads["throughput_2"]
        figures["engine/threads/throughput_1"] = fig(median(t1), t1, "calls/s", "higher")
        figures["engine/threads/throughput_2"] = fig(median(t2), t2, "calls/s", "higher")
        ratios = [b / a for a, b in zip(t1, t2) if a]
        figures["engine/threads/ratio"] = fig(median(ratios), ratios, "x", "higher")
        for key in ("solver_only", "solver_only_long"):
            sub = threads.get(key)
            if sub:
                a, b = sub["throughput_1"], sub["throughput_2"]
                figures["engine/threads/%s/throughput_1" % key] = fig(
                    median(a), a, "calls/s", "higher")
                figures["engine/threads/%s/throughput_2" % key] = fig(
                    median(b), b, "calls/s", "higher")
                r = [y / x for x, y in zip(a, b) if x]
                figures["engine/threads/%s/ratio" % key] = fig(median(r), r, "x", "higher")
    md = engine_markdown(eng, by_id, fits, pathcall)
    if threads:
        at = md.index("## Path-level against call-level") if (
            "## Path-level against call-level" in md) else len(md)
        def rates(sub):
            a, b = sub["throughput_1"], sub["throughput_2"]
            r = [y / x for x, y in zip(a, b) if x]
            return "%s/s with 1 thread, %s/s with 2, ratio %s (rounds: %s)" % (
                fmt(median(a), "calls/s"), fmt(median(b), "calls/s"), fmt(median(r), "x"),
                ", ".join(fmt(x, "x") for x in r))

        sec = ["### Threads in one process", "",
               "Verifications per second of the refunds 10-step plan with 3 unknowns, by 1 "
               "thread and by 2 threads at once, each thread with its own engine (as the "
               "server's workers have), %g ms per thread count per round; medians over %d "
               "rounds: %s." % (threads["ms"], len(t1), rates(threads)), ""]
        if threads.get("solver_only"):
            sec += ["The same plan with every question sent to Z3 (no_quick, as `--solver-only` "
                    "and plans the quick path cannot settle): %s. Two Z3 contexts share Z3's "
                    "process-wide tables (parameters, symbols), which is where the two threads "
                    "still meet." % rates(threads["solver_only"]), ""]
        if threads.get("solver_only_long"):
            sec += ["The refunds 50-step plan with 10 unknowns, every question to Z3: %s."
                    % rates(threads["solver_only_long"]), ""]
        md[at:at] = sec
    # The per-round samples are in the figures; the cases keep the rest.
    slim = [{k: v for k, v in c.items() if not k.startswith("round_")} for c in cases]
    return figures, {"fits": fits, "pathcall": pathcall, "cases": slim,
                     "rounds": rounds, "round_ms": eng["round_ms"],
                     "seconds": eng["seconds"], "threads": threads}, md


def engine_markdown(eng, by_id, fits, pathcall):
    md = ["## Engine, in process", ""]
    md.append("`bench_engine`: one engine (one Z3 context) verifying each plan again and again, "
              "default options unless the series says otherwise. %d rounds; in each round "
              "every case runs for about %g ms (at least 3 verifications), rounds interleaved "
              "across cases; median, p90 and p99 over all verifications of a case. Times in "
              "microseconds. Plans are generated (bench/support/plangen.c): realistic "
              "support (refunds), database (db-infra) and email (email-docs) conversations; "
              "*verdict (n)* is the decision and the number of findings. The bundled specs "
              "run with max_steps 100000 and solver_timeout_ms 60000 so that long plans are "
              "analysed whole. Series: `u0-default`: nothing unknown, default options (the "
              "concrete fast path); `u0-no_fast_path`: the same plan through Z3; `u3`, "
              "`u10`: that many unknown values (a short plan holds fewer; the count placed "
              "is shown)." % (eng["rounds"], eng["round_ms"]))
    md.append("")

    md += ["### Growth exponents", ""]
    md.append("Least-squares slope of log(median) against log(x): 1 is linear, 2 quadratic. "
              "*± sd* is the spread of the same fit on each round's medians; *last segment* "
              "is the slope between the two largest x, where superlinear growth shows first.")
    md.append("")
    rows = []
    seen = {}
    for f in fits:
        key = (f["section"], f["domain"], f["series"])
        if key not in seen:
            seen[key] = {"all": None, "le200": None}
            rows.append((key, seen[key]))
        seen[key][f["range"]] = f
    out = []
    for (section, domain, name), fr in rows:
        a, b = fr["all"], fr["le200"]
        xs = a["x"] if a else b["x"]
        out.append([section, domain, name, "%g–%g" % (xs[0], xs[-1]),
                    "%.2f ± %.2f" % (a["exponent"], a["exponent_sd"]) if a else "–",
                    "%.2f ± %.2f" % (b["exponent"], b["exponent_sd"]) if b else "–",
                    fmt(a["last_segment"], "exp") if a else "–"])
    md += table(["axis", "domain", "series", "x range", "exponent", "exponent up to 200 steps",
                 "last segment"], out, ["---", "---", "---", "---:", "---:", "---:", "---:"])
    md.append("")

    # Plan length, one table per domain.
    md += ["### Plan length", ""]
    for domain in ("refunds", "database", "email"):
        rows = []
        for n in (1, 5, 10, 20, 50, 100, 200, 500):
            def get(series):
                return by_id.get("length/%s/%s/%g" % (domain, series, n))
            d0, z0, u3, u10 = get("u0-default"), get("u0-no_fast_path"), get("u3"), get("u10")
            if not d0:
                continue
            rows.append([n, fmt(d0["median_us"]), fmt(z0["median_us"]),
                         fmt(u3["median_us"]), fmt(u3["p90_us"]), fmt(u3["p99_us"]),
                         "%d: %s" % (u3["unknowns"], verdict_of(u3)),
                         fmt(u10["median_us"]), "%d: %s" % (u10["unknowns"], verdict_of(u10))])
        if not rows:
            continue
        md.append("**%s**" % domain)
        md.append("")
        md += table(["steps", "u0 default", "u0 no_fast_path", "u3 median", "u3 p90",
                     "u3 p99", "u3 placed: verdict", "u10 median", "u10 placed: verdict"], rows,
                    ["---:"] * 6 + ["---", "---:", "---"])
        md.append("")

    def axis_table(section, xs_label, series_list):
        cs = [c for c in eng["cases"] if c["section"] == section]
        xs = sorted({c["x"] for c in cs})
        rows = []
        for x in xs:
            row = [fmt(x, "")]
            for s in series_list:
                c = by_id.get("%s/%s/%s/%g" % (section, cs[0]["domain"], s, x))
                if c:
                    row += [fmt(c["median_us"]), fmt(c["p90_us"]), fmt(c["p99_us"]),
                            verdict_of(c)]
                else:
                    row += ["–"] * 4
            rows.append(row)
        header = [xs_label]
        for s in series_list:
            header += [s + " median", "p90", "p99", "verdict"]
        return table(header, rows, ["---:"] + ["---:", "---:", "---:", "---"] * len(series_list))

    if any(c["section"] == "unknowns" for c in eng["cases"]):
        md += ["### Unknowns", "",
               "Support-refunds plan of 50 steps; unknown values placed by priority (refund "
               "amounts and approvals first, then order amounts and ages), spread over the "
               "plan. 0 unknowns goes through the fast path; `L50-no_fast_path` is the same "
               "plan through Z3.", ""]
        md += axis_table("unknowns", "unknowns", ["L50"])
        z = by_id.get("unknowns/refunds/L50-no_fast_path/0")
        if z:
            md += ["", "No unknowns through Z3 (no_fast_path): median %s, p90 %s." % (
                fmt(z["median_us"]), fmt(z["p90_us"]))]
        md.append("")
    for section, label, note in (
            ("invariants", "invariants",
             "A generated support-refunds spec (bench/support/plangen.c: pg_spec_text) with "
             "3 state variables and N invariants cycling through ten realistic templates "
             "(approval thresholds, refund caps, return windows, refund-within-order, "
             "message and refund counts, approval counts, ...) with rising thresholds."),
            ("state", "state variables",
             "The same generated spec with 10 invariants and N state variables: the "
             "bundled three plus refund tiers, counters and flags, each kept up to date by "
             "a tool's effects (the invariants read the bundled three).")):
        if any(c["section"] == section for c in eng["cases"]):
            md += ["### %s" % label.capitalize(), "", note, ""]
            md += axis_table(section, label, ["L10-u3", "L10-u0-no_fast_path", "L50-u3"])
            md.append("")

    ex = [c for c in eng["cases"] if c["section"] == "examples"]
    if ex:
        md += ["### Example plans", "",
               "The bundled example plans (specs/examples) and `service-plan`, the built-in "
               "10-step support-refunds plan with 3 unknowns that the service benchmark "
               "sends (`bench_grpc --print-plan`). Default options, the bundled limits "
               "raised as above.", ""]
        rows = [[c["series"], c["spec"], c["steps"], fmt(c["median_us"]), fmt(c["p90_us"]),
                 fmt(c["p99_us"]), verdict_of(c)] for c in ex]
        md += table(["plan", "spec", "steps", "median", "p90", "p99", "verdict"], rows,
                    ["---", "---", "---:", "---:", "---:", "---:", "---"])
        md.append("")

    if pathcall:
        md += ["## Path-level against call-level", ""]
        md.append("The same plans checked call by call as a single-call policy engine would "
                  "(`pv_concrete_verify` with `call_level_only`: no state rules, every value "
                  "known, so on the plan's concrete twin: each unknown replaced by the value "
                  "it has at run time), against the path checks: the concrete evaluator with "
                  "state rules, the engine's default on the concrete plan (its fast path), the "
                  "engine through Z3 on the concrete plan (no_fast_path), and the engine on "
                  "the plan with 3 unknowns, which is what catching a chain before it runs "
                  "costs. Ratio: median / median of the call-level check of the same plan, "
                  "round by round.")
        md.append("")
        rows = []
        for p in pathcall:
            rows.append([p["domain"], "%g" % p["steps"], p["series"], fmt(p["call_level_us"]),
                         fmt(p["median_us"]), fmt(p["ratio"], "x"), p["verdict"],
                         p["call_level_verdict"]])
        md += table(["domain", "steps", "path check", "call-level us", "path us", "ratio",
                     "path verdict", "call-level verdict"], rows,
                    ["---", "---:", "---", "---:", "---:", "---:", "---", "---"])
        md.append("")
    return md


# ---------------------------------------------------------------------------
# callgrind

class Profile:
    """A callgrind profile: self cost per function, the cost of the calls
    each function makes (inclusive cost = self + calls), and call counts."""

    def __init__(self, path):
        self.self_ir = defaultdict(int)
        self.call_ir = defaultdict(int)
        self.edges = defaultdict(int)  # (caller, callee) -> inclusive Ir
        self.ncalls = defaultdict(int)  # (caller, callee) -> calls
        self.total = 0
        names = {"ob": {}, "fl": {}, "fn": {}}
        npos = 1
        ob = fn = cob = cfn = None
        pending = None
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                c0 = line[0]
                if c0.isdigit() or c0 in "+-*":
                    toks = line.split()
                    ir = int(toks[npos]) if len(toks) > npos else 0
                    cur = (ob, fn)
                    if pending:
                        callee, count = pending
                        self.call_ir[cur] += ir
                        self.edges[(cur, callee)] += ir
                        self.ncalls[(cur, callee)] += count
                        pending = None
                    else:
                        self.self_ir[cur] += ir
                    continue
                key, _, rest = line.partition("=")
                if key == "positions" or line.startswith("positions:"):
                    npos = len(line.split(":", 1)[1].split())
                elif line.startswith("summary:") or line.startswith("totals:"):
                    self.total = max(self.total, int(line.split(":", 1)[1].split()[0]))
                elif key in ("ob", "cob", "fl", "fi", "fe", "cfi", "cfl", "fn", "cfn"):
                    space = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}.get(key, "fl")
                    m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
                    if m:
                        if m.group(2) is not None:
                            names[space][m.group(1)] = m.group(2)
                        name = names[space].get(m.group(1), "?")
                    else:
                        name = rest
                    if key == "ob":
                        ob = name
                    elif key == "cob":
                        cob = name
                    elif key == "fn":
                        fn = name
                    elif key == "cfn":
                        cfn = name
                elif key == "calls":
                    count = int(rest.split()[0])
                    pending = ((cob or ob, cfn), count)
                    cob = None
        if not self.total:
            self.total = sum(self.self_ir.values())

    def inclusive(self, name):
        """Inclusive Ir of every function called `name` (any object)."""
        return sum(self.self_ir[k] + self.call_ir[k] for k in set(self.self_ir) | set(
            self.call_ir) if k[1] == name)

    def calls_into(self, pred):
        """{callee name: (inclusive Ir, calls)} over call edges from functions
        outside libz3 into functions whose name satisfies pred."""
        out = defaultdict(lambda: [0, 0])
        for (caller, callee), ir in self.edges.items():
            if pred(callee[1]) and "libz3" not in (caller[0] or ""):
                out[callee[1]][0] += ir
                out[callee[1]][1] += self.ncalls[(caller, callee)]
        return out


def z3_category(name):
    if name == "Z3_solver_check":
        return "solver checks (Z3_solver_check)"
    if name == "Z3_simplify":
        return "simplification (Z3_simplify)"
    if name.startswith("Z3_model_") or name in ("Z3_solver_get_model", "Z3_get_numeral_int64",
                                                "Z3_get_string", "Z3_get_lstring") or \
            name.startswith("Z3_get_numeral"):
        return "model extraction (Z3_solver_get_model, Z3_model_*)"
    if name in ("Z3_solver_push", "Z3_solver_pop", "Z3_solver_reset"):
        return "solver scopes (push, pop, reset)"
    if name == "Z3_solver_assert":
        return "assertions (Z3_solver_assert)"
    if "params" in name:
        return "parameters (Z3_solver_set_params, Z3_mk_params, ...)"
    if name in ("Z3_mk_context", "Z3_mk_config", "Z3_del_context", "Z3_mk_simple_solver",
                "Z3_del_config", "Z3_solver_dec_ref", "Z3_solver_inc_ref"):
        return "context set-up and teardown"
    if name.startswith("Z3_mk_"):
        return "term construction (Z3_mk_*: encoding)"
    return "other Z3 calls"


KEY_CASE = "refunds-10-u3"


def callgrind_report(raw):
    cases = []
    profiles = {}
    reps = 1
    if os.path.exists(os.path.join(raw, "callgrind-reps.txt")):
        reps = int(open(os.path.join(raw, "callgrind-reps.txt")).read().split()[0])
    verdicts = {}
    if os.path.exists(os.path.join(raw, "callgrind-cases.txt")):
        for line in open(os.path.join(raw, "callgrind-cases.txt")):
            m = re.match(r"(\S+): bench_ir: .*?: (.*) \(", line)
            if m:
                verdicts[m.group(1)] = m.group(2)
    for name in sorted(os.listdir(raw)):
        m = re.match(r"callgrind\.(.+)\.out$", name)
        if m:
            profiles[m.group(1)] = Profile(os.path.join(raw, name))
    if not profiles:
        return {}, None, []
    figures = {}
    order = ["refunds-10-u3", "refunds-10-u0", "refunds-10-u0-nofast", "refunds-10-u3-solver",
             "refunds-10-u3-call",
             "refunds-50-u3", "database-10-u3", "email-10-u3", "service-plan"]
    for case in sorted(profiles, key=lambda c: order.index(c) if c in order else 99):
        p = profiles[case]
        total = p.total / reps
        verify = (p.inclusive("pv_engine_verify") or p.inclusive("pv_concrete_verify")) / reps
        load = p.inclusive("pg_load_plan") / reps
        cases.append({"case": case, "ir_total": total, "ir_verify": verify, "ir_load": load,
                      "verdict": verdicts.get(case, "")})
        figures["callgrind/%s/ir_total" % case] = fig(total, unit="Ir")
        figures["callgrind/%s/ir_verify" % case] = fig(verify, unit="Ir")
    md = ["## Instruction counts (callgrind)", ""]
    md.append("`valgrind --tool=callgrind --toggle-collect=bench_ir_measure bench_ir CASE` "
              "(bench/run_callgrind.sh): only loading the plan from its YAML text and verifying "
              "it is counted, %d times after a warm-up; figures are per verification. *verify* "
              "is the inclusive count of pv_engine_verify (pv_concrete_verify for the "
              "call-level case); *load* is parsing and building the plan. Counts repeat "
              "within a fraction of a percent from run to run, whatever the machine's load." %
              reps)
    md.append("")
    rows = [[c["case"], fmt(c["ir_total"], "Ir"), fmt(c["ir_verify"], "Ir"),
             fmt(c["ir_load"], "Ir"), c["verdict"]] for c in cases]
    md += table(["case", "Ir total", "Ir verify", "Ir load", "verdict"], rows,
                ["---", "---:", "---:", "---:", "---"])
    md.append("")
    data = {"reps": reps, "cases": cases}
    if KEY_CASE in profiles:
        where, wmd = where_time_goes(profiles[KEY_CASE], reps, load_perf(raw))
        data["where"] = where
        md += wmd
    return figures, data, md


def load_perf(raw):
    """Wall-clock shares from perf (run_callgrind.sh): {"dso": {name: %},
    "sym": {name: % of samples in the symbol or below it}}, or None."""
    dso_path = os.path.join(raw, "perf-dso.txt")
    sym_path = os.path.join(raw, "perf-symbols.txt")
    if not (os.path.exists(dso_path) and os.path.exists(sym_path)):
        return None
    dso, sym = {}, {}
    for line in open(dso_path):
        m = re.match(r"\s*([\d.]+)%\s+(\S.*?)\s*$", line)
        if m:
            dso[m.group(2)] = float(m.group(1))
    for line in open(sym_path):
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(\S+)", line)
        if m:
            sym[m.group(4)] = max(sym.get(m.group(4), 0.0), float(m.group(1)))
    return {"dso": dso, "sym": sym} if sym else None


def where_time_goes(p, reps, perf=None):
    total = p.total
    # Callgrind counts calls even while collection is off, so the counts
    # include bench_ir's one warm-up verification of the same plan.
    calls_per = lambda n: "%.0f" % (n / (reps + 1))
    pct = lambda x: "%.1f%%" % (100.0 * x / total) if total else "–"
    psym = perf["sym"] if perf else {}
    wall = lambda names: "%.1f%%" % sum(psym.get(n, 0.0) for n in names) if perf else "–"
    per = lambda x: fmt(x / reps, "Ir")
    verify = p.inclusive("pv_engine_verify")
    doc = p.inclusive("pv_doc_parse")
    build = p.inclusive("pv_plan_from_node")
    z3 = p.calls_into(lambda n: n.startswith("Z3_"))
    cats = defaultdict(lambda: [0, 0])
    for name, (ir, n) in z3.items():
        cats[z3_category(name)][0] += ir
        cats[z3_category(name)][1] += n
    z3_total = sum(v[0] for v in z3.values())
    concrete = p.inclusive("pv_concrete_verify")
    verdict = sum(p.inclusive(n) for n in ("pv_verdict_finish", "pv_verdict_add",
                                           "pv_verdict_new"))
    alloc = sum(p.self_ir[k] for k in p.self_ir if k[1] in (
        "malloc", "free", "calloc", "realloc", "_int_malloc", "_int_free", "cfree",
        "malloc_consolidate", "_int_realloc", "operator new(unsigned long)",
        "operator delete(void*)"))
    verdict_fns = ("pv_verdict_finish", "pv_verdict_add", "pv_verdict_new")
    rows = [["load the plan: parse YAML (pv_doc_parse)", per(doc), pct(doc),
             wall(["pv_doc_parse"]), ""],
            ["load the plan: build it (pv_plan_from_node)", per(build), pct(build),
             wall(["pv_plan_from_node"]), ""],
            ["verify (pv_engine_verify), of which:", per(verify), pct(verify),
             wall(["pv_engine_verify"]), ""]]
    cat_names = defaultdict(list)
    for name in z3:
        cat_names[z3_category(name)].append(name)
    z3_wall = 0.0
    for name, (ir, n) in sorted(cats.items(), key=lambda kv: -kv[1][0]):
        rows.append(["&nbsp;&nbsp;" + name, per(ir), pct(ir), wall(cat_names[name]),
                     calls_per(n)])
        z3_wall += sum(psym.get(f, 0.0) for f in cat_names[name])
    rows.append(["&nbsp;&nbsp;concrete evaluator's attempt (pv_concrete_verify)", per(concrete),
                 pct(concrete), wall(["pv_concrete_verify"]), ""])
    rows.append(["&nbsp;&nbsp;verdict assembly (pv_verdict_*)", per(verdict), pct(verdict),
                 wall(verdict_fns), ""])
    own = verify - z3_total - concrete - verdict
    own_wall = "–"
    if perf:
        own_wall = "%.1f%%" % (psym.get("pv_engine_verify", 0.0) - z3_wall - sum(
            psym.get(f, 0.0) for f in verdict_fns + ("pv_concrete_verify",)))
    rows.append(["&nbsp;&nbsp;the engine's own code and what it calls besides", per(own),
                 pct(own), own_wall, ""])
    md = ["## Where the time goes (%s)" % KEY_CASE, ""]
    md.append("From the callgrind profile of the support-refunds 10-step plan with 3 unknowns "
              "(`bench_ir refunds-10-u3`, also kept with `--dump-instr=yes` in BENCH_RAW_DIR "
              "for callgrind_annotate; the top of `callgrind_annotate --inclusive=yes` is in "
              "latest-callgrind.txt). Z3 is a stripped library, so its cost is shown per API "
              "entry point called from planverify, with the number of calls per "
              "verification. Ir per verification; *Ir %*: share of everything counted. "
              "*wall %*: share of wall-clock samples from `perf record --call-graph dwarf` "
              "of the same case run natively (bench/run_callgrind.sh), which also sees what "
              "instruction counts miss: time in the kernel and in other threads.")
    md.append("")
    md += table(["where", "Ir", "Ir %", "wall %", "calls"], rows,
                ["---", "---:", "---:", "---:", "---:"])
    md.append("")
    if perf:
        kernel = perf["dso"].get("[kernel.kallsyms]", 0.0)
        md.append("perf, by library (own time): " + ", ".join(
            "%s %.1f%%" % (d, v) for d, v in sorted(perf["dso"].items(), key=lambda kv: -kv[1])
            if v >= 0.5) + ". Kernel time %.1f%%, of which futex system calls (waking and "
            "waiting for other threads) %.1f%% and page faults %.1f%%." % (
                kernel, psym.get("__x64_sys_futex", 0.0), psym.get("asm_exc_page_fault", 0.0)))
        md.append("")
    md += ["Z3 API entry points, by inclusive cost:", ""]
    rows = [[name, per(ir), pct(ir), wall([name]), calls_per(n)]
            for name, (ir, n) in sorted(z3.items(), key=lambda kv: -kv[1][0])[:14]]
    md += table(["Z3 function", "Ir", "Ir %", "wall %", "calls"], rows,
                ["---", "---:", "---:", "---:", "---:"])
    md.append("")
    by_ob = defaultdict(int)
    for (ob, _), ir in p.self_ir.items():
        by_ob[os.path.basename(ob or "?")] += ir
    md += ["Own (self) cost by library: " + ", ".join(
        "%s %s" % (ob, pct(ir)) for ob, ir in sorted(by_ob.items(), key=lambda kv: -kv[1])
        if ir * 200 > total) + "; memory allocation (malloc/free) %s." % pct(alloc), ""]
    ours = [(fn, p.self_ir[(ob, fn)] + p.call_ir[(ob, fn)]) for (ob, fn) in
            set(p.self_ir) | set(p.call_ir) if ob and "bench_ir" in ob and
            fn not in ("main", "bench_ir_measure", "load_and_verify", "(below main)")]
    ours = [o for o in ours if o[1] * 50 > total]
    ours.sort(key=lambda o: -o[1])
    md += ["planverify functions by inclusive cost (over 2%): " + ", ".join(
        "%s %s" % (fn, pct(ir)) for fn, ir in ours[:16]) + ".", ""]
    where = {"total_per_verify": total / reps, "load_doc": doc / reps, "load_plan": build / reps,
             "verify": verify / reps,
             "z3": {k: {"ir": v[0] / reps, "calls": v[1] / (reps + 1)}
                    for k, v in sorted(z3.items(), key=lambda kv: -kv[1][0])[:30]},
             "categories": {k: {"ir": v[0] / reps, "calls": v[1] / (reps + 1)}
                            for k, v in cats.items()},
             "concrete_attempt": concrete / reps, "verdict": verdict / reps,
             "alloc_self": alloc / reps, "self_by_object": dict(by_ob)}
    if perf:
        # Named symbols of 0.5% or more (Z3's anonymous ones are addresses).
        where["perf"] = {"dso": perf["dso"], "sym": {
            k: v for k, v in perf["sym"].items() if v >= 0.5 and not k.startswith("0x")}}
    return where, md


# ---------------------------------------------------------------------------
# service

def read_lines(path):
    """The lines of a text file, read and closed."""
    with open(path) as f:
        return f.readlines()


def load_grpc(raw):
    """{(threads, conc, connections): {method: [phase dicts by round]}} and
    the meta."""
    runs = {}
    for name in os.listdir(raw):
        m = re.match(r"grpc-t(\d+)-c(\d+)(?:-n(\d+))?\.jsonl$", name)
        if not m:
            continue
        per = defaultdict(list)
        for line in read_lines(os.path.join(raw, name)):
            if line.startswith("{"):
                d = json.loads(line)
                if "method" in d:
                    per[d["method"]].append(d)
        runs[(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))] = per
    meta = {}
    solver = {}
    for name in os.listdir(raw):
        m = re.match(r"grpc-solver-(t\d+|p2a|p2b)-c(\d+)\.jsonl$", name)
        if m:
            who = int(m.group(1)[1:]) if m.group(1).startswith("t") else m.group(1)
            solver[(who, int(m.group(2)))] = [
                json.loads(line) for line in read_lines(os.path.join(raw, name))
                if line.startswith("{") and '"method"' in line]
    if solver:
        meta["_solver_runs"] = solver
    if os.path.exists(os.path.join(raw, "grpc-meta.json")):
        meta.update(json.loads("".join(read_lines(os.path.join(raw, "grpc-meta.json")))))
    return runs, meta


def service_report(raw, level="##"):
    all_runs, meta = load_grpc(raw)
    runs = {k[:2]: v for k, v in all_runs.items() if k[2] == 1}
    multi = {k: v for k, v in all_runs.items() if k[2] > 1}
    if not runs:
        return {}, None, []
    figures = {}
    rows_data = []
    threads = sorted({k[0] for k in runs})
    concs = sorted({k[1] for k in runs})
    for (t, c), per in sorted(runs.items()):
        row = {"threads": t, "concurrency": c}
        for method in ("health", "verify"):
            ph = per.get(method, [])
            for key in ("p50_us", "p90_us", "p99_us", "p99_9_us", "throughput_per_s",
                        "server_cpu_pct", "client_cpu_pct"):
                samples = [p[key] for p in ph if p.get("ok", 0) > 0 and key in p]
                row["%s_%s" % (method, key)] = median(samples)
                if key in ("p50_us", "p90_us", "p99_us", "throughput_per_s") and samples:
                    unit, better = ("calls/s", "higher") if key == "throughput_per_s" else (
                        "us", "lower")
                    figures["service/t%d/c%d/%s/%s" % (t, c, method, key)] = fig(
                        median(samples), samples, unit, better)
            row[method + "_non_ok"] = sum(p.get("non_ok", 0) + p.get("non_ok_outside_window", 0)
                                          for p in ph)
        ratios = [v["p50_us"] / h["p50_us"] for h, v in zip(per.get("health", []),
                                                            per.get("verify", []))
                  if h.get("p50_us") and v.get("ok", 0) > 0]
        row["vh_p50"] = median(ratios)
        if ratios:
            figures["service/t%d/c%d/vh_p50_ratio" % (t, c)] = fig(median(ratios), ratios, "x")
        rows_data.append(row)
    # 2 threads against 1, round by round.
    scaling = {}
    for c in concs:
        for method in ("health", "verify"):
            one = runs.get((1, c), {}).get(method, [])
            for t in threads:
                if t == 1:
                    continue
                other = runs.get((t, c), {}).get(method, [])
                ratios = [b["throughput_per_s"] / a["throughput_per_s"]
                          for a, b in zip(one, other) if a.get("throughput_per_s")]
                if ratios:
                    scaling[(t, c, method)] = median(ratios)
                    figures["service/c%d/%s/t%d_t1_throughput" % (c, method, t)] = fig(
                        median(ratios), ratios, "x", "higher")
    md = ["%s Service (gRPC)" % level, ""]
    md.append("`bench/run_grpc_bench.sh`: `planverify serve --threads T` on %s; one "
              "bench_grpc client on one connection alternating Health/Check and Verify "
              "phases (%s round(s); %s s warm-up and %s s measured per phase) at each number "
              "of calls in flight. Verify plan: %s; verdict: %s. Latencies in microseconds, "
              "medians over rounds; *V/H p50*: Verify p50 / Health p50 of the same round, "
              "median over rounds; *2T/1T*: calls/s at %s threads / at 1, round by round; "
              "server CPU %%: the whole server process (gRPC's threads included) during the "
              "Verify phases, 100 = one core busy. Client and server share the machine. Load "
              "average before %s, after %s." % (
                  meta.get("specs", "?"), meta.get("rounds", "?"), meta.get("warmup_s", "?"),
                  meta.get("duration_s", "?"), meta.get("plan", "?"),
                  meta.get("verdict", "?"), "/".join(str(t) for t in threads[1:]) or "2",
                  meta.get("load_before", "?"), meta.get("load_after", "?")))
    md.append("")
    rows = []
    for r in rows_data:
        t, c = r["threads"], r["concurrency"]
        sc = scaling.get((t, c, "verify"))
        rows.append([t, c, fmt(r["health_p50_us"]), fmt(r["health_p99_us"]),
                     fmt(r["health_throughput_per_s"], "calls/s"), fmt(r["verify_p50_us"]),
                     fmt(r["verify_p90_us"]), fmt(r["verify_p99_us"]),
                     fmt(r["verify_p99_9_us"]), fmt(r["verify_throughput_per_s"], "calls/s"),
                     fmt(r["vh_p50"], "x"), fmt(sc, "x") if sc else "–",
                     fmt(r["verify_server_cpu_pct"], "calls/s"),
                     "%d/%d" % (r["health_non_ok"], r["verify_non_ok"])])
    md += table(["threads", "conc", "Health p50", "Health p99", "Health calls/s",
                 "Verify p50", "p90", "p99", "p99.9", "Verify calls/s", "V/H p50",
                 "2T/1T Verify calls/s", "server CPU %", "non-OK H/V"], rows)
    md.append("")
    conn_rows = []
    for (t, c, n), per in sorted(multi.items()):
        ph = [p for p in per.get("verify", []) if p.get("ok", 0) > 0]
        thr = [p["throughput_per_s"] for p in ph]
        if not thr:
            continue
        figures["service/conns%d/c%d/t%d/verify/throughput_per_s" % (n, c, t)] = fig(
            median(thr), thr, "calls/s", "higher")
        one = runs.get((t, c), {}).get("verify", [])
        conn_rows.append([t, c, n, fmt(median(thr), "calls/s"),
                          fmt(median([p["p50_us"] for p in ph])),
                          fmt(median([p.get("server_cpu_pct") for p in ph]), "calls/s"),
                          fmt(median([p["throughput_per_s"] for p in one]), "calls/s")
                          if one else "–"])
    for (t, c, n) in sorted(multi):
        if t == 1 or (1, c, n) not in multi:
            continue
        a = [p["throughput_per_s"] for p in multi[(1, c, n)].get("verify", [])]
        b = [p["throughput_per_s"] for p in multi[(t, c, n)].get("verify", [])]
        ratios = [y / x for x, y in zip(a, b) if x]
        if ratios:
            scaling[(t, c, "verify-%dconns" % n)] = median(ratios)
            figures["service/conns%d/c%d/verify/t%d_t1_throughput" % (n, c, t)] = fig(
                median(ratios), ratios, "x", "higher")
    if conn_rows:
        md.append("Verify alone with the calls in flight spread over several connections "
                  "(bench_grpc --channels), against one connection (the table above):")
        md.append("")
        md += table(["threads", "conc", "connections", "Verify calls/s", "Verify p50",
                     "server CPU %", "calls/s on 1 connection"], conn_rows)
        extra = [(k, v) for k, v in sorted(scaling.items()) if k[2].startswith("verify-")]
        if extra:
            md.append("")
            md.append("2T/1T over several connections: " + ", ".join(
                "%s at %d in flight over %s" % (fmt(v, "x"), k[1], k[2][7:].replace(
                    "conns", " connections")) for k, v in extra) + ".")
        md.append("")
    solver = meta.pop("_solver_runs", {})
    procs = {c: (solver.pop(("p2a", c), []), solver.pop(("p2b", c), []))
             for c in {c for (w, c) in solver if w in ("p2a", "p2b")}}
    solver_rows = []
    procs_rows = 0
    for (t, c), rounds in sorted(solver.items()):
        ph = [p for p in rounds if p.get("ok", 0) > 0]
        thr = [p["throughput_per_s"] for p in ph]
        if not thr:
            continue
        figures["service/solver/c%d/t%d/verify/throughput_per_s" % (c, t)] = fig(
            median(thr), thr, "calls/s", "higher")
        row = [t, c, fmt(median(thr), "calls/s"), fmt(median([p["p50_us"] for p in ph])),
               fmt(median([p.get("server_cpu_pct") for p in ph]), "calls/s"), "–"]
        if t != 1 and (1, c) in solver:
            # Round by round; a round without a successful call on either
            # side has no ratio.
            ratios = [b["throughput_per_s"] / a["throughput_per_s"]
                      for a, b in zip(solver[(1, c)], rounds)
                      if a.get("ok", 0) > 0 and b.get("ok", 0) > 0 and a["throughput_per_s"]]
            if ratios:
                scaling[(t, c, "verify-solver")] = median(ratios)
                figures["service/solver/c%d/verify/t%d_t1_throughput" % (c, t)] = fig(
                    median(ratios), ratios, "x", "higher")
                row[-1] = fmt(median(ratios), "x")
        solver_rows.append(row)
    for c, (a_runs, b_runs) in sorted(procs.items()):
        # Two one-thread servers at once, round by round: calls/s and CPU
        # add up; a round needs successful calls on both.
        pairs = [(a, b) for a, b in zip(a_runs, b_runs)
                 if a.get("ok", 0) > 0 and b.get("ok", 0) > 0]
        if not pairs:
            continue
        thr = [a["throughput_per_s"] + b["throughput_per_s"] for a, b in pairs]
        figures["service/solver/c%d/p2/verify/throughput_per_s" % c] = fig(
            median(thr), thr, "calls/s", "higher")
        cpu = [a.get("server_cpu_pct") + b.get("server_cpu_pct") for a, b in pairs
               if a.get("server_cpu_pct") is not None and b.get("server_cpu_pct") is not None]
        procs_rows += 1
        row = ["2 processes of 1", c, fmt(median(thr), "calls/s"),
               fmt(median([p["p50_us"] for ab in pairs for p in ab])),
               fmt(median(cpu), "calls/s") if cpu else "–", "–"]
        if (1, c) in solver:
            ratios = [(a["throughput_per_s"] + b["throughput_per_s"]) / one["throughput_per_s"]
                      for one, (a, b) in zip(solver[(1, c)], zip(a_runs, b_runs))
                      if one.get("ok", 0) > 0 and a.get("ok", 0) > 0 and b.get("ok", 0) > 0
                      and one["throughput_per_s"]]
            if ratios:
                figures["service/solver/c%d/verify/p2_t1_throughput" % c] = fig(
                    median(ratios), ratios, "x", "higher")
                row[-1] = fmt(median(ratios), "x")
        solver_rows.append(row)
    if solver_rows:
        md.append("Verify alone on a server started with `--solver-only` (the same plan, every "
                  "question sent to Z3: verification rather than gRPC's transport is the "
                  "work), one connection:")
        md.append("")
        md += table(["threads", "conc", "Verify calls/s", "Verify p50", "server CPU %",
                     "2T/1T"], solver_rows)
        md.append("")
        if procs_rows:
            md.append("*2 processes of 1*: two servers of one thread each at once, one client "
                      "each with half the calls in flight, so that nothing is shared but the "
                      "machine; its 2T/1T is against the one-thread row: what two workers that "
                      "share no Z3 state reach here, with the clients on the same cores.")
            md.append("")
    if meta.get("server_exit"):
        md.append("Server stops (SIGTERM): %s." % meta["server_exit"])
    conns = meta.get("connections", {})
    if conns:
        md.append("Established connections to the server seen mid-run: %s." % ", ".join(
            sorted({str(v) for v in conns.values()})))
    for n in meta.get("notes", []):
        md.append("- note: %s" % n)
    md.append("")
    data = {"rows": rows_data, "meta": meta,
            "scaling": [{"threads": k[0], "concurrency": k[1], "method": k[2], "ratio": v}
                        for k, v in sorted(scaling.items())]}
    return figures, data, md


# ---------------------------------------------------------------------------
# memory

def memory_report(raw):
    path = os.path.join(raw, "memory.jsonl")
    if not os.path.exists(path):
        return {}, None, []
    startup, samples, summary, server = None, [], None, {}
    for line in open(path):
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        if "startup" in d:
            startup = d["startup"]
        elif "rss_sample" in d:
            samples.append(d["rss_sample"])
        elif "method" in d:
            summary = d
        elif "server" in d:
            server = d["server"]
    if not startup or not samples:
        return {}, None, ["## Memory", "", "The memory run produced no samples.", ""]
    n = samples[-1]["calls"]
    # After the first tenth of the calls every worker has its engine, its
    # Z3 context has been recycled at least once, and allocator pools are
    # warm: growth from there on is what would accumulate.
    warm = next((s for s in samples if s["calls"] >= n / 10), samples[0])
    late = [s for s in samples if s["calls"] >= warm["calls"]]
    slope = None
    if len(late) >= 2:
        xs = [s["calls"] for s in late]
        ys = [s["vmrss_kb"] for s in late]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx:
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 100000
    end = samples[-1]
    figures = {
        "memory/startup_rss_kb": fig(startup["vmrss_kb"], unit="kB"),
        "memory/end_rss_kb": fig(end["vmrss_kb"], unit="kB"),
        "memory/end_hwm_kb": fig(end["vmhwm_kb"], unit="kB"),
    }
    data = {"startup": startup, "samples": samples, "calls": n, "warm": warm,
            "growth_after_warmup_kb": end["vmrss_kb"] - warm["vmrss_kb"],
            "slope_kb_per_100k_calls": slope, "summary": summary, "server": server}
    md = ["## Memory", ""]
    md.append("`bench/bench_memory.sh`: `planverify serve --threads %s` on the bundled specs "
              "(%s); RSS read from /proc/PID/status (VmRSS, and VmHWM, the peak). Then %s "
              "Verify calls, %s in flight on one connection, taking %s realistic plans in "
              "turn (Z3 and fast-path plans of the three domains); throughput %s calls/s, "
              "%s non-OK. `MEM_REQUESTS=1000000 make bench` runs the million calls." % (
                  startup.get("threads"), startup.get("specs"), "{:,}".format(n),
                  server.get("concurrency", "?"), server.get("plans", "?"),
                  fmt(summary and summary.get("throughput_per_s"), "calls/s"),
                  summary.get("non_ok", "?") if summary else "?"))
    md.append("")
    md += table(["", "VmRSS kB", "VmHWM kB"], [
        ["after start-up", fmt(startup["vmrss_kb"], "kB"), fmt(startup["vmhwm_kb"], "kB")],
        ["after %s calls (warm)" % "{:,}".format(warm["calls"]), fmt(warm["vmrss_kb"], "kB"),
         fmt(warm["vmhwm_kb"], "kB")],
        ["after %s calls" % "{:,}".format(n), fmt(end["vmrss_kb"], "kB"),
         fmt(end["vmhwm_kb"], "kB")]], ["---", "---:", "---:"])
    md.append("")
    md.append("Growth after warm-up: %+d kB over %s calls (least-squares slope %s kB per "
              "100,000 calls). Samples (calls: VmRSS kB): %s." % (
                  end["vmrss_kb"] - warm["vmrss_kb"], "{:,}".format(n - warm["calls"]),
                  "%+.0f" % slope if slope is not None else "–",
                  ", ".join("%d: %d" % (s["calls"], s["vmrss_kb"]) for s in samples)))
    md.append("")
    return figures, data, md


# ---------------------------------------------------------------------------
# comparison

def compare(base, new):
    """(flagged, improved, compared) between two {id: figure} maps."""
    flagged, improved, compared = [], [], 0
    for key, nf in sorted(new.items()):
        bf = base.get(key)
        if not bf or bf.get("value") is None or nf.get("value") is None:
            continue
        compared += 1
        b, n = bf["value"], nf["value"]
        bs, ns = bf.get("samples") or [b], nf.get("samples") or [n]
        bs = [x for x in bs if x is not None]
        ns = [x for x in ns if x is not None]
        dof = len(bs) + len(ns) - 2
        pooled = 0.0
        if dof > 0:
            ss = sum((x - statistics.fmean(bs)) ** 2 for x in bs) if bs else 0
            ss += sum((x - statistics.fmean(ns)) ** 2 for x in ns) if ns else 0
            pooled = math.sqrt(ss / dof)
        delta = n - b if nf.get("better", "lower") == "lower" else b - n
        rel = delta / abs(b) if b else 0
        entry = {"figure": key, "base": b, "new": n, "change": rel, "sd": pooled,
                 "unit": nf.get("unit", "")}
        if delta > 0.10 * abs(b) and delta > 2 * pooled:
            flagged.append(entry)
        elif -delta > 0.10 * abs(b) and -delta > 2 * pooled:
            improved.append(entry)
    return flagged, improved, compared


def compare_markdown(base_path, base_meta, flagged, improved, compared):
    md = ["## Comparison with %s" % base_path, ""]
    md.append("Base run: %s, commit %s%s. %d figures compared; a figure is flagged when it is "
              "worse by more than 10%% and by more than 2 standard deviations (pooled over "
              "both runs' per-round samples; figures measured once, such as instruction "
              "counts and RSS, have none, so 10%% decides)." % (
                  base_meta.get("started", "?"), base_meta.get("commit", "?"),
                  " (uncommitted changes)" if base_meta.get("dirty") else "", compared))
    md.append("")
    for title, items in (("Worse (flagged)", flagged), ("Better", improved)):
        md.append("**%s: %d**" % (title, len(items)))
        md.append("")
        if items:
            rows = [[e["figure"], fmt(e["base"], e["unit"]), fmt(e["new"], e["unit"]),
                     "%.0f%%" % (100 * abs(e["change"])), fmt(e["sd"], e["unit"])]
                    for e in sorted(items, key=lambda e: -abs(e["change"]))[:60]]
            by = "worse by" if title.startswith("Worse") else "better by"
            md += table(["figure", "base", "new", by, "sd"], rows,
                        ["---", "---:", "---:", "---:", "---:"])
            if len(items) > 60:
                md.append("")
                md.append("... and %d more (all in the JSON file)." % (len(items) - 60))
            md.append("")
    return md


# ---------------------------------------------------------------------------
# build

def key_figures(figs, eng, svc, mem):
    """The headline rows: (label, value, target, note)."""
    rows = []

    def v(key):
        f = figs.get(key)
        return f["value"] if f else None

    sp = v("engine/examples/service-plan/median_us")
    gen = v("engine/length/refunds/u3/10/median_us")
    rows.append(["In-process verification, 10-step plan with 3 unknowns: median",
                 "%s us (service plan); %s us (generated refunds plan)" % (fmt(sp), fmt(gen)),
                 TARGETS["inproc_10_3"], "p90 %s, p99 %s us (service plan)" % (
                     fmt(v("engine/examples/service-plan/p90_us")),
                     fmt(v("engine/examples/service-plan/p99_us")))])
    vh = [(k, f["value"]) for k, f in figs.items() if k.endswith("/vh_p50_ratio")]
    if vh:
        c1 = ", ".join("%s thread%s %s" % (k.split("/")[1][1:], "" if k.startswith(
            "service/t1/") else "s", fmt(val, "x")) for k, val in sorted(vh) if "/c1/" in k)
        allr = [val for _, val in vh]
        rows.append(["Verify p50 / Health p50, 1 call in flight", c1, TARGETS["vh_ratio"],
                     "1 thread: Verify p50 %s us, Health p50 %s us; from %s to %s over 1-64 "
                     "calls in flight and 1-2 threads" % (
                         fmt(v("service/t1/c1/verify/p50_us")),
                         fmt(v("service/t1/c1/health/p50_us")), fmt(min(allr), "x"),
                         fmt(max(allr), "x"))])
    sc = sorted((int(k.split("/")[1][1:]), f["value"]) for k, f in figs.items()
                if re.match(r"service/c\d+/verify/t2_t1_throughput$", k))
    if sc:
        notes = ["one connection; server restarted per thread count"]
        for k, f in sorted(figs.items()):
            m = re.match(r"service/conns(\d+)/c(\d+)/verify/t2_t1_throughput$", k)
            if m:
                notes.append("over %s connections at %s in flight: %s" % (
                    m.group(1), m.group(2), fmt(f["value"], "x")))
        for k, f in sorted(figs.items()):
            m = re.match(r"service/solver/c(\d+)/verify/t2_t1_throughput$", k)
            if m:
                notes.append("every question to Z3 (--solver-only), %s in flight: %s "
                             "(%s -> %s calls/s)" % (
                                 m.group(1), fmt(f["value"], "x"),
                                 fmt(v("service/solver/c%s/t1/verify/throughput_per_s"
                                       % m.group(1)), "calls/s"),
                                 fmt(v("service/solver/c%s/t2/verify/throughput_per_s"
                                       % m.group(1)), "calls/s")))
        for k, f in sorted(figs.items()):
            m = re.match(r"service/solver/c(\d+)/verify/p2_t1_throughput$", k)
            if m:
                notes.append("two one-thread servers at once, %s in flight in all: %s" % (
                    m.group(1), fmt(f["value"], "x")))
        if v("engine/threads/ratio") is not None:
            notes.append("in process, 2 threads with an engine each / 1: %s" % fmt(
                v("engine/threads/ratio"), "x"))
        if v("engine/threads/solver_only/ratio") is not None:
            notes.append("in process, every question to Z3: %s" % fmt(
                v("engine/threads/solver_only/ratio"), "x"))
        if v("engine/threads/solver_only_long/ratio") is not None:
            notes.append("in process, every question to Z3, 50 steps with 10 unknowns: %s" % fmt(
                v("engine/threads/solver_only_long/ratio"), "x"))
        rows.append(["Verify throughput, 2 worker threads / 1",
                     ", ".join("%s at %d in flight" % (fmt(val, "x"), c) for c, val in sc),
                     TARGETS["scaling_2t"], "; ".join(notes)])
    for series, label in (("u3", "3 unknowns"), ("u0-no_fast_path", "no unknowns, Z3"),
                          ("u0-default", "no unknowns, fast path")):
        e = v("fit/length/refunds/%s/le200" % series)
        if e is not None:
            f = figs["fit/length/refunds/%s/le200" % series]
            rows.append(["Growth exponent in plan length, 1-200 steps, refunds, %s" % label,
                         "%.2f ± %.2f" % (e, stdev(f["samples"])),
                         TARGETS["length_exponent"],
                         "1-500 steps: %s" % fmt(v("fit/length/refunds/%s/all" % series),
                                                 "exp")])
    pc = [(k, v(k)) for k in ("pathcall/refunds/10/engine_u3/ratio",
                               "pathcall/refunds/10/engine_concrete/ratio",
                               "pathcall/refunds/10/engine_concrete_no_fast_path/ratio")]
    if pc[0][1] is not None:
        rows.append(["Path-level / call-level cost, refunds 10 steps",
                     "%s with 3 unknowns (Z3); %s fully known (fast path); %s fully known "
                     "through Z3" % tuple(fmt(x, "x") for _, x in pc), "–",
                     "call-level: the concrete twin checked call by call"])
    if mem:
        rows.append(["Server RSS: after start-up / after %s Verify calls" % "{:,}".format(
            mem["calls"]), "%s kB / %s kB (peak %s kB)" % (
                fmt(mem["startup"]["vmrss_kb"], "kB"), fmt(mem["samples"][-1]["vmrss_kb"], "kB"),
                fmt(mem["samples"][-1]["vmhwm_kb"], "kB")), "no growth",
            "%+d kB after warm-up (%s calls)" % (mem["growth_after_warmup_kb"],
                                                 "{:,}".format(mem["warm"]["calls"]))])
    return rows


def _round(v):
    """v with every float cut to 6 significant digits."""
    if isinstance(v, float):
        return float("%.6g" % v) if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def dumps(v, indent=0, width=170, lead=0):
    """JSON text of v, sorted keys, one space of indentation per level, with
    every object or array that fits on its line (after `lead` columns of
    key) written on one line, so that a result file diffs figure by figure."""
    flat = json.dumps(v, sort_keys=True)
    if indent + lead + len(flat) <= width or not isinstance(v, (dict, list)) or not v:
        return flat
    pad = " " * (indent + 1)
    if isinstance(v, dict):
        parts = []
        for k in sorted(v):
            key = json.dumps(k) + ": "
            parts.append(pad + key + dumps(v[k], indent + 1, width, len(key)))
        return "{\n" + ",\n".join(parts) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + dumps(x, indent + 1, width) for x in v) + "\n" + \
        " " * indent + "]"


def build(raw, out, base_path=None):
    meta = {}
    if os.path.exists(os.path.join(raw, "meta.json")):
        meta = json.load(open(os.path.join(raw, "meta.json")))
    result = {"schema": 1, "meta": meta, "figures": {}}
    md_parts = []
    eng = None
    if os.path.exists(os.path.join(raw, "engine.json")):
        figs, eng, md = engine_report(json.load(open(os.path.join(raw, "engine.json"))))
        result["figures"].update(figs)
        result["engine"] = eng
        md_parts.append(md)
    figs, cg, md = callgrind_report(raw)
    result["figures"].update(figs)
    if cg:
        result["callgrind"] = cg
        md_parts.append(md)
    elif os.path.exists(os.path.join(raw, "callgrind-skipped.txt")):
        md_parts.append(["## Instruction counts (callgrind)", "",
                         "Skipped: valgrind is not installed.", ""])
    figs, svc, md = service_report(raw)
    result["figures"].update(figs)
    if svc:
        result["service"] = svc
        md_parts.append(md)
    figs, mem, md = memory_report(raw)
    result["figures"].update(figs)
    if mem:
        result["memory"] = mem
    if md:
        md_parts.append(md)

    head = ["# planverify benchmarks", ""]
    head.append("- %s (%s); %s s; host %s, %s cores (%s); load average before %s, after %s" % (
        meta.get("command", "make bench"), meta.get("started", "?"), meta.get("seconds", "?"),
        meta.get("host", "?"), meta.get("cores", "?"), meta.get("cpu", "?"),
        meta.get("load_before", "?"), meta.get("load_after", "?")))
    head.append("- commit %s%s; build %s (%s); Z3 %s, gRPC core %s" % (
        meta.get("commit", "?"), " with uncommitted changes" if meta.get("dirty") else "",
        meta.get("build_dir", "?"), meta.get("build_type", "?"), meta.get("z3", "?"),
        meta.get("grpc", "?")))
    if meta.get("env"):
        head.append("- environment: " + ", ".join("%s=%s" % kv for kv in meta["env"].items()))
    if meta.get("failed_parts"):
        head.append("- parts that did not run: " + ", ".join(meta["failed_parts"]))
    head.append("- figures are for comparison within a run and between runs on one machine; "
                "nothing here is asserted. The JSON file holds every figure with its "
                "per-round samples (`make bench-compare BASE=...` compares runs).")
    head.append("")
    head += ["## Key figures", ""]
    head += table(["figure", "value", "issue 6 target", "note"],
                  key_figures(result["figures"], eng, svc, mem), ["---", "---", "---", "---"])
    head.append("")
    lines = head
    for part in md_parts:
        lines += part

    rc = 0
    if base_path:
        base = json.load(open(base_path))
        flagged, improved, compared = compare(base.get("figures", {}), result["figures"])
        result["comparison"] = {"base": base_path, "flagged": flagged, "improved": improved,
                                "compared": compared}
        cmd = compare_markdown(base_path, base.get("meta", {}), flagged, improved, compared)
        lines[len(head):len(head)] = cmd
        print("\n".join(cmd))
        rc = FLAGGED if flagged else 0
    with open(out + ".json", "w") as f:
        f.write(dumps(_round(result)) + "\n")
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    annotate = os.path.join(raw, "annotate.txt")
    if os.path.exists(annotate):
        with open(annotate) as src, open(out + "-callgrind.txt", "w") as dst:
            dst.write(src.read())
    return rc


def main(argv):
    if len(argv) >= 3 and argv[1] == "build":
        base = None
        if len(argv) == 6 and argv[4] == "--compare":
            base = argv[5]
        elif len(argv) != 4:
            sys.exit(__doc__)
        return build(argv[2], argv[3], base)
    if len(argv) == 4 and argv[1] == "compare":
        base, new = json.load(open(argv[2])), json.load(open(argv[3]))
        flagged, improved, compared = compare(base.get("figures", {}), new.get("figures", {}))
        print("\n".join(compare_markdown(argv[2], base.get("meta", {}), flagged, improved,
                                         compared)))
        return FLAGGED if flagged else 0
    if len(argv) == 3 and argv[1] == "memory-md":
        _, data, md = memory_report(argv[2])
        if not data:
            sys.exit("report.py: no memory results in %s" % argv[2])
        print("\n".join(md))
        return 0
    if len(argv) == 3 and argv[1] == "grpc-md":
        _, data, md = service_report(argv[2], level="#")
        if not data:
            sys.exit("report.py: no gRPC results in %s" % argv[2])
        print("\n".join(md))
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
