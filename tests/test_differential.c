/*
 * test_differential.c - the Z3 path engine against the concrete evaluator.
 *
 * Both implement the contract's semantics (sections 2-5) with no shared
 * encoding, so on a fully concrete plan they must give the same verdict.
 * Random concrete plans are generated as YAML text for every bundled spec
 * (every .yaml file in specs/, found at run time) and for a synthetic spec below that
 * uses every operator of the expression language; each plan goes through
 * the real document and plan loaders and then through the engine with
 * force_solver on and off and through the concrete evaluator. They must
 * agree on the decision, safe_prefix and the multiset of (rule, step,
 * action) findings (and on kind, certainty, escalation target and chain).
 *
 * Values come mostly from "interesting" pools harvested from the spec's
 * expressions (literals +-1, string prefixes, suffixes and infixes, enum
 * values) and from values already used in the same plan, so that path
 * functions such as earlier(T, it.args.x == args.x) match.
 *
 * PV_DIFF_PLANS (default 10000) and PV_DIFF_SEED run it longer or
 * differently. A mismatch prints the seed, the plan as YAML that loads as
 * a plan file, and both verdicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pv_concrete.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"

#define DEFAULT_PLANS 10000
#define DEFAULT_SEED 0x5eed2026u
#define MAX_SPECS 32
#define MAX_REPORTED_MISMATCHES 5

/*
 * A spec of our own that uses every operator and function of the language,
 * every value type in state, args and results, optional arguments with
 * defaults, a list `on:`, `on: "*"`, a conditional and an unconditional
 * exclusion, long-form failure modes and a small max_steps, so that the
 * comparison covers what the bundled specs happen not to use. Its rules
 * are written to be broken often by random plans.
 */
static const char synthetic_spec[] =
    "spec: diff-synthetic\n"
    "version: \"1\"\n"
    "limits: {max_steps: 6, solver_timeout_ms: 2000}\n"
    "constants:\n"
    "  cap: 100\n"
    "  tag: \"vip-\"\n"
    "  domain: \"@corp.example\"\n"
    "state:\n"
    "  balance: {type: int, init: 0, min: -50}\n"
    "  level: {type: int, min: 0, max: 5}\n"
    "  mode: {type: enum, values: [idle, busy, locked], init: idle}\n"
    "  flagged: {type: bool, init: false}\n"
    "  last: {type: string, init: \"\"}\n"
    "tools:\n"
    "  fetch:\n"
    "    args: {key: string, n: {type: int, min: -5, max: 50}}\n"
    "    returns:\n"
    "      val: {type: int, min: -100, max: 100}\n"
    "      label: string\n"
    "      hot: bool\n"
    "      kind: {type: enum, values: [a, b, c]}\n"
    "    ensures: \"result.val != 13 && (result.hot => len(result.label) <= 12)\"\n"
    "  put:\n"
    "    irreversible: true\n"
    "    args:\n"
    "      key: string\n"
    "      amount: {type: int, min: 1, max: 200}\n"
    "      note: {type: string, optional: true, default: \"none\"}\n"
    "      prio: {type: enum, values: [a, b, c], optional: true, default: b}\n"
    "    requires: \"earlier([fetch, put], it.args.key == args.key) || starts_with(args.key, "
    "tag)\"\n"
    "    effects:\n"
    "      balance: \"balance + (args.prio == 'a' ? 2 * args.amount : args.amount) - "
    "abs(args.amount / 3 - 4)\"\n"
    "      last: \"args.key\"\n"
    "      mode: \"balance > cap ? 'busy' : mode\"\n"
    "  send:\n"
    "    args: {to: string, body: string, urgent: bool}\n"
    "    effects:\n"
    "      flagged: \"flagged || !ends_with(args.to, domain)\"\n"
    "      level: \"min(level + 1, 5)\"\n"
    "  reset:\n"
    "    args: {}\n"
    "    effects:\n"
    "      balance: \"balance % 7 - 3\"\n"
    "      mode: \"'idle'\"\n"
    "      level: \"max(level - 2, 0)\"\n"
    "  tally:\n"
    "    args: {k: {type: int, min: -1000, max: 1000}}\n"
    "    returns: {sum: int, kind: {type: enum, values: [c, b, a]}}\n"
    "    ensures: \"result.sum != args.k + 7 || result.sum == -1\"\n"
    "    effects:\n"
    "      balance: \"balance + count(fetch, it.result.hot && it.result.kind == 'c') - "
    "result.sum / 4\"\n"
    "scope:\n"
    "  handles: [synthetic]\n"
    "  excludes:\n"
    "    - id: secret-sends\n"
    "      tools: [send]\n"
    "      when: \"contains(args.body, 'secret') && !args.urgent\"\n"
    "      escalate_to: security\n"
    "    - id: admin-tools\n"
    "      tools: [grant_admin, drop_all]\n"
    "      escalate_to: platform\n"
    "invariants:\n"
    "  - id: balance-cap\n"
    "    always: \"balance <= cap * 3\"\n"
    "    action: block\n"
    "  - id: flagged-level\n"
    "    always: \"!(flagged && level >= 3)\"\n"
    "    action: halt\n"
    "  - id: big-put-needs-fetch\n"
    "    on: put\n"
    "    assert: \"count(fetch, it.result.val >= args.amount / 2) >= 1 || args.amount <= 10\"\n"
    "    action: escalate\n"
    "    escalate_to: ops\n"
    "  - id: busy-calls\n"
    "    on: \"*\"\n"
    "    assert: \"mode != 'busy' || len(last) % 2 == 0\"\n"
    "    action: clarify\n"
    "  - id: send-body\n"
    "    on: send\n"
    "    assert: \"len(args.body) >= 1 && !(args.to in ['root@corp.example', 'x']) && -level < "
    "4\"\n"
    "    action: clarify\n"
    "  - id: key-format\n"
    "    on: [fetch, put]\n"
    "    assert: \"!contains(args.key, ' ') && (args.key == last => balance >= -10)\"\n"
    "    action: escalate\n"
    "    escalate_to: ops\n"
    "  - id: fetch-window\n"
    "    on: fetch\n"
    "    assert: \"!(args.n > 40) && args.n >= -3\"\n"
    "    action: escalate\n"
    "    escalate_to: ops\n"
    "  - id: tally-residue\n"
    "    on: tally\n"
    "    assert: \"args.k % 3 != 2 && args.k / 5 != -1\"\n"
    "    action: clarify\n"
    "failure_modes:\n"
    "  unknown_tool: {action: escalate, escalate_to: platform}\n"
    "  precondition: clarify\n"
    "  budget_exceeded: block\n";

/* ------------------------------------------------------------------------------------------ */
/* the generator (kept the same as in test_witness.c, which also generates unknowns)          */

/* xorshift64*: small, fast and the same on every platform, so a seed printed
 * here reproduces the plan anywhere. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

/* splitmix64, to turn (seed, plan number) into well-spread, non-zero states. */
static uint64_t mix_seed(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x ? x : 1;
}

static uint64_t rng_below(rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

static bool rng_pct(rng *r, unsigned pct)
{
    return rng_below(r, 100) < pct;
}

/* Uniform in [lo, hi]; the span is computed unsigned so that it cannot overflow. */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t off = span == UINT64_MAX ? rng_next(r) : rng_next(r) % (span + 1);
    return (int64_t)((uint64_t)lo + off);
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* A growable text buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    sb_put(b, tmp, (size_t)n);
}

/* A string that may contain NUL bytes (the language's strings can). */
typedef struct blob {
    char *p;
    size_t len;
} blob;

typedef struct blobs {
    blob *v;
    size_t n, cap;
} blobs;

typedef struct ints {
    int64_t *v;
    size_t n, cap;
} ints;

static void blobs_add(blobs *l, const char *p, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].len == len && memcmp(l->v[i].p, p, len) == 0)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(blob));
        assert_non_null(l->v);
    }
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    copy[len] = '\0';
    l->v[l->n++] = (blob){copy, len};
}

static void blobs_free(blobs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void ints_add(ints *l, int64_t x)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(int64_t));
        assert_non_null(l->v);
    }
    l->v[l->n++] = x;
}

/* What the generator draws from for one spec. */
typedef struct pools {
    ints nums;        /* int literals, constants, bounds and inits of the spec */
    blobs exact;      /* string literals and string constants */
    blobs prefixes;   /* second argument of starts_with */
    blobs suffixes;   /* second argument of ends_with */
    blobs infixes;    /* second argument of contains */
    blobs excluded;   /* tool names listed in scope.excludes */
    blobs undeclared; /* tool names neither declared nor excluded */
} pools;

static void pools_free(pools *p)
{
    free(p->nums.v);
    blobs_free(&p->exact);
    blobs_free(&p->prefixes);
    blobs_free(&p->suffixes);
    blobs_free(&p->infixes);
    blobs_free(&p->excluded);
    blobs_free(&p->undeclared);
}

/* Collect literals from an expression; `parent` and `pos` tell where a
 * string literal sits, since the role decides how it is best used. */
static void harvest_expr(pools *p, const pv_expr *e, pv_expr_kind parent, size_t pos)
{
    if (!e)
        return;
    if (e->kind == PV_E_INT) {
        ints_add(&p->nums, e->u.i);
    } else if (e->kind == PV_E_STR) {
        blobs_add(&p->exact, e->u.s.ptr, e->u.s.len);
        if (pos == 1 && parent == PV_E_STARTS_WITH)
            blobs_add(&p->prefixes, e->u.s.ptr, e->u.s.len);
        else if (pos == 1 && parent == PV_E_ENDS_WITH)
            blobs_add(&p->suffixes, e->u.s.ptr, e->u.s.len);
        else if (pos == 1 && parent == PV_E_CONTAINS)
            blobs_add(&p->infixes, e->u.s.ptr, e->u.s.len);
    }
    for (size_t k = 0; k < e->n_kids; k++)
        harvest_expr(p, e->kids[k], e->kind, k);
}

static void harvest_var(pools *p, const pv_var *v)
{
    if (v->has_min)
        ints_add(&p->nums, v->min);
    if (v->has_max)
        ints_add(&p->nums, v->max);
    const pv_value *vals[2] = {v->has_init ? &v->init : NULL, v->has_default ? &v->dflt : NULL};
    for (size_t i = 0; i < 2; i++) {
        if (vals[i] && vals[i]->type.kind == PV_T_INT)
            ints_add(&p->nums, vals[i]->u.i);
        else if (vals[i] && vals[i]->type.kind == PV_T_STRING)
            blobs_add(&p->exact, vals[i]->u.s.ptr, vals[i]->u.s.len);
    }
}

static bool tool_name_taken(const pv_spec *spec, const pools *p, const char *name)
{
    if (pv_spec_tool(spec, name) >= 0)
        return true;
    for (size_t i = 0; i < p->excluded.n; i++)
        if (strcmp(p->excluded.v[i].p, name) == 0)
            return true;
    return false;
}

static void harvest_spec(pools *p, const pv_spec *spec)
{
    static const char *const strangers[] = {
        "update_order_price", "shell_exec", "drop_database", "send_wire_transfer"};
    memset(p, 0, sizeof *p);
    ints_add(&p->nums, 0);
    ints_add(&p->nums, 1);
    for (size_t i = 0; i < spec->n_constants; i++) {
        const pv_value *v = &spec->constants[i].value;
        if (v->type.kind == PV_T_INT)
            ints_add(&p->nums, v->u.i);
        else if (v->type.kind == PV_T_STRING)
            blobs_add(&p->exact, v->u.s.ptr, v->u.s.len);
    }
    for (size_t i = 0; i < spec->n_state; i++)
        harvest_var(p, &spec->state[i]);
    for (size_t t = 0; t < spec->n_tools; t++) {
        const pv_tool *tool = &spec->tools[t];
        for (size_t a = 0; a < tool->n_args; a++)
            harvest_var(p, &tool->args[a]);
        for (size_t r = 0; r < tool->n_returns; r++)
            harvest_var(p, &tool->returns[r]);
        harvest_expr(p, tool->requires, PV_E__COUNT, 0);
        harvest_expr(p, tool->ensures, PV_E__COUNT, 0);
        for (size_t k = 0; k < tool->n_effects; k++)
            harvest_expr(p, tool->effects[k].expr, PV_E__COUNT, 0);
    }
    for (size_t i = 0; i < spec->n_invariants; i++)
        harvest_expr(p, spec->invariants[i].cond, PV_E__COUNT, 0);
    for (size_t x = 0; x < spec->n_excludes; x++) {
        const pv_exclusion *ex = &spec->excludes[x];
        harvest_expr(p, ex->when, PV_E__COUNT, 0);
        for (size_t k = 0; k < ex->n_tools; k++)
            blobs_add(&p->excluded, ex->tools[k], strlen(ex->tools[k]));
    }
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++)
        if (!tool_name_taken(spec, p, strangers[i]))
            blobs_add(&p->undeclared, strangers[i], strlen(strangers[i]));
}

/* Write s as a YAML double-quoted scalar. Characters YAML does not allow
 * raw in a stream (controls, C1, BOM, U+FFFE/U+FFFF) and those libyaml
 * would fold as line breaks (U+2028, U+2029) become escapes; the rest of
 * the UTF-8 text is written as it is. */
static void yaml_quote(sbuf *b, const char *s, size_t len)
{
    sb_puts(b, "\"");
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[3] = {'\\', (char)c, '\0'};
            sb_puts(b, esc);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            sb_printf(b, "\\x%02X", c);
            i++;
        } else if (c < 0x80) {
            sb_put(b, (const char *)&u[i], 1);
            i++;
        } else {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            n = n < len - i ? n : len - i; /* never read past a truncated sequence */
            uint32_t cp = c & (0xFFu >> (n + 1));
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (u[i + k] & 0x3Fu);
            if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF ||
                cp == 0xFFFE || cp == 0xFFFF)
                sb_printf(b, "\\u%04X", (unsigned)cp);
            else
                sb_put(b, (const char *)&u[i], n);
            i += n;
        }
    }
    sb_puts(b, "\"");
}

/* What is known about an earlier step while generating a later one: its
 * tool, its id, and its given result values (for refs). */
typedef struct gstep {
    int tool;
    bool has_id;
    bool *res_known;
    int64_t *res_int;
} gstep;

typedef struct genctx {
    rng *r;
    const pv_spec *spec;
    const pools *p;
    bool unknowns;  /* also generate {unknown: true}, absent results and missing args */
    blobs ids;      /* this plan's object ids: few, so that steps refer to the same ones */
    blobs strs;     /* strings used so far in this plan */
    ints nums;      /* ints used so far in this plan */
    bool strangers; /* this plan may call excluded and undeclared tools */
    int focus[3];   /* when n_focus > 0, declared tools come only from these */
    size_t n_focus;
    gstep *steps;
    size_t n_steps;
} genctx;

static int64_t clamp_to(rng *r, int64_t v, const pv_var *var)
{
    if (!var || var->type.kind != PV_T_INT)
        return v;
    bool low = var->has_min && v < var->min, high = var->has_max && v > var->max;
    if (!low && !high)
        return v;
    int64_t lo = var->has_min ? var->min : sat_add(var->max, -1000);
    int64_t hi = var->has_max ? var->max : sat_add(var->min, 1000);
    switch (rng_below(r, 5)) {
    case 0:
        return lo;
    case 1:
        return hi;
    case 2:
        return lo < hi ? lo + 1 : lo;
    case 3:
        return lo < hi ? hi - 1 : hi;
    default:
        return rng_range(r, lo, hi);
    }
}

static int64_t gen_int(genctx *g, const pv_var *var)
{
    rng *r = g->r;
    int64_t v;
    unsigned m = (unsigned)rng_below(r, 100);
    if (m < 50 && g->p->nums.n) {
        v = g->p->nums.v[rng_below(r, g->p->nums.n)];
        v = sat_add(v, rng_range(r, -1, 1));
    } else if (m < 65 && g->nums.n) {
        v = g->nums.v[rng_below(r, g->nums.n)];
    } else if (m < 82) {
        v = rng_range(r, 0, 10);
    } else if (m < 95) {
        v = rng_range(r, -50, 2000);
    } else {
        v = rng_range(r, -1000000, 1000000);
    }
    v = clamp_to(r, v, var);
    ints_add(&g->nums, v);
    return v;
}

static void gen_word(rng *r, sbuf *b, size_t max)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t n = (size_t)rng_below(r, max + 1);
    for (size_t i = 0; i < n; i++)
        sb_put(b, &alnum[rng_below(r, sizeof alnum - 1)], 1);
}

static void pick_blob(rng *r, const blobs *l, sbuf *b)
{
    const blob *x = &l->v[rng_below(r, l->n)];
    sb_put(b, x->p, x->len);
}

/* A string from the interesting pools into b. */
static void gen_string_into(genctx *g, sbuf *b)
{
    /* Characters that stress escaping and code-point counting: multi-byte
     * UTF-8 up to U+2A6D6 (past U+2FFFF a plan is bad input, which
     * test_differential.c checks), quotes, a backslash, a NUL, a newline. */
    static const blob specials[] = {{"\xc3\xa9", 2},
                                    {"\xe6\x97\xa5", 3},
                                    {"\xf0\x9f\x99\x82", 4},
                                    {"\xf0\xaa\x9b\x96", 4},
                                    {"\"", 1},
                                    {"'", 1},
                                    {"\\", 1},
                                    {" ", 1},
                                    {":", 1},
                                    {"#", 1},
                                    {"\n", 1},
                                    {"\0", 1}};
    static const char *const locals[] = {"alice", "bob", "ops", "it.support", "x"};
    static const char *const domains[] = {
        "@example.com", "@acme.com", "@evil.org", "@corp.example", "@mail.corp.example"};
    rng *r = g->r;
    const pools *p = g->p;
    unsigned m = (unsigned)rng_below(r, 100);
    if (m < 28 && g->ids.n) {
        pick_blob(r, &g->ids, b);
    } else if (m < 40 && g->strs.n) {
        pick_blob(r, &g->strs, b);
    } else if (m < 50 && p->exact.n) {
        pick_blob(r, &p->exact, b);
    } else if (m < 58 && p->prefixes.n) {
        pick_blob(r, &p->prefixes, b);
        gen_word(r, b, 5);
    } else if (m < 66 && p->suffixes.n) {
        gen_word(r, b, 5);
        pick_blob(r, &p->suffixes, b);
    } else if (m < 72 && p->infixes.n) {
        gen_word(r, b, 4);
        pick_blob(r, &p->infixes, b);
        gen_word(r, b, 4);
    } else if (m < 82) {
        sb_puts(b, locals[rng_below(r, sizeof locals / sizeof locals[0])]);
        if (p->suffixes.n && rng_pct(r, 30))
            pick_blob(r, &p->suffixes, b);
        else
            sb_puts(b, domains[rng_below(r, sizeof domains / sizeof domains[0])]);
    } else if (m < 86) {
        /* empty */
    } else if (m < 91 && p->nums.n) {
        /* A length the spec mentions, for len(s) comparisons. */
        int64_t n = p->nums.v[rng_below(r, p->nums.n)] + rng_range(r, -1, 1);
        n = n < 0 ? 0 : n > 40 ? 40 : n;
        for (int64_t i = 0; i < n; i++)
            sb_puts(b, "x");
    } else {
        gen_word(r, b, 3);
        const blob *sp = &specials[rng_below(r, sizeof specials / sizeof specials[0])];
        sb_put(b, sp->p, sp->len);
        gen_word(r, b, 3);
    }
}

/* Emit a literal of var's type (and bounds), remembering what was used.
 * *ival receives an int's value. */
static void gen_literal(genctx *g, sbuf *out, const pv_var *var, int64_t *ival)
{
    rng *r = g->r;
    switch (var->type.kind) {
    case PV_T_INT: {
        int64_t v = gen_int(g, var);
        if (ival)
            *ival = v;
        sb_printf(out, "%" PRId64, v);
        break;
    }
    case PV_T_BOOL:
        sb_puts(out, rng_pct(r, 50) ? "true" : "false");
        break;
    case PV_T_ENUM: {
        const pv_enum *en = &g->spec->enums[var->type.enum_id];
        const char *v = en->values[rng_below(r, en->n)];
        yaml_quote(out, v, strlen(v));
        break;
    }
    default: {
        sbuf s = {0};
        gen_string_into(g, &s);
        yaml_quote(out, s.p ? s.p : "", s.len);
        if (s.len < 64)
            blobs_add(&g->strs, s.p ? s.p : "", s.len);
        free(s.p);
        break;
    }
    }
}

/* Maybe emit a ref to an earlier step's result field of var's type. A
 * known int must lie within var's bounds: outside them the plan is bad
 * input to the engine and not concrete to the evaluator. */
static bool gen_ref(genctx *g, sbuf *out, size_t cur, const pv_var *var)
{
    size_t n_cand = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t pick = pass ? (size_t)rng_below(g->r, n_cand) : 0, seen = 0;
        for (size_t j = 0; j < cur; j++) {
            const gstep *gs = &g->steps[j];
            if (gs->tool < 0)
                continue;
            const pv_tool *tool = &g->spec->tools[gs->tool];
            for (size_t f = 0; f < tool->n_returns; f++) {
                const pv_var *rv = &tool->returns[f];
                if (!pv_type_eq(rv->type, var->type))
                    continue;
                if (!gs->res_known[f] && !g->unknowns)
                    continue;
                if (gs->res_known[f] && var->type.kind == PV_T_INT &&
                    ((var->has_min && gs->res_int[f] < var->min) ||
                     (var->has_max && gs->res_int[f] > var->max)))
                    continue;
                if (pass == 1 && seen++ == pick) {
                    if (gs->has_id && rng_pct(g->r, 50))
                        sb_printf(out, "{ref: s%zu.%s}", j, rv->name);
                    else
                        sb_printf(out, "{ref: \"%zu.%s\"}", j, rv->name);
                    return true;
                }
                if (pass == 0)
                    n_cand++;
            }
        }
        if (n_cand == 0)
            return false;
    }
    return false;
}

static void gen_step(genctx *g, sbuf *out, size_t i)
{
    rng *r = g->r;
    const pv_spec *spec = g->spec;
    const pools *p = g->p;
    gstep *gs = &g->steps[i];
    const char *name;
    unsigned m = (unsigned)rng_below(r, 100);
    if (!g->strangers)
        m = 100;
    if ((m < 8 && p->excluded.n) || (spec->n_tools == 0 && p->excluded.n && m < 50)) {
        name = p->excluded.v[rng_below(r, p->excluded.n)].p;
    } else if ((m < 15 || spec->n_tools == 0) && p->undeclared.n) {
        name = p->undeclared.v[rng_below(r, p->undeclared.n)].p;
    } else if (g->n_focus) {
        name = spec->tools[g->focus[rng_below(r, g->n_focus)]].name;
    } else {
        name = spec->tools[rng_below(r, spec->n_tools)].name;
    }
    gs->tool = pv_spec_tool(spec, name);
    sb_puts(out, "  - {");
    if (gs->has_id)
        sb_printf(out, "id: s%zu, ", i);
    sb_puts(out, "tool: ");
    yaml_quote(out, name, strlen(name));
    if (gs->tool < 0) {
        /* Only the shape of an undeclared tool's values is checked. */
        sb_puts(out, ", args: {");
        size_t n = (size_t)rng_below(r, 3);
        for (size_t k = 0; k < n; k++) {
            sb_printf(out, "%sx%zu: ", k ? ", " : "", k);
            if (rng_pct(r, 50))
                sb_printf(out, "%" PRId64, rng_range(r, -5, 500));
            else
                yaml_quote(out, "A1", 2);
        }
        sb_puts(out, "}");
        if (rng_pct(r, 20))
            sb_puts(out, ", result: {ok: true}");
        sb_puts(out, "}\n");
        return;
    }
    const pv_tool *tool = &spec->tools[gs->tool];
    gs->res_known = calloc(tool->n_returns + 1, sizeof(bool));
    gs->res_int = calloc(tool->n_returns + 1, sizeof(int64_t));
    assert_true(gs->res_known && gs->res_int);
    sb_puts(out, ", args: {");
    bool first = true;
    for (size_t a = 0; a < tool->n_args; a++) {
        const pv_var *var = &tool->args[a];
        if (var->optional && var->has_default && rng_pct(r, 25))
            continue; /* the default applies */
        if (g->unknowns && !var->optional && rng_pct(r, 4))
            continue; /* missing_argument */
        if (g->unknowns && var->optional && !var->has_default && rng_pct(r, 25))
            continue; /* absent without default: unknown */
        sb_printf(out, "%s%s: ", first ? "" : ", ", var->name);
        first = false;
        if (g->unknowns && rng_pct(r, 20))
            sb_puts(out, "{unknown: true}");
        else if (!(rng_pct(r, 15) && gen_ref(g, out, i, var)))
            gen_literal(g, out, var, NULL);
    }
    sb_puts(out, "}");
    if (tool->n_returns == 0) {
        if (rng_pct(r, 30))
            sb_puts(out, ", result: {}");
    } else if (!(g->unknowns && rng_pct(r, 30))) {
        sb_puts(out, ", result: {");
        first = true;
        for (size_t f = 0; f < tool->n_returns; f++) {
            const pv_var *var = &tool->returns[f];
            if (g->unknowns && rng_pct(r, 20))
                continue;
            sb_printf(out, "%s%s: ", first ? "" : ", ", var->name);
            first = false;
            gen_literal(g, out, var, &gs->res_int[f]);
            gs->res_known[f] = true;
        }
        sb_puts(out, "}");
    }
    sb_puts(out, "}\n");
}

/* How many steps: 0..12, short plans more often (a long random plan nearly
 * always breaks something severe, which would hide the milder decisions);
 * past max_steps now and then when the spec's budget is small enough for
 * that to stay cheap. */
static size_t gen_length(rng *r, const pv_spec *spec)
{
    if (spec->max_steps <= 16 && rng_pct(r, 10))
        return (size_t)rng_range(
            r, spec->max_steps > 0 ? spec->max_steps - 1 : 0, (int64_t)spec->max_steps + 3);
    return (size_t)rng_below(r, rng_pct(r, 50) ? 5 : 13);
}

/* A random plan for spec as YAML text (owned by the caller). */
static char *gen_plan(rng *r, const pv_spec *spec, const pools *p, bool unknowns,
                      const char *plan_id)
{
    static const char *const base_ids[] = {"A1", "A2", "A17", "B-7", "ord_42", "Z9"};
    genctx g = {.r = r, .spec = spec, .p = p, .unknowns = unknowns};
    size_t n_ids = 1 + (size_t)rng_below(r, 3);
    for (size_t i = 0; i < n_ids; i++) {
        const char *id = base_ids[rng_below(r, sizeof base_ids / sizeof base_ids[0])];
        blobs_add(&g.ids, id, strlen(id));
    }
    /* Out-of-allowlist calls in every other plan, not in each: they decide
     * a plan (block or escalate) wherever they occur. A plan confined to a
     * few tools makes sequences such as read-then-share of one document
     * likely. */
    g.strangers = rng_pct(r, 40);
    if (spec->n_tools > 3 && rng_pct(r, 50)) {
        g.n_focus = 2 + (size_t)rng_below(r, 2);
        for (size_t k = 0; k < g.n_focus; k++)
            g.focus[k] = (int)rng_below(r, spec->n_tools);
    }
    sbuf out = {0};
    sb_puts(&out, "spec: ");
    yaml_quote(&out, spec->id, strlen(spec->id));
    sb_printf(&out, "\nid: %s\n", plan_id);

    /* A state variable without `init` must be given for the plan to be
     * concrete; one with `init` is overridden now and then. */
    bool any = false;
    for (size_t v = 0; v < spec->n_state; v++) {
        const pv_var *var = &spec->state[v];
        bool give = var->has_init ? rng_pct(r, 12) : (!unknowns || rng_pct(r, 50));
        if (!give)
            continue;
        sb_printf(&out, "%s%s: ", any ? ", " : "initial_state: {", var->name);
        any = true;
        if (unknowns && rng_pct(r, 15))
            sb_puts(&out, "{unknown: true}");
        else
            gen_literal(&g, &out, var, NULL);
    }
    if (any)
        sb_puts(&out, "}\n");

    g.n_steps = gen_length(r, spec);
    g.steps = calloc(g.n_steps + 1, sizeof(gstep));
    assert_non_null(g.steps);
    for (size_t i = 0; i < g.n_steps; i++)
        g.steps[i].has_id = rng_pct(r, 40);
    sb_puts(&out, g.n_steps ? "steps:\n" : "steps: []\n");
    for (size_t i = 0; i < g.n_steps; i++)
        gen_step(&g, &out, i);

    for (size_t i = 0; i < g.n_steps; i++) {
        free(g.steps[i].res_known);
        free(g.steps[i].res_int);
    }
    free(g.steps);
    blobs_free(&g.ids);
    blobs_free(&g.strs);
    free(g.nums.v);
    return out.p;
}

/* ------------------------------------------------------------------------------------------ */
/* specs                                                                                      */

#define MAX_RULES 64

typedef struct stats {
    size_t compared;
    const char *rules[MAX_RULES]; /* rule ids seen in agreed verdicts (borrowed from the spec) */
    size_t rule_count[MAX_RULES];
    size_t n_rules;
    size_t by_decision[PV_ACT_BLOCK + 1];
    size_t bad_input;    /* every engine said PV_EINPUT */
    size_t loader;       /* the plan loader refused the plan */
    size_t not_concrete; /* generator bugs */
    size_t mismatches;
} stats;

typedef struct spec_entry {
    char *name;
    pv_spec *spec;
    pools pools;
    stats st;
} spec_entry;

typedef struct fixture {
    spec_entry specs[MAX_SPECS];
    size_t n_specs;
    pv_engine *eng;
} fixture;

static void print_diags(const char *what, pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *s = pv_diag_format(&d->items[i]);
        fprintf(stderr, "%s: %s\n", what, s);
        free(s);
    }
}

static const char *source_dir(void)
{
    const char *dir = getenv("PV_SOURCE_DIR");
    return dir && *dir ? dir : ".";
}

static bool ends_with_yaml(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static int yaml_entry(const struct dirent *d)
{
    return ends_with_yaml(d->d_name);
}

static void add_spec(fixture *fx, const char *name, pv_spec *spec)
{
    assert_true(fx->n_specs < MAX_SPECS);
    spec_entry *e = &fx->specs[fx->n_specs++];
    e->name = strdup(name);
    assert_non_null(e->name);
    e->spec = spec;
    harvest_spec(&e->pools, spec);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (!fx)
        return 0;
    for (size_t i = 0; i < fx->n_specs; i++) {
        free(fx->specs[i].name);
        pv_spec_free(fx->specs[i].spec);
        pools_free(&fx->specs[i].pools);
    }
    pv_engine_free(fx->eng);
    free(fx);
    return 0;
}

/* Every .yaml file in specs/, sorted by name so that a seed means the same plans
 * on every machine, then the synthetic spec. */
static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    *state = fx;
    if (!fx)
        return -1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/specs", source_dir());
    struct dirent **names = NULL;
    int n = scandir(dir, &names, yaml_entry, alphasort);
    if (n < 0) {
        fprintf(stderr, "cannot read %s\n", dir);
        free(fx);
        *state = NULL;
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        pv_diags d = {0};
        pv_spec *spec = NULL;
        if (pv_spec_load_file(path, &spec, &d) != PV_OK) {
            print_diags(path, &d);
            rc = -1;
        } else if (fx->n_specs + 1 < MAX_SPECS) {
            add_spec(fx, names[i]->d_name, spec);
        } else {
            pv_spec_free(spec);
        }
        pv_diags_clear(&d);
        free(names[i]);
    }
    free(names);
    pv_diags d = {0};
    pv_spec *synth = NULL;
    if (pv_spec_load("synthetic.yaml", synthetic_spec, strlen(synthetic_spec), &synth, &d) !=
        PV_OK) {
        print_diags("synthetic spec", &d);
        rc = -1;
    } else {
        add_spec(fx, "(synthetic)", synth);
    }
    pv_diags_clear(&d);
    if (pv_engine_new(&fx->eng) != PV_OK)
        rc = -1;
    if (rc != 0) {
        /* cmocka runs no group teardown after a failed setup. */
        teardown(state);
        *state = NULL;
    }
    return rc;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    return *end ? dflt : (uint64_t)v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------------------------ */
/* comparing verdicts                                                                         */

static int finding_cmp(const void *a, const void *b)
{
    const pv_finding *x = *(const pv_finding *const *)a, *y = *(const pv_finding *const *)b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    int c = strcmp(x->rule, y->rule);
    if (c)
        return c;
    return (int)x->action - (int)y->action;
}

static const pv_finding **sorted_findings(const pv_verdict *v)
{
    const pv_finding **s = calloc(v->n_findings + 1, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < v->n_findings; i++)
        s[i] = &v->findings[i];
    qsort(s, v->n_findings, sizeof *s, finding_cmp);
    return s;
}

static bool str_eq_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Does finding x agree with y beyond the (rule, step, action) triple? Both
 * implement the same kinds, escalation targets and chains, and on a plan
 * without unknowns every break is certain. */
static bool details_equal(const pv_finding *x, const pv_finding *y)
{
    if (x->kind != y->kind || x->certain != y->certain ||
        !str_eq_null(x->escalate_to, y->escalate_to) || x->n_chain != y->n_chain)
        return false;
    for (size_t i = 0; i < x->n_chain; i++)
        if (x->chain[i] != y->chain[i])
            return false;
    return true;
}

/* Why verdicts a and b differ, or NULL when they agree. */
static const char *verdict_diff(const pv_verdict *a, const pv_verdict *b)
{
    if (a->decision != b->decision)
        return "decision";
    if (a->safe_prefix != b->safe_prefix)
        return "safe_prefix";
    if (a->n_findings != b->n_findings)
        return "number of findings";
    const pv_finding **x = sorted_findings(a), **y = sorted_findings(b);
    const char *why = NULL;
    for (size_t i = 0; i < a->n_findings && !why; i++) {
        if (finding_cmp(&x[i], &y[i]) != 0)
            why = "(rule, step, action) findings";
        else if (!details_equal(x[i], y[i]))
            why = "finding details (kind, certain, escalate_to or chain)";
    }
    free(x);
    free(y);
    return why;
}

static void print_verdict(const char *label, int rc, const pv_verdict *v)
{
    if (rc != PV_OK) {
        fprintf(stderr, "  %s: rc %d%s\n", label, rc, rc == PV_EINPUT ? " (bad input)" : "");
        return;
    }
    fprintf(stderr,
            "  %s: decision %s, safe_prefix %d, %zu finding(s)\n",
            label,
            pv_action_name(v->decision),
            v->safe_prefix,
            v->n_findings);
    for (size_t i = 0; i < v->n_findings; i++) {
        const pv_finding *f = &v->findings[i];
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
    }
}

typedef struct outcome {
    int rc;
    pv_verdict *v;
    pv_diags d;
} outcome;

static void outcome_free(outcome *o)
{
    pv_verdict_free(o->v);
    pv_diags_clear(&o->d);
}

/* The spec's own spelling of a rule id (invariant, exclusion or failure
 * mode), so that the counts can keep a pointer that outlives the verdict. */
static const char *spec_rule_name(const pv_spec *spec, const char *rule)
{
    for (size_t i = 0; i < spec->n_invariants; i++)
        if (strcmp(spec->invariants[i].id, rule) == 0)
            return spec->invariants[i].id;
    for (size_t i = 0; i < spec->n_excludes; i++)
        if (strcmp(spec->excludes[i].id, rule) == 0)
            return spec->excludes[i].id;
    for (int f = 0; f < PV_FAIL__COUNT; f++)
        if (strcmp(pv_failure_name((pv_failure)f), rule) == 0)
            return pv_failure_name((pv_failure)f);
    return NULL;
}

static void count_rules(spec_entry *e, const pv_verdict *v)
{
    stats *st = &e->st;
    for (size_t i = 0; i < v->n_findings; i++) {
        const char *name = spec_rule_name(e->spec, v->findings[i].rule);
        assert_non_null(name);
        size_t k = 0;
        while (k < st->n_rules && strcmp(st->rules[k], name) != 0)
            k++;
        if (k == st->n_rules && st->n_rules < MAX_RULES)
            st->rules[st->n_rules++] = name;
        if (k < st->n_rules)
            st->rule_count[k]++;
    }
}

/*
 * Load plan text and run all three. Returns false on a disagreement (after
 * printing it); counts into st.
 */
static bool compare_one(pv_engine *eng, spec_entry *e, const char *text, const char *origin,
                        size_t *not_concrete_total)
{
    stats *st = &e->st;
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *plan = NULL;
    if (pv_doc_parse("generated.yaml", text, strlen(text), &doc, &d) != PV_OK ||
        pv_plan_from_node(e->spec, doc, doc->root, &plan, &d) != PV_OK) {
        /* The generator means to write valid plans: show the first few. */
        if (st->loader++ < 3) {
            fprintf(stderr, "loader refused a generated plan (%s):\n%s", e->name, text);
            print_diags("  loader", &d);
        }
        pv_diags_clear(&d);
        pv_doc_free(doc);
        return true;
    }
    pv_doc_free(doc);

    outcome forced = {0}, simplified = {0}, concrete = {0};
    pv_verify_opts fo = {.force_solver = true}, so = {.force_solver = false};
    forced.rc = pv_engine_verify(eng, e->spec, plan, &fo, &forced.v, &forced.d);
    simplified.rc = pv_engine_verify(eng, e->spec, plan, &so, &simplified.v, &simplified.d);
    concrete.rc = pv_concrete_verify(e->spec, plan, false, &concrete.v, &concrete.d);

    const char *why = NULL;
    if (concrete.rc == PV_ENOTCONCRETE) {
        st->not_concrete++;
        (*not_concrete_total)++;
        if (st->not_concrete <= 3)
            fprintf(stderr, "generator bug: a plan is not concrete (%s):\n%s", e->name, text);
        /* The two engine runs can still be held to each other. */
        if (forced.rc != simplified.rc)
            why = "return code of the engine with and without force_solver";
        else if (forced.rc == PV_OK)
            why = verdict_diff(forced.v, simplified.v);
    } else if (forced.rc != concrete.rc || simplified.rc != concrete.rc) {
        why = "return code (bad input for one, a verdict for another)";
    } else if (concrete.rc == PV_EINPUT) {
        st->bad_input++;
    } else if (concrete.rc != PV_OK) {
        why = "unexpected return code";
    } else {
        why = verdict_diff(concrete.v, forced.v);
        if (!why)
            why = verdict_diff(concrete.v, simplified.v);
        if (!why) {
            st->compared++;
            st->by_decision[concrete.v->decision]++;
            count_rules(e, concrete.v);
        }
    }
    if (why && st->mismatches++ < MAX_REPORTED_MISMATCHES) {
        fprintf(stderr, "\nMISMATCH in %s: %s, spec %s (%s)\n", why, origin, e->spec->id, e->name);
        fprintf(stderr, "--- plan (YAML) ---\n%s--- end of plan ---\n", text);
        print_verdict("concrete evaluator", concrete.rc, concrete.v);
        print_diags("    concrete", &concrete.d);
        print_verdict("engine, force_solver=true", forced.rc, forced.v);
        print_diags("    forced", &forced.d);
        print_verdict("engine, force_solver=false", simplified.rc, simplified.v);
        print_diags("    simplified", &simplified.d);
    }
    outcome_free(&forced);
    outcome_free(&simplified);
    outcome_free(&concrete);
    pv_plan_free(plan);
    return why == NULL;
}

static void print_stats(const fixture *fx, double secs, size_t total)
{
    printf("differential: %zu plans in %.1f s (%.2f ms per plan, three verifications each)\n",
           total,
           secs,
           total ? secs * 1000.0 / (double)total : 0.0);
    printf("%-22s %8s %7s %7s %7s %7s %7s %7s %7s %7s\n",
           "spec",
           "compared",
           "block",
           "halt",
           "escal.",
           "clarify",
           "allow",
           "badinp",
           "loader",
           "notconc");
    for (size_t i = 0; i < fx->n_specs; i++) {
        const spec_entry *e = &fx->specs[i];
        const stats *s = &e->st;
        printf("%-22s %8zu %7zu %7zu %7zu %7zu %7zu %7zu %7zu %7zu\n",
               e->name,
               s->compared,
               s->by_decision[PV_ACT_BLOCK],
               s->by_decision[PV_ACT_HALT],
               s->by_decision[PV_ACT_ESCALATE],
               s->by_decision[PV_ACT_CLARIFY],
               s->by_decision[PV_ACT_ALLOW],
               s->bad_input,
               s->loader,
               s->not_concrete);
    }
    /* Which rules the agreed verdicts contain, so that a reader sees the
     * generator breaks each of them (a rule absent here was never compared). */
    for (size_t i = 0; i < fx->n_specs; i++) {
        const spec_entry *e = &fx->specs[i];
        printf("%s findings:", e->name);
        for (size_t k = 0; k < e->st.n_rules; k++)
            printf(" %s=%zu", e->st.rules[k], e->st.rule_count[k]);
        printf("\n");
        for (size_t r = 0; r < e->spec->n_invariants + e->spec->n_excludes; r++) {
            const char *id = r < e->spec->n_invariants
                                 ? e->spec->invariants[r].id
                                 : e->spec->excludes[r - e->spec->n_invariants].id;
            bool seen = false;
            for (size_t k = 0; k < e->st.n_rules && !seen; k++)
                seen = e->st.rules[k] == id;
            if (!seen)
                printf("note: %s: rule %s never broken by a compared plan\n", e->name, id);
        }
    }
}

/* Decisions a concrete plan can reach in spec: each finding's action is
 * the decision of a plan whose only break it is. missing_argument needs an
 * absent argument and solver_unknown a solver that gives up, neither of
 * which a concrete plan has. */
static void reachable_decisions(const pv_spec *spec, bool out[PV_ACT_BLOCK + 1])
{
    memset(out, 0, sizeof(bool) * (PV_ACT_BLOCK + 1));
    out[PV_ACT_ALLOW] = true;
    for (size_t i = 0; i < spec->n_invariants; i++)
        out[spec->invariants[i].action] = true;
    if (spec->n_excludes)
        out[PV_ACT_ESCALATE] = true;
    out[spec->failure_modes[PV_FAIL_UNKNOWN_TOOL].action] = true;
    for (size_t t = 0; t < spec->n_tools; t++)
        if (spec->tools[t].requires)
            out[spec->failure_modes[PV_FAIL_PRECONDITION].action] = true;
    if (spec->max_steps <= 16)
        out[spec->failure_modes[PV_FAIL_BUDGET_EXCEEDED].action] = true;
}

static void test_engines_agree(void **state)
{
    fixture *fx = *state;
    uint64_t seed = env_u64("PV_DIFF_SEED", DEFAULT_SEED);
    size_t total = (size_t)env_u64("PV_DIFF_PLANS", DEFAULT_PLANS);
    size_t not_concrete = 0, mismatches = 0;
    assert_true(fx->n_specs > 0);
    printf("differential: %zu specs, PV_DIFF_SEED=%" PRIu64 ", PV_DIFF_PLANS=%zu\n",
           fx->n_specs,
           seed,
           total);
    double t0 = now_s();
    for (size_t k = 0; k < total; k++) {
        spec_entry *e = &fx->specs[k % fx->n_specs];
        uint64_t plan_seed = mix_seed(seed ^ mix_seed((uint64_t)k));
        rng r = {plan_seed};
        char id[64];
        snprintf(id, sizeof id, "diff-%zu", k);
        char *text = gen_plan(&r, e->spec, &e->pools, false, id);
        char origin[160];
        snprintf(origin,
                 sizeof origin,
                 "PV_DIFF_SEED=%" PRIu64 ", plan #%zu (plan seed 0x%016" PRIx64 ")",
                 seed,
                 k,
                 plan_seed);
        if (!compare_one(fx->eng, e, text, origin, &not_concrete))
            mismatches++;
        free(text);
    }
    double secs = now_s() - t0;
    print_stats(fx, secs, total);
    for (size_t i = 0; i < fx->n_specs; i++) {
        const spec_entry *e = &fx->specs[i];
        bool reach[PV_ACT_BLOCK + 1];
        reachable_decisions(e->spec, reach);
        for (int a = PV_ACT_ALLOW; a <= PV_ACT_BLOCK; a++) {
            if (e->st.by_decision[a])
                continue;
            printf("note: %s: decision %s never reached (%s)\n",
                   e->name,
                   pv_action_name((pv_action)a),
                   reach[a] ? "reachable by a concrete plan: the generator misses it"
                            : "no rule or failure mode of this spec yields it on a concrete "
                              "plan");
        }
    }
    size_t loader = 0;
    for (size_t i = 0; i < fx->n_specs; i++)
        loader += fx->specs[i].st.loader;
    if (mismatches)
        fail_msg("%zu plan(s) where the engines disagree (details above)", mismatches);
    /* Plans the evaluator cannot decide, or the loader refuses, test
     * nothing: more than 1% of them means the generator is broken. */
    if (not_concrete * 100 > total)
        fail_msg("%zu of %zu generated plans are not concrete", not_concrete, total);
    if (loader * 100 > total)
        fail_msg("the loader refused %zu of %zu generated plans", loader, total);
}

/*
 * Z3 4.8.12 knows characters up to U+2FFFF only and reads at most five hex
 * digits in a \u{...} escape: a code point in U+30000..U+FFFFF used to make
 * Z3_mk_string fail (and the engine crash on the NULL term), one in
 * U+100000..U+10FFFF was read as the ten characters of its escape (so
 * `len` said 10 where the concrete evaluator says 1). Such strings are now
 * bad input at load time, and the engine fails closed on one that slips
 * past the loader. These cases pin that down; the random pools stay below
 * U+30000, where plans load.
 */
static const char code_point_spec[] = "spec: code-points\n"
                                      "version: \"1\"\n"
                                      "tools:\n"
                                      "  say: {args: {s: string}}\n"
                                      "invariants:\n"
                                      "  - id: one-code-point\n"
                                      "    on: say\n"
                                      "    assert: \"len(args.s) != 1\"\n"
                                      "    action: block\n"
                                      "  - id: no-brace\n"
                                      "    on: say\n"
                                      "    assert: \"!contains(args.s, '{')\"\n"
                                      "    action: halt\n";

static pv_spec *load_code_point_spec(void)
{
    pv_diags d = {0};
    pv_spec *spec = NULL;
    int rc = pv_spec_load("code-points.yaml", code_point_spec, strlen(code_point_spec), &spec, &d);
    print_diags("code-points spec", &d);
    pv_diags_clear(&d);
    assert_int_equal(rc, PV_OK);
    return spec;
}

static void code_point_plan(char *buf, size_t size, uint32_t cp)
{
    snprintf(buf, size, "spec: code-points\nsteps:\n  - {tool: say, args: {s: \"\\U%08X\"}}\n", cp);
}

/* The last character Z3 represents: both engines see one code point. */
static void test_code_point_last_in_z3_range(void **state)
{
    fixture *fx = *state;
    spec_entry e = {.name = "code-points", .spec = load_code_point_spec()};
    harvest_spec(&e.pools, e.spec);
    char text[128];
    code_point_plan(text, sizeof text, 0x2FFFF);
    size_t not_concrete = 0;
    bool agree = compare_one(fx->eng, &e, text, "fixed plan with U+2FFFF", &not_concrete);
    pools_free(&e.pools);
    pv_spec_free(e.spec);
    assert_true(agree);
    assert_int_equal(e.st.compared, 1);
    assert_int_equal(e.st.by_decision[PV_ACT_BLOCK], 1);
}

/* Past U+2FFFF (five and six hex digits): the plan loader refuses the plan
 * and names the character, so neither engine gives a verdict. */
static void test_code_points_past_z3_range_are_bad_input(void **state)
{
    (void)state;
    static const uint32_t cps[] = {0x30000, 0xE0041, 0xFFFFF, 0x100000, 0x10FFFF};
    pv_spec *spec = load_code_point_spec();
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char text[128], name[16];
        code_point_plan(text, sizeof text, cps[i]);
        snprintf(name, sizeof name, "U+%04X", (unsigned)cps[i]);
        pv_diags d = {0};
        pv_doc *doc = NULL;
        pv_plan *plan = NULL;
        assert_int_equal(pv_doc_parse("cp.yaml", text, strlen(text), &doc, &d), PV_OK);
        assert_int_equal(pv_plan_from_node(spec, doc, doc->root, &plan, &d), PV_EINPUT);
        assert_null(plan);
        assert_true(d.n >= 1);
        assert_non_null(strstr(d.items[0].msg, name));
        pv_diags_clear(&d);
        pv_doc_free(doc);
    }
    pv_spec_free(spec);
}

/* Should such a string reach the engine anyway (a plan built by other
 * code than the loaders), it must neither crash nor allow: the verdict is
 * solver_unknown's failure mode. */
static void test_code_point_past_z3_range_fails_closed(void **state)
{
    fixture *fx = *state;
    pv_spec *spec = load_code_point_spec();
    char text[128];
    code_point_plan(text, sizeof text, 0x2FFFF);
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *plan = NULL;
    assert_int_equal(pv_doc_parse("cp.yaml", text, strlen(text), &doc, &d), PV_OK);
    assert_int_equal(pv_plan_from_node(spec, doc, doc->root, &plan, &d), PV_OK);
    pv_doc_free(doc);
    /* U+2FFFF is F0 AF BF BF; F3 A0 81 81 is U+E0041, of the same length. */
    pv_value *lit = &plan->steps[0].args[0].lit;
    assert_int_equal(lit->u.s.len, 4);
    memcpy(lit->u.s.ptr, "\xf3\xa0\x81\x81", 4);
    for (int force = 0; force < 2; force++) {
        pv_verify_opts opts = {.force_solver = force};
        pv_verdict *v = NULL;
        assert_int_equal(pv_engine_verify(fx->eng, spec, plan, &opts, &v, &d), PV_OK);
        assert_int_equal(v->decision, spec->failure_modes[PV_FAIL_SOLVER_UNKNOWN].action);
        bool solver = false;
        for (size_t i = 0; i < v->n_findings; i++)
            solver |= v->findings[i].kind == PV_K_SOLVER;
        assert_true(solver);
        pv_verdict_free(v);
    }
    pv_diags_clear(&d);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engines_agree),
        cmocka_unit_test(test_code_point_last_in_z3_range),
        cmocka_unit_test(test_code_points_past_z3_range_are_bad_input),
        cmocka_unit_test(test_code_point_past_z3_range_fails_closed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
