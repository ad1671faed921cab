/*
 * test_differential.c - the Z3 path engine against the concrete evaluator.
 *
 * Both implement the contract's semantics (sections 2-5) with no shared
 * encoding, so on a fully concrete plan they must give the same verdict.
 * Random concrete plans are generated as YAML text for every bundled spec
 * (every .yaml file in specs/, found at run time) and for a synthetic spec
 * (in support/plangen.c) that uses every operator of the expression language; each plan goes
 * through the real document and plan loaders and then through the engine with force_solver on and
 * off (no_fast_path: the Z3 path with simplification) and through the concrete evaluator. They must
 * agree on the decision, safe_prefix and the multiset of (rule, step, action) findings (and on
 * kind, certainty, escalation target and chain).
 *
 * Values come mostly from "interesting" pools harvested from the spec's
 * expressions (literals +-1, string prefixes, suffixes and infixes, enum
 * values) and from values already used in the same plan, so that path
 * functions such as earlier(T, it.args.x == args.x) match.
 *
 * PV_DIFF_PLANS (default 10000) and PV_DIFF_SEED run it longer or
 * differently. A mismatch prints the seed, the plan as YAML that loads as
 * a plan file, and both verdicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_concrete.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "support/fixture.h"
#include "support/plangen.h"
#include "support/verdicts.h"

#define DEFAULT_PLANS 10000
#define DEFAULT_SEED 0x5eed2026u
#define MAX_REPORTED_MISMATCHES 5

/* ------------------------------------------------------------------------------------------ */
/* specs                                                                                      */

#define MAX_RULES 64

typedef struct stats {
    size_t compared;
    const char *rules[MAX_RULES]; /* rule ids seen in agreed verdicts (borrowed from the spec) */
    size_t rule_count[MAX_RULES];
    size_t n_rules;
    size_t by_decision[PV_ACT_BLOCK + 1];
    size_t bad_input;    /* every engine said PV_EINPUT */
    size_t loader;       /* the plan loader refused the plan */
    size_t not_concrete; /* generator bugs */
    size_t mismatches;
} stats;

/* Each spec's counts: spec_stats[i] for the fixture's set.specs[i]. */
static stats spec_stats[PVT_MAX_SPECS];

/* ------------------------------------------------------------------------------------------ */
/* comparing verdicts                                                                         */

static int finding_cmp(const void *a, const void *b)
{
    const pv_finding *x = *(const pv_finding *const *)a, *y = *(const pv_finding *const *)b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    int c = strcmp(x->rule, y->rule);
    if (c)
        return c;
    return (int)x->action - (int)y->action;
}

static const pv_finding **sorted_findings(const pv_verdict *v)
{
    const pv_finding **s = calloc(v->n_findings + 1, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < v->n_findings; i++)
        s[i] = &v->findings[i];
    qsort(s, v->n_findings, sizeof *s, finding_cmp);
    return s;
}

/* Why verdicts a and b differ, or NULL when they agree: on the multiset
 * of (rule, step, action) findings and beyond it on each finding's details
 * (both implement the same kinds, escalation targets and chains, and on a
 * plan without unknowns every break is certain). */
static const char *verdict_diff(const pv_verdict *a, const pv_verdict *b)
{
    const char *why = pvt_verdict_summary_diff(a, b);
    if (why)
        return why;
    const pv_finding **x = sorted_findings(a), **y = sorted_findings(b);
    for (size_t i = 0; i < a->n_findings && !why; i++) {
        if (finding_cmp(&x[i], &y[i]) != 0)
            why = "(rule, step, action) findings";
        else if (!pvt_finding_details_equal(x[i], y[i]))
            why = "finding details (kind, certain, escalate_to or chain)";
    }
    free(x);
    free(y);
    return why;
}

/* The spec's own spelling of a rule id (invariant, exclusion or failure
 * mode), so that the counts can keep a pointer that outlives the verdict. */
static const char *spec_rule_name(const pv_spec *spec, const char *rule)
{
    for (size_t i = 0; i < spec->n_invariants; i++)
        if (strcmp(spec->invariants[i].id, rule) == 0)
            return spec->invariants[i].id;
    for (size_t i = 0; i < spec->n_excludes; i++)
        if (strcmp(spec->excludes[i].id, rule) == 0)
            return spec->excludes[i].id;
    for (int f = 0; f < PV_FAIL__COUNT; f++)
        if (strcmp(pv_failure_name((pv_failure)f), rule) == 0)
            return pv_failure_name((pv_failure)f);
    return NULL;
}

/* Count each finding of v (a verdict on spec) under its rule in st. */
static void count_rules(const pv_spec *spec, stats *st, const pv_verdict *v)
{
    for (size_t i = 0; i < v->n_findings; i++) {
        const char *name = spec_rule_name(spec, v->findings[i].rule);
        assert_non_null(name);
        size_t k = 0;
        while (k < st->n_rules && strcmp(st->rules[k], name) != 0)
            k++;
        if (k == st->n_rules && st->n_rules < MAX_RULES)
            st->rules[st->n_rules++] = name;
        if (k < st->n_rules)
            st->rule_count[k]++;
    }
}

/*
 * Load plan text and run all three. Returns false on a disagreement (after
 * printing it); counts into st.
 */
static bool compare_one(pv_engine *eng, const pvt_spec_entry *e, stats *st, const char *text,
                        const char *origin, size_t *not_concrete_total)
{
    pv_plan *plan = pvt_plan_load(e, text, &st->loader);
    if (!plan)
        return true;

    pvt_outcome forced = {0}, simplified = {0}, concrete = {0};
    pv_verify_opts fo = {.force_solver = true}, so = {.no_fast_path = true};
    forced.rc = pv_engine_verify(eng, e->spec, plan, &fo, &forced.v, &forced.d);
    simplified.rc = pv_engine_verify(eng, e->spec, plan, &so, &simplified.v, &simplified.d);
    concrete.rc = pv_concrete_verify(e->spec, plan, false, &concrete.v, &concrete.d);

    const char *why = NULL;
    if (concrete.rc == PV_ENOTCONCRETE) {
        st->not_concrete++;
        (*not_concrete_total)++;
        if (st->not_concrete <= 3)
            fprintf(stderr, "generator bug: a plan is not concrete (%s):\n%s", e->name, text);
        /* The two engine runs can still be held to each other. */
        if (forced.rc != simplified.rc)
            why = "return code of the engine with and without force_solver";
        else if (forced.rc == PV_OK)
            why = verdict_diff(forced.v, simplified.v);
    } else if (forced.rc != concrete.rc || simplified.rc != concrete.rc) {
        why = "return code (bad input for one, a verdict for another)";
    } else if (concrete.rc == PV_EINPUT) {
        st->bad_input++;
    } else if (concrete.rc != PV_OK) {
        why = "unexpected return code";
    } else {
        why = verdict_diff(concrete.v, forced.v);
        if (!why)
            why = verdict_diff(concrete.v, simplified.v);
        if (!why) {
            st->compared++;
            st->by_decision[concrete.v->decision]++;
            count_rules(e->spec, st, concrete.v);
        }
    }
    if (why && st->mismatches++ < MAX_REPORTED_MISMATCHES) {
        fprintf(stderr, "\nMISMATCH in %s: %s, spec %s (%s)\n", why, origin, e->spec->id, e->name);
        fprintf(stderr, "--- plan (YAML) ---\n%s--- end of plan ---\n", text);
        pvt_print_outcome(NULL, "concrete evaluator", &concrete);
        pvt_print_outcome(NULL, "engine, force_solver=true", &forced);
        pvt_print_outcome(NULL, "engine, force_solver=false", &simplified);
    }
    pvt_outcome_free(&forced);
    pvt_outcome_free(&simplified);
    pvt_outcome_free(&concrete);
    pv_plan_free(plan);
    return why == NULL;
}

static void print_stats(const pvt_run *run)
{
    pvt_run_print_time(run, ", three verifications each");
    static const pvt_count_column columns[] = {
        {"compared", 8, offsetof(stats, compared)},
        {"block", 7, offsetof(stats, by_decision[PV_ACT_BLOCK])},
        {"halt", 7, offsetof(stats, by_decision[PV_ACT_HALT])},
        {"escal.", 7, offsetof(stats, by_decision[PV_ACT_ESCALATE])},
        {"clarify", 7, offsetof(stats, by_decision[PV_ACT_CLARIFY])},
        {"allow", 7, offsetof(stats, by_decision[PV_ACT_ALLOW])},
        {"badinp", 7, offsetof(stats, bad_input)},
        {"loader", 7, offsetof(stats, loader)},
        {"notconc", 7, offsetof(stats, not_concrete)},
    };
    pvt_run_print_counts(
        run, spec_stats, sizeof spec_stats[0], columns, sizeof columns / sizeof columns[0]);
    /* Which rules the agreed verdicts contain, so that a reader sees the
     * generator breaks each of them (a rule absent here was never compared). */
    for (size_t i = 0; i < run->set->n_specs; i++) {
        const pvt_spec_entry *e = &run->set->specs[i];
        const stats *s = &spec_stats[i];
        printf("%s findings:", e->name);
        for (size_t k = 0; k < s->n_rules; k++)
            printf(" %s=%zu", s->rules[k], s->rule_count[k]);
        printf("\n");
        for (size_t r = 0; r < e->spec->n_invariants + e->spec->n_excludes; r++) {
            const char *id = r < e->spec->n_invariants
                                 ? e->spec->invariants[r].id
                                 : e->spec->excludes[r - e->spec->n_invariants].id;
            bool seen = false;
            for (size_t k = 0; k < s->n_rules && !seen; k++)
                seen = s->rules[k] == id;
            if (!seen)
                printf("note: %s: rule %s never broken by a compared plan\n", e->name, id);
        }
    }
}

/* Decisions a concrete plan can reach in spec: each finding's action is
 * the decision of a plan whose only break it is. missing_argument needs an
 * absent argument and solver_unknown a solver that gives up, neither of
 * which a concrete plan has. */
static void reachable_decisions(const pv_spec *spec, bool out[PV_ACT_BLOCK + 1])
{
    memset(out, 0, sizeof(bool) * (PV_ACT_BLOCK + 1));
    out[PV_ACT_ALLOW] = true;
    for (size_t i = 0; i < spec->n_invariants; i++)
        out[spec->invariants[i].action] = true;
    if (spec->n_excludes)
        out[PV_ACT_ESCALATE] = true;
    out[spec->failure_modes[PV_FAIL_UNKNOWN_TOOL].action] = true;
    for (size_t t = 0; t < spec->n_tools; t++)
        if (spec->tools[t].requires)
            out[spec->failure_modes[PV_FAIL_PRECONDITION].action] = true;
    if (spec->max_steps <= 16)
        out[spec->failure_modes[PV_FAIL_BUDGET_EXCEEDED].action] = true;
}

static void test_engines_agree(void **state)
{
    pvt_fixture *fx = *state;
    pvt_run run =
        pvt_run_start(&fx->set, "differential", "PV_DIFF", DEFAULT_SEED, DEFAULT_PLANS, "");
    size_t not_concrete = 0, mismatches = 0;
    for (size_t k = 0; k < run.total; k++) {
        pvt_seeded_plan p = pvt_run_plan(&run, k, false, "diff");
        if (!compare_one(fx->eng, p.e, &spec_stats[p.spec], p.text, p.origin, &not_concrete))
            mismatches++;
        free(p.text);
    }
    print_stats(&run);
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        bool reach[PV_ACT_BLOCK + 1];
        reachable_decisions(e->spec, reach);
        for (int a = PV_ACT_ALLOW; a <= PV_ACT_BLOCK; a++) {
            if (spec_stats[i].by_decision[a])
                continue;
            printf("note: %s: decision %s never reached (%s)\n",
                   e->name,
                   pv_action_name((pv_action)a),
                   reach[a] ? "reachable by a concrete plan: the generator misses it"
                            : "no rule or failure mode of this spec yields it on a concrete "
                              "plan");
        }
    }
    size_t loader = 0;
    for (size_t i = 0; i < fx->set.n_specs; i++)
        loader += spec_stats[i].loader;
    if (mismatches)
        fail_msg("%zu plan(s) where the engines disagree (details above)", mismatches);
    /* Plans the evaluator cannot decide, or the loader refuses, test
     * nothing: more than 1% of them means the generator is broken. */
    if (not_concrete * 100 > run.total)
        fail_msg("%zu of %zu generated plans are not concrete", not_concrete, run.total);
    pvt_run_check_loader(&run, loader);
}

/*
 * Z3 4.8.12 knows characters up to U+2FFFF only and reads at most five hex
 * digits in a \u{...} escape: a code point in U+30000..U+FFFFF used to make
 * Z3_mk_string fail (and the engine crash on the NULL term), one in
 * U+100000..U+10FFFF was read as the ten characters of its escape (so
 * `len` said 10 where the concrete evaluator says 1). Such strings are now
 * bad input at load time, and the engine fails closed on one that slips
 * past the loader. These cases pin that down; the random pools stay below
 * U+30000, where plans load.
 */
static const char code_point_spec[] = "spec: code-points\n"
                                      "version: \"1\"\n"
                                      "tools:\n"
                                      "  say: {args: {s: string}}\n"
                                      "invariants:\n"
                                      "  - id: one-code-point\n"
                                      "    on: say\n"
                                      "    assert: \"len(args.s) != 1\"\n"
                                      "    action: block\n"
                                      "  - id: no-brace\n"
                                      "    on: say\n"
                                      "    assert: \"!contains(args.s, '{')\"\n"
                                      "    action: halt\n";

static pv_spec *load_code_point_spec(void)
{
    return pvt_spec_from_text("code-points.yaml", code_point_spec);
}

static void code_point_plan(char *buf, size_t size, uint32_t cp)
{
    snprintf(buf, size, "spec: code-points\nsteps:\n  - {tool: say, args: {s: \"\\U%08X\"}}\n", cp);
}

/* The last character Z3 represents: both engines see one code point. */
static void test_code_point_last_in_z3_range(void **state)
{
    pvt_fixture *fx = *state;
    pvt_spec_entry e = {.name = "code-points", .spec = load_code_point_spec()};
    stats st = {0};
    pvt_pools_harvest(&e.pools, e.spec);
    char text[128];
    code_point_plan(text, sizeof text, 0x2FFFF);
    size_t not_concrete = 0;
    bool agree = compare_one(fx->eng, &e, &st, text, "fixed plan with U+2FFFF", &not_concrete);
    pvt_pools_free(&e.pools);
    pv_spec_free(e.spec);
    assert_true(agree);
    assert_int_equal(st.compared, 1);
    assert_int_equal(st.by_decision[PV_ACT_BLOCK], 1);
}

/* Past U+2FFFF (five and six hex digits): the plan loader refuses the plan
 * and names the character, so neither engine gives a verdict. */
static void test_code_points_past_z3_range_are_bad_input(void **state)
{
    (void)state;
    static const uint32_t cps[] = {0x30000, 0xE0041, 0xFFFFF, 0x100000, 0x10FFFF};
    pv_spec *spec = load_code_point_spec();
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char text[128], name[16];
        code_point_plan(text, sizeof text, cps[i]);
        snprintf(name, sizeof name, "U+%04X", (unsigned)cps[i]);
        pv_diags d = {0};
        pv_doc *doc = NULL;
        pv_plan *plan = NULL;
        assert_int_equal(pv_doc_parse("cp.yaml", text, strlen(text), &doc, &d), PV_OK);
        assert_int_equal(pv_plan_from_node(spec, doc, doc->root, &plan, &d), PV_EINPUT);
        assert_null(plan);
        assert_true(d.n >= 1);
        assert_non_null(strstr(d.items[0].msg, name));
        pv_diags_clear(&d);
        pv_doc_free(doc);
    }
    pv_spec_free(spec);
}

/* Should such a string reach the engine anyway (a plan built by other
 * code than the loaders), it must neither crash nor allow: the verdict is
 * solver_unknown's failure mode. */
static void test_code_point_past_z3_range_fails_closed(void **state)
{
    pvt_fixture *fx = *state;
    pv_spec *spec = load_code_point_spec();
    char text[128];
    code_point_plan(text, sizeof text, 0x2FFFF);
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_diags d = {0};
    /* U+2FFFF is F0 AF BF BF; F3 A0 81 81 is U+E0041, of the same length. */
    pv_value *lit = &plan->steps[0].args[0].lit;
    assert_int_equal(lit->u.s.len, 4);
    memcpy(lit->u.s.ptr, "\xf3\xa0\x81\x81", 4);
    for (int force = 0; force < 2; force++) {
        pv_verify_opts opts = {.force_solver = force, .no_fast_path = true};
        pv_verdict *v = NULL;
        assert_int_equal(pv_engine_verify(fx->eng, spec, plan, &opts, &v, &d), PV_OK);
        assert_int_equal(v->decision, spec->failure_modes[PV_FAIL_SOLVER_UNKNOWN].action);
        assert_true(pvt_verdict_has_kind(v, PV_K_SOLVER));
        pv_verdict_free(v);
    }
    pv_diags_clear(&d);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engines_agree),
        cmocka_unit_test(test_code_point_last_in_z3_range),
        cmocka_unit_test(test_code_points_past_z3_range_are_bad_input),
        cmocka_unit_test(test_code_point_past_z3_range_fails_closed),
    };
    return cmocka_run_group_tests(tests, pvt_fixture_setup, pvt_fixture_teardown);
}
