/*
 * bench_engine.c - in-process verification time of planverify's engine, on
 * generated realistic plans (bench/support/plangen.h), along four axes, and
 * the price of path-level checking against call-level checking.
 *
 *   bench_engine [options]
 *     --specs DIR        the bundled specs (default: specs)
 *     --rounds R         rounds over every case (default 5)
 *     --round-ms MS      time per case per round, in ms (default 40)
 *     --max-steps N      leave out plans longer than N steps (default 500)
 *     --only LIST        sections, comma-separated: length, unknowns,
 *                        invariants, state, examples, pathcall, threads
 *                        (default all)
 *     --thread-ms MS     time per thread count per round (default 500)
 *     --plan FILE        one more plan file for the examples section (its
 *                        spec: one of the bundled three); may be repeated
 *     --json FILE        write the results as JSON (default: stdout)
 *     --write-plans DIR  write the 10-step plans of each domain, with 3
 *                        unknowns and concrete, as plan files, and exit
 *     --print-plan DOMAIN STEPS UNKNOWNS [concrete]
 *     --print-spec STATE INVARIANTS
 *                        print a generated plan or spec and exit
 *
 * Sections (every case is one plan, verified again and again):
 *   length      steps 1..500 per domain; no unknowns with the default
 *               options (the concrete fast path) and with no_fast_path (Z3),
 *               3 and 10 unknowns
 *   unknowns    refunds, 50 steps, 0..30 unknowns
 *   invariants  a generated support spec with 1..100 invariants, 10 steps
 *   state       the same with 3..100 state variables, 10 invariants
 *   examples    the bundled example plans (specs/examples) and --plan files
 *   threads     throughput of the refunds 10-step plan with 3 unknowns with 1
 *               and 2 threads in one process, each with its own engine (as
 *               the server's workers have), for --thread-ms per round; the
 *               same plan with every question to Z3, and a 50-step plan
 *               with 10 unknowns with every question to Z3
 *   pathcall    each domain at 10 and 50 steps: the plan with 3 unknowns
 *               verified by the engine, against its concrete twin checked
 *               call by call (pv_concrete_verify with call_level_only),
 *               with state rules, and by the engine with and without the
 *               fast path
 *
 * Rounds are interleaved: each round runs every case for about round-ms
 * (at least 3 verifications), so that a burst of load on a shared machine
 * touches one round of many cases rather than every round of one. Each
 * case records every verification time, and per round its median, p90 and
 * p99; bench/report.py turns them into figures, growth exponents and
 * comparisons. The bundled specs are verified with their limits raised
 * (max_steps 100000, solver_timeout_ms 60000) so long plans are analysed
 * whole. Progress goes to stderr. Nothing is asserted.
 */
#define _POSIX_C_SOURCE 200809L
#include "plangen.h"
#include "pv_concrete.h"
#include "pv_engine.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum run_how {
    RUN_ENGINE,        /* pv_engine_verify, default options */
    RUN_ENGINE_NOFAST, /* pv_engine_verify, no_fast_path */
    RUN_ENGINE_SOLVER, /* pv_engine_verify, no_quick: every question to Z3 */
    RUN_CONCRETE,      /* pv_concrete_verify, state rules on */
    RUN_CALL_LEVEL     /* pv_concrete_verify, call_level_only */
} run_how;

static const char *const how_names[] = {
    "engine", "engine_no_fast_path", "engine_solver_only", "concrete_path", "concrete_call_level"};

typedef struct bcase {
    char id[128];
    const char *section;
    char domain[32];
    char series[48];
    double x; /* the section's axis value */
    size_t steps, n_inv, n_state;
    int unknowns;
    run_how how;
    const pv_spec *spec;
    pv_plan *plan;
    pv_doc *doc;
    /* results */
    int reps; /* per round */
    double *all;
    size_t n_all;
    double *r_med, *r_p90, *r_p99;
    char decision[16];
    size_t findings;
    bool fast_path, solver_unknown;
} bcase;

typedef struct cases {
    bcase *v;
    size_t n, cap;
} cases;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0..100) of n sorted values. */
static double pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Median of n values (sorts a copy). */
static double median_of(const double *v, size_t n)
{
    double *c = pv_xmalloc((n + 1) * sizeof(double));
    memcpy(c, v, n * sizeof(double));
    qsort(c, n, sizeof(double), cmp_double);
    double m = n == 0 ? 0 : n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

/*
 * Verify the case's plan once its way; the verdict goes to *out (caller
 * frees) or is freed when out is NULL. Exits on an error: every generated
 * plan is valid input.
 */
static void run_once(pv_engine *eng, bcase *c, pv_verdict **out)
{
    pv_diags d = {0};
    pv_verdict *v = NULL;
    int rc;
    if (c->how == RUN_ENGINE || c->how == RUN_ENGINE_NOFAST || c->how == RUN_ENGINE_SOLVER) {
        pv_verify_opts opts = {0};
        opts.no_fast_path = c->how == RUN_ENGINE_NOFAST;
        opts.no_quick = c->how == RUN_ENGINE_SOLVER;
        rc = pv_engine_verify(eng, c->spec, c->plan, &opts, &v, &d);
    } else
        rc = pv_concrete_verify(c->spec, c->plan, c->how == RUN_CALL_LEVEL, &v, &d);
    if (rc != PV_OK) {
        fprintf(stderr, "bench_engine: %s: verification failed (%d)\n", c->id, rc);
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  %s\n", d.items[i].msg);
        exit(2);
    }
    pv_diags_clear(&d);
    if (out)
        *out = v;
    else
        pv_verdict_free(v);
}

/* ------------------------------------------------------------------ */
/* building the cases                                                  */

typedef struct world {
    const char *specs_dir;
    pv_spec *domain_spec[PG__COUNT];
    pv_spec **owned; /* generated specs, freed at the end */
    size_t n_owned;
} world;

/* Append a case with no plan yet; its id is section/domain/series/x. */
static bcase *add_case(cases *cs, const char *section, const char *domain, const char *series,
                       double x, run_how how)
{
    pv_grow(&cs->v, &cs->cap, cs->n + 1, sizeof(bcase));
    bcase *c = &cs->v[cs->n++];
    memset(c, 0, sizeof *c);
    c->section = section;
    snprintf(c->domain, sizeof c->domain, "%s", domain);
    snprintf(c->series, sizeof c->series, "%s", series);
    c->x = x;
    c->how = how;
    snprintf(c->id, sizeof c->id, "%s/%s/%s/%g", section, domain, series, x);
    return c;
}

/* Attach a generated plan to c; exits when it does not load. */
static void attach_plan(bcase *c, const pv_spec *spec, pg_domain d, const char *spec_id,
                        size_t steps, int unknowns, bool concrete)
{
    int placed = 0;
    char *text = pg_plan_text(d, spec_id, steps, unknowns, concrete, &placed);
    c->spec = spec;
    c->steps = steps;
    c->unknowns = concrete ? 0 : placed;
    c->n_inv = spec->n_invariants;
    c->n_state = spec->n_state;
    if (pg_load_plan(spec, c->id, text, &c->plan, &c->doc) != PV_OK)
        exit(2);
    free(text);
}

static const size_t lengths[] = {1, 5, 10, 20, 50, 100, 200, 500};
#define N_LENGTHS (sizeof lengths / sizeof lengths[0])

/* Every domain at every length up to max_steps: no unknowns (default and
 * no_fast_path), 3 and 10 unknowns. */
static void section_length(world *w, cases *cs, size_t max_steps)
{
    for (int d = 0; d < PG__COUNT; d++) {
        const pv_spec *spec = w->domain_spec[d];
        const char *dn = pg_domain_name((pg_domain)d);
        for (size_t l = 0; l < N_LENGTHS; l++) {
            size_t n = lengths[l];
            if (n > max_steps)
                continue;
            bcase *c = add_case(cs, "length", dn, "u0-default", (double)n, RUN_ENGINE);
            attach_plan(c, spec, (pg_domain)d, spec->id, n, 0, false);
            c = add_case(cs, "length", dn, "u0-no_fast_path", (double)n, RUN_ENGINE_NOFAST);
            attach_plan(c, spec, (pg_domain)d, spec->id, n, 0, false);
            c = add_case(cs, "length", dn, "u3", (double)n, RUN_ENGINE);
            attach_plan(c, spec, (pg_domain)d, spec->id, n, 3, false);
            c = add_case(cs, "length", dn, "u10", (double)n, RUN_ENGINE);
            attach_plan(c, spec, (pg_domain)d, spec->id, n, 10, false);
        }
    }
}

/* Refunds, 50 steps, 0 to 30 unknowns, and 0 through Z3. */
static void section_unknowns(world *w, cases *cs)
{
    static const int counts[] = {0, 1, 3, 10, 30};
    const pv_spec *spec = w->domain_spec[PG_REFUNDS];
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        bcase *c = add_case(cs, "unknowns", "refunds", "L50", counts[k], RUN_ENGINE);
        attach_plan(c, spec, PG_REFUNDS, spec->id, 50, counts[k], false);
        if (c->unknowns != counts[k])
            fprintf(stderr, "bench_engine: %s: placed %d unknowns\n", c->id, c->unknowns);
    }
    bcase *c = add_case(cs, "unknowns", "refunds", "L50-no_fast_path", 0, RUN_ENGINE_NOFAST);
    attach_plan(c, spec, PG_REFUNDS, spec->id, 50, 0, false);
}

/* A generated support spec with n_state variables and n_inv invariants. */
static const pv_spec *gen_spec(world *w, size_t n_state, size_t n_inv)
{
    char id[64];
    snprintf(id, sizeof id, "support-gen-s%zu-i%zu", n_state, n_inv);
    for (size_t i = 0; i < w->n_owned; i++)
        if (strcmp(w->owned[i]->id, id) == 0)
            return w->owned[i];
    char *text = pg_spec_text(id, n_state, n_inv);
    pv_spec *spec;
    if (pg_load_spec(id, text, &spec) != PV_OK)
        exit(2);
    free(text);
    w->owned = pv_xrealloc(w->owned, (w->n_owned + 1) * sizeof(pv_spec *));
    w->owned[w->n_owned++] = spec;
    return spec;
}

/* Generated specs: 1 to 100 invariants (3 state variables), or 3 to 100
 * state variables (10 invariants); refunds plans of 10 and 50 steps. */
static void section_spec_size(world *w, cases *cs, bool invariants)
{
    static const size_t inv_counts[] = {1, 10, 50, 100};
    static const size_t state_counts[] = {3, 10, 30, 100};
    const size_t *xs = invariants ? inv_counts : state_counts;
    const char *section = invariants ? "invariants" : "state";
    for (size_t k = 0; k < 4; k++) {
        const pv_spec *spec = invariants ? gen_spec(w, 3, xs[k]) : gen_spec(w, xs[k], 10);
        bcase *c = add_case(cs, section, "refunds-gen", "L10-u3", (double)xs[k], RUN_ENGINE);
        attach_plan(c, spec, PG_REFUNDS, spec->id, 10, 3, false);
        c = add_case(
            cs, section, "refunds-gen", "L10-u0-no_fast_path", (double)xs[k], RUN_ENGINE_NOFAST);
        attach_plan(c, spec, PG_REFUNDS, spec->id, 10, 0, false);
        c = add_case(cs, section, "refunds-gen", "L50-u3", (double)xs[k], RUN_ENGINE);
        attach_plan(c, spec, PG_REFUNDS, spec->id, 50, 3, false);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the plan file at path as an "examples" case named stem. */
static void add_plan_file(world *w, cases *cs, const char *path, const char *stem)
{
    pv_diags d = {0};
    pv_doc *doc;
    if (pv_doc_load_file(path, &doc, &d) != PV_OK) {
        fprintf(stderr, "bench_engine: %s does not load; left out\n", path);
        pv_diags_clear(&d);
        return;
    }
    const char *sid = pv_plan_doc_spec_id(doc);
    const pv_spec *spec = NULL;
    for (int k = 0; k < PG__COUNT; k++)
        if (sid && strcmp(w->domain_spec[k]->id, sid) == 0)
            spec = w->domain_spec[k];
    pv_plan *plan = NULL;
    if (!spec || pv_plan_from_node(spec, doc, doc->root, &plan, &d) != PV_OK) {
        fprintf(stderr, "bench_engine: %s: no bundled spec or bad plan; left out\n", path);
        pv_diags_clear(&d);
        pv_doc_free(doc);
        return;
    }
    bcase *c = add_case(cs, "examples", sid, stem, 0, RUN_ENGINE);
    snprintf(c->id, sizeof c->id, "examples/%s", stem);
    c->spec = spec;
    c->plan = plan;
    c->doc = doc;
    c->steps = plan->n_steps;
    c->n_inv = spec->n_invariants;
    c->n_state = spec->n_state;
    c->unknowns = -1; /* not counted for hand-written plans */
}

/* The file name of path without directory and extension. */
static void stem_of(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot ? (size_t)(dot - base) : strlen(base);
    snprintf(out, cap, "%.*s", (int)len, base);
}

/* The bundled example plans (specs/examples/\*.yaml, by name), then the
 * plan files given with --plan. */
static void section_examples(world *w, cases *cs, char **extra, size_t n_extra)
{
    char *dir = pv_xasprintf("%s/examples", w->specs_dir);
    DIR *dp = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) {
            names = pv_xrealloc(names, (n + 1) * sizeof(char *));
            names[n++] = pv_xstrdup(de->d_name);
        }
    }
    if (dp)
        closedir(dp);
    else
        fprintf(stderr, "bench_engine: no %s; bundled examples left out\n", dir);
    qsort(names, n, sizeof(char *), cmp_str);
    char stem[96];
    for (size_t i = 0; i < n; i++) {
        char *path = pv_xasprintf("%s/%s", dir, names[i]);
        stem_of(path, stem, sizeof stem);
        add_plan_file(w, cs, path, stem);
        free(path);
        free(names[i]);
    }
    free(names);
    free(dir);
    for (size_t i = 0; i < n_extra; i++) {
        stem_of(extra[i], stem, sizeof stem);
        add_plan_file(w, cs, extra[i], stem);
    }
}

/* Each domain at 10 and 50 steps: the concrete twin call by call, with
 * state rules, through the engine with and without the fast path, and the
 * plan with 3 unknowns through the engine. */
static void section_pathcall(world *w, cases *cs)
{
    static const size_t sizes[] = {10, 50};
    for (int d = 0; d < PG__COUNT; d++) {
        const pv_spec *spec = w->domain_spec[d];
        const char *dn = pg_domain_name((pg_domain)d);
        for (size_t k = 0; k < 2; k++) {
            size_t n = sizes[k];
            static const struct {
                const char *series;
                run_how how;
                bool concrete;
            } kinds[] = {
                {"call_level", RUN_CALL_LEVEL, true},
                {"concrete_path", RUN_CONCRETE, true},
                {"engine_concrete", RUN_ENGINE, true},
                {"engine_concrete_no_fast_path", RUN_ENGINE_NOFAST, true},
                {"engine_u3", RUN_ENGINE, false},
            };
            for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
                bcase *c = add_case(cs, "pathcall", dn, kinds[j].series, (double)n, kinds[j].how);
                attach_plan(c, spec, (pg_domain)d, spec->id, n, 3, kinds[j].concrete);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* running                                                             */

/* Warm up, and pick the repetitions per round from the second run. */
static void calibrate(pv_engine *eng, bcase *c, double round_ms)
{
    pv_verdict *v;
    run_once(eng, c, &v);
    snprintf(c->decision, sizeof c->decision, "%s", pv_action_name(v->decision));
    c->findings = v->n_findings;
    for (size_t i = 0; i < v->n_findings; i++)
        if (v->findings[i].kind == PV_K_SOLVER)
            c->solver_unknown = true;
    pv_verdict_free(v);
    pv_diags d = {0};
    pv_verdict *cv = NULL;
    c->fast_path =
        c->how == RUN_ENGINE && pv_concrete_verify(c->spec, c->plan, false, &cv, &d) == PV_OK;
    pv_verdict_free(cv);
    pv_diags_clear(&d);
    double t0 = now_us();
    run_once(eng, c, NULL);
    double est = now_us() - t0;
    double reps = round_ms * 1000.0 / (est > 1 ? est : 1);
    c->reps = reps < 3 ? 3 : reps > 2000 ? 2000 : (int)reps;
}

/* One round of case c: reps verifications; records the round's figures. */
static void run_round(pv_engine *eng, bcase *c, int round, double *buf)
{
    for (int k = 0; k < c->reps; k++) {
        double t0 = now_us();
        run_once(eng, c, NULL);
        buf[k] = now_us() - t0;
    }
    memcpy(c->all + c->n_all, buf, (size_t)c->reps * sizeof(double));
    c->n_all += (size_t)c->reps;
    qsort(buf, (size_t)c->reps, sizeof(double), cmp_double);
    c->r_med[round] = median_of(buf, (size_t)c->reps);
    c->r_p90[round] = pct(buf, (size_t)c->reps, 90);
    c->r_p99[round] = pct(buf, (size_t)c->reps, 99);
}

/* A JSON array of n values rounded to 0.01. */
static json_t *jarray(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real((double)(long long)(v[i] * 100 + 0.5) / 100));
    return a;
}

/* A case's description and figures as a JSON object (bench/report.py). */
static json_t *case_json(const bcase *c, int rounds)
{
    double *s = pv_xmalloc((c->n_all + 1) * sizeof(double));
    memcpy(s, c->all, c->n_all * sizeof(double));
    qsort(s, c->n_all, sizeof(double), cmp_double);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "section", json_string(c->section));
    json_object_set_new(o, "domain", json_string(c->domain));
    json_object_set_new(o, "series", json_string(c->series));
    json_object_set_new(o, "x", json_real(c->x));
    json_object_set_new(o, "how", json_string(how_names[c->how]));
    json_object_set_new(o, "spec", json_string(c->spec->id));
    json_object_set_new(o, "steps", json_integer((json_int_t)c->steps));
    json_object_set_new(o, "unknowns", json_integer(c->unknowns));
    json_object_set_new(o, "invariants", json_integer((json_int_t)c->n_inv));
    json_object_set_new(o, "state_vars", json_integer((json_int_t)c->n_state));
    json_object_set_new(o, "decision", json_string(c->decision));
    json_object_set_new(o, "findings", json_integer((json_int_t)c->findings));
    json_object_set_new(o, "fast_path", json_boolean(c->fast_path));
    json_object_set_new(o, "solver_unknown", json_boolean(c->solver_unknown));
    json_object_set_new(o, "reps_per_round", json_integer(c->reps));
    json_object_set_new(o, "n", json_integer((json_int_t)c->n_all));
    json_object_set_new(o, "median_us", json_real(median_of(s, c->n_all)));
    json_object_set_new(o, "p90_us", json_real(pct(s, c->n_all, 90)));
    json_object_set_new(o, "p99_us", json_real(pct(s, c->n_all, 99)));
    json_object_set_new(o, "max_us", json_real(c->n_all ? s[c->n_all - 1] : 0));
    json_object_set_new(o, "round_median_us", jarray(c->r_med, (size_t)rounds));
    json_object_set_new(o, "round_p90_us", jarray(c->r_p90, (size_t)rounds));
    json_object_set_new(o, "round_p99_us", jarray(c->r_p99, (size_t)rounds));
    free(s);
    return o;
}

/* ------------------------------------------------------------------ */
/* threads                                                             */

typedef struct tp_arg {
    pv_engine *eng;
    bcase *c;
    double until_us;
    long count;
} tp_arg;

/* Verify the case's plan until the deadline; count the verifications. */
static void *tp_worker(void *p)
{
    tp_arg *a = p;
    while (now_us() < a->until_us) {
        run_once(a->eng, a->c, NULL);
        a->count++;
    }
    return NULL;
}

/*
 * Verifications per second of case c with n threads at once, one engine
 * each (engs[0..n)), over ms milliseconds. Exits when a thread cannot be
 * started.
 */
static double throughput(pv_engine **engs, int n, bcase *c, double ms)
{
    tp_arg args[2];
    pthread_t th[2];
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        args[i] = (tp_arg){engs[i], c, t0 + ms * 1000, 0};
        if (pthread_create(&th[i], NULL, tp_worker, &args[i]) != 0) {
            fprintf(stderr, "bench_engine: cannot start a thread\n");
            exit(2);
        }
    }
    long total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += args[i].count;
    }
    return (double)total / ((now_us() - t0) / 1e6);
}

/*
 * Rounds of 1 then 2 threads on case c; returns {"throughput_1": [...],
 * "throughput_2": [...]} and prints the round medians under `label`.
 */
static json_t *threads_case(pv_engine **engs, bcase *c, const char *label, int rounds, double ms)
{
    double *t1 = pv_xcalloc((size_t)rounds, sizeof(double));
    double *t2 = pv_xcalloc((size_t)rounds, sizeof(double));
    throughput(engs, 2, c, 100); /* warm-up */
    for (int r = 0; r < rounds; r++) {
        t1[r] = throughput(engs, 1, c, ms);
        t2[r] = throughput(engs, 2, c, ms);
    }
    json_t *o = json_object();
    json_object_set_new(o, "how", json_string(how_names[c->how]));
    json_object_set_new(o, "throughput_1", jarray(t1, (size_t)rounds));
    json_object_set_new(o, "throughput_2", jarray(t2, (size_t)rounds));
    fprintf(stderr,
            "bench_engine: threads (%s): %.0f/s with 1, %.0f/s with 2 (round medians)\n",
            label,
            median_of(t1, (size_t)rounds),
            median_of(t2, (size_t)rounds));
    free(t1);
    free(t2);
    return o;
}

/*
 * The threads section: rounds of 1 then 2 threads on the refunds 10-step
 * plan with 3 unknowns, with the default options (the quick path settles
 * it) and with every question sent to Z3 (as --solver-only does, and as
 * plans the quick path cannot settle go); returns its JSON object. The
 * default figures stay at the top level, as earlier reports had them.
 */
static json_t *section_threads(world *w, int rounds, double ms)
{
    cases tmp = {0};
    bcase *c = add_case(&tmp, "threads", "refunds", "u3", 10, RUN_ENGINE);
    const pv_spec *spec = w->domain_spec[PG_REFUNDS];
    attach_plan(c, spec, PG_REFUNDS, spec->id, 10, 3, false);
    pv_engine *engs[2];
    for (int i = 0; i < 2; i++)
        if (pv_engine_new(&engs[i]) != PV_OK) {
            fprintf(stderr, "bench_engine: no Z3 engine\n");
            exit(2);
        }
    json_t *o = threads_case(engs, c, "default", rounds, ms);
    json_object_set_new(o, "plan", json_string(c->id));
    json_object_set_new(o, "ms", json_real(ms));
    c->how = RUN_ENGINE_SOLVER;
    json_object_set_new(o, "solver_only", threads_case(engs, c, "solver only", rounds, ms));
    /* A longer plan with more unknowns: more of each verification is Z3's
     * search, less is the set-up around it. */
    bcase *l = add_case(&tmp, "threads-long", "refunds", "u10", 50, RUN_ENGINE_SOLVER);
    attach_plan(l, spec, PG_REFUNDS, spec->id, 50, 10, false);
    json_t *lo = threads_case(engs, l, "solver only, 50 steps, 10 unknowns", rounds, ms);
    json_object_set_new(lo, "plan", json_string(l->id));
    json_object_set_new(o, "solver_only_long", lo);
    for (int i = 0; i < 2; i++)
        pv_engine_free(engs[i]);
    for (size_t i = 0; i < tmp.n; i++) {
        pv_plan_free(tmp.v[i].plan);
        pv_doc_free(tmp.v[i].doc);
    }
    free(tmp.v);
    return o;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

static const char usage[] =
    "usage: bench_engine [--specs DIR] [--rounds R] [--round-ms MS] [--thread-ms MS]\n"
    "                    [--max-steps N]\n"
    "                    [--only LIST] [--plan FILE]... [--json FILE]\n"
    "       bench_engine --write-plans DIR\n"
    "       bench_engine --print-plan DOMAIN STEPS UNKNOWNS [concrete]\n"
    "       bench_engine --print-spec STATE INVARIANTS\n";

/* Is `name` in the comma-separated list (NULL: everything)? */
static bool wanted(const char *list, const char *name)
{
    if (!list)
        return true;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

/* Write the 10-step plans of each domain (3 unknowns, and concrete) to dir. */
static int write_plans(world *w, const char *dir)
{
    for (int d = 0; d < PG__COUNT; d++) {
        for (int concrete = 0; concrete < 2; concrete++) {
            char *text = pg_plan_text((pg_domain)d, w->domain_spec[d]->id, 10, 3, concrete, NULL);
            char *path = pv_xasprintf("%s/%s-10-%s.yaml",
                                      dir,
                                      pg_domain_name((pg_domain)d),
                                      concrete ? "concrete" : "u3");
            FILE *f = fopen(path, "w");
            if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "bench_engine: cannot write %s\n", path);
                return 2;
            }
            printf("%s\n", path);
            free(path);
            free(text);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    world w = {0};
    w.specs_dir = "specs";
    int rounds = 5;
    double round_ms = 40, thread_ms = 500;
    size_t max_steps = 500;
    const char *only = NULL, *json_path = NULL, *plans_dir = NULL;
    char **extra = NULL;
    size_t n_extra = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--print-plan") == 0 && i + 3 < argc) {
            int dom = pg_domain_parse(argv[i + 1]);
            if (dom < 0) {
                fputs(usage, stderr);
                return 2;
            }
            bool concrete = i + 4 < argc && strcmp(argv[i + 4], "concrete") == 0;
            int placed;
            char *text = pg_plan_text((pg_domain)dom,
                                      pg_domain_spec_id((pg_domain)dom),
                                      (size_t)atol(argv[i + 2]),
                                      atoi(argv[i + 3]),
                                      concrete,
                                      &placed);
            printf("# %d unknowns placed\n%s", placed, text);
            free(text);
            return 0;
        }
        if (strcmp(a, "--print-spec") == 0 && i + 2 < argc) {
            char *text =
                pg_spec_text("support-gen", (size_t)atol(argv[i + 1]), (size_t)atol(argv[i + 2]));
            fputs(text, stdout);
            free(text);
            return 0;
        }
        if (!v) {
            fputs(usage, stderr);
            return 2;
        }
        if (strcmp(a, "--specs") == 0)
            w.specs_dir = v;
        else if (strcmp(a, "--rounds") == 0)
            rounds = atoi(v);
        else if (strcmp(a, "--round-ms") == 0)
            round_ms = atof(v);
        else if (strcmp(a, "--thread-ms") == 0)
            thread_ms = atof(v);
        else if (strcmp(a, "--max-steps") == 0)
            max_steps = (size_t)atol(v);
        else if (strcmp(a, "--only") == 0)
            only = v;
        else if (strcmp(a, "--json") == 0)
            json_path = v;
        else if (strcmp(a, "--write-plans") == 0)
            plans_dir = v;
        else if (strcmp(a, "--plan") == 0) {
            extra = pv_xrealloc(extra, (n_extra + 1) * sizeof(char *));
            extra[n_extra++] = (char *)v;
        } else {
            fputs(usage, stderr);
            return 2;
        }
        i++;
    }
    if (rounds < 1 || round_ms <= 0 || thread_ms <= 0) {
        fputs(usage, stderr);
        return 2;
    }
    for (int d = 0; d < PG__COUNT; d++) {
        char *path = pv_xasprintf("%s/%s", w.specs_dir, pg_domain_spec_file((pg_domain)d));
        if (pg_load_spec(path, NULL, &w.domain_spec[d]) != PV_OK) {
            fprintf(stderr,
                    "bench_engine: %s does not load (run from the source tree or pass "
                    "--specs)\n",
                    path);
            return 2;
        }
        free(path);
        /* Long plans are the point here, not the specs' budgets. */
        w.domain_spec[d]->max_steps = 100000;
        w.domain_spec[d]->solver_timeout_ms = 60000;
    }
    if (plans_dir)
        return write_plans(&w, plans_dir);

    cases cs = {0};
    if (wanted(only, "length"))
        section_length(&w, &cs, max_steps);
    if (wanted(only, "unknowns"))
        section_unknowns(&w, &cs);
    if (wanted(only, "invariants"))
        section_spec_size(&w, &cs, true);
    if (wanted(only, "state"))
        section_spec_size(&w, &cs, false);
    if (wanted(only, "examples"))
        section_examples(&w, &cs, extra, n_extra);
    if (wanted(only, "pathcall"))
        section_pathcall(&w, &cs);

    pv_engine *eng;
    if (pv_engine_new(&eng) != PV_OK) {
        fprintf(stderr, "bench_engine: no Z3 engine\n");
        return 2;
    }
    double t_start = now_us();
    int max_reps = 0;
    for (size_t i = 0; i < cs.n; i++) {
        bcase *c = &cs.v[i];
        calibrate(eng, c, round_ms);
        c->all = pv_xmalloc((size_t)c->reps * (size_t)rounds * sizeof(double));
        c->r_med = pv_xcalloc((size_t)rounds, sizeof(double));
        c->r_p90 = pv_xcalloc((size_t)rounds, sizeof(double));
        c->r_p99 = pv_xcalloc((size_t)rounds, sizeof(double));
        if (c->reps > max_reps)
            max_reps = c->reps;
    }
    fprintf(stderr,
            "bench_engine: %zu cases calibrated in %.1f s; %d rounds\n",
            cs.n,
            (now_us() - t_start) / 1e6,
            rounds);
    double *buf = pv_xmalloc((size_t)max_reps * sizeof(double));
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (size_t i = 0; i < cs.n; i++)
            run_round(eng, &cs.v[i], r, buf);
        fprintf(
            stderr, "bench_engine: round %d/%d in %.1f s\n", r + 1, rounds, (now_us() - t0) / 1e6);
    }
    free(buf);

    json_t *root = json_object();
    json_object_set_new(root, "rounds", json_integer(rounds));
    json_object_set_new(root, "round_ms", json_real(round_ms));
    json_object_set_new(root, "seconds", json_real((now_us() - t_start) / 1e6));
    json_t *arr = json_array();
    for (size_t i = 0; i < cs.n; i++)
        json_array_append_new(arr, case_json(&cs.v[i], rounds));
    json_object_set_new(root, "cases", arr);
    if (wanted(only, "threads"))
        json_object_set_new(root, "threads", section_threads(&w, rounds, thread_ms));
    int rc = json_path ? json_dump_file(root, json_path, JSON_INDENT(1))
                       : json_dumpf(root, stdout, JSON_INDENT(1));
    if (!json_path)
        putchar('\n');
    json_decref(root);

    for (size_t i = 0; i < cs.n; i++) {
        bcase *c = &cs.v[i];
        pv_plan_free(c->plan);
        pv_doc_free(c->doc);
        free(c->all);
        free(c->r_med);
        free(c->r_p90);
        free(c->r_p99);
    }
    free(cs.v);
    free(extra);
    pv_engine_free(eng);
    for (size_t i = 0; i < w.n_owned; i++)
        pv_spec_free(w.owned[i]);
    free(w.owned);
    for (int d = 0; d < PG__COUNT; d++)
        pv_spec_free(w.domain_spec[d]);
    return rc == 0 ? 0 : 2;
}
