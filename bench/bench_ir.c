/*
 * bench_ir.c - a small, fixed workload for instruction counts under
 * callgrind (bench/run_callgrind.sh runs it), which are repeatable on a
 * noisy machine where wall-clock times are not.
 *
 *   bench_ir [--specs DIR] [--reps N] CASE
 *   bench_ir [--specs DIR] [--reps N] --plan FILE
 *
 * CASE is DOMAIN-STEPS-uUNKNOWNS, optionally followed by -nofast (the
 * engine's no_fast_path option), -solver (no_quick: every question to Z3)
 * or -call (pv_concrete_verify with call_level_only, on the plan's
 * concrete twin), e.g. refunds-10-u3, refunds-10-u0-nofast,
 * refunds-10-u3-solver, database-50-u3, refunds-10-u3-call; DOMAIN is
 * refunds, database or email (bench/support/plangen.h). --plan verifies a
 * plan file against the bundled spec it names.
 *
 * Everything is set up first (specs, engine, the plan's text) and the plan
 * is verified once as a warm-up; then bench_ir_measure loads the plan from
 * its text and verifies it N times (default 10). Run under
 *   valgrind --tool=callgrind --toggle-collect=bench_ir_measure
 * only that function is counted: Ir / N is the cost of loading and
 * verifying the plan once, and pv_engine_verify's inclusive cost is the
 * verification alone. Prints one line describing the verdict.
 */
#define _POSIX_C_SOURCE 200809L
#include "plangen.h"
#include "pv_concrete.h"
#include "pv_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct work {
    pv_engine *eng;
    const pv_spec *spec;
    const char *text;
    pv_verify_opts opts;
    bool call_level;
} work;

/* Load the plan from its text and verify it, n times; returns the last
 * verdict. */
static pv_verdict *load_and_verify(const work *w, int n)
{
    pv_verdict *last = NULL;
    for (int i = 0; i < n; i++) {
        pv_plan *plan;
        pv_doc *doc;
        if (pg_load_plan(w->spec, "bench_ir", w->text, &plan, &doc) != PV_OK)
            exit(2);
        pv_diags d = {0};
        pv_verdict *v = NULL;
        int rc = w->call_level ? pv_concrete_verify(w->spec, plan, true, &v, &d)
                               : pv_engine_verify(w->eng, w->spec, plan, &w->opts, &v, &d);
        if (rc != PV_OK) {
            fprintf(stderr, "bench_ir: verification failed (%d)\n", rc);
            exit(2);
        }
        pv_diags_clear(&d);
        pv_plan_free(plan);
        pv_doc_free(doc);
        pv_verdict_free(last);
        last = v;
    }
    return last;
}

/*
 * The measured calls: load_and_verify under a name of its own, not inlined
 * and not static, so that callgrind can toggle its collection on it (the
 * warm-up calls load_and_verify directly and is not counted).
 */
__attribute__((noinline)) pv_verdict *bench_ir_measure(const work *w, int n);

pv_verdict *bench_ir_measure(const work *w, int n)
{
    return load_and_verify(w, n);
}

/* Parse "DOMAIN-STEPS-uK[-nofast|-solver|-call]". */
static bool parse_case(const char *s, pg_domain *d, size_t *steps, int *unknowns, bool *nofast,
                       bool *solver, bool *call)
{
    char dom[32];
    unsigned long n;
    int u, used = 0;
    if (sscanf(s, "%31[a-z]-%lu-u%d%n", dom, &n, &u, &used) != 3 || n < 1 || u < 0)
        return false;
    int k = pg_domain_parse(dom);
    if (k < 0)
        return false;
    const char *rest = s + used;
    *nofast = strcmp(rest, "-nofast") == 0;
    *solver = strcmp(rest, "-solver") == 0;
    *call = strcmp(rest, "-call") == 0;
    if (*rest && !*nofast && !*solver && !*call)
        return false;
    *d = (pg_domain)k;
    *steps = n;
    *unknowns = u;
    return true;
}

static const char usage[] = "usage: bench_ir [--specs DIR] [--reps N] CASE | --plan FILE\n"
                            "  CASE: DOMAIN-STEPS-uUNKNOWNS[-nofast|-solver|-call], e.g. "
                            "refunds-10-u3\n";

int main(int argc, char **argv)
{
    const char *specs_dir = "specs", *case_name = NULL, *plan_file = NULL;
    int reps = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--specs") == 0 && i + 1 < argc)
            specs_dir = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--plan") == 0 && i + 1 < argc)
            plan_file = argv[++i];
        else if (argv[i][0] != '-' && !case_name)
            case_name = argv[i];
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if ((!case_name) == (!plan_file) || reps < 1) {
        fputs(usage, stderr);
        return 2;
    }
    work w = {0};
    char *text = NULL;
    pg_domain dom = PG_REFUNDS;
    if (plan_file) {
        pv_diags d = {0};
        size_t len;
        if (pv_read_file(plan_file, 1 << 22, &text, &len, &d) != PV_OK) {
            fprintf(stderr, "bench_ir: cannot read %s\n", plan_file);
            return 2;
        }
        pv_doc *doc;
        if (pv_doc_parse(plan_file, text, len, &doc, &d) != PV_OK) {
            fprintf(stderr, "bench_ir: %s is not YAML\n", plan_file);
            return 2;
        }
        const char *sid = pv_plan_doc_spec_id(doc);
        int found = -1;
        for (int k = 0; k < PG__COUNT; k++)
            if (sid && strcmp(sid, pg_domain_spec_id((pg_domain)k)) == 0)
                found = k;
        pv_doc_free(doc);
        if (found < 0) {
            fprintf(stderr, "bench_ir: %s names no bundled spec\n", plan_file);
            return 2;
        }
        dom = (pg_domain)found;
    } else {
        size_t steps;
        int unknowns;
        bool nofast, solver, call;
        if (!parse_case(case_name, &dom, &steps, &unknowns, &nofast, &solver, &call)) {
            fputs(usage, stderr);
            return 2;
        }
        w.opts.no_fast_path = nofast;
        w.opts.no_quick = solver;
        w.call_level = call;
        text = pg_plan_text(dom, pg_domain_spec_id(dom), steps, unknowns, call, NULL);
    }
    char *path = pv_xasprintf("%s/%s", specs_dir, pg_domain_spec_file(dom));
    pv_spec *spec;
    if (pg_load_spec(path, NULL, &spec) != PV_OK)
        return 2;
    free(path);
    spec->max_steps = 100000;
    spec->solver_timeout_ms = 60000;
    w.spec = spec;
    w.text = text;
    if (pv_engine_new(&w.eng) != PV_OK) {
        fprintf(stderr, "bench_ir: no Z3 engine\n");
        return 2;
    }
    pv_verdict_free(load_and_verify(&w, 1)); /* warm-up, not counted */
    pv_verdict *v = bench_ir_measure(&w, reps);
    printf("bench_ir: %s x %d: %s, %zu finding%s\n",
           plan_file ? plan_file : case_name,
           reps,
           pv_action_name(v->decision),
           v->n_findings,
           v->n_findings == 1 ? "" : "s");
    pv_verdict_free(v);
    pv_engine_free(w.eng);
    pv_spec_free(spec);
    free(text);
    return 0;
}
