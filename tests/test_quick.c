/*
 * test_quick.c - the quick path (pv_quick.h) against the solver.
 *
 * The quick path decides a plan with unknowns from interval bounds and
 * sample runs, and hands every question it cannot settle to Z3 (for the
 * whole plan). When it decides, its verdict must be the one the solver
 * would give: the same decision, safe_prefix and findings (rule, kind,
 * step, action, certainty, escalation target, chain), each possible break
 * with a witness over the same unknowns. Only the messages and the witness
 * values may differ, since a sample run is another valid breaking run than
 * the solver's model; so each of its witnesses is replayed through the
 * concrete evaluator (support/replay.h), which shares no code with either,
 * and must break the same rule at the same step.
 *
 * Random plans with unknowns (support/plangen.h) over every bundled spec
 * and the synthetic one go through pv_quick_verify directly, through the
 * engine with its defaults (which tries the quick path before the solver)
 * and through the engine with no_quick (the solver alone). The engine's
 * default verdict must be exactly the quick path's whenever that decides,
 * which shows the engine uses it, and with no_witness the quick path must
 * give the same verdict less the witnesses. It may never decide a plan the
 * engine calls bad input, and must decide some plans with unknowns of
 * every bundled spec (one that always defers would pass everything else).
 * Fixed cases pin down what it must decide on the bundled support-refunds
 * spec, what it must leave to the solver, and how it treats steps that
 * already ran.
 *
 * PV_QUICK_PLANS (default 600, about 10 s; the solver's verdicts are most
 * of it) and PV_QUICK_SEED run it longer or differently; PV_QUICK_SOLVER_MS
 * sets the solver's first budget per plan (default 1000; 0 for the full
 * one, see compare_one). A disagreement prints the seed, the plan as YAML
 * that loads as a plan file, and every verdict.
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
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_quick.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "support/fixture.h"
#include "support/plangen.h"
#include "support/replay.h"
#include "support/verdicts.h"

#define DEFAULT_PLANS 600
#define DEFAULT_SEED 0x5eed2028u
#define MAX_REPORTED_FAILURES 5
/* The solver's first budget per verification in the random comparison; see compare_one. */
#define DEFAULT_SOLVER_MS 1000

/* ------------------------------------------------------------------------------------------ */
/* specs                                                                                      */

typedef struct stats {
    size_t loader;         /* the plan loader refused the plan */
    size_t bad_input;      /* the engine said PV_EINPUT */
    size_t concrete;       /* nothing the analysis needs is unknown: the concrete shortcut's */
    size_t decided;        /* plans with unknowns the quick path decided */
    size_t decided_allow;  /* ... of which with the decision allow */
    size_t deferred;       /* plans with unknowns it left to the solver */
    size_t possible;       /* findings of decided plans with unknowns that were possible */
    size_t certain;        /* ... and that were certain */
    size_t replayed;       /* ... of which with a witness, replayed */
    size_t solver_unknown; /* the solver gave up: its verdict was not compared */
    size_t rechecked;      /* asked again with the full budget (see compare_one) */
    size_t failures;
} stats;

/* Each spec's counts: spec_stats[i] for the fixture's set.specs[i]. */
static stats spec_stats[PVT_MAX_SPECS];

/* ------------------------------------------------------------------------------------------ */
/* comparing verdicts                                                                         */

static bool value_eq(const pv_value *a, const pv_value *b)
{
    return pv_type_eq(a->type, b->type) && pv_value_eq(a, b);
}

/* Do x and y name the same unknowns (in any order)? Keys are unique within
 * a witness, so equal counts and inclusion one way make equal sets. */
static bool witness_keys_equal(const pv_finding *x, const pv_finding *y)
{
    if (x->n_witness != y->n_witness)
        return false;
    for (size_t i = 0; i < x->n_witness; i++)
        if (!pvt_witness_get(y, x->witness[i].key))
            return false;
    return true;
}

/* Everything of a finding that does not depend on which breaking run was
 * found: the quick path and the solver must agree on it. */
static bool finding_same(const pv_finding *x, const pv_finding *y)
{
    return strcmp(x->rule, y->rule) == 0 && x->step == y->step && x->action == y->action &&
           pvt_str_eq_null(x->tool, y->tool) && pvt_finding_details_equal(x, y);
}

/*
 * Why verdicts a and b differ, or NULL when they agree. Findings are
 * compared in order (both sides sort them as pv_verdict_finish does).
 * exact: also messages and witnesses entry by entry (keys, order and
 * values), for two verdicts that must be the same object in all but
 * address; otherwise only the witnesses' key sets.
 */
static const char *verdict_diff(const pv_verdict *a, const pv_verdict *b, bool exact)
{
    const char *why = pvt_verdict_summary_diff(a, b);
    if (why)
        return why;
    for (size_t i = 0; i < a->n_findings; i++) {
        const pv_finding *x = &a->findings[i], *y = &b->findings[i];
        if (!finding_same(x, y))
            return "findings (rule, kind, step, action, certain, escalate_to, tool or chain)";
        if (!witness_keys_equal(x, y))
            return "the unknowns a witness names";
        if (!exact)
            continue;
        if (!pvt_str_eq_null(x->message, y->message))
            return "a finding's message";
        for (size_t k = 0; k < x->n_witness; k++)
            if (strcmp(x->witness[k].key, y->witness[k].key) != 0 ||
                !value_eq(&x->witness[k].value, &y->witness[k].value))
                return "a witness's values";
    }
    if (exact && (!pvt_str_eq_null(a->spec_id, b->spec_id) ||
                  !pvt_str_eq_null(a->spec_version, b->spec_version) ||
                  !pvt_str_eq_null(a->spec_digest, b->spec_digest) ||
                  !pvt_str_eq_null(a->plan_id, b->plan_id)))
        return "the spec or plan a verdict names";
    return NULL;
}

/* Why w, a verdict made with no_witness, is not v less its witnesses, or NULL. */
static const char *witnessless_diff(const pv_verdict *v, const pv_verdict *w)
{
    if (v->decision != w->decision || v->safe_prefix != w->safe_prefix ||
        v->n_findings != w->n_findings)
        return "the quick path's verdict with no_witness (decision, safe_prefix or findings)";
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *x = &v->findings[i], *y = &w->findings[i];
        if (!finding_same(x, y) || !pvt_str_eq_null(x->message, y->message))
            return "the quick path's findings with no_witness";
        if (y->witness || y->n_witness)
            return "a witness despite no_witness";
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* replay                                                                                     */

/* Why the findings of a quick-path verdict on plan (from step 0) do not
 * all stand on their own, or NULL: a possible break must show a breaking
 * run, and every run shown must replay. */
static const char *check_witnesses(const pv_spec *spec, const pv_plan *plan, const pv_verdict *v,
                                   bool report)
{
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
        if (!f->witness) {
            if (!f->certain)
                return "a possible finding without a witness";
            continue;
        }
        const char *why = pvt_replay_check(spec, plan, f, report);
        if (why)
            return why;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* random plans                                                                               */

/*
 * Why the verdicts on plan disagree, or NULL: the quick path's (from step
 * 0; bare: with no_witness), the engine's with its defaults and the
 * engine's without the quick path. *gave_up: the solver could not decide (a solver_unknown
 * finding), so the quick path was not held to it.
 */
static const char *judge(const pv_spec *spec, const pv_plan *plan, const pvt_outcome *quick,
                         const pvt_outcome *bare, const pvt_outcome *dflt,
                         const pvt_outcome *solver, bool *gave_up)
{
    *gave_up = false;
    if (quick->rc != PV_OK && quick->rc != PV_ENOTCONCRETE)
        return "return code of the quick path (neither a verdict nor left to the solver)";
    if ((quick->rc == PV_OK) != (quick->v != NULL))
        return "the quick path's verdict does not match its return code";
    if (bare->rc != quick->rc || (bare->rc == PV_OK) != (bare->v != NULL))
        return "return code of the quick path with and without no_witness";
    if (quick->rc == PV_OK) {
        const char *why = witnessless_diff(quick->v, bare->v);
        if (why)
            return why;
    }
    if (dflt->rc != solver->rc)
        return "return code of the engine with and without the quick path";
    if (dflt->rc == PV_EINPUT && quick->rc != PV_ENOTCONCRETE)
        return "the quick path decided a plan the engine calls bad input";
    if (dflt->rc != PV_OK && dflt->rc != PV_EINPUT)
        return "unexpected return code of the engine";
    if (quick->rc == PV_OK) {
        /* The engine must take the quick path's verdict as it is. */
        const char *why = verdict_diff(quick->v, dflt->v, true);
        if (why)
            return why;
        if (pvt_verdict_has_kind(quick->v, PV_K_SOLVER))
            return "the quick path reported solver_unknown instead of leaving the plan to Z3";
        why = check_witnesses(spec, plan, quick->v, false);
        if (why)
            return why;
    }
    if (dflt->rc != PV_OK)
        return NULL;
    if (pvt_verdict_has_kind(solver->v, PV_K_SOLVER) ||
        pvt_verdict_has_kind(dflt->v, PV_K_SOLVER)) {
        *gave_up = true;
        return NULL;
    }
    return verdict_diff(dflt->v, solver->v, false);
}

/* Count a plan on which the verdicts agree. */
static void count(stats *st, const pvt_outcome *quick, const pvt_outcome *dflt, bool has_unknowns)
{
    if (dflt->rc == PV_EINPUT) {
        st->bad_input++;
    } else if (!has_unknowns) {
        st->concrete++;
    } else if (quick->rc == PV_ENOTCONCRETE) {
        st->deferred++;
    } else {
        st->decided++;
        st->decided_allow += quick->v->decision == PV_ACT_ALLOW;
        for (size_t i = 0; i < quick->v->n_findings; i++) {
            const pv_finding *f = &quick->v->findings[i];
            if (f->certain)
                st->certain++;
            else
                st->possible++;
            st->replayed += f->witness != NULL;
        }
    }
}

/* Both engine runs, each within budget_ms (0: the spec's budget, as lifted
 * by PLANVERIFY_SOLVER_TIMEOUT_MS). */
static void run_engine(pv_engine *eng, const pv_spec *spec, const pv_plan *plan, unsigned budget_ms,
                       pvt_outcome *dflt, pvt_outcome *solver)
{
    pvt_outcome_free(dflt);
    pvt_outcome_free(solver);
    *dflt = *solver = (pvt_outcome){0};
    pv_verify_opts dflt_opts = {.timeout_ms = budget_ms};
    pv_verify_opts solver_opts = {.no_quick = true, .timeout_ms = budget_ms};
    dflt->rc = pv_engine_verify(eng, spec, plan, &dflt_opts, &dflt->v, &dflt->d);
    solver->rc = pv_engine_verify(eng, spec, plan, &solver_opts, &solver->v, &solver->d);
}

/*
 * Load plan text and verify it four ways (see judge). Returns false on a
 * disagreement, after printing it while fewer than MAX_REPORTED_FAILURES
 * were; counts into st.
 */
static bool compare_one(pv_engine *eng, const pvt_spec_entry *e, stats *st, const char *text,
                        const char *origin, unsigned budget_ms, size_t *reported)
{
    pv_plan *plan = pvt_plan_load(e, text, &st->loader);
    if (!plan)
        return true;

    pvt_outcome quick = {0}, bare = {0}, dflt = {0}, solver = {0}, concrete = {0};
    quick.rc = pv_quick_verify(e->spec, plan, 0, false, &quick.v);
    bare.rc = pv_quick_verify(e->spec, plan, 0, true, &bare.v);
    /* A few generated plans take Z3 tens of seconds under the lifted test
     * budget (mostly proving that a string break is certain, which gets a
     * quarter of it). A smaller budget keeps the run short; since it can
     * leave a break merely possible, or undecided, that the quick path
     * settles, a disagreement is only one when it stays with the full
     * budget. */
    run_engine(eng, e->spec, plan, budget_ms, &dflt, &solver);
    bool gave_up;
    const char *why = judge(e->spec, plan, &quick, &bare, &dflt, &solver, &gave_up);
    if (budget_ms && (why || (gave_up && quick.rc == PV_OK))) {
        st->rechecked++;
        run_engine(eng, e->spec, plan, 0, &dflt, &solver);
        why = judge(e->spec, plan, &quick, &bare, &dflt, &solver, &gave_up);
    }
    /* Only to tell plans with unknowns from those the concrete shortcut
     * decides before the quick path is tried. */
    concrete.rc = pv_concrete_verify(e->spec, plan, false, &concrete.v, &concrete.d);
    bool has_unknowns = concrete.rc == PV_ENOTCONCRETE;

    if (!why) {
        count(st, &quick, &dflt, has_unknowns);
        st->solver_unknown += gave_up;
    } else {
        st->failures++;
        if ((*reported)++ < MAX_REPORTED_FAILURES) {
            fprintf(stderr,
                    "\nDISAGREEMENT in %s: %s, spec %s (%s)\n",
                    why,
                    origin,
                    e->spec->id,
                    e->name);
            fprintf(stderr, "--- plan (YAML) ---\n%s--- end of plan ---\n", text);
            pvt_print_outcome(e->spec, "quick path", &quick);
            pvt_print_outcome(e->spec, "quick path, no_witness", &bare);
            pvt_print_outcome(e->spec, "engine, defaults", &dflt);
            pvt_print_outcome(e->spec, "engine, no_quick", &solver);
            /* Again, to show a replay that fails. */
            if (quick.rc == PV_OK && quick.v)
                check_witnesses(e->spec, plan, quick.v, true);
        }
    }
    pvt_outcome_free(&quick);
    pvt_outcome_free(&bare);
    pvt_outcome_free(&dflt);
    pvt_outcome_free(&solver);
    pvt_outcome_free(&concrete);
    pv_plan_free(plan);
    return why == NULL;
}

static void print_stats(const pvt_run *run)
{
    pvt_run_print_time(run, ", four verifications each");
    static const pvt_count_column columns[] = {
        {"decided", 7, offsetof(stats, decided)},
        {"allow", 7, offsetof(stats, decided_allow)},
        {"deferr.", 7, offsetof(stats, deferred)},
        {"concr.", 7, offsetof(stats, concrete)},
        {"badinp", 7, offsetof(stats, bad_input)},
        {"possible", 8, offsetof(stats, possible)},
        {"certain", 8, offsetof(stats, certain)},
        {"replayed", 8, offsetof(stats, replayed)},
        {"loader", 7, offsetof(stats, loader)},
        {"solvunk", 7, offsetof(stats, solver_unknown)},
        {"recheck", 7, offsetof(stats, rechecked)},
    };
    pvt_run_print_counts(
        run, spec_stats, sizeof spec_stats[0], columns, sizeof columns / sizeof columns[0]);
}

static void test_quick_agrees_with_solver(void **state)
{
    pvt_fixture *fx = *state;
    unsigned budget_ms = (unsigned)pvt_env_u64("PV_QUICK_SOLVER_MS", DEFAULT_SOLVER_MS);
    char more[64];
    snprintf(more, sizeof more, ", PV_QUICK_SOLVER_MS=%u", budget_ms);
    pvt_run run = pvt_run_start(&fx->set, "quick", "PV_QUICK", DEFAULT_SEED, DEFAULT_PLANS, more);
    size_t failed = 0, reported = 0;
    for (size_t k = 0; k < run.total; k++) {
        pvt_seeded_plan p = pvt_run_plan(&run, k, true, "quick");
        if (!compare_one(fx->eng, p.e, &spec_stats[p.spec], p.text, p.origin, budget_ms, &reported))
            failed++;
        free(p.text);
    }
    print_stats(&run);
    size_t loader = 0;
    for (size_t i = 0; i < fx->set.n_specs; i++)
        loader += spec_stats[i].loader;
    if (failed)
        fail_msg("%zu plan(s) where the quick path and the solver disagree (details above)",
                 failed);
    pvt_run_check_loader(&run, loader);
    /* A quick path that always defers would pass everything above. Every
     * bundled spec has rules that plans with unknowns settle by bounds or
     * samples, so each must see some decided (checked only on a run long
     * enough to give each spec a few dozen plans). */
    if (run.total >= 40 * fx->set.n_specs)
        for (size_t i = 0; i < fx->set.n_specs; i++)
            if (strcmp(fx->set.specs[i].name, "(synthetic)") != 0 && spec_stats[i].decided == 0)
                fail_msg("the quick path decided no plan with unknowns of %s",
                         fx->set.specs[i].name);
}

/* ------------------------------------------------------------------------------------------ */
/* fixed cases                                                                                */

/* The quick path's verdict on plan from step `from` (which must decide). */
static pv_verdict *quick(const pv_spec *spec, const pv_plan *plan, size_t from)
{
    pv_verdict *v = NULL;
    int rc = pv_quick_verify(spec, plan, from, false, &v);
    if (rc != PV_OK)
        fprintf(stderr, "pv_quick_verify returned %d, not a verdict\n", rc);
    assert_int_equal(rc, PV_OK);
    assert_non_null(v);
    return v;
}

/* The engine's verdict on plan from step `from`, with or without the quick path. */
static pv_verdict *engine(pv_engine *eng, const pv_spec *spec, const pv_plan *plan, size_t from,
                          bool no_quick)
{
    pv_verify_opts opts = {.no_quick = no_quick, .from_step = from};
    pv_diags d = {0};
    pv_verdict *v = NULL;
    int rc = pv_engine_verify(eng, spec, plan, &opts, &v, &d);
    pvt_print_diags("engine", &d);
    pv_diags_clear(&d);
    assert_int_equal(rc, PV_OK);
    return v;
}

/* Fail, printing both verdicts, when a and b differ (exact: see verdict_diff). */
static void assert_same_verdict(const pv_spec *spec, const char *la, const pv_verdict *a,
                                const char *lb, const pv_verdict *b, bool exact)
{
    const char *why = verdict_diff(a, b, exact);
    if (!why)
        return;
    pvt_print_verdict(spec, la, PV_OK, a);
    pvt_print_verdict(spec, lb, PV_OK, b);
    fail_msg("the verdicts differ in %s", why);
}

static void assert_finding(const pv_finding *f, const char *rule, pv_finding_kind kind, int step,
                           pv_action action, const char *escalate_to, bool certain)
{
    assert_string_equal(f->rule, rule);
    assert_int_equal(f->kind, kind);
    assert_int_equal(f->step, step);
    assert_int_equal(f->action, action);
    if (escalate_to)
        assert_string_equal(f->escalate_to, escalate_to);
    else
        assert_null(f->escalate_to);
    assert_int_equal(f->certain, certain);
}

/* The three rules of support-refunds that a refund of an unknown amount
 * at `step` can break, in verdict order: the approval rule and the
 * order-amount rule possibly, the cap possibly or (cap_certain) certainly. */
static void assert_refund_findings(const pv_verdict *v, int step, bool cap_certain)
{
    assert_int_equal(v->n_findings, 3);
    assert_finding(&v->findings[0],
                   "refund-over-500-needs-approval",
                   PV_K_CALL,
                   step,
                   PV_ACT_ESCALATE,
                   "finance-approvers",
                   false);
    assert_finding(
        &v->findings[1], "refund-within-order-amount", PV_K_CALL, step, PV_ACT_BLOCK, NULL, false);
    assert_finding(&v->findings[2],
                   "refunds-per-conversation-cap",
                   PV_K_STATE,
                   step,
                   PV_ACT_BLOCK,
                   NULL,
                   cap_certain);
}

static void assert_chain(const pv_finding *f, const int *want, size_t n)
{
    assert_int_equal(f->n_chain, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(f->chain[i], want[i]);
}

/* Fail unless the engine, on plan from step `from`, agrees with v, the
 * quick path's verdict: without the quick path (the solver alone) in all
 * but messages and witness values, and with its defaults exactly (it takes
 * the quick path's verdict as it is). */
static void assert_engine_agrees(pv_engine *eng, const pv_spec *spec, const pv_plan *plan,
                                 size_t from, const pv_verdict *v)
{
    pv_verdict *z3 = engine(eng, spec, plan, from, true);
    assert_same_verdict(spec, "quick path", v, "engine, no_quick", z3, false);
    pv_verdict *dflt = engine(eng, spec, plan, from, false);
    assert_same_verdict(spec, "quick path", v, "engine, defaults", dflt, true);
    pv_verdict_free(dflt);
    pv_verdict_free(z3);
}

/* Fail unless every finding of v (a verdict on plan from step 0) shows a
 * run that replays. */
static void assert_witnesses_replay(const pv_spec *spec, const pv_plan *plan, const pv_verdict *v)
{
    const char *why = check_witnesses(spec, plan, v, true);
    if (why) {
        pvt_print_verdict(spec, "quick path", PV_OK, v);
        fail_msg("%s", why);
    }
}

/* The benchmark's realistic plan (tests/fixtures/plans): a settled refund
 * of order A1001, then a refund of order A1002 whose order amount,
 * approval and refund amount are all unknown. */
static char *bench_plan_text(void)
{
    char path[4096], *text = NULL;
    size_t len;
    pv_diags d = {0};
    snprintf(path,
             sizeof path,
             "%s/tests/fixtures/plans/support-10-steps-3-unknowns.yaml",
             pvt_source_dir());
    assert_int_equal(pv_read_file(path, 1 << 20, &text, &len, &d), PV_OK);
    pv_diags_clear(&d);
    return text;
}

/*
 * Steps 0-3 are concrete and break nothing (240 <= 500, 240 is not less
 * than the order's 240, the label is 12 days into the window). The refund
 * of an unknown amount x at step 7 can break three rules, none certainly
 * (x = 1 breaks none): the approval rule when x > 500 and the approval for
 * 650 is not granted or x > 650; the order-amount rule when the unknown
 * order amount is below x; the cap when 240 + x > 1000. The label at step
 * 8 is 4 days into the window. So: block, and since the refund at step 3
 * is irreversible only steps 0-2 may run first.
 */
static void test_bench_plan(void **state)
{
    pvt_fixture *fx = *state;
    pv_spec *spec = pvt_spec_from_source("specs/support-refunds.yaml");
    char *text = bench_plan_text();
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->safe_prefix, 3);
    assert_refund_findings(v, 7, false);
    /* The approval rule ranges over the earlier approvals (step 5), the
     * order-amount rule over the earlier lookups (steps 0 and 4); the cap
     * reads refunded_total, written by the refunds at steps 3 and 7, the
     * first of which refunds a value referenced from step 0. */
    static const int approval_chain[] = {5, 7};
    static const int amount_chain[] = {0, 4, 7};
    static const int cap_chain[] = {0, 3, 7};
    assert_chain(&v->findings[0], approval_chain, 2);
    assert_chain(&v->findings[1], amount_chain, 3);
    assert_chain(&v->findings[2], cap_chain, 3);
    for (size_t i = 0; i < v->n_findings; i++)
        assert_non_null(v->findings[i].witness);
    assert_witnesses_replay(spec, plan, v);

    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    free(text);
    pv_spec_free(spec);
}

/*
 * Unknowns that no rule can turn into a break: the order's amount, status
 * and email, the approvals already granted and the message body. The
 * label's rule reads only the known order id and age (3 <= 30), and no
 * step refunds, so refunded_total stays 0 within the cap.
 */
static void test_allowed_with_unknowns(void **state)
{
    pvt_fixture *fx = *state;
    static const char text[] =
        "spec: support-refunds\n"
        "initial_state: {approvals_granted: {unknown: true}}\n"
        "steps:\n"
        "  - tool: lookup_order\n"
        "    args: {order_id: B1}\n"
        "    result: {amount: {unknown: true}, age_days: 3, status: {unknown: true}}\n"
        "  - tool: create_return_label\n"
        "    args: {order_id: B1}\n"
        "  - tool: send_customer_message\n"
        "    args: {body: {unknown: true}}\n";
    pv_spec *spec = pvt_spec_from_source("specs/support-refunds.yaml");
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_ALLOW);
    assert_int_equal(v->safe_prefix, 3);
    assert_int_equal(v->n_findings, 0);
    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * A certain break that bounds decide: after an approved refund of 1000
 * (the cap exactly), any further refund, whose amount is at least 1, puts
 * refunded_total past 1000 whatever it is. The unknown amount can also
 * break the two call rules at step 3 (above the order's 2000, and above
 * the approval for 2000), but need not. The refund at step 2 is
 * irreversible, so only steps 0-1 may run first.
 */
static void test_certain_break_by_bounds(void **state)
{
    pvt_fixture *fx = *state;
    static const char text[] =
        "spec: support-refunds\n"
        "steps:\n"
        "  - tool: lookup_order\n"
        "    args: {order_id: C1}\n"
        "    result: {amount: 2000, age_days: 3, status: delivered, email: c@example.com}\n"
        "  - tool: request_approval\n"
        "    args: {order_id: C1, amount: 2000}\n"
        "    result: {approved: true}\n"
        "  - tool: issue_refund\n"
        "    args: {order_id: C1, amount: 1000, reason: broken}\n"
        "  - tool: issue_refund\n"
        "    args: {order_id: C1, amount: {unknown: true}, reason: broken again}\n";
    pv_spec *spec = pvt_spec_from_source("specs/support-refunds.yaml");
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->safe_prefix, 2);
    assert_refund_findings(v, 3, true);
    /* Both call rules break only for an amount above 2000. */
    for (size_t i = 0; i < 2; i++) {
        const pv_value *amount = pvt_witness_get(&v->findings[i], "steps[3].args.amount");
        assert_non_null(amount);
        assert_true(amount->u.i > 2000);
    }
    assert_witnesses_replay(spec, plan, v);

    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * An unknown start that a state rule bounds: the solver assumes every
 * `always` rule holds at the start, so external_emails_sent begins at most
 * max_external_emails, and a search and an internal email leave it there.
 * The bounds must take that assumption in to settle the rule at both
 * steps (no sample run can show a break that the background excludes).
 */
static void test_always_bounds_an_unknown_start(void **state)
{
    pvt_fixture *fx = *state;
    static const char text[] =
        "spec: email-docs\n"
        "initial_state: {external_emails_sent: {unknown: true}}\n"
        "steps:\n"
        "  - {tool: search_documents, args: {query: roadmap}, result: {count: 2}}\n"
        "  - {tool: send_email, args: {to: team@acme.com, subject: Roadmap, body: Attached}}\n";
    pv_spec *spec = pvt_spec_from_source("specs/email-docs.yaml");
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_ALLOW);
    assert_int_equal(v->safe_prefix, 2);
    assert_int_equal(v->n_findings, 0);
    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * A string that holds a rule only when built of several of the rule's
 * literals: a `create` statement with a WHERE clause must start with
 * 'CREATE ' and contain ' WHERE ', so no single literal of the spec
 * satisfies sql-kind-matches-statement and only a value such as
 * 'CREATE  WHERE ' shows the break is not certain. The empty statement
 * breaks it.
 */
static void test_string_built_of_rule_literals(void **state)
{
    pvt_fixture *fx = *state;
    static const char text[] =
        "spec: db-infra\n"
        "initial_state: {env: staging, code_freeze: false, unresolved_failure: false}\n"
        "steps:\n"
        "  - tool: run_sql\n"
        "    args: {statement: {unknown: true}, kind: create, has_where: true}\n"
        "    result: {ok: true, rows_affected: 0}\n";
    pv_spec *spec = pvt_spec_from_source("specs/db-infra.yaml");
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->safe_prefix, 0);
    assert_int_equal(v->n_findings, 1);
    assert_finding(
        &v->findings[0], "sql-kind-matches-statement", PV_K_CALL, 0, PV_ACT_BLOCK, NULL, false);
    assert_witnesses_replay(spec, plan, v);
    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * An unbounded result that breaks a cap only when far from every literal:
 * the balance loses a quarter of the tally, so it passes 300 only for a
 * tally below -1203, and no literal of the spec or plan (4, 300) or its
 * neighbours comes near. The unbounded side gets a value far past them.
 */
static const char far_spec[] = "spec: quick-far\n"
                               "version: \"1\"\n"
                               "state:\n"
                               "  balance: {type: int, init: 0}\n"
                               "tools:\n"
                               "  tally:\n"
                               "    returns: {sum: int}\n"
                               "    effects: {balance: \"balance - result.sum / 4\"}\n"
                               "invariants:\n"
                               "  - {id: balance-cap, always: \"balance <= 300\", action: block}\n";

static void test_far_value_for_an_open_side(void **state)
{
    pvt_fixture *fx = *state;
    pv_spec *spec = pvt_spec_from_text("quick-far.yaml", far_spec);
    pv_plan *plan = pvt_plan_from_text(
        spec, "spec: quick-far\nsteps:\n  - {tool: tally, result: {sum: {unknown: true}}}\n");
    pv_verdict *v = quick(spec, plan, 0);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->n_findings, 1);
    assert_finding(&v->findings[0], "balance-cap", PV_K_STATE, 0, PV_ACT_BLOCK, NULL, false);
    const pv_value *sum = pvt_witness_get(&v->findings[0], "steps[0].result.sum");
    assert_non_null(sum);
    assert_true(sum->u.i < -1203);
    assert_witnesses_replay(spec, plan, v);
    assert_engine_agrees(fx->eng, spec, plan, 0, v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * A rule that holds for every value but that neither argument settles:
 * the interval of x - x for an unbounded x is unbounded, and no sample
 * run breaks it. The quick path must leave the plan to the solver rather
 * than allow it, and the engine's default verdict is then the solver's
 * proof.
 */
static const char defer_spec[] = "spec: quick-defer\n"
                                 "version: \"1\"\n"
                                 "tools:\n"
                                 "  put: {args: {x: int}}\n"
                                 "invariants:\n"
                                 "  - id: difference-is-zero\n"
                                 "    on: put\n"
                                 "    assert: \"args.x - args.x == 0\"\n"
                                 "    action: block\n";

static void test_defers_what_needs_the_solver(void **state)
{
    pvt_fixture *fx = *state;
    pv_spec *spec = pvt_spec_from_text("quick-defer.yaml", defer_spec);
    pv_plan *plan = pvt_plan_from_text(
        spec, "spec: quick-defer\nsteps:\n  - {tool: put, args: {x: {unknown: true}}}\n");
    pv_verdict *v = NULL;
    int rc = pv_quick_verify(spec, plan, 0, false, &v);
    if (rc == PV_OK)
        pvt_print_verdict(spec, "quick path", rc, v);
    assert_int_equal(rc, PV_ENOTCONCRETE);
    assert_null(v);
    pv_verdict *dflt = engine(fx->eng, spec, plan, 0, false);
    assert_int_equal(dflt->decision, PV_ACT_ALLOW);
    assert_int_equal(dflt->safe_prefix, 1);
    assert_int_equal(dflt->n_findings, 0);
    pv_verdict_free(dflt);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * The benchmark plan with steps 0-7 run (a runtime session): no rule is
 * checked at them, so their findings are history. At step 8 the label's
 * rule holds (4 days), but refunded_total after it is 240 plus the amount
 * refunded at step 7, which is still unknown: nothing checked that refund,
 * so the cap can break after step 8 (an amount above 760) and need not (an
 * amount of 1). The state rule is reported once, at the earliest checked
 * step. safe_prefix counts from the start and never goes below the 8
 * steps that ran.
 */
static void test_from_step(void **state)
{
    pvt_fixture *fx = *state;
    pv_spec *spec = pvt_spec_from_source("specs/support-refunds.yaml");
    char *text = bench_plan_text();
    pv_plan *plan = pvt_plan_from_text(spec, text);
    pv_verdict *v = quick(spec, plan, 8);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->safe_prefix, 8);
    assert_int_equal(v->n_findings, 1);
    const pv_finding *cap = &v->findings[0];
    assert_finding(cap, "refunds-per-conversation-cap", PV_K_STATE, 8, PV_ACT_BLOCK, NULL, false);
    /* Replaying would not do here: the concrete evaluator checks every step
     * and reports the cap at step 7, so the witness is checked directly. */
    const pv_value *amount = pvt_witness_get(cap, "steps[7].args.amount");
    assert_non_null(amount);
    assert_int_equal(amount->type.kind, PV_T_INT);
    assert_true(amount->u.i > 1000 - 240);
    assert_non_null(pvt_witness_get(cap, "steps[4].result.amount"));
    assert_non_null(pvt_witness_get(cap, "steps[5].result.approved"));
    assert_int_equal(cap->n_witness, 3);

    assert_engine_agrees(fx->eng, spec, plan, 8, v);
    /* A session that ran the same 8 steps takes the quick path's verdict
     * as well, and without it gets the solver's. */
    pv_engine_session *es = pv_engine_session_new(fx->eng);
    assert_non_null(es);
    for (int no_quick = 0; no_quick < 2; no_quick++) {
        pv_verify_opts opts = {.no_quick = no_quick};
        pv_diags d = {0};
        pv_verdict *sv = NULL;
        int rc = pv_engine_verify_session(es, spec, plan, 8, &opts, &sv, &d);
        pvt_print_diags("session", &d);
        pv_diags_clear(&d);
        assert_int_equal(rc, PV_OK);
        assert_same_verdict(spec, "quick path", v, "session", sv, !no_quick);
        pv_verdict_free(sv);
    }
    pv_engine_session_free(es);
    pv_verdict_free(v);
    pv_plan_free(plan);
    free(text);
    pv_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_plan),
        cmocka_unit_test(test_allowed_with_unknowns),
        cmocka_unit_test(test_certain_break_by_bounds),
        cmocka_unit_test(test_always_bounds_an_unknown_start),
        cmocka_unit_test(test_string_built_of_rule_literals),
        cmocka_unit_test(test_far_value_for_an_open_side),
        cmocka_unit_test(test_defers_what_needs_the_solver),
        cmocka_unit_test(test_from_step),
        cmocka_unit_test(test_quick_agrees_with_solver),
    };
    return cmocka_run_group_tests(tests, pvt_fixture_setup, pvt_fixture_teardown);
}
