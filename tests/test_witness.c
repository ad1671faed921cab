/*
 * test_witness.c - witness replay. A finding that is possible but not
 * certain carries a witness: values of the plan's unknowns under which the
 * rule breaks (contract section 5). Putting those values into the plan in
 * place of the unknowns must give a concrete plan on which the concrete
 * evaluator, which shares no code with the Z3 encoding, finds the same
 * rule broken at the same step.
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

#include "pv_concrete.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "support/plangen.h"

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
/* replay                                                                                     */

static const pv_value *witness_get(const pv_finding *f, const char *key)
{
    for (size_t i = 0; i < f->n_witness; i++)
        if (strcmp(f->witness[i].key, key) == 0)
            return &f->witness[i].value;
    return NULL;
}

/* Write a value as YAML; false when it cannot be (an enum index out of range). */
static bool emit_value(pvt_sbuf *b, const pv_spec *spec, const pv_value *v)
{
    switch (v->type.kind) {
    case PV_T_INT:
        pvt_sbuf_printf(b, "%" PRId64, v->u.i);
        return true;
    case PV_T_BOOL:
        pvt_sbuf_puts(b, v->u.b ? "true" : "false");
        return true;
    case PV_T_STRING:
        pvt_yaml_quote(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
        return true;
    case PV_T_ENUM: {
        const pv_enum *en = &spec->enums[v->type.enum_id];
        if (v->u.e < 0 || (size_t)v->u.e >= en->n)
            return false;
        pvt_yaml_quote(b, en->values[v->u.e], strlen(en->values[v->u.e]));
        return true;
    }
    default:
        return false;
    }
}

/* The value for an unknown: from the witness under key, written to b.
 * Sets *bad to the key when the witness has no usable value for it. */
static void emit_unknown(pvt_sbuf *b, const pv_spec *spec, const pv_finding *f, const char *key,
                         char **bad)
{
    const pv_value *v = witness_get(f, key);
    if (!v || !emit_value(b, spec, v)) {
        if (!*bad)
            *bad = strdup(key);
        pvt_sbuf_puts(b, "null");
    }
}

/* A plan value: the literal, the ref, or for an unknown the witness's. */
static void emit_pval(pvt_sbuf *b, const pv_spec *spec, const pv_plan *plan, const pv_pval *pv,
                      const pv_finding *f, const char *key, char **bad)
{
    if (pv->kind == PV_PV_LITERAL) {
        emit_value(b, spec, &pv->lit);
    } else if (pv->kind == PV_PV_REF) {
        const pv_tool *src = &spec->tools[plan->steps[pv->ref_step].tool];
        pvt_sbuf_printf(b, "{ref: \"%d.%s\"}", pv->ref_step, src->returns[pv->ref_field].name);
    } else {
        emit_unknown(b, spec, f, key, bad);
    }
}

/*
 * Plan `plan`, cut after the finding's step, as YAML text in which every
 * unknown holds the witness's value: initial.NAME for state variables that
 * have no value, steps[i].args.NAME for unknown and absent arguments (an
 * absent one without a default is unknown to the engine),
 * steps[i].result.NAME for result fields not given. Arguments of an
 * undeclared tool are never read and are left out. *bad names a key the
 * witness lacks (the caller frees it).
 */
static char *render_replay(const pv_spec *spec, const pv_plan *plan, const pv_finding *f,
                           char **bad)
{
    pvt_sbuf b = {0};
    char key[512];
    *bad = NULL;
    pvt_sbuf_puts(&b, "spec: ");
    pvt_yaml_quote(&b, spec->id, strlen(spec->id));
    pvt_sbuf_puts(&b, "\nid: replay\n");
    bool any = false;
    for (size_t v = 0; v < spec->n_state; v++) {
        const pv_pval *pv = &plan->initial[v];
        if (pv->kind == PV_PV_ABSENT && spec->state[v].has_init)
            continue;
        pvt_sbuf_printf(&b, "%s%s: ", any ? ", " : "initial_state: {", spec->state[v].name);
        any = true;
        snprintf(key, sizeof key, "initial.%s", spec->state[v].name);
        emit_pval(&b, spec, plan, pv, f, key, bad);
    }
    if (any)
        pvt_sbuf_puts(&b, "}\n");
    pvt_sbuf_puts(&b, "steps:\n");
    for (int i = 0; i <= f->step && (size_t)i < plan->n_steps; i++) {
        const pv_step *st = &plan->steps[i];
        pvt_sbuf_puts(&b, "  - {tool: ");
        pvt_yaml_quote(&b, st->tool_name, strlen(st->tool_name));
        if (st->tool < 0) {
            pvt_sbuf_puts(&b, "}\n");
            continue;
        }
        const pv_tool *tool = &spec->tools[st->tool];
        pvt_sbuf_puts(&b, ", args: {");
        bool first = true;
        for (size_t a = 0; a < tool->n_args; a++) {
            const pv_pval *pv = &st->args[a];
            if (pv->kind == PV_PV_ABSENT && tool->args[a].has_default)
                continue;
            pvt_sbuf_printf(&b, "%s%s: ", first ? "" : ", ", tool->args[a].name);
            first = false;
            snprintf(key, sizeof key, "steps[%d].args.%s", i, tool->args[a].name);
            emit_pval(&b, spec, plan, pv, f, key, bad);
        }
        pvt_sbuf_puts(&b, "}");
        if (tool->n_returns) {
            pvt_sbuf_puts(&b, ", result: {");
            for (size_t r = 0; r < tool->n_returns; r++) {
                pvt_sbuf_printf(&b, "%s%s: ", r ? ", " : "", tool->returns[r].name);
                snprintf(key, sizeof key, "steps[%d].result.%s", i, tool->returns[r].name);
                emit_pval(&b, spec, plan, &st->result[r], f, key, bad);
            }
            pvt_sbuf_puts(&b, "}");
        }
        pvt_sbuf_puts(&b, "}\n");
    }
    return b.p;
}

static void print_finding(const pv_spec *spec, const pv_finding *f)
{
    fprintf(stderr,
            "  finding: step %d %s (%s) %s certain=%s: %s\n  witness:",
            f->step,
            f->rule,
            pv_finding_kind_name(f->kind),
            pv_action_name(f->action),
            f->certain ? "true" : "false",
            f->message ? f->message : "");
    for (size_t i = 0; i < f->n_witness; i++) {
        char *v = pv_value_describe(spec, &f->witness[i].value);
        fprintf(stderr, " %s=%s", f->witness[i].key, v);
        free(v);
    }
    fprintf(stderr, "\n");
}

static void print_verdict(const char *label, const pv_verdict *v)
{
    fprintf(stderr,
            "  %s: decision %s, safe_prefix %d\n",
            label,
            pv_action_name(v->decision),
            v->safe_prefix);
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
        fprintf(stderr,
                "    step %d %s %s certain=%s: %s\n",
                f->step,
                f->rule,
                pv_action_name(f->action),
                f->certain ? "true" : "false",
                f->message ? f->message : "");
    }
}

/*
 * Replay finding f of verdict v on plan. Returns NULL when the concrete
 * evaluator finds the same rule broken at the same step, else why not
 * (after printing the details when `report`).
 */
static const char *replay(const pv_spec *spec, const pv_plan *plan, const char *plan_text,
                          const pv_verdict *v, const pv_finding *f, const char *origin, bool report)
{
    char *bad = NULL;
    char *text = render_replay(spec, plan, f, &bad);
    const char *why = NULL;
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *replayed = NULL;
    pv_verdict *cv = NULL;
    int rc = PV_OK;
    if (bad) {
        why = "the witness has no value for an unknown of the steps up to the finding's";
    } else if (pv_doc_parse("replay.yaml", text, strlen(text), &doc, &d) != PV_OK ||
               pv_plan_from_node(spec, doc, doc->root, &replayed, &d) != PV_OK) {
        why = "the replayed plan does not load";
    } else if ((rc = pv_concrete_verify(spec, replayed, false, &cv, &d)) != PV_OK) {
        why = rc == PV_EINPUT ? "the witness is bad input to the concrete evaluator (it breaks "
                                "an ensures or an always at the start)"
                              : "the replayed plan is not concrete";
    } else {
        why = "the concrete evaluator does not find the rule broken at that step";
        for (size_t i = 0; i < cv->n_findings; i++)
            if (cv->findings[i].step == f->step && strcmp(cv->findings[i].rule, f->rule) == 0)
                why = NULL;
    }
    if (why && report) {
        fprintf(stderr, "\nWITNESS REPLAY FAILED: %s\n  %s, spec %s\n", why, origin, spec->id);
        if (bad)
            fprintf(stderr, "  missing or unusable witness key: %s\n", bad);
        fprintf(stderr, "--- plan (YAML) ---\n%s--- end of plan ---\n", plan_text);
        print_verdict("engine", v);
        print_finding(spec, f);
        fprintf(stderr, "--- replayed plan (YAML) ---\n%s--- end of replayed plan ---\n", text);
        pvt_print_diags("  replay", &d);
        if (cv)
            print_verdict("concrete evaluator on the replay", cv);
    }
    free(bad);
    free(text);
    pv_diags_clear(&d);
    pv_doc_free(doc);
    pv_plan_free(replayed);
    pv_verdict_free(cv);
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
                        print_finding(e->spec, f);
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
    fixture *fx = *state;
    uint64_t seed = pvt_env_u64("PV_WITNESS_SEED", DEFAULT_SEED);
    size_t total = (size_t)pvt_env_u64("PV_WITNESS_PLANS", DEFAULT_PLANS);
    size_t failed = 0, reported = 0;
    assert_true(fx->set.n_specs > 0);
    printf("witness: %zu specs, PV_WITNESS_SEED=%" PRIu64 ", PV_WITNESS_PLANS=%zu\n",
           fx->set.n_specs,
           seed,
           total);
    double t0 = pvt_now_s();
    for (size_t k = 0; k < total; k++) {
        const pvt_spec_entry *e = &fx->set.specs[k % fx->set.n_specs];
        stats *st = &fx->st[k % fx->set.n_specs];
        uint64_t plan_seed = pvt_seed_mix(seed ^ pvt_seed_mix((uint64_t)k));
        pvt_rng r = {plan_seed};
        char id[64], origin[160];
        snprintf(id, sizeof id, "witness-%zu", k);
        snprintf(origin,
                 sizeof origin,
                 "PV_WITNESS_SEED=%" PRIu64 ", plan #%zu (plan seed 0x%016" PRIx64 ")",
                 seed,
                 k,
                 plan_seed);
        char *text = pvt_plan_generate(&r, e->spec, &e->pools, true, id);
        /* Both paths of the engine make witnesses: the solver on every
         * query, and simplification first. */
        failed += check_plan(fx->eng, e, st, text, k % 2 == 0, origin, &reported);
        free(text);
    }
    double secs = pvt_now_s() - t0;
    printf("witness: %zu plans in %.1f s (%.2f ms per plan)\n",
           total,
           secs,
           total ? secs * 1000.0 / (double)total : 0.0);
    printf("%-22s %8s %8s %8s %8s %8s %8s\n",
           "spec",
           "verified",
           "badinp",
           "loader",
           "possible",
           "certain",
           "solverunk");
    size_t loader = 0;
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        const stats *s = &fx->st[i];
        printf("%-22s %8zu %8zu %8zu %8zu %8zu %8zu\n",
               e->name,
               s->verified,
               s->bad_input,
               s->loader,
               s->possible,
               s->certain,
               s->solver_unknown);
        loader += s->loader;
    }
    /* Which kinds of rule the replayed possible findings came from. */
    for (size_t i = 0; i < fx->set.n_specs; i++) {
        const pvt_spec_entry *e = &fx->set.specs[i];
        const stats *s = &fx->st[i];
        printf("%s possible findings replayed by kind:", e->name);
        for (int k = PV_K_CALL; k <= PV_K_BUDGET; k++)
            if (s->possible_by_kind[k])
                printf(" %s=%zu", pv_finding_kind_name((pv_finding_kind)k), s->possible_by_kind[k]);
        printf("\n");
    }
    if (failed)
        fail_msg("%zu finding(s) whose witness does not replay (details above)", failed);
    if (loader * 100 > total)
        fail_msg("the loader refused %zu of %zu generated plans", loader, total);
}

/*
 * The bundled example: two refunds on one order, the second amount not
 * known yet. Each refund alone may be fine; together they can pass the
 * per-conversation cap, so the cap is a possible (not certain) violation at
 * step 2 whose witness is an amount above 550, and only the lookup may run.
 */
static void test_split_refund_unknown(void **state)
{
    fixture *fx = *state;
    char path[4096];
    pv_diags d = {0};
    pv_spec *spec = NULL;
    snprintf(path, sizeof path, "%s/specs/support-refunds.yaml", pvt_source_dir());
    int rc = pv_spec_load_file(path, &spec, &d);
    pvt_print_diags(path, &d);
    assert_int_equal(rc, PV_OK);
    pv_doc *doc = NULL;
    snprintf(path, sizeof path, "%s/specs/examples/split-refund-unknown.yaml", pvt_source_dir());
    rc = pv_doc_load_file(path, &doc, &d);
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
    const pv_value *amount = witness_get(cap, "steps[2].args.amount");
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
