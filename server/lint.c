/*
 * lint.c - `planverify lint SPEC...`: load each spec and report every load
 * error; unless --syntax-only, also the review checklist of contract
 * section 7: what can be read off the spec, and what the solver decides
 * about each tool called once with every value unknown.
 */
#include "cli.h"
#include "pv_doc.h"
#include "pv_engine.h"
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

/* A plan of one call to tool t with every argument, result and initial
 * state variable unknown: the widest single call the spec allows. */
static pv_plan *one_call(const pv_spec *s, int t)
{
    pv_node *root = pv_node_new_map();
    pv_node *init = pv_node_new_map();
    for (size_t v = 0; v < s->n_state; v++) {
        pv_node *u = pv_node_new_map();
        pv_node_map_add(u, "unknown", pv_node_new_bool(true));
        pv_node_map_add(init, s->state[v].name, u);
    }
    pv_node_map_add(root, "initial_state", init);
    pv_node *step = pv_node_new_map();
    const pv_tool *tool = &s->tools[t];
    pv_node_map_add(step, "tool", pv_node_new_str(tool->name, strlen(tool->name)));
    pv_node *args = pv_node_new_map();
    for (size_t a = 0; a < tool->n_args; a++) {
        pv_node *u = pv_node_new_map();
        pv_node_map_add(u, "unknown", pv_node_new_bool(true));
        pv_node_map_add(args, tool->args[a].name, u);
    }
    pv_node_map_add(step, "args", args);
    pv_node *steps = pv_node_new_seq();
    pv_node_seq_add(steps, step);
    pv_node_map_add(root, "steps", steps);
    pv_doc *doc = pv_doc_from_root(s->file, root);
    pv_diags d = {0};
    pv_plan *plan = NULL;
    pv_plan_from_node(s, doc, doc->root, &plan, &d);
    pv_diags_clear(&d);
    pv_doc_free(doc);
    return plan;
}

static const pv_finding *finding_of(const pv_verdict *v, const char *rule)
{
    for (size_t i = 0; v && i < v->n_findings; i++)
        if (strcmp(v->findings[i].rule, rule) == 0)
            return &v->findings[i];
    return NULL;
}

/*
 * The checklist items the solver decides, from one call of each tool with
 * everything unknown (arguments within their schema, state satisfying the
 * `always` rules): an `ensures` no result satisfies; a `requires` no call
 * satisfies; a call rule that fails on every call, or that no call can make
 * fail (vacuous); an exclusion whose `when` no call satisfies; `always`
 * rules that cannot hold together. Conditions that read earlier steps
 * (earlier, count) are left out, since one call has no earlier steps.
 */
static void lint_solver(const pv_spec *s, pv_engine *eng, pv_diags *out)
{
    bool *can_fail = pv_xcalloc(s->n_invariants + 1, sizeof(bool));
    bool *fails_always = pv_xcalloc(s->n_invariants + 1, sizeof(bool));
    bool *checked = pv_xcalloc(s->n_invariants + 1, sizeof(bool));
    for (size_t r = 0; r < s->n_invariants; r++)
        fails_always[r] = true;
    bool always_reported = false;
    for (size_t t = 0; t < s->n_tools; t++) {
        const pv_tool *tool = &s->tools[t];
        pv_plan *plan = one_call(s, (int)t);
        if (!plan)
            continue;
        pv_diags d = {0};
        pv_verdict *v = NULL;
        int rc = pv_engine_verify(eng, s, plan, NULL, &v, &d);
        if (rc == PV_EINPUT) {
            bool ensures = d.n > 0 && strstr(d.items[0].msg, "ensures of tool");
            if (ensures)
                pv_diags_add(out,
                             s->file,
                             tool->ensures_pos,
                             "ensures of tool '%s' can never hold: no result satisfies it "
                             "[contradictory-ensures]",
                             tool->name);
            else if (!always_reported) {
                pv_diags_add(out,
                             s->file,
                             (pv_pos){0, 0},
                             "the always rules cannot hold together over the state's types and "
                             "bounds [contradictory-always]");
                always_reported = true;
            }
        } else if (rc == PV_OK) {
            const pv_finding *pre = finding_of(v, "precondition");
            if (tool->requires && !pv_expr_uses_path(tool->requires) && pre && pre->certain)
                pv_diags_add(out,
                             s->file,
                             tool->requires_pos,
                             "requires of tool '%s' can never hold: the tool can never be called "
                             "[contradictory-requires]",
                             tool->name);
            for (size_t r = 0; r < s->n_invariants; r++) {
                const pv_invariant *inv = &s->invariants[r];
                if (inv->kind != PV_RULE_CALL || pv_expr_uses_path(inv->cond) ||
                    !tool_in_list(inv->on_tools, inv->n_on, (int)t))
                    continue;
                const pv_finding *f = finding_of(v, inv->id);
                checked[r] = true;
                if (f)
                    can_fail[r] = true;
                if (!f || !f->certain)
                    fails_always[r] = false;
            }
            for (size_t x = 0; x < s->n_excludes; x++) {
                const pv_exclusion *ex = &s->excludes[x];
                if (!ex->when || pv_expr_uses_path(ex->when) ||
                    !tool_in_list(ex->tool_index, ex->n_tools, (int)t))
                    continue;
                if (!finding_of(v, ex->id))
                    pv_diags_add(out,
                                 s->file,
                                 ex->pos,
                                 "exclusion '%s' can never apply to a call of '%s': its when is "
                                 "never true [never-fires]",
                                 ex->id,
                                 tool->name);
            }
        }
        pv_diags_clear(&d);
        pv_verdict_free(v);
        pv_plan_free(plan);
    }
    for (size_t r = 0; r < s->n_invariants; r++) {
        const pv_invariant *inv = &s->invariants[r];
        if (!checked[r])
            continue;
        if (!can_fail[r])
            pv_diags_add(out,
                         s->file,
                         inv->cond_pos,
                         "invariant '%s' can never fail: no call breaks it, so it checks "
                         "nothing [vacuous]",
                         inv->id);
        else if (fails_always[r])
            pv_diags_add(out,
                         s->file,
                         inv->cond_pos,
                         "invariant '%s' fails on every call it guards [always-fails]",
                         inv->id);
    }
    free(can_fail);
    free(fails_always);
    free(checked);
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
    pv_engine *eng = NULL;
    for (int i = first; i < argc; i++) {
        pv_diags d = {0};
        pv_spec *spec = NULL;
        if (pv_spec_load_file(argv[i], &spec, &d) != PV_OK) {
            pv_cli_print_diags(stdout, &d, "error");
            errors += d.n;
            broken++;
        } else if (!syntax_only) {
            lint_checklist(spec, &d);
            if (!eng && pv_engine_new(&eng) != PV_OK) {
                fprintf(stderr, "planverify lint: cannot create the Z3 solver context\n");
                pv_spec_free(spec);
                return PV_EXIT_USAGE;
            }
            lint_solver(spec, eng, &d);
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
    pv_engine_free(eng);
    return broken ? PV_EXIT_USAGE : findings ? PV_EXIT_FINDINGS : PV_EXIT_OK;
}
