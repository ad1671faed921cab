/*
 * lint.c - `planverify lint SPEC...`: load each spec and report every load
 * error; unless --syntax-only, also the review checklist of contract
 * section 7 that needs no solver.
 */
#include "cli.h"
#include "pv_plan.h"
#include "pv_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_cli_print_diags(FILE *out, const pv_diags *d, const char *severity)
{
    for (size_t i = 0; i < d->n; i++) {
        const pv_diag *g = &d->items[i];
        if (g->file && g->pos.line > 0)
            fprintf(out, "%s:%d:%d: %s: %s\n", g->file, g->pos.line, g->pos.col, severity, g->msg);
        else if (g->file)
            fprintf(out, "%s: %s: %s\n", g->file, severity, g->msg);
        else
            fprintf(out, "%s: %s\n", severity, g->msg);
    }
}

static bool tool_in_list(const int *tools, size_t n, int t)
{
    for (size_t i = 0; i < n; i++)
        if (tools[i] == t)
            return true;
    return false;
}

/*
 * The checklist items that are decidable without the solver. Each finding
 * is a diagnostic with a stable tag in brackets, so scripts can filter.
 */
static void lint_checklist(const pv_spec *s, pv_diags *out)
{
    for (size_t i = 0; i < s->n_invariants; i++) {
        const pv_invariant *r = &s->invariants[i];
        if (!r->enforcement || !r->enforcement[0])
            pv_diags_add(out,
                         s->file,
                         r->pos,
                         "invariant '%s' names no enforcement: say what stops the call "
                         "[no-enforcement]",
                         r->id);
    }
    for (size_t t = 0; t < s->n_tools; t++) {
        bool covered = false;
        for (size_t i = 0; i < s->n_invariants && !covered; i++) {
            const pv_invariant *r = &s->invariants[i];
            covered =
                r->kind == PV_RULE_CALL && !r->on_all && tool_in_list(r->on_tools, r->n_on, (int)t);
        }
        for (size_t i = 0; i < s->n_excludes && !covered; i++)
            covered = tool_in_list(s->excludes[i].tool_index, s->excludes[i].n_tools, (int)t);
        for (size_t i = 0; i < s->n_tests && !covered; i++)
            for (size_t j = 0; j < s->tests[i].plan->n_steps && !covered; j++)
                covered = s->tests[i].plan->steps[j].tool == (int)t;
        if (!covered)
            pv_diags_add(out,
                         s->file,
                         s->tools[t].pos,
                         "tool '%s' is covered by no rule, exclusion or test [uncovered-tool]",
                         s->tools[t].name);
    }
    for (size_t v = 0; v < s->n_state; v++) {
        bool changed = false;
        for (size_t t = 0; t < s->n_tools && !changed; t++)
            for (size_t e = 0; e < s->tools[t].n_effects && !changed; e++)
                changed = s->tools[t].effects[e].var == (int)v;
        if (!changed)
            pv_diags_add(out,
                         s->file,
                         s->state[v].pos,
                         "state variable '%s' is changed by no tool's effects [unchanged-state]",
                         s->state[v].name);
    }
}

static void lint_usage(FILE *out)
{
    fprintf(out,
            "usage: planverify lint [--syntax-only] SPEC...\n"
            "  Loads each spec and prints every error as file:line:col.\n"
            "  --syntax-only  only load errors, not the review checklist\n"
            "exit: 0 clean, 1 checklist findings, 2 a spec does not load\n");
}

int pv_cli_lint(int argc, char **argv)
{
    bool syntax_only = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
        if (strcmp(argv[first], "--syntax-only") == 0)
            syntax_only = true;
        else if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
            lint_usage(stdout);
            return PV_EXIT_OK;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else {
            fprintf(stderr, "planverify lint: unknown option '%s'\n", argv[first]);
            lint_usage(stderr);
            return PV_EXIT_USAGE;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "planverify lint: no spec files given\n");
        lint_usage(stderr);
        return PV_EXIT_USAGE;
    }
    size_t broken = 0, findings = 0, errors = 0;
    for (int i = first; i < argc; i++) {
        pv_diags d = {0};
        pv_spec *spec = NULL;
        if (pv_spec_load_file(argv[i], &spec, &d) != PV_OK) {
            pv_cli_print_diags(stdout, &d, "error");
            errors += d.n;
            broken++;
        } else if (!syntax_only) {
            lint_checklist(spec, &d);
            pv_cli_print_diags(stdout, &d, "warning");
            findings += d.n;
        }
        pv_diags_clear(&d);
        pv_spec_free(spec);
    }
    int files = argc - first;
    if (broken)
        fprintf(stderr,
                "%zu of %d spec%s did not load (%zu error%s)\n",
                broken,
                files,
                files == 1 ? "" : "s",
                errors,
                errors == 1 ? "" : "s");
    else if (findings)
        fprintf(stderr,
                "%d spec%s loaded; %zu finding%s\n",
                files,
                files == 1 ? "" : "s",
                findings,
                findings == 1 ? "" : "s");
    else
        fprintf(stderr, "%d spec%s clean\n", files, files == 1 ? "" : "s");
    return broken ? PV_EXIT_USAGE : findings ? PV_EXIT_FINDINGS : PV_EXIT_OK;
}
