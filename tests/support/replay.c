/*
 * replay.c - witness replay; see replay.h.
 *
 * This code was once copied into test_witness.c and test_quick.c.
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
#include "support/plangen.h"
#include "support/replay.h"
#include "support/verdicts.h"

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

/* A plan value: the literal, the ref, or for an unknown the witness's
 * value under key. Sets *bad to the key when the witness has no usable
 * value for it. */
static void emit_pval(pvt_sbuf *b, const pv_spec *spec, const pv_plan *plan, const pv_pval *pv,
                      const pv_finding *f, const char *key, char **bad)
{
    if (pv->kind == PV_PV_LITERAL) {
        emit_value(b, spec, &pv->lit);
        return;
    }
    if (pv->kind == PV_PV_REF) {
        const pv_tool *src = &spec->tools[plan->steps[pv->ref_step].tool];
        pvt_sbuf_printf(b, "{ref: \"%d.%s\"}", pv->ref_step, src->returns[pv->ref_field].name);
        return;
    }
    const pv_value *v = pvt_witness_get(f, key);
    if (!v || !emit_value(b, spec, v)) {
        if (!*bad)
            *bad = strdup(key);
        pvt_sbuf_puts(b, "null");
    }
}

/*
 * Plan `plan`, cut after the finding's step, as YAML text in which every
 * unknown holds the witness's value: initial.NAME for state variables
 * without a value, steps[i].args.NAME for unknown arguments and absent ones
 * without a default (an absent one without a default is unknown to the
 * engine), steps[i].result.NAME for result fields not given. Arguments of
 * an undeclared tool are never read and are left out. *bad names a key the
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

const char *pvt_replay_run(pvt_replay *r, const pv_spec *spec, const pv_plan *plan,
                           const pv_finding *f)
{
    *r = (pvt_replay){.spec = spec, .f = f};
    r->text = render_replay(spec, plan, f, &r->bad);
    pv_doc *doc = NULL;
    pv_plan *replayed = NULL;
    int rc = PV_OK;
    if (r->bad) {
        r->why = "the witness has no value for an unknown of the steps up to the finding's";
    } else if (pv_doc_parse("replay.yaml", r->text, strlen(r->text), &doc, &r->d) != PV_OK ||
               pv_plan_from_node(spec, doc, doc->root, &replayed, &r->d) != PV_OK) {
        r->why = "the replayed plan does not load";
    } else if ((rc = pv_concrete_verify(spec, replayed, false, &r->cv, &r->d)) != PV_OK) {
        r->why = rc == PV_EINPUT ? "the witness is bad input to the concrete evaluator (it "
                                   "breaks an ensures or an always at the start)"
                                 : "the replayed plan is not concrete";
    } else {
        r->why = "the concrete evaluator does not find the rule broken at that step";
        for (size_t i = 0; i < r->cv->n_findings; i++)
            if (r->cv->findings[i].step == f->step && strcmp(r->cv->findings[i].rule, f->rule) == 0)
                r->why = NULL;
    }
    pv_doc_free(doc);
    pv_plan_free(replayed);
    return r->why;
}

void pvt_replay_print(const pvt_replay *r)
{
    fprintf(stderr,
            "  witness of %s at step %d does not replay: %s\n",
            r->f->rule,
            r->f->step,
            r->why ? r->why : "(it does)");
    if (r->bad)
        fprintf(stderr, "  missing or unusable witness key: %s\n", r->bad);
    fprintf(stderr, "--- replayed plan (YAML) ---\n%s--- end of replayed plan ---\n", r->text);
    pvt_print_diags("  replay", &r->d);
    if (r->cv)
        pvt_print_verdict(r->spec, "concrete evaluator on the replay", PV_OK, r->cv);
}

void pvt_replay_free(pvt_replay *r)
{
    free(r->bad);
    free(r->text);
    pv_diags_clear(&r->d);
    pv_verdict_free(r->cv);
    r->bad = r->text = NULL;
    r->cv = NULL;
}

const char *pvt_replay_check(const pv_spec *spec, const pv_plan *plan, const pv_finding *f,
                             bool report)
{
    pvt_replay r;
    const char *why = pvt_replay_run(&r, spec, plan, f);
    if (why && report)
        pvt_replay_print(&r);
    pvt_replay_free(&r);
    return why;
}
