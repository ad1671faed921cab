/*
 * output.c - verdicts for people (text) and for scripts (JSON lines).
 */
#include "cli.h"
#include "pv_verdict.h"
#include "pv_verdict_json.h"

#include <stdlib.h>
#include <string.h>

int pv_format_parse(const char *s, pv_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = PV_FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = PV_FMT_JSON;
    else if (strcmp(s, "junit") == 0)
        *out = PV_FMT_JUNIT;
    else
        return PV_EINPUT;
    return PV_OK;
}

void pv_print_verdict_text(FILE *out, const pv_spec *spec, const pv_verdict *v, const char *file)
{
    fprintf(out,
            "%s%s%s%s: %s (safe_prefix %d; spec %s %s)\n",
            file ? file : "",
            v->plan_id ? (file ? " [" : "[") : "",
            v->plan_id ? v->plan_id : "",
            v->plan_id ? "]" : "",
            pv_action_name(v->decision),
            v->safe_prefix,
            v->spec_id,
            v->spec_version);
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
        fprintf(out,
                "  step %d  %s  %s  %s%s%s  %s  %s\n",
                f->step,
                f->tool ? f->tool : "-",
                f->rule,
                pv_action_name(f->action),
                f->escalate_to ? " to " : "",
                f->escalate_to ? f->escalate_to : "",
                f->certain ? "certain" : "possible",
                f->message ? f->message : "");
        if (!f->certain && f->n_witness > 0) {
            fprintf(out, "    witness:");
            for (size_t w = 0; w < f->n_witness; w++) {
                /* Enum values print as strings, as a client that only sees
                 * their names over the wire prints them. */
                char *val = pv_value_describe(spec, &f->witness[w].value);
                if (f->witness[w].value.type.kind == PV_T_ENUM) {
                    char *q = pv_xasprintf("'%s'", val);
                    free(val);
                    val = q;
                }
                fprintf(out, "%s %s = %s", w ? "," : "", f->witness[w].key, val);
                free(val);
            }
            fputc('\n', out);
        }
        if (f->n_chain > 1) {
            fprintf(out, "    chain:");
            for (size_t c = 0; c < f->n_chain; c++)
                fprintf(out, "%s %d", c ? "," : "", f->chain[c]);
            fputc('\n', out);
        }
    }
}

void pv_print_verdict_json(FILE *out, const pv_spec *spec, const pv_verdict *v, const char *file)
{
    json_t *o = pv_verdict_to_json(spec, v, file);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(out, "%s\n", s);
    free(s);
    json_decref(o);
}

void pv_print_summary(FILE *out, const size_t counts[PV_ACT_BLOCK + 1], size_t n_bad)
{
    size_t total = n_bad;
    for (int a = PV_ACT_ALLOW; a <= PV_ACT_BLOCK; a++)
        total += counts[a];
    fprintf(out, "%zu plan%s:", total, total == 1 ? "" : "s");
    const char *sep = " ";
    for (int a = PV_ACT_BLOCK; a >= PV_ACT_ALLOW; a--)
        if (counts[a]) {
            fprintf(out, "%s%zu %s", sep, counts[a], pv_action_name((pv_action)a));
            sep = ", ";
        }
    if (n_bad)
        fprintf(out, "%s%zu bad input", sep, n_bad);
    fputc('\n', out);
}
