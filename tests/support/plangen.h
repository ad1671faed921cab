/*
 * plangen.h - random plans for the randomised C tests (test_differential.c,
 * test_witness.c and test_quick.c): a seeded PRNG, a growable text buffer,
 * YAML quoting, pools of values harvested from a spec's literals, the plan
 * generator, the set of specs they run over (every bundled spec plus a
 * synthetic one), and the seeded runs of plans over that set (their seed
 * and size from the environment, each plan's origin, timing and counts).
 *
 * Everything here reports allocation failures and broken invariants through
 * cmocka assertions, so it may only be called from inside a cmocka test,
 * setup or teardown. A seed means the same plan on every platform: the
 * tests print seeds so that a failure can be reproduced, and any change to
 * what the generator draws, or in which order, changes every plan.
 */
#ifndef PVT_PLANGEN_H
#define PVT_PLANGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pv_common.h"
#include "pv_plan.h"
#include "pv_spec.h"

/* How many specs a pvt_spec_set holds, the synthetic spec included. */
#define PVT_MAX_SPECS 32

/* ------------------------------------------------------------------------------------------ */
/* PRNG and small helpers                                                                     */

/* xorshift64* state; s must not be 0 (pvt_seed_mix never returns 0). */
typedef struct pvt_rng {
    uint64_t s;
} pvt_rng;

/* splitmix64 of x, never 0: a well-spread PRNG state from (seed, plan number). */
uint64_t pvt_seed_mix(uint64_t x);

/* The integer in the environment variable `name`, or dflt when unset, empty or malformed. */
uint64_t pvt_env_u64(const char *name, uint64_t dflt);

/* Seconds on the monotonic clock, for timing a run. */
double pvt_now_s(void);

/* $PV_SOURCE_DIR, or "." when it is unset or empty. */
const char *pvt_source_dir(void);

/* Print every diagnostic in d to stderr, each prefixed by `what`. */
void pvt_print_diags(const char *what, const pv_diags *d);

/* ------------------------------------------------------------------------------------------ */
/* text                                                                                       */

/* A growable, always NUL-terminated text buffer; {0} is empty. p is owned
 * by the buffer's user, who frees it. */
typedef struct pvt_sbuf {
    char *p;
    size_t len, cap;
} pvt_sbuf;

/* Append n bytes of s (which may contain NUL bytes). */
void pvt_sbuf_put(pvt_sbuf *b, const char *s, size_t n);

/* Append the NUL-terminated string s. */
void pvt_sbuf_puts(pvt_sbuf *b, const char *s);

/* Append printf-formatted text of fewer than 512 bytes. */
void pvt_sbuf_printf(pvt_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s[0..len) as a YAML double-quoted scalar that loads back as the same bytes. */
void pvt_yaml_quote(pvt_sbuf *b, const char *s, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* value pools                                                                                */

/* A string that may contain NUL bytes (the language's strings can). */
typedef struct pvt_blob {
    char *p;
    size_t len;
} pvt_blob;

/* A set of distinct blobs, in insertion order. */
typedef struct pvt_blobs {
    pvt_blob *v;
    size_t n, cap;
} pvt_blobs;

/* A set of distinct ints, in insertion order. */
typedef struct pvt_ints {
    int64_t *v;
    size_t n, cap;
} pvt_ints;

/* What the generator draws from for one spec. */
typedef struct pvt_pools {
    pvt_ints nums;        /* int literals, constants, bounds and inits of the spec */
    pvt_blobs exact;      /* string literals and string constants */
    pvt_blobs prefixes;   /* second argument of starts_with */
    pvt_blobs suffixes;   /* second argument of ends_with */
    pvt_blobs infixes;    /* second argument of contains */
    pvt_blobs excluded;   /* tool names listed in scope.excludes */
    pvt_blobs undeclared; /* tool names neither declared nor excluded */
} pvt_pools;

/* Fill p (overwritten, not freed) with the values spec's text suggests. */
void pvt_pools_harvest(pvt_pools *p, const pv_spec *spec);

/* Free what p holds; p must be harvested again before it is used. */
void pvt_pools_free(pvt_pools *p);

/* ------------------------------------------------------------------------------------------ */
/* the generator                                                                              */

/* A random plan for spec as YAML plan-file text, owned by the caller; with
 * `unknowns`, also unknown, absent and missing values. */
char *pvt_plan_generate(pvt_rng *r, const pv_spec *spec, const pvt_pools *p, bool unknowns,
                        const char *plan_id);

/* ------------------------------------------------------------------------------------------ */
/* the specs a run covers                                                                     */

/* One spec with its name (a file name, or "(synthetic)") and its pools. */
typedef struct pvt_spec_entry {
    char *name;
    pv_spec *spec;
    pvt_pools pools;
} pvt_spec_entry;

/* The specs of a run, in the order plans cycle through them (a seed's
 * plans depend on it). */
typedef struct pvt_spec_set {
    pvt_spec_entry specs[PVT_MAX_SPECS];
    size_t n_specs;
} pvt_spec_set;

/* Load every .yaml file of source_dir/specs, sorted by name, then the
 * synthetic spec into set (which must be empty). 0, or -1 after printing
 * why; set holds what loaded either way and needs pvt_spec_set_free. */
int pvt_spec_set_load(pvt_spec_set *set, const char *source_dir);

/* Free every entry of set and leave it empty. */
void pvt_spec_set_free(pvt_spec_set *set);

/* Generated plan text through the document and plan loaders for e's spec:
 * the plan (the caller frees it), or NULL after counting a refusal in
 * *refused (and printing the first three). */
pv_plan *pvt_plan_load(const pvt_spec_entry *e, const char *text, size_t *refused);

/* ------------------------------------------------------------------------------------------ */
/* seeded runs                                                                                */

/* A run of generated plans over a spec set, as each randomised test makes
 * one: so many plans from one seed, both from the environment, so that a
 * failure can be reproduced (each plan on its own) and a run made longer. */
typedef struct pvt_run {
    const pvt_spec_set *set; /* the specs the plans cycle through */
    const char *name;        /* what the lines the run prints start with */
    char seed_var[64];       /* the environment variable of the seed */
    uint64_t seed;
    size_t total; /* how many plans */
    double t0;    /* pvt_now_s() when the run started */
} pvt_run;

/* Start a run over set, which must hold a spec: the seed from the
 * environment variable ENV_SEED and the number of plans from ENV_PLANS
 * (env is a prefix such as "PV_DIFF"), else dflt_seed and dflt_plans.
 * Prints "NAME: N specs, ENV_SEED=seed, ENV_PLANS=total" and then `more`
 * on one line. */
pvt_run pvt_run_start(const pvt_spec_set *set, const char *name, const char *env,
                      uint64_t dflt_seed, uint64_t dflt_plans, const char *more);

/* Plan number k of a run (pvt_run_plan). */
typedef struct pvt_seeded_plan {
    const pvt_spec_entry *e; /* its spec: set->specs[spec] */
    size_t spec;             /* k modulo the number of specs */
    char *text;              /* YAML plan-file text, which the caller frees */
    char origin[160];        /* how to get it again: "SEED_VAR=seed, plan #k (plan seed 0x...)" */
} pvt_seeded_plan;

/* Generate plan number k of run, with plan id "ID_PREFIX-k" and,
 * with `unknowns`, unknown and absent values. It is drawn from the plan
 * seed pvt_seed_mix(seed ^ pvt_seed_mix(k)) alone. */
pvt_seeded_plan pvt_run_plan(const pvt_run *run, size_t k, bool unknowns, const char *id_prefix);

/* Print how long the run took: "NAME: N plans in S s (M ms per plan`each`)". */
void pvt_run_print_time(const pvt_run *run, const char *each);

/* A column of a run's table of per-spec counts: its heading, its width,
 * and where the count it shows (a size_t) is in a spec's counts, which
 * are a struct of the test's own (offsetof(that struct, the field)). */
typedef struct pvt_count_column {
    const char *heading;
    int width;
    size_t offset;
} pvt_count_column;

/* Print a table of the run's counts: a heading line ("spec" and the
 * columns' headings), then a line for each spec of the set with its name
 * and its counts, the struct of `size` bytes at counts + i * size for
 * set->specs[i]. */
void pvt_run_print_counts(const pvt_run *run, const void *counts, size_t size,
                          const pvt_count_column *cols, size_t n_cols);

/* Fail when the plan loader refused more than 1% of the run's plans (the
 * generator means to write valid plans, so more would test too little). */
void pvt_run_check_loader(const pvt_run *run, size_t refused);

#endif
