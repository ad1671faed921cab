/*
 * verdicts.c - looking into, comparing and printing verdicts; see
 * verdicts.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/plangen.h"
#include "support/verdicts.h"

void pvt_outcome_free(pvt_outcome *o)
{
    pv_verdict_free(o->v);
    pv_diags_clear(&o->d);
}

bool pvt_str_eq_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const pv_value *pvt_witness_get(const pv_finding *f, const char *key)
{
    for (size_t i = 0; i < f->n_witness; i++)
        if (strcmp(f->witness[i].key, key) == 0)
            return &f->witness[i].value;
    return NULL;
}

const char *pvt_verdict_summary_diff(const pv_verdict *a, const pv_verdict *b)
{
    if (a->decision != b->decision)
        return "decision";
    if (a->safe_prefix != b->safe_prefix)
        return "safe_prefix";
    if (a->n_findings != b->n_findings)
        return "number of findings";
    return NULL;
}

bool pvt_verdict_has_kind(const pv_verdict *v, pv_finding_kind kind)
{
    for (size_t i = 0; v && i < v->n_findings; i++)
        if (v->findings[i].kind == kind)
            return true;
    return false;
}

bool pvt_finding_details_equal(const pv_finding *x, const pv_finding *y)
{
    if (x->kind != y->kind || x->certain != y->certain ||
        !pvt_str_eq_null(x->escalate_to, y->escalate_to) || x->n_chain != y->n_chain)
        return false;
    for (size_t i = 0; i < x->n_chain; i++)
        if (x->chain[i] != y->chain[i])
            return false;
    return true;
}

void pvt_print_finding(const pv_spec *spec, const pv_finding *f)
{
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
    if (!spec)
        return;
    fprintf(stderr, "      witness:");
    for (size_t i = 0; i < f->n_witness; i++) {
        char *v = pv_value_describe(spec, &f->witness[i].value);
        fprintf(stderr, " %s=%s", f->witness[i].key, v);
        free(v);
    }
    fprintf(stderr, "%s\n", f->witness ? "" : " (none)");
}

void pvt_print_verdict(const pv_spec *spec, const char *label, int rc, const pv_verdict *v)
{
    if (rc != PV_OK || !v) {
        const char *note = "";
        if (rc == PV_EINPUT)
            note = " (bad input)";
        else if (rc == PV_ENOTCONCRETE)
            note = " (not concrete)";
        fprintf(stderr, "  %s: rc %d%s\n", label, rc, note);
        return;
    }
    fprintf(stderr,
            "  %s: decision %s, safe_prefix %d, %zu finding(s)\n",
            label,
            pv_action_name(v->decision),
            v->safe_prefix,
            v->n_findings);
    for (size_t i = 0; i < v->n_findings; i++)
        pvt_print_finding(spec, &v->findings[i]);
}

void pvt_print_outcome(const pv_spec *spec, const char *label, const pvt_outcome *o)
{
    char what[128];
    pvt_print_verdict(spec, label, o->rc, o->v);
    snprintf(what, sizeof what, "    %s", label);
    pvt_print_diags(what, &o->d);
}
