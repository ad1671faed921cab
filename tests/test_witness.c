/*
 * test_witness.c - witness replay. A finding that is possible but not
 * certain carries a witness: values of the plan's unknowns under which the
 * rule breaks (contract section 5). Putting those values into the plan in
 * place of the unknowns (support/replay.h) must give a concrete plan on
 * which the concrete evaluator, which shares no code with the Z3 encoding,
 * finds the same rule broken at the same step.
 *
 * Plans are random, over every bundled spec (specs/, found at run time)
 * and a synthetic spec that uses the whole expression language, with some
 * arguments {unknown: true}, some absent (missing or optional), some
 * results or result fields absent, some refs and some unknown initial
 * state. Findings with a witness are replayed; certain ones too, since
 * their witness must also be a breaking run. The example plan
 * specs/examples/split-refund-unknown.yaml is checked as a fixed case.
 *
 * A witness names the unknowns of the steps up to the finding's; the
 * replayed plan is cut after that step, which cannot change the finding
 * (a rule at step k reads only steps 0..k) and spares inventing values for
 * later unknowns that would have to satisfy their tools' `ensures`.
 *
 * PV_WITNESS_PLANS (default 500) and PV_WITNESS_SEED run it longer or
 * differently.
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

#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "support/fixture.h"
#include "support/plangen.h"
#include "support/replay.h"
#include "support/verdicts.h"

#define DEFAULT_PLANS 500
#define DEFAULT_SEED 0x5eed2027u
#define MAX_REPORTED_FAILURES 5

/* ------------------------------------------------------------------------------------------ */
/* specs                                                                                      */

typedef struct stats {
    size_t verified;  /* plans the engine gave a verdict for */
    size_t bad_input; /* the engine said PV_EINPUT */
    size_t loader;    /* the plan loader refused the plan */
    size_t possible;  /* replayed findings that were possible */
    size_t possible_by_kind[PV_K_BUDGET + 1];
    size_t certain; /* replayed findings that were certain */
    size_t solver_unknown;
    size_t failures;
} stats;

/* Each spec's counts: spec_stats[i] for the fixture's set.specs[i]. */
static stats spec_stats[PVT_MAX_SPECS];

/* ------------------------------------------------------------------------------------------ */
/* replay                                                                                     */

/*
 * Replay finding f of verdict v on plan (see support/replay.h). Returns
 * NULL when the concrete evaluator finds the same rule broken at the same
 * step, else why not (after printing the details when `report`).
 */
static const char *replay(const pv_spec *spec, const pv_plan *plan, const char *plan_text,
                          const pv_verdict *v, const pv_finding *f, const char *origin, bool report)
{
    pvt_replay r;
    const char *why = pvt_replay_run(&r, spec, plan, f);
    if (why && report) {
        fprintf(stderr, "\nWITNESS REPLAY FAILED: %s\n  %s, spec %s\n", why, origin, spec->id);
        fprintf(stderr, "--- plan (YAML) ---\n%s--- end of plan ---\n", plan_text);
        pvt_print_verdict(spec, "engine", PV_OK, v);
        pvt_replay_print(&r);
    }
    pvt_replay_free(&r);
    return why;
}

/* Verify plan text and replay every finding with a witness. Returns the
 * number of failed replays. */
static size_t check_plan(pv_engine *eng, const pvt_spec_entry *e, stats *st, const char *text,
                         bool force, const char *origin, size_t *reported)
{
    pv_plan *plan = pvt_plan_load(e, text, &st->loader);
    if (!plan)
        return 0;
    pv_diags d = {0};
    pv_verify_opts opts = {.force_solver = force, .no_fast_path = true};
    pv_verdict *v = NULL;
    int rc = pv_engine_verify(eng, e->spec, plan, &opts, &v, &d);
    pv_diags_clear(&d);
    size_t failed = 0;
    if (rc == PV_EINPUT) {
        st->bad_input++;
    } else if (rc != PV_OK) {
        fprintf(stderr, "engine returned %d on a generated plan (%s):\n%s", rc, e->name, text);
        failed++;
    } else {
        st->verified++;
        for (size_t i = 0; i < v->n_findings; i++) {
            const pv_finding *f = &v->findings[i];
            if (f->kind == PV_K_SOLVER) {
                /* Not a failure (the engine fails closed), but a plan this
                 * small that the solver cannot decide is worth seeing. */
                if (st->solver_unknown++ < 2)
                    fprintf(stderr,
                            "note: solver_unknown (%s) at step %d on %s:\n%s",
                            f->message ? f->message : "",
                            f->step,
                            origin,
                            text);
                continue;
            }
            if (!f->witness) {
                /* A possible break must show one breaking run. */
                if (!f->certain) {
                    if ((*reported)++ < MAX_REPORTED_FAILURES) {
                        fprintf(stderr, "\nPOSSIBLE FINDING WITHOUT A WITNESS: %s\n", origin);
                        fprintf(stderr, "--- plan ---\n%s--- end of plan ---\n", text);
                        pvt_print_finding(e->spec, f);
                    }
                    failed++;
                }
                continue;
            }
            bool report = *reported < MAX_REPORTED_FAILURES;
            if (replay(e->spec, plan, text, v, f, origin, report)) {
                (*reported)++;
                failed++;
            } else if (f->certain) {
                st->certain++;
            } else {
                st->possible++;
                st->possible_by_kind[f->kind]++;
            }
        }
    }
    st->failures += failed;
    pv_verdict_free(v);
    pv_plan_free(plan);
    return failed;
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                      */

static void test_random_witnesses_replay(void **state)
{
    pvt_fixture *fx = *state;
    pvt_run run = pvt_run_start(&fx->set, "witness", "PV_WITNESS", DEFAULT_SEED, DEFAULT_PLANS, "");
    size_t failed = 0, reported = 0;
    for (size_t k = 0; k < run.total; k++) {
        pvt_seeded_plan p = pvt_run_plan(&run, k, true, "witness");
        /* Both paths of the engine make witnesses: the solver on every
         * query, and simplification first. */
        failed +=
            check_plan(fx->eng, p.e, &spec_stats[p.spec], p.text, k % 2 == 0, p.origin, &reported);
        free(p.text);
    }
    pvt_run_print_time(&run, "");
    static const pvt_count_column columns[] = {
        {"verified", 8, offsetof(stats, verified)},
        {"badinp", 8, offsetof(stats, bad_input)},
        {"loader", 8, offsetof(stats, loader)},
        {"possible", 8, offsetof(stats, possible)},
        {"certain", 8, offsetof(stats, certain)},
        {"solverunk", 8, offsetof(stats, solver_unknown)},
    };
    pvt_run_print_counts(
        &run, spec_stats, sizeof spec_stats[0], columns, sizeof columns / sizeof columns[0]);
    size_t loader = 0;
    for (size_t i = 0; i < fx->set.n_specs; i++)
        loader += spec_stats[i].loader;
    /* Which kinds of rule the replayed possible findings came from. */
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        const stats *s = &spec_stats[i];
        printf("%s possible findings replayed by kind:", e->name);
        for (int k = PV_K_CALL; k <= PV_K_BUDGET; k++)
            if (s->possible_by_kind[k])
                printf(" %s=%zu", pv_finding_kind_name((pv_finding_kind)k), s->possible_by_kind[k]);
        printf("\n");
    }
    if (failed)
        fail_msg("%zu finding(s) whose witness does not replay (details above)", failed);
    pvt_run_check_loader(&run, loader);
}

/*
 * The bundled example: two refunds on one order, the second amount not
 * known yet. Each refund alone may be fine; together they can pass the
 * per-conversation cap, so the cap is a possible (not certain) violation at
 * step 2 whose witness is an amount above 550, and only the lookup may run.
 */
static void test_split_refund_unknown(void **state)
{
    pvt_fixture *fx = *state;
    char path[4096];
    pv_diags d = {0};
    pv_spec *spec = pvt_spec_from_source("specs/support-refunds.yaml");
    pv_doc *doc = NULL;
    snprintf(path, sizeof path, "%s/specs/examples/split-refund-unknown.yaml", pvt_source_dir());
    int rc = pv_doc_load_file(path, &doc, &d);
    pvt_print_diags(path, &d);
    assert_int_equal(rc, PV_OK);
    pv_plan *plan = NULL;
    rc = pv_plan_from_node(spec, doc, doc->root, &plan, &d);
    pvt_print_diags(path, &d);
    assert_int_equal(rc, PV_OK);
    char *text = strndup(doc->source, doc->source_len);
    assert_non_null(text);
    pv_doc_free(doc);

    pv_verdict *v = NULL;
    rc = pv_engine_verify(fx->eng, spec, plan, NULL, &v, &d);
    pvt_print_diags("engine", &d);
    assert_int_equal(rc, PV_OK);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->safe_prefix, 1);
    const pv_finding *cap = NULL;
    for (size_t i = 0; i < v->n_findings; i++)
        if (strcmp(v->findings[i].rule, "refunds-per-conversation-cap") == 0)
            cap = &v->findings[i];
    assert_non_null(cap);
    assert_int_equal(cap->kind, PV_K_STATE);
    assert_int_equal(cap->step, 2);
    assert_false(cap->certain);
    assert_int_equal(cap->action, PV_ACT_BLOCK);
    const pv_value *amount = pvt_witness_get(cap, "steps[2].args.amount");
    assert_non_null(amount);
    assert_int_equal(amount->type.kind, PV_T_INT);
    assert_true(amount->u.i > 1000 - 450);
    assert_null(replay(spec, plan, text, v, cap, "specs/examples/split-refund-unknown.yaml", true));
    /* Every other finding of the example replays as well. */
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].witness)
            assert_null(replay(spec,
                               plan,
                               text,
                               v,
                               &v->findings[i],
                               "specs/examples/split-refund-unknown.yaml",
                               true));
    free(text);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
    pv_diags_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_refund_unknown),
        cmocka_unit_test(test_random_witnesses_replay),
    };
    return cmocka_run_group_tests(tests, pvt_fixture_setup, pvt_fixture_teardown);
}
