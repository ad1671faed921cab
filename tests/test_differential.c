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
#include "support/plangen.h"

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

/* The specs of a run, each with its counts (st[i] for set.specs[i]). */
typedef struct fixture {
    pvt_spec_set set;
    stats st[PVT_MAX_SPECS];
    pv_engine *eng;
} fixture;

static int teardown(void **state)
{
    fixture *fx = *state;
    if (!fx)
        return 0;
    pvt_spec_set_free(&fx->set);
    pv_engine_free(fx->eng);
    free(fx);
    return 0;
}

/* Every bundled spec, then the synthetic one, and an engine. */
static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    *state = fx;
    if (!fx)
        return -1;
    int rc = pvt_spec_set_load(&fx->set, pvt_source_dir());
    if (rc == 0 && pv_engine_new(&fx->eng) != PV_OK)
        rc = -1;
    if (rc != 0) {
        /* cmocka runs no group teardown after a failed setup. */
        teardown(state);
        *state = NULL;
    }
    return rc;
}

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

static bool str_eq_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Does finding x agree with y beyond the (rule, step, action) triple? Both
 * implement the same kinds, escalation targets and chains, and on a plan
 * without unknowns every break is certain. */
static bool details_equal(const pv_finding *x, const pv_finding *y)
{
    if (x->kind != y->kind || x->certain != y->certain ||
        !str_eq_null(x->escalate_to, y->escalate_to) || x->n_chain != y->n_chain)
        return false;
    for (size_t i = 0; i < x->n_chain; i++)
        if (x->chain[i] != y->chain[i])
            return false;
    return true;
}

/* Why verdicts a and b differ, or NULL when they agree. */
static const char *verdict_diff(const pv_verdict *a, const pv_verdict *b)
{
    if (a->decision != b->decision)
        return "decision";
    if (a->safe_prefix != b->safe_prefix)
        return "safe_prefix";
    if (a->n_findings != b->n_findings)
        return "number of findings";
    const pv_finding **x = sorted_findings(a), **y = sorted_findings(b);
    const char *why = NULL;
    for (size_t i = 0; i < a->n_findings && !why; i++) {
        if (finding_cmp(&x[i], &y[i]) != 0)
            why = "(rule, step, action) findings";
        else if (!details_equal(x[i], y[i]))
            why = "finding details (kind, certain, escalate_to or chain)";
    }
    free(x);
    free(y);
    return why;
}

static void print_verdict(const char *label, int rc, const pv_verdict *v)
{
    if (rc != PV_OK) {
        fprintf(stderr, "  %s: rc %d%s\n", label, rc, rc == PV_EINPUT ? " (bad input)" : "");
        return;
    }
    fprintf(stderr,
            "  %s: decision %s, safe_prefix %d, %zu finding(s)\n",
            label,
            pv_action_name(v->decision),
            v->safe_prefix,
            v->n_findings);
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
        fprintf(stderr,
                "    step %d %s (%s) %s%s%s certain=%s chain=[",
                f->step,
                f->rule,
                pv_finding_kind_name(f->kind),
                pv_action_name(f->action),
                f->escalate_to ? " to " : "",
                f->escalate_to ? f->escalate_to : "",
                f->certain ? "true" : "false");
        for (size_t k = 0; k < f->n_chain; k++)
            fprintf(stderr, "%s%d", k ? ", " : "", f->chain[k]);
        fprintf(stderr, "]: %s\n", f->message ? f->message : "");
    }
}

typedef struct outcome {
    int rc;
    pv_verdict *v;
    pv_diags d;
} outcome;

static void outcome_free(outcome *o)
{
    pv_verdict_free(o->v);
    pv_diags_clear(&o->d);
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

    outcome forced = {0}, simplified = {0}, concrete = {0};
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
        print_verdict("concrete evaluator", concrete.rc, concrete.v);
        pvt_print_diags("    concrete", &concrete.d);
        print_verdict("engine, force_solver=true", forced.rc, forced.v);
        pvt_print_diags("    forced", &forced.d);
        print_verdict("engine, force_solver=false", simplified.rc, simplified.v);
        pvt_print_diags("    simplified", &simplified.d);
    }
    outcome_free(&forced);
    outcome_free(&simplified);
    outcome_free(&concrete);
    pv_plan_free(plan);
    return why == NULL;
}

static void print_stats(const fixture *fx, double secs, size_t total)
{
    printf("differential: %zu plans in %.1f s (%.2f ms per plan, three verifications each)\n",
           total,
           secs,
           total ? secs * 1000.0 / (double)total : 0.0);
    printf("%-22s %8s %7s %7s %7s %7s %7s %7s %7s %7s\n",
           "spec",
           "compared",
           "block",
           "halt",
           "escal.",
           "clarify",
           "allow",
           "badinp",
           "loader",
           "notconc");
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        const stats *s = &fx->st[i];
        printf("%-22s %8zu %7zu %7zu %7zu %7zu %7zu %7zu %7zu %7zu\n",
               e->name,
               s->compared,
               s->by_decision[PV_ACT_BLOCK],
               s->by_decision[PV_ACT_HALT],
               s->by_decision[PV_ACT_ESCALATE],
               s->by_decision[PV_ACT_CLARIFY],
               s->by_decision[PV_ACT_ALLOW],
               s->bad_input,
               s->loader,
               s->not_concrete);
    }
    /* Which rules the agreed verdicts contain, so that a reader sees the
     * generator breaks each of them (a rule absent here was never compared). */
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        const stats *s = &fx->st[i];
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
    fixture *fx = *state;
    uint64_t seed = pvt_env_u64("PV_DIFF_SEED", DEFAULT_SEED);
    size_t total = (size_t)pvt_env_u64("PV_DIFF_PLANS", DEFAULT_PLANS);
    size_t not_concrete = 0, mismatches = 0;
    assert_true(fx->set.n_specs > 0);
    printf("differential: %zu specs, PV_DIFF_SEED=%" PRIu64 ", PV_DIFF_PLANS=%zu\n",
           fx->set.n_specs,
           seed,
           total);
    double t0 = pvt_now_s();
    for (size_t k = 0; k < total; k++) {
        const pvt_spec_entry *e = &fx->set.specs[k % fx->set.n_specs];
        stats *st = &fx->st[k % fx->set.n_specs];
        uint64_t plan_seed = pvt_seed_mix(seed ^ pvt_seed_mix((uint64_t)k));
        pvt_rng r = {plan_seed};
        char id[64];
        snprintf(id, sizeof id, "diff-%zu", k);
        char *text = pvt_plan_generate(&r, e->spec, &e->pools, false, id);
        char origin[160];
        snprintf(origin,
                 sizeof origin,
                 "PV_DIFF_SEED=%" PRIu64 ", plan #%zu (plan seed 0x%016" PRIx64 ")",
                 seed,
                 k,
                 plan_seed);
        if (!compare_one(fx->eng, e, st, text, origin, &not_concrete))
            mismatches++;
        free(text);
    }
    double secs = pvt_now_s() - t0;
    print_stats(fx, secs, total);
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        bool reach[PV_ACT_BLOCK + 1];
        reachable_decisions(e->spec, reach);
        for (int a = PV_ACT_ALLOW; a <= PV_ACT_BLOCK; a++) {
            if (fx->st[i].by_decision[a])
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
        loader += fx->st[i].loader;
    if (mismatches)
        fail_msg("%zu plan(s) where the engines disagree (details above)", mismatches);
    /* Plans the evaluator cannot decide, or the loader refuses, test
     * nothing: more than 1% of them means the generator is broken. */
    if (not_concrete * 100 > total)
        fail_msg("%zu of %zu generated plans are not concrete", not_concrete, total);
    if (loader * 100 > total)
        fail_msg("the loader refused %zu of %zu generated plans", loader, total);
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
    pv_diags d = {0};
    pv_spec *spec = NULL;
    int rc = pv_spec_load("code-points.yaml", code_point_spec, strlen(code_point_spec), &spec, &d);
    pvt_print_diags("code-points spec", &d);
    pv_diags_clear(&d);
    assert_int_equal(rc, PV_OK);
    return spec;
}

static void code_point_plan(char *buf, size_t size, uint32_t cp)
{
    snprintf(buf, size, "spec: code-points\nsteps:\n  - {tool: say, args: {s: \"\\U%08X\"}}\n", cp);
}

/* The last character Z3 represents: both engines see one code point. */
static void test_code_point_last_in_z3_range(void **state)
{
    fixture *fx = *state;
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
    fixture *fx = *state;
    pv_spec *spec = load_code_point_spec();
    char text[128];
    code_point_plan(text, sizeof text, 0x2FFFF);
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *plan = NULL;
    assert_int_equal(pv_doc_parse("cp.yaml", text, strlen(text), &doc, &d), PV_OK);
    assert_int_equal(pv_plan_from_node(spec, doc, doc->root, &plan, &d), PV_OK);
    pv_doc_free(doc);
    /* U+2FFFF is F0 AF BF BF; F3 A0 81 81 is U+E0041, of the same length. */
    pv_value *lit = &plan->steps[0].args[0].lit;
    assert_int_equal(lit->u.s.len, 4);
    memcpy(lit->u.s.ptr, "\xf3\xa0\x81\x81", 4);
    for (int force = 0; force < 2; force++) {
        pv_verify_opts opts = {.force_solver = force, .no_fast_path = true};
        pv_verdict *v = NULL;
        assert_int_equal(pv_engine_verify(fx->eng, spec, plan, &opts, &v, &d), PV_OK);
        assert_int_equal(v->decision, spec->failure_modes[PV_FAIL_SOLVER_UNKNOWN].action);
        bool solver = false;
        for (size_t i = 0; i < v->n_findings; i++)
            solver |= v->findings[i].kind == PV_K_SOLVER;
        assert_true(solver);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
