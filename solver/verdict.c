/*
 * verdict.c - building verdicts: findings, their order, the decision and
 * safe_prefix of contract section 5.
 */
#include "pv_verdict.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"call",
                                         "state",
                                         "scope",
                                         "allowlist",
                                         "argument",
                                         "precondition",
                                         "solver",
                                         "budget",
                                         "deviation"};

const char *pv_finding_kind_name(pv_finding_kind k)
{
    if ((int)k < 0 || (size_t)k >= sizeof kind_names / sizeof kind_names[0])
        return "invalid";
    return kind_names[k];
}

int pv_finding_kind_parse(const char *s)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

pv_verdict *pv_verdict_new(const pv_spec *spec, const pv_plan *plan)
{
    pv_verdict *v = pv_xcalloc(1, sizeof *v);
    v->decision = PV_ACT_ALLOW;
    v->safe_prefix = plan ? (int)plan->n_steps : 0;
    v->spec_id = pv_xstrdup(spec->id);
    v->spec_version = pv_xstrdup(spec->version ? spec->version : "");
    v->spec_digest = pv_xstrdup(spec->digest);
    v->plan_id = plan && plan->id ? pv_xstrdup(plan->id) : NULL;
    return v;
}

static void finding_free(pv_finding *f)
{
    free(f->rule);
    free(f->tool);
    free(f->escalate_to);
    free(f->chain);
    for (size_t i = 0; i < f->n_witness; i++) {
        free(f->witness[i].key);
        pv_value_free(&f->witness[i].value);
    }
    free(f->witness);
    free(f->message);
}

void pv_verdict_free(pv_verdict *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_findings; i++)
        finding_free(&v->findings[i]);
    free(v->findings);
    free(v->spec_id);
    free(v->spec_version);
    free(v->spec_digest);
    free(v->plan_id);
    free(v);
}

pv_finding *pv_verdict_add(pv_verdict *v, const char *rule, pv_finding_kind kind, int step,
                           const char *tool, pv_action action, const char *escalate_to,
                           bool certain, char *message)
{
    v->findings = pv_xrealloc(v->findings, (v->n_findings + 1) * sizeof(pv_finding));
    pv_finding *f = &v->findings[v->n_findings++];
    memset(f, 0, sizeof *f);
    f->rule = pv_xstrdup(rule);
    f->kind = kind;
    f->step = step;
    f->tool = tool ? pv_xstrdup(tool) : NULL;
    f->action = action;
    f->escalate_to = escalate_to ? pv_xstrdup(escalate_to) : NULL;
    f->certain = certain;
    f->message = message;
    return f;
}

static int finding_cmp(const void *a, const void *b)
{
    const pv_finding *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return strcmp(x->rule, y->rule);
}

void pv_verdict_finish(pv_verdict *v, const pv_spec *spec, const pv_plan *plan)
{
    pv_verdict_finish_from(v, spec, plan, 0);
}

void pv_verdict_finish_from(pv_verdict *v, const pv_spec *spec, const pv_plan *plan,
                            size_t executed)
{
    /* What already ran is history, not something to decide about. */
    size_t kept = 0;
    for (size_t i = 0; i < v->n_findings; i++) {
        if ((size_t)v->findings[i].step < executed)
            finding_free(&v->findings[i]);
        else
            v->findings[kept++] = v->findings[i];
    }
    v->n_findings = kept;
    if (v->n_findings > 1)
        qsort(v->findings, v->n_findings, sizeof(pv_finding), finding_cmp);
    v->decision = PV_ACT_ALLOW;
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].action > v->decision)
            v->decision = v->findings[i].action;
    int n = (int)plan->n_steps;
    if (v->n_findings == 0) {
        v->safe_prefix = n;
        return;
    }
    /* With a violation anywhere ahead nothing irreversible runs, but the
     * reversible steps before the first violation may run to learn their
     * results. */
    int prefix = v->findings[0].step;
    for (int i = (int)executed; i < prefix && i < n; i++) {
        int t = plan->steps[i].tool;
        if (t >= 0 && spec->tools[t].irreversible) {
            prefix = i;
            break;
        }
    }
    v->safe_prefix = prefix < n ? prefix : n;
}
