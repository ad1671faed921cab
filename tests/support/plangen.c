/*
 * plangen.c - random plans for the randomised C tests; see plangen.h.
 *
 * This code was once copied into test_differential.c and test_witness.c.
 * What it draws and in which order is what a printed seed means: keep the
 * draws as they are unless every seed may change meaning.
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

#include "pv_common.h"
#include "pv_doc.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "support/plangen.h"

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
/* PRNG                                                                                       */

/* The next value of xorshift64*: small, fast and the same on every
 * platform, so that a seed printed by a test reproduces its plan anywhere.
 * r->s must not be 0 (the generator would stay at 0). */
static uint64_t rng_next(pvt_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

/* splitmix64 of x, to turn (seed, plan number) into well-spread PRNG
 * states: never 0, so the result can seed a pvt_rng as it is. Cannot fail. */
uint64_t pvt_seed_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x ? x : 1;
}

/* Uniform-ish in [0, n) (modulo bias is harmless here); 0 when n is 0,
 * drawing nothing then. */
static uint64_t rng_below(pvt_rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

/* True with probability pct/100; always draws one value. */
static bool rng_pct(pvt_rng *r, unsigned pct)
{
    return rng_below(r, 100) < pct;
}

/* Uniform in [lo, hi], lo when hi <= lo (drawing nothing then); the span
 * is computed unsigned so that it cannot overflow. */
static int64_t rng_range(pvt_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t off = span == UINT64_MAX ? rng_next(r) : rng_next(r) % (span + 1);
    return (int64_t)((uint64_t)lo + off);
}

/* a + b, saturated at INT64_MIN and INT64_MAX instead of overflowing. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* text                                                                                       */

/* Append n bytes of s (NUL bytes included) to b and keep b->p
 * NUL-terminated. The buffer grows by doubling; an allocation failure
 * fails the running test. */
void pvt_sbuf_put(pvt_sbuf *b, const char *s, size_t n)
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

/* Append the NUL-terminated string s to b, as pvt_sbuf_put. */
void pvt_sbuf_puts(pvt_sbuf *b, const char *s)
{
    pvt_sbuf_put(b, s, strlen(s));
}

/* Append printf-formatted text to b. The text must fit in 511 bytes: a
 * longer one (or a formatting error) fails the running test rather than
 * being cut. */
void pvt_sbuf_printf(pvt_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    pvt_sbuf_put(b, tmp, (size_t)n);
}

/* ------------------------------------------------------------------------------------------ */
/* value pools                                                                                */

/* Add a NUL-terminated copy of p[0..len) to l unless l already holds the
 * same bytes; order of first insertion is kept, since the generator picks
 * by index. An allocation failure fails the running test. */
static void blobs_add(pvt_blobs *l, const char *p, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].len == len && memcmp(l->v[i].p, p, len) == 0)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof(pvt_blob));
        assert_non_null(l->v);
    }
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    copy[len] = '\0';
    l->v[l->n++] = (pvt_blob){copy, len};
}

/* Free l's copies and array and leave l empty. */
static void blobs_free(pvt_blobs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Add x to l unless l already holds it, keeping the order of first
 * insertion. An allocation failure fails the running test. */
static void ints_add(pvt_ints *l, int64_t x)
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

/* Free everything p holds. p must be harvested again before it is used. */
void pvt_pools_free(pvt_pools *p)
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
static void harvest_expr(pvt_pools *p, const pv_expr *e, pv_expr_kind parent, size_t pos)
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

/* Add a variable's bounds, init and default to p: the values at which
 * range checks and comparisons turn. */
static void harvest_var(pvt_pools *p, const pv_var *v)
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

/* Is name a tool spec declares or one of its exclusions lists? */
static bool tool_name_taken(const pv_spec *spec, const pvt_pools *p, const char *name)
{
    if (pv_spec_tool(spec, name) >= 0)
        return true;
    for (size_t i = 0; i < p->excluded.n; i++)
        if (strcmp(p->excluded.v[i].p, name) == 0)
            return true;
    return false;
}

/* Fill p, overwriting it without freeing, with the values spec suggests:
 * 0 and 1, its constants, every variable's bounds, init and default, the
 * literals of all its expressions (string arguments of starts_with,
 * ends_with and contains also by role), its excluded tool names, and a few
 * tool names it neither declares nor excludes. The caller frees p with
 * pvt_pools_free. An allocation failure fails the running test. */
void pvt_pools_harvest(pvt_pools *p, const pv_spec *spec)
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

/* ------------------------------------------------------------------------------------------ */
/* YAML                                                                                       */

/* Append s[0..len) to b as a YAML double-quoted scalar that loads back as
 * the same bytes. Characters YAML does not allow raw in a stream
 * (controls, C1, BOM, U+FFFE/U+FFFF) and those libyaml would fold as line
 * breaks (U+2028, U+2029) become escapes; the rest of the UTF-8 text is
 * written as it is. A truncated sequence at the end is copied, never read
 * past. Fails the running test only on allocation. */
void pvt_yaml_quote(pvt_sbuf *b, const char *s, size_t len)
{
    pvt_sbuf_puts(b, "\"");
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[3] = {'\\', (char)c, '\0'};
            pvt_sbuf_puts(b, esc);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            pvt_sbuf_printf(b, "\\x%02X", c);
            i++;
        } else if (c < 0x80) {
            pvt_sbuf_put(b, (const char *)&u[i], 1);
            i++;
        } else {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            n = n < len - i ? n : len - i; /* never read past a truncated sequence */
            uint32_t cp = c & (0xFFu >> (n + 1));
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (u[i + k] & 0x3Fu);
            if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF ||
                cp == 0xFFFE || cp == 0xFFFF)
                pvt_sbuf_printf(b, "\\u%04X", (unsigned)cp);
            else
                pvt_sbuf_put(b, (const char *)&u[i], n);
            i += n;
        }
    }
    pvt_sbuf_puts(b, "\"");
}

/* ------------------------------------------------------------------------------------------ */
/* the generator                                                                              */

/* What is known about an earlier step while generating a later one: its
 * tool, its id, and its given result values (for refs). */
typedef struct gstep {
    int tool;
    bool has_id;
    bool *res_known;
    int64_t *res_int;
} gstep;

/* One plan being generated. */
typedef struct genctx {
    pvt_rng *r;
    const pv_spec *spec;
    const pvt_pools *p;
    bool unknowns;  /* also generate {unknown: true}, absent results and missing args */
    pvt_blobs ids;  /* this plan's object ids: few, so that steps refer to the same ones */
    pvt_blobs strs; /* strings used so far in this plan */
    pvt_ints nums;  /* ints used so far in this plan */
    bool strangers; /* this plan may call excluded and undeclared tools */
    int focus[3];   /* when n_focus > 0, declared tools come only from these */
    size_t n_focus;
    gstep *steps;
    size_t n_steps;
} genctx;

/* v, or when var is an int variable whose bounds v lies outside of, a
 * value within them: a bound, next to a bound, or uniform between them
 * (a missing bound taken as 1000 past the other). */
static int64_t clamp_to(pvt_rng *r, int64_t v, const pv_var *var)
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

/* An int for var (NULL: unbounded): mostly a spec value +-1 or one used
 * earlier in the plan, else small, medium or large; kept within var's
 * bounds and remembered in the plan's ints. */
static int64_t gen_int(genctx *g, const pv_var *var)
{
    pvt_rng *r = g->r;
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

/* Append 0..max random characters of [A-Za-z0-9_.-] to b. */
static void gen_word(pvt_rng *r, pvt_sbuf *b, size_t max)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t n = (size_t)rng_below(r, max + 1);
    for (size_t i = 0; i < n; i++)
        pvt_sbuf_put(b, &alnum[rng_below(r, sizeof alnum - 1)], 1);
}

/* Append a random member of l, which must not be empty, to b. */
static void pick_blob(pvt_rng *r, const pvt_blobs *l, pvt_sbuf *b)
{
    const pvt_blob *x = &l->v[rng_below(r, l->n)];
    pvt_sbuf_put(b, x->p, x->len);
}

/* Append to b a string drawn from the plan's ids, the strings used so far,
 * the spec's pools (whole, or as prefix, suffix or infix of a random
 * word), e-mail-like addresses, a length the spec mentions, or a word
 * around a special character. Never fails but on allocation. */
static void gen_string_into(genctx *g, pvt_sbuf *b)
{
    /* Characters that stress escaping and code-point counting: multi-byte
     * UTF-8 up to U+2A6D6 (past U+2FFFF a plan is bad input, which
     * test_differential.c checks), quotes, a backslash, a NUL, a newline. */
    static const pvt_blob specials[] = {{"\xc3\xa9", 2},
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
    pvt_rng *r = g->r;
    const pvt_pools *p = g->p;
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
        pvt_sbuf_puts(b, locals[rng_below(r, sizeof locals / sizeof locals[0])]);
        if (p->suffixes.n && rng_pct(r, 30))
            pick_blob(r, &p->suffixes, b);
        else
            pvt_sbuf_puts(b, domains[rng_below(r, sizeof domains / sizeof domains[0])]);
    } else if (m < 86) {
        /* empty */
    } else if (m < 91 && p->nums.n) {
        /* A length the spec mentions, for len(s) comparisons. */
        int64_t n = p->nums.v[rng_below(r, p->nums.n)] + rng_range(r, -1, 1);
        n = n < 0 ? 0 : n > 40 ? 40 : n;
        for (int64_t i = 0; i < n; i++)
            pvt_sbuf_puts(b, "x");
    } else {
        gen_word(r, b, 3);
        const pvt_blob *sp = &specials[rng_below(r, sizeof specials / sizeof specials[0])];
        pvt_sbuf_put(b, sp->p, sp->len);
        gen_word(r, b, 3);
    }
}

/* Append to out a YAML literal of var's type (and within its bounds),
 * remembering ints and short strings for later steps. *ival, when ival is
 * not NULL, receives an int's value (and is left alone for other types). */
static void gen_literal(genctx *g, pvt_sbuf *out, const pv_var *var, int64_t *ival)
{
    pvt_rng *r = g->r;
    switch (var->type.kind) {
    case PV_T_INT: {
        int64_t v = gen_int(g, var);
        if (ival)
            *ival = v;
        pvt_sbuf_printf(out, "%" PRId64, v);
        break;
    }
    case PV_T_BOOL:
        pvt_sbuf_puts(out, rng_pct(r, 50) ? "true" : "false");
        break;
    case PV_T_ENUM: {
        const pv_enum *en = &g->spec->enums[var->type.enum_id];
        const char *v = en->values[rng_below(r, en->n)];
        pvt_yaml_quote(out, v, strlen(v));
        break;
    }
    default: {
        pvt_sbuf s = {0};
        gen_string_into(g, &s);
        pvt_yaml_quote(out, s.p ? s.p : "", s.len);
        if (s.len < 64)
            blobs_add(&g->strs, s.p ? s.p : "", s.len);
        free(s.p);
        break;
    }
    }
}

/* Maybe append to out a ref to the result field of a step before `cur`
 * whose type is var's; true when it did, false (having written nothing)
 * when there is no candidate. Without unknowns only given fields are
 * candidates. A known int must lie within var's bounds: outside them the
 * plan is bad input to the engine and not concrete to the evaluator. */
static bool gen_ref(genctx *g, pvt_sbuf *out, size_t cur, const pv_var *var)
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
                        pvt_sbuf_printf(out, "{ref: s%zu.%s}", j, rv->name);
                    else
                        pvt_sbuf_printf(out, "{ref: \"%zu.%s\"}", j, rv->name);
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

/* Append step i to out as a one-line YAML flow mapping and record in
 * g->steps[i] its tool and given result values (arrays the caller frees).
 * The tool is now and then excluded or undeclared (when the plan allows
 * strangers), else declared, from the plan's focus when it has one. An
 * undeclared tool gets arguments of arbitrary shape. Allocation failure
 * fails the running test. */
static void gen_step(genctx *g, pvt_sbuf *out, size_t i)
{
    pvt_rng *r = g->r;
    const pv_spec *spec = g->spec;
    const pvt_pools *p = g->p;
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
    pvt_sbuf_puts(out, "  - {");
    if (gs->has_id)
        pvt_sbuf_printf(out, "id: s%zu, ", i);
    pvt_sbuf_puts(out, "tool: ");
    pvt_yaml_quote(out, name, strlen(name));
    if (gs->tool < 0) {
        /* Only the shape of an undeclared tool's values is checked. */
        pvt_sbuf_puts(out, ", args: {");
        size_t n = (size_t)rng_below(r, 3);
        for (size_t k = 0; k < n; k++) {
            pvt_sbuf_printf(out, "%sx%zu: ", k ? ", " : "", k);
            if (rng_pct(r, 50))
                pvt_sbuf_printf(out, "%" PRId64, rng_range(r, -5, 500));
            else
                pvt_yaml_quote(out, "A1", 2);
        }
        pvt_sbuf_puts(out, "}");
        if (rng_pct(r, 20))
            pvt_sbuf_puts(out, ", result: {ok: true}");
        pvt_sbuf_puts(out, "}\n");
        return;
    }
    const pv_tool *tool = &spec->tools[gs->tool];
    gs->res_known = calloc(tool->n_returns + 1, sizeof(bool));
    gs->res_int = calloc(tool->n_returns + 1, sizeof(int64_t));
    assert_true(gs->res_known && gs->res_int);
    pvt_sbuf_puts(out, ", args: {");
    bool first = true;
    for (size_t a = 0; a < tool->n_args; a++) {
        const pv_var *var = &tool->args[a];
        if (var->optional && var->has_default && rng_pct(r, 25))
            continue; /* the default applies */
        if (g->unknowns && !var->optional && rng_pct(r, 4))
            continue; /* missing_argument */
        if (g->unknowns && var->optional && !var->has_default && rng_pct(r, 25))
            continue; /* absent without default: unknown */
        pvt_sbuf_printf(out, "%s%s: ", first ? "" : ", ", var->name);
        first = false;
        if (g->unknowns && rng_pct(r, 20))
            pvt_sbuf_puts(out, "{unknown: true}");
        else if (!(rng_pct(r, 15) && gen_ref(g, out, i, var)))
            gen_literal(g, out, var, NULL);
    }
    pvt_sbuf_puts(out, "}");
    if (tool->n_returns == 0) {
        if (rng_pct(r, 30))
            pvt_sbuf_puts(out, ", result: {}");
    } else if (!(g->unknowns && rng_pct(r, 30))) {
        pvt_sbuf_puts(out, ", result: {");
        first = true;
        for (size_t f = 0; f < tool->n_returns; f++) {
            const pv_var *var = &tool->returns[f];
            if (g->unknowns && rng_pct(r, 20))
                continue;
            pvt_sbuf_printf(out, "%s%s: ", first ? "" : ", ", var->name);
            first = false;
            gen_literal(g, out, var, &gs->res_int[f]);
            gs->res_known[f] = true;
        }
        pvt_sbuf_puts(out, "}");
    }
    pvt_sbuf_puts(out, "}\n");
}

/* How many steps: 0..12, short plans more often (a long random plan nearly
 * always breaks something severe, which would hide the milder decisions);
 * past max_steps now and then when the spec's budget is small enough for
 * that to stay cheap. */
static size_t gen_length(pvt_rng *r, const pv_spec *spec)
{
    if (spec->max_steps <= 16 && rng_pct(r, 10))
        return (size_t)rng_range(
            r, spec->max_steps > 0 ? spec->max_steps - 1 : 0, (int64_t)spec->max_steps + 3);
    return (size_t)rng_below(r, rng_pct(r, 50) ? 5 : 13);
}

/* A random plan for spec, drawn from r and p, as the YAML text of a plan
 * file with id plan_id; the caller frees it. Without `unknowns` the plan is
 * concrete (every value given), so the concrete evaluator can decide it;
 * with them, some values are {unknown: true}, absent or missing. The same
 * r state, spec, pools and flags give the same text. Allocation failure
 * fails the running test. */
char *pvt_plan_generate(pvt_rng *r, const pv_spec *spec, const pvt_pools *p, bool unknowns,
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
    pvt_sbuf out = {0};
    pvt_sbuf_puts(&out, "spec: ");
    pvt_yaml_quote(&out, spec->id, strlen(spec->id));
    pvt_sbuf_printf(&out, "\nid: %s\n", plan_id);

    /* A state variable without `init` must be given for the plan to be
     * concrete; one with `init` is overridden now and then. */
    bool any = false;
    for (size_t v = 0; v < spec->n_state; v++) {
        const pv_var *var = &spec->state[v];
        bool give = var->has_init ? rng_pct(r, 12) : (!unknowns || rng_pct(r, 50));
        if (!give)
            continue;
        pvt_sbuf_printf(&out, "%s%s: ", any ? ", " : "initial_state: {", var->name);
        any = true;
        if (unknowns && rng_pct(r, 15))
            pvt_sbuf_puts(&out, "{unknown: true}");
        else
            gen_literal(&g, &out, var, NULL);
    }
    if (any)
        pvt_sbuf_puts(&out, "}\n");

    g.n_steps = gen_length(r, spec);
    g.steps = calloc(g.n_steps + 1, sizeof(gstep));
    assert_non_null(g.steps);
    for (size_t i = 0; i < g.n_steps; i++)
        g.steps[i].has_id = rng_pct(r, 40);
    pvt_sbuf_puts(&out, g.n_steps ? "steps:\n" : "steps: []\n");
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

/* ------------------------------------------------------------------------------------------ */
/* helpers and the spec set                                                                   */

/* Print each diagnostic of d on stderr as "what: formatted diagnostic".
 * d is left as it is (the caller clears it). */
void pvt_print_diags(const char *what, const pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *s = pv_diag_format(&d->items[i]);
        fprintf(stderr, "%s: %s\n", what, s);
        free(s);
    }
}

/* The source tree the tests read specs from: $PV_SOURCE_DIR, or "." (ctest
 * runs the tests there) when it is unset or empty. The string is not to be
 * freed. */
const char *pvt_source_dir(void)
{
    const char *dir = getenv("PV_SOURCE_DIR");
    return dir && *dir ? dir : ".";
}

/* The environment variable `name` as an unsigned number (decimal, 0x hex
 * or 0 octal, as strtoull with base 0), or dflt when it is unset, empty or
 * not wholly a number. */
uint64_t pvt_env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    return *end ? dflt : (uint64_t)v;
}

/* Seconds on the monotonic clock, for timing a run (only differences mean
 * anything). */
double pvt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does a file name end in ".yaml" after at least one other character? */
static bool ends_with_yaml(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

/* scandir filter: the .yaml files of a directory. */
static int yaml_entry(const struct dirent *d)
{
    return ends_with_yaml(d->d_name);
}

/* Append spec (now owned by set) under a copy of name, with its pools.
 * A full set or an allocation failure fails the running test. */
static void add_spec(pvt_spec_set *set, const char *name, pv_spec *spec)
{
    assert_true(set->n_specs < PVT_MAX_SPECS);
    pvt_spec_entry *e = &set->specs[set->n_specs++];
    e->name = strdup(name);
    assert_non_null(e->name);
    e->spec = spec;
    pvt_pools_harvest(&e->pools, spec);
}

/* Free every entry's name, spec and pools and leave set empty. */
void pvt_spec_set_free(pvt_spec_set *set)
{
    for (size_t i = 0; i < set->n_specs; i++) {
        free(set->specs[i].name);
        pv_spec_free(set->specs[i].spec);
        pvt_pools_free(&set->specs[i].pools);
    }
    memset(set, 0, sizeof *set);
}

/* Load into set, which must be empty, every .yaml file of source_dir/specs
 * sorted by name (so that a seed means the same plans on every machine),
 * then the synthetic spec, each with its pools. Returns 0, or -1 when the
 * directory cannot be read (loading nothing) or a spec does not load (after
 * printing its diagnostics and loading the rest). Only PVT_MAX_SPECS - 1
 * files are kept, so that the synthetic spec always has room. Whatever
 * loaded stays in set, which the caller frees with pvt_spec_set_free. */
int pvt_spec_set_load(pvt_spec_set *set, const char *source_dir)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/specs", source_dir);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, yaml_entry, alphasort);
    if (n < 0) {
        fprintf(stderr, "cannot read %s\n", dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        pv_diags d = {0};
        pv_spec *spec = NULL;
        if (pv_spec_load_file(path, &spec, &d) != PV_OK) {
            pvt_print_diags(path, &d);
            rc = -1;
        } else if (set->n_specs + 1 < PVT_MAX_SPECS) {
            add_spec(set, names[i]->d_name, spec);
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
        pvt_print_diags("synthetic spec", &d);
        rc = -1;
    } else {
        add_spec(set, "(synthetic)", synth);
    }
    pv_diags_clear(&d);
    return rc;
}

/* Parse text as a plan file for e's spec, through the real document and
 * plan loaders. Returns the plan, which the caller frees with pv_plan_free,
 * or NULL when either loader refuses it: then *refused is incremented and,
 * while it was below 3, the plan text and the loader's diagnostics go to
 * stderr (the generator means to write valid plans, so the first few
 * refusals are worth seeing and more would be noise). */
pv_plan *pvt_plan_load(const pvt_spec_entry *e, const char *text, size_t *refused)
{
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *plan = NULL;
    if (pv_doc_parse("generated.yaml", text, strlen(text), &doc, &d) != PV_OK ||
        pv_plan_from_node(e->spec, doc, doc->root, &plan, &d) != PV_OK) {
        if ((*refused)++ < 3) {
            fprintf(stderr, "loader refused a generated plan (%s):\n%s", e->name, text);
            pvt_print_diags("  loader", &d);
        }
        pv_diags_clear(&d);
        pv_doc_free(doc);
        return NULL;
    }
    pv_diags_clear(&d);
    pv_doc_free(doc);
    return plan;
}

/* ------------------------------------------------------------------------------------------ */
/* seeded runs                                                                                */

pvt_run pvt_run_start(const pvt_spec_set *set, const char *name, const char *env,
                      uint64_t dflt_seed, uint64_t dflt_plans, const char *more)
{
    pvt_run run = {.set = set, .name = name};
    char plans_var[64];
    assert_true(set->n_specs > 0);
    snprintf(run.seed_var, sizeof run.seed_var, "%s_SEED", env);
    snprintf(plans_var, sizeof plans_var, "%s_PLANS", env);
    run.seed = pvt_env_u64(run.seed_var, dflt_seed);
    run.total = (size_t)pvt_env_u64(plans_var, dflt_plans);
    printf("%s: %zu specs, %s=%" PRIu64 ", %s=%zu%s\n",
           name,
           set->n_specs,
           run.seed_var,
           run.seed,
           plans_var,
           run.total,
           more);
    run.t0 = pvt_now_s();
    return run;
}

pvt_seeded_plan pvt_run_plan(const pvt_run *run, size_t k, bool unknowns, const char *id_prefix)
{
    pvt_seeded_plan p = {.spec = k % run->set->n_specs};
    p.e = &run->set->specs[p.spec];
    uint64_t plan_seed = pvt_seed_mix(run->seed ^ pvt_seed_mix((uint64_t)k));
    pvt_rng r = {plan_seed};
    char id[64];
    snprintf(id, sizeof id, "%s-%zu", id_prefix, k);
    snprintf(p.origin,
             sizeof p.origin,
             "%s=%" PRIu64 ", plan #%zu (plan seed 0x%016" PRIx64 ")",
             run->seed_var,
             run->seed,
             k,
             plan_seed);
    p.text = pvt_plan_generate(&r, p.e->spec, &p.e->pools, unknowns, id);
    return p;
}

void pvt_run_print_time(const pvt_run *run, const char *each)
{
    double secs = pvt_now_s() - run->t0;
    printf("%s: %zu plans in %.1f s (%.2f ms per plan%s)\n",
           run->name,
           run->total,
           secs,
           run->total ? secs * 1000.0 / (double)run->total : 0.0,
           each);
}

void pvt_run_print_counts(const pvt_run *run, const void *counts, size_t size,
                          const pvt_count_column *cols, size_t n_cols)
{
    printf("%-22s", "spec");
    for (size_t c = 0; c < n_cols; c++)
        printf(" %*s", cols[c].width, cols[c].heading);
    printf("\n");
    for (size_t i = 0; i < run->set->n_specs; i++) {
        const char *row = (const char *)counts + i * size;
        printf("%-22s", run->set->specs[i].name);
        for (size_t c = 0; c < n_cols; c++) {
            size_t n;
            memcpy(&n, row + cols[c].offset, sizeof n);
            printf(" %*zu", cols[c].width, n);
        }
        printf("\n");
    }
}

void pvt_run_check_loader(const pvt_run *run, size_t refused)
{
    if (refused * 100 > run->total)
        fail_msg("the loader refused %zu of %zu generated plans", refused, run->total);
}
