/*
 * quick.c - the quick path: a plan with unknowns decided without Z3 when
 * interval bounds and sample runs settle every question (see pv_quick.h).
 *
 * The questions are the Z3 engine's, asked in its order: at each step from
 * from_step, the scope exclusions' `when`, the tool's `requires` and its
 * call rules over the pre-state, then every state rule not yet broken over
 * the post-state. Each is answered in three ways, cheapest first:
 *
 *  1. Bounds. Every value of the plan gets an interval (an unknown the
 *     range its declaration allows; a string either its text or "any");
 *     expressions are evaluated over intervals, soundly: the result
 *     contains every value the expression can take. A state variable
 *     whose start is unknown is narrowed by the `always` rules that bound
 *     it by a constant, which the solver assumes at the start. A question
 *     whose "broken" condition is false on the whole interval cannot
 *     break; one that is true on it breaks whatever the unknowns are
 *     (certain).
 *  2. Sample runs. The unknowns are given candidate values (the base run
 *     sets each to a small value its declaration allows; further runs
 *     change one unknown, then two, to values drawn from its bounds and
 *     from the integer and string literals of the spec and plan, and their
 *     neighbours, or far past them on a side its declaration leaves
 *     open; a string first gets the literals its tool's rules compare
 *     it with, and values built of a prefix, a text it must contain and a
 *     suffix among them). A run counts only when it satisfies the
 *     background the solver assumes: bounds, ensures, referenced values
 *     within the argument's bounds, the `always` rules at an unknown
 *     start. A run in which the question breaks is its witness; one in
 *     which it holds shows the break is not certain.
 *  3. Anything else (a question bounds cannot settle and no run breaks, or
 *     a break no run avoids) makes the whole plan go to the solver.
 *
 * Sample runs are evaluated by the concrete evaluator (concrete.c), which
 * the differential tests hold to the Z3 encoding's semantics.
 */
#include "pv_call.h"
#include "pv_chain.h"
#include "pv_concrete_eval.h"
#include "pv_message.h"
#include "pv_quick.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* At most this many sample runs per verification, and at most
 * QUICK_MAX_WORK steps and questions evaluated over all runs: a long plan
 * the runs cannot settle goes to the solver without first spending on
 * them what the solver would. */
#define QUICK_MAX_RUNS 384
#define QUICK_MAX_WORK 200000
/* Candidate values per unknown. */
#define QUICK_MAX_CANDIDATES 24
/* Up to this many unknowns, the search does not narrow them by chains;
 * nor does it with more unsettled questions than QUICK_MAX_CHAINS. */
#define QUICK_FEW_SLOTS 8
#define QUICK_MAX_CHAINS 16
/* The far candidates of an unbounded int: 16 times the largest literal,
 * at least QUICK_FAR and at most QUICK_FAR_MAX (which leaves room for
 * sums and constant factors within 64 bits). */
#define QUICK_FAR 1000000
#define QUICK_FAR_MAX 1000000000000LL
/* Literals harvested for candidates. */
#define QUICK_MAX_LITERALS 48

/* ------------------------------------------------------------------ */
/* intervals                                                           */

/*
 * An abstract value: for ints, enum indices and bools (0/1), the closed
 * interval [lo, hi], either end possibly unbounded; for strings, the text
 * when it is known (s != NULL), else any string.
 */
typedef struct aval {
    bool is_str;
    const pv_str *s;
    bool lo_inf, hi_inf;
    int64_t lo, hi;
} aval;

static aval av_int(int64_t lo, int64_t hi)
{
    return (aval){false, NULL, false, false, lo, hi};
}

static aval av_top(void)
{
    return (aval){false, NULL, true, true, 0, 0};
}

static aval av_bool_maybe(void)
{
    return av_int(0, 1);
}

static bool av_true(const aval *a)
{
    return !a->is_str && !a->lo_inf && a->lo >= 1;
}

static bool av_false(const aval *a)
{
    return !a->is_str && !a->hi_inf && a->hi <= 0;
}

static bool av_exact(const aval *a)
{
    return !a->is_str && !a->lo_inf && !a->hi_inf && a->lo == a->hi;
}

static aval av_of_value(const pv_value *v)
{
    switch (v->type.kind) {
    case PV_T_BOOL:
        return av_int(v->u.b, v->u.b);
    case PV_T_ENUM:
        return av_int(v->u.e, v->u.e);
    case PV_T_STRING:
        return (aval){true, &v->u.s, false, false, 0, 0};
    default:
        return av_int(v->u.i, v->u.i);
    }
}

/* Every value a variable of this declaration can hold. */
static aval av_domain(const pv_spec *spec, const pv_var *var)
{
    switch (var->type.kind) {
    case PV_T_BOOL:
        return av_int(0, 1);
    case PV_T_ENUM:
        return av_int(0, (int64_t)spec->enums[var->type.enum_id].n - 1);
    case PV_T_STRING:
        return (aval){true, NULL, false, false, 0, 0};
    default: {
        aval a = av_top();
        if (var->has_min) {
            a.lo_inf = false;
            a.lo = var->min;
        }
        if (var->has_max) {
            a.hi_inf = false;
            a.hi = var->max;
        }
        return a;
    }
    }
}

static aval av_join(const aval *a, const aval *b)
{
    if (a->is_str) {
        aval r = *a;
        if (!a->s || !b->s || !pv_str_eq(*a->s, *b->s))
            r.s = NULL;
        return r;
    }
    aval r;
    r.is_str = false;
    r.s = NULL;
    r.lo_inf = a->lo_inf || b->lo_inf;
    r.hi_inf = a->hi_inf || b->hi_inf;
    r.lo = a->lo < b->lo ? a->lo : b->lo;
    r.hi = a->hi > b->hi ? a->hi : b->hi;
    return r;
}

static aval av_not(const aval *a)
{
    if (av_true(a))
        return av_int(0, 0);
    if (av_false(a))
        return av_int(1, 1);
    return av_bool_maybe();
}

static aval av_and(const aval *a, const aval *b)
{
    if (av_false(a) || av_false(b))
        return av_int(0, 0);
    if (av_true(a) && av_true(b))
        return av_int(1, 1);
    return av_bool_maybe();
}

static aval av_or(const aval *a, const aval *b)
{
    if (av_true(a) || av_true(b))
        return av_int(1, 1);
    if (av_false(a) && av_false(b))
        return av_int(0, 0);
    return av_bool_maybe();
}

static aval av_neg(const aval *a)
{
    aval r = av_top();
    if (!a->hi_inf && a->hi != INT64_MIN) {
        r.lo_inf = false;
        r.lo = -a->hi;
    }
    if (!a->lo_inf && a->lo != INT64_MIN) {
        r.hi_inf = false;
        r.hi = -a->lo;
    }
    return r;
}

static aval av_add(const aval *a, const aval *b)
{
    aval r = av_top();
    if (!a->lo_inf && !b->lo_inf && !__builtin_add_overflow(a->lo, b->lo, &r.lo))
        r.lo_inf = false;
    if (!a->hi_inf && !b->hi_inf && !__builtin_add_overflow(a->hi, b->hi, &r.hi))
        r.hi_inf = false;
    return r;
}

static aval av_mul(const aval *a, const aval *b)
{
    if ((av_exact(a) && a->lo == 0) || (av_exact(b) && b->lo == 0))
        return av_int(0, 0);
    if (a->lo_inf || a->hi_inf || b->lo_inf || b->hi_inf)
        return av_top();
    int64_t p[4];
    if (__builtin_mul_overflow(a->lo, b->lo, &p[0]) ||
        __builtin_mul_overflow(a->lo, b->hi, &p[1]) ||
        __builtin_mul_overflow(a->hi, b->lo, &p[2]) || __builtin_mul_overflow(a->hi, b->hi, &p[3]))
        return av_top();
    aval r = av_int(p[0], p[0]);
    for (int i = 1; i < 4; i++) {
        r.lo = p[i] < r.lo ? p[i] : r.lo;
        r.hi = p[i] > r.hi ? p[i] : r.hi;
    }
    return r;
}

static aval av_divmod(bool mod, const aval *a, const aval *b)
{
    /* Division by zero is unspecified in SMT-LIB (any value); a divisor
     * that is not one known non-zero number gives no bound. */
    if (!av_exact(b) || b->lo == 0 || b->lo == INT64_MIN)
        return av_top();
    int64_t d = b->lo, q1, q2, r;
    if (mod) {
        if (av_exact(a) && pv_smt_divmod(a->lo, d, &q1, &r))
            return av_int(r, r);
        return av_int(0, (d < 0 ? -d : d) - 1);
    }
    /* For a fixed divisor the quotient is monotonic in the dividend. */
    if (a->lo_inf || a->hi_inf || !pv_smt_divmod(a->lo, d, &q1, &r) ||
        !pv_smt_divmod(a->hi, d, &q2, &r))
        return av_top();
    return q1 <= q2 ? av_int(q1, q2) : av_int(q2, q1);
}

/* a < b (strict) or a <= b. */
static aval av_less(const aval *a, const aval *b, bool strict)
{
    if (!a->hi_inf && !b->lo_inf && (strict ? a->hi < b->lo : a->hi <= b->lo))
        return av_int(1, 1);
    if (!a->lo_inf && !b->hi_inf && (strict ? a->lo >= b->hi : a->lo > b->hi))
        return av_int(0, 0);
    return av_bool_maybe();
}

static aval av_eq(const aval *a, const aval *b)
{
    if (a->is_str) {
        if (a->s && b->s)
            return av_int(pv_str_eq(*a->s, *b->s), pv_str_eq(*a->s, *b->s));
        return av_bool_maybe();
    }
    if (av_exact(a) && av_exact(b))
        return av_int(a->lo == b->lo, a->lo == b->lo);
    if ((!a->hi_inf && !b->lo_inf && a->hi < b->lo) || (!b->hi_inf && !a->lo_inf && b->hi < a->lo))
        return av_int(0, 0);
    return av_bool_maybe();
}

static aval av_minmax(bool is_max, const aval *a, const aval *b)
{
    aval r;
    r.is_str = false;
    r.s = NULL;
    if (!is_max) {
        r.lo_inf = a->lo_inf || b->lo_inf;
        r.lo = a->lo < b->lo ? a->lo : b->lo;
        r.hi_inf = a->hi_inf && b->hi_inf;
        r.hi = a->hi_inf ? b->hi : b->hi_inf ? a->hi : (a->hi < b->hi ? a->hi : b->hi);
    } else {
        r.hi_inf = a->hi_inf || b->hi_inf;
        r.hi = a->hi > b->hi ? a->hi : b->hi;
        r.lo_inf = a->lo_inf && b->lo_inf;
        r.lo = a->lo_inf ? b->lo : b->lo_inf ? a->lo : (a->lo > b->lo ? a->lo : b->lo);
    }
    return r;
}

static aval av_abs(const aval *a)
{
    if (!a->lo_inf && a->lo >= 0)
        return *a;
    if (!a->hi_inf && a->hi <= 0)
        return av_neg(a);
    aval n = av_neg(a);
    aval r = av_int(0, 0);
    r.hi_inf = a->hi_inf || n.hi_inf;
    r.hi = a->hi > n.hi ? a->hi : n.hi;
    return r;
}

/* starts_with, ends_with, contains: exact when both texts are known, and
 * always true for an empty pattern. */
static aval av_match(pv_expr_kind k, const aval *a, const aval *b)
{
    if (b->s && b->s->len == 0)
        return av_int(1, 1);
    if (!a->s || !b->s)
        return av_bool_maybe();
    const pv_str *s = a->s, *p = b->s;
    bool r = false;
    if (p->len <= s->len) {
        if (k == PV_E_STARTS_WITH)
            r = memcmp(s->ptr, p->ptr, p->len) == 0;
        else if (k == PV_E_ENDS_WITH)
            r = memcmp(s->ptr + s->len - p->len, p->ptr, p->len) == 0;
        else
            for (size_t i = 0; !r && i + p->len <= s->len; i++)
                r = memcmp(s->ptr + i, p->ptr, p->len) == 0;
    }
    return av_int(r, r);
}

/* ------------------------------------------------------------------ */
/* the plan over intervals                                             */

/* Literals for candidates: unique, at most QUICK_MAX_LITERALS of each. */
typedef struct lit_pool {
    int64_t ints[QUICK_MAX_LITERALS];
    size_t n_ints;
    const pv_str *strs[QUICK_MAX_LITERALS];
    size_t n_strs;
} lit_pool;

typedef struct quick quick;

typedef struct aenv {
    const quick *Q;
    const aval *state;
    int step, it;
} aenv;

struct quick {
    pv_arena arena; /* the per-step arrays, released at once */
    bool harvested; /* ints and strs hold the literals */
    const pv_spec *spec;
    const pv_plan *plan;
    size_t analysed, from_step;
    bool no_witness;
    /* intervals */
    aval **aargs, **ares; /* [analysed][n_args / n_returns] */
    aval **astate;        /* [analysed + 1][n_state] */
    /* sample runs */
    pv_cstep *steps;    /* [analysed] */
    pv_value **cstate;  /* [analysed + 1][n_state] */
    struct slot *slots; /* the unknowns, in the Z3 engine's order */
    size_t n_slots;
    struct question *qs;
    size_t n_qs, cap_qs;
    /* runs tried: each an assignment (candidate index per slot) and, when
     * it satisfies the background, which questions break in it */
    unsigned char *run_assign; /* [n_runs][n_slots] */
    unsigned char *run_breaks; /* [n_runs][n_qs]: 0 holds, 1 breaks */
    bool *run_valid;
    size_t n_runs, cap_runs;
    long valid_run; /* the first run that satisfies the background, or -1 */
    long laid_out;  /* the run whose values the trace holds for report, or -1 */
    lit_pool lits;  /* literals of the spec and plan, for candidates */
};

static aval aeval(const aenv *env, const pv_expr *e);

static const aval *afield(const aenv *env, int s, bool result, const pv_expr *e)
{
    const pv_step *st = &env->Q->plan->steps[s];
    const pv_tool *tool = &env->Q->spec->tools[st->tool];
    if (result)
        return &env->Q->ares[s][pv_tool_return(tool, e->u.ref.name)];
    return &env->Q->aargs[s][pv_tool_arg(tool, e->u.ref.name)];
}

static aval aeval(const aenv *env, const pv_expr *e)
{
    aval a, b;
    switch (e->kind) {
    case PV_E_INT:
        return av_int(e->u.i, e->u.i);
    case PV_E_BOOL:
        return av_int(e->u.b, e->u.b);
    case PV_E_STR:
        return (aval){true, &e->u.s, false, false, 0, 0};
    case PV_E_ENUM:
        return av_int(e->u.e, e->u.e);
    case PV_E_STATE:
        return env->state[e->u.ref.index];
    case PV_E_ARG:
        return *afield(env, env->step, false, e);
    case PV_E_RESULT:
        return *afield(env, env->step, true, e);
    case PV_E_IT_ARG:
        return *afield(env, env->it, false, e);
    case PV_E_IT_RESULT:
        return *afield(env, env->it, true, e);
    case PV_E_NOT:
        a = aeval(env, e->kids[0]);
        return av_not(&a);
    case PV_E_NEG:
        a = aeval(env, e->kids[0]);
        return av_neg(&a);
    case PV_E_AND:
        a = aeval(env, e->kids[0]);
        if (av_false(&a))
            return a;
        b = aeval(env, e->kids[1]);
        return av_and(&a, &b);
    case PV_E_OR:
        a = aeval(env, e->kids[0]);
        if (av_true(&a))
            return a;
        b = aeval(env, e->kids[1]);
        return av_or(&a, &b);
    case PV_E_IMPLIES:
        a = aeval(env, e->kids[0]);
        a = av_not(&a);
        if (av_true(&a))
            return a;
        b = aeval(env, e->kids[1]);
        return av_or(&a, &b);
    case PV_E_EQ:
    case PV_E_NE:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        a = av_eq(&a, &b);
        return e->kind == PV_E_EQ ? a : av_not(&a);
    case PV_E_LT:
    case PV_E_LE:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_less(&a, &b, e->kind == PV_E_LT);
    case PV_E_GT:
    case PV_E_GE:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_less(&b, &a, e->kind == PV_E_GT);
    case PV_E_ADD:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_add(&a, &b);
    case PV_E_SUB:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        b = av_neg(&b);
        return av_add(&a, &b);
    case PV_E_MUL:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_mul(&a, &b);
    case PV_E_DIV:
    case PV_E_MOD:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_divmod(e->kind == PV_E_MOD, &a, &b);
    case PV_E_COND: {
        aval c = aeval(env, e->kids[0]);
        if (av_true(&c))
            return aeval(env, e->kids[1]);
        if (av_false(&c))
            return aeval(env, e->kids[2]);
        a = aeval(env, e->kids[1]);
        b = aeval(env, e->kids[2]);
        return av_join(&a, &b);
    }
    case PV_E_IN: {
        aval x = aeval(env, e->kids[0]);
        aval r = av_int(0, 0);
        for (size_t i = 1; i < e->n_kids && !av_true(&r); i++) {
            b = aeval(env, e->kids[i]);
            a = av_eq(&x, &b);
            r = av_or(&r, &a);
        }
        return r;
    }
    case PV_E_STARTS_WITH:
    case PV_E_ENDS_WITH:
    case PV_E_CONTAINS:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_match(e->kind, &a, &b);
    case PV_E_LEN:
        a = aeval(env, e->kids[0]);
        if (a.s) {
            int64_t n = (int64_t)pv_utf8_len(a.s);
            return av_int(n, n);
        }
        b = av_int(0, 0);
        b.hi_inf = true;
        return b;
    case PV_E_MIN:
    case PV_E_MAX:
        a = aeval(env, e->kids[0]);
        b = aeval(env, e->kids[1]);
        return av_minmax(e->kind == PV_E_MAX, &a, &b);
    case PV_E_ABS:
        a = aeval(env, e->kids[0]);
        return av_abs(&a);
    case PV_E_EARLIER:
    case PV_E_COUNT: {
        bool count = e->kind == PV_E_COUNT;
        aval r = av_int(0, 0);
        for (int j = 0; j < env->step; j++) {
            int t = env->Q->plan->steps[j].tool;
            bool match = false;
            for (size_t k = 0; k < e->u.path.n_tools; k++)
                match |= e->u.path.tools[k] == t;
            if (!match)
                continue;
            aenv inner = *env;
            inner.it = j;
            aval c = aeval(&inner, e->kids[0]);
            if (count) {
                aval one = av_false(&c) ? av_int(0, 0) : av_true(&c) ? av_int(1, 1) : av_int(0, 1);
                r = av_add(&r, &one);
            } else {
                r = av_or(&r, &c);
                if (av_true(&r))
                    break;
            }
        }
        return r;
    }
    default:
        return av_top();
    }
}

/* ------------------------------------------------------------------ */
/* the unknowns and their candidates                                   */

typedef struct slot {
    const char *what;  /* "args", "result", or NULL for the initial state */
    const pv_var *var; /* its declaration */
    int step;          /* -1: the initial state */
    pv_value *value;   /* where a run puts its value */
    pv_value cand[QUICK_MAX_CANDIDATES];
    size_t n_cand; /* cand[0] is the base value; the rest are filled when
                      a run needs them (fill_candidates) */
    char *key;     /* the witness key, made when a witness needs it */
} slot;

static void add_int_cand(slot *s, int64_t v)
{
    const pv_var *var = s->var;
    if ((var->has_min && v < var->min) || (var->has_max && v > var->max))
        return;
    if (s->n_cand == QUICK_MAX_CANDIDATES)
        return;
    for (size_t i = 0; i < s->n_cand; i++)
        if (s->cand[i].u.i == v)
            return;
    s->cand[s->n_cand].type = var->type;
    s->cand[s->n_cand++].u.i = v;
}

static void add_int_near(slot *s, int64_t k)
{
    add_int_cand(s, k);
    if (k < INT64_MAX)
        add_int_cand(s, k + 1);
    if (k > INT64_MIN)
        add_int_cand(s, k - 1);
}

/*
 * What the rules of a string unknown's step compare it with, by role:
 * prefixes (starts_with), suffixes (ends_with), text it must contain
 * (contains, not negated), and every other literal it meets (negated
 * contains, ==, in). A run that satisfies a rule like "starts with the
 * kind's keyword and contains ' WHERE '" needs a value built of several
 * of them, which no single literal is.
 */
#define QUICK_MAX_HINTS 12
typedef struct str_hints {
    const pv_str *pre[QUICK_MAX_HINTS], *suf[QUICK_MAX_HINTS], *inf[QUICK_MAX_HINTS],
        *other[QUICK_MAX_HINTS];
    size_t n_pre, n_suf, n_inf, n_other;
} str_hints;

static void hint_add(const pv_str **arr, size_t *n, const pv_str *x)
{
    for (size_t i = 0; i < *n; i++)
        if (pv_str_eq(*arr[i], *x))
            return;
    if (*n < QUICK_MAX_HINTS)
        arr[(*n)++] = x;
}

/* Whether e names the slot's value: args.NAME or result.NAME of the step
 * itself. */
static bool names_slot(const pv_expr *e, const slot *s)
{
    pv_expr_kind want = strcmp(s->what, "args") == 0 ? PV_E_ARG : PV_E_RESULT;
    return e->kind == want && strcmp(e->u.ref.name, s->var->name) == 0;
}

/* Gather hints for s from e; neg: e sits under an odd number of
 * negations (the left of => counts as one). */
static void collect_hints(const pv_expr *e, const slot *s, bool neg, str_hints *h)
{
    if (!e)
        return;
    switch (e->kind) {
    case PV_E_NOT:
        collect_hints(e->kids[0], s, !neg, h);
        return;
    case PV_E_IMPLIES:
        collect_hints(e->kids[0], s, !neg, h);
        collect_hints(e->kids[1], s, neg, h);
        return;
    case PV_E_EARLIER:
    case PV_E_COUNT:
        return; /* about earlier steps' values, not this one */
    case PV_E_STARTS_WITH:
    case PV_E_ENDS_WITH:
    case PV_E_CONTAINS:
        if (names_slot(e->kids[0], s) && e->kids[1]->kind == PV_E_STR) {
            const pv_str *lit = &e->kids[1]->u.s;
            if (neg)
                hint_add(h->other, &h->n_other, lit);
            else if (e->kind == PV_E_STARTS_WITH)
                hint_add(h->pre, &h->n_pre, lit);
            else if (e->kind == PV_E_ENDS_WITH)
                hint_add(h->suf, &h->n_suf, lit);
            else
                hint_add(h->inf, &h->n_inf, lit);
            return;
        }
        break;
    case PV_E_EQ:
    case PV_E_NE:
    case PV_E_IN:
        if (names_slot(e->kids[0], s) || (e->n_kids == 2 && names_slot(e->kids[1], s))) {
            for (size_t k = 0; k < e->n_kids; k++)
                if (e->kids[k]->kind == PV_E_STR)
                    hint_add(h->other, &h->n_other, &e->kids[k]->u.s);
            return;
        }
        break;
    default:
        break;
    }
    for (size_t k = 0; k < e->n_kids; k++)
        collect_hints(e->kids[k], s, neg, h);
}

/* The hints of a string unknown of a step (none for the initial state):
 * from the call rules on its tool, the tool's requires, ensures and
 * effects, and the scope exclusions that name the tool. */
static void slot_hints(const quick *Q, const slot *s, str_hints *h)
{
    memset(h, 0, sizeof *h);
    if (s->step < 0)
        return;
    const pv_spec *spec = Q->spec;
    int t = Q->plan->steps[s->step].tool;
    const pv_tool *tool = &spec->tools[t];
    for (size_t r = 0; r < spec->n_invariants; r++)
        if (spec->invariants[r].kind == PV_RULE_CALL && pv_rule_on(&spec->invariants[r], t))
            collect_hints(spec->invariants[r].cond, s, false, h);
    collect_hints(tool->requires, s, false, h);
    collect_hints(tool->ensures, s, false, h);
    for (size_t k = 0; k < tool->n_effects; k++)
        collect_hints(tool->effects[k].expr, s, false, h);
    for (size_t x = 0; x < spec->n_excludes; x++)
        if (pv_exclusion_names(&spec->excludes[x], Q->plan->steps[s->step].tool_name))
            collect_hints(spec->excludes[x].when, s, false, h);
}

static void add_str_cand(slot *s, pv_str v)
{
    if (s->n_cand == QUICK_MAX_CANDIDATES)
        return;
    for (size_t k = 0; k < s->n_cand; k++)
        if (pv_str_eq(s->cand[k].u.s, v))
            return;
    s->cand[s->n_cand].type = s->var->type;
    s->cand[s->n_cand++].u.s = v;
}

/* a + b + c, in the run's arena. */
static pv_str str_join(quick *Q, const pv_str *a, const pv_str *b, const pv_str *c)
{
    size_t n = (a ? a->len : 0) + (b ? b->len : 0) + (c ? c->len : 0);
    char *buf = pv_arena_calloc(&Q->arena, n + 1);
    size_t at = 0;
    const pv_str *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (parts[i]) {
            memcpy(buf + at, parts[i]->ptr, parts[i]->len);
            at += parts[i]->len;
        }
    return (pv_str){buf, n};
}

/* A string unknown's candidates: "", the literals its rules compare it
 * with, values built of a prefix or suffix and a text it must contain,
 * then the other literals of the spec and plan. */
static void fill_str_candidates(quick *Q, slot *s)
{
    str_hints h;
    slot_hints(Q, s, &h);
    add_str_cand(s, (pv_str){"", 0});
    for (size_t i = 0; i < h.n_pre; i++)
        add_str_cand(s, *h.pre[i]);
    for (size_t i = 0; i < h.n_suf; i++)
        add_str_cand(s, *h.suf[i]);
    for (size_t i = 0; i < h.n_inf; i++)
        add_str_cand(s, *h.inf[i]);
    for (size_t i = 0; i < (h.n_pre ? h.n_pre : 1) && s->n_cand < QUICK_MAX_CANDIDATES; i++)
        for (size_t j = 0; j < (h.n_inf ? h.n_inf : 1) && s->n_cand < QUICK_MAX_CANDIDATES; j++)
            for (size_t k = 0; k < (h.n_suf ? h.n_suf : 1) && s->n_cand < QUICK_MAX_CANDIDATES;
                 k++) {
                const pv_str *p = h.n_pre ? h.pre[i] : NULL, *m = h.n_inf ? h.inf[j] : NULL,
                             *x = h.n_suf ? h.suf[k] : NULL;
                if ((p != NULL) + (m != NULL) + (x != NULL) >= 2)
                    add_str_cand(s, str_join(Q, p, m, x));
            }
    for (size_t i = 0; i < h.n_other; i++)
        add_str_cand(s, *h.other[i]);
    for (size_t i = 0; i < Q->lits.n_strs; i++)
        add_str_cand(s, *Q->lits.strs[i]);
}

/* A slot's candidates: a base value first (0, or the bound nearest to it),
 * then a value past every literal, the declared bounds, and each literal
 * with its neighbours. */
static void harvest(quick *Q);

static void fill_candidates(quick *Q, slot *s)
{
    const pv_var *var = s->var;
    if (s->n_cand > 1)
        return;
    if (!Q->harvested)
        harvest(Q);
    s->n_cand = 0;
    switch (var->type.kind) {
    case PV_T_BOOL:
        for (int b = 0; b < 2; b++) {
            s->cand[s->n_cand].type = var->type;
            s->cand[s->n_cand++].u.b = b;
        }
        return;
    case PV_T_ENUM: {
        size_t n = Q->spec->enums[var->type.enum_id].n;
        for (size_t e = 0; e < n && s->n_cand < QUICK_MAX_CANDIDATES; e++) {
            s->cand[s->n_cand].type = var->type;
            s->cand[s->n_cand++].u.e = (int)e;
        }
        return;
    }
    case PV_T_STRING:
        fill_str_candidates(Q, s);
        return;
    default:
        break;
    }
    int64_t base = 0;
    if (var->has_min && var->min > 0)
        base = var->min;
    else if (var->has_max && var->max < 0)
        base = var->max;
    add_int_cand(s, base);
    if (Q->lits.n_ints > 0 && Q->lits.ints[Q->lits.n_ints - 1] < INT64_MAX)
        add_int_cand(s, Q->lits.ints[Q->lits.n_ints - 1] + 1);
    /* A side the declaration leaves open also gets a value far past every
     * literal, for a rule that divides it or adds it to others (a
     * balance less a quarter of an unbounded sum). */
    int64_t far = QUICK_FAR;
    for (size_t i = 0; i < Q->lits.n_ints; i++) {
        int64_t m = Q->lits.ints[i] < 0 ? -(Q->lits.ints[i] + 1) : Q->lits.ints[i];
        if (m < QUICK_FAR_MAX / 16)
            far = m * 16 > far ? m * 16 : far;
        else
            far = QUICK_FAR_MAX;
    }
    if (!var->has_min)
        add_int_cand(s, -far);
    if (!var->has_max)
        add_int_cand(s, far);
    if (var->has_min)
        add_int_near(s, var->min);
    if (var->has_max)
        add_int_near(s, var->max);
    /* Then each literal's neighbourhood, in ascending order: a value can
     * only repeat the one before it or one of the few above. */
    size_t special = s->n_cand;
    bool have_last = false;
    int64_t last = 0;
    for (size_t i = 0; i < Q->lits.n_ints && s->n_cand < QUICK_MAX_CANDIDATES; i++)
        for (int d = -1; d <= 1 && s->n_cand < QUICK_MAX_CANDIDATES; d++) {
            int64_t v;
            if (__builtin_add_overflow(Q->lits.ints[i], (int64_t)d, &v) || (have_last && v <= last))
                continue;
            have_last = true;
            last = v;
            if ((var->has_min && v < var->min) || (var->has_max && v > var->max))
                continue;
            bool dup = false;
            for (size_t k = 0; k < special && !dup; k++)
                dup = s->cand[k].u.i == v;
            if (dup)
                continue;
            s->cand[s->n_cand].type = var->type;
            s->cand[s->n_cand++].u.i = v;
        }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void pool_int(lit_pool *p, int64_t v)
{
    for (size_t i = 0; i < p->n_ints; i++)
        if (p->ints[i] == v)
            return;
    if (p->n_ints < QUICK_MAX_LITERALS)
        p->ints[p->n_ints++] = v;
}

static void pool_str(lit_pool *p, const pv_str *s)
{
    for (size_t i = 0; i < p->n_strs; i++)
        if (pv_str_eq(*p->strs[i], *s))
            return;
    if (p->n_strs < QUICK_MAX_LITERALS)
        p->strs[p->n_strs++] = s;
}

static void pool_value(lit_pool *p, const pv_value *v)
{
    if (v->type.kind == PV_T_INT)
        pool_int(p, v->u.i);
    else if (v->type.kind == PV_T_STRING)
        pool_str(p, &v->u.s);
}

static void pool_expr(lit_pool *p, const pv_expr *e)
{
    if (!e)
        return;
    if (e->kind == PV_E_INT)
        pool_int(p, e->u.i);
    else if (e->kind == PV_E_STR)
        pool_str(p, &e->u.s);
    for (size_t i = 0; i < e->n_kids; i++)
        pool_expr(p, e->kids[i]);
}

void pv_quick_spec_literals(pv_spec *spec)
{
    lit_pool p = {0};
    for (size_t r = 0; r < spec->n_invariants; r++)
        pool_expr(&p, spec->invariants[r].cond);
    for (size_t x = 0; x < spec->n_excludes; x++)
        pool_expr(&p, spec->excludes[x].when);
    for (size_t t = 0; t < spec->n_tools; t++) {
        const pv_tool *tool = &spec->tools[t];
        pool_expr(&p, tool->requires);
        pool_expr(&p, tool->ensures);
        for (size_t k = 0; k < tool->n_effects; k++)
            pool_expr(&p, tool->effects[k].expr);
    }
    for (size_t v = 0; v < spec->n_state; v++)
        if (spec->state[v].has_init)
            pool_value(&p, &spec->state[v].init);
    free(spec->lit_ints);
    free(spec->lit_strs);
    spec->lit_ints = pv_xmalloc((p.n_ints + 1) * sizeof(int64_t));
    memcpy(spec->lit_ints, p.ints, p.n_ints * sizeof(int64_t));
    spec->n_lit_ints = p.n_ints;
    spec->lit_strs = pv_xmalloc((p.n_strs + 1) * sizeof(pv_str *));
    memcpy(spec->lit_strs, p.strs, p.n_strs * sizeof(pv_str *));
    spec->n_lit_strs = p.n_strs;
}

/* The literals a rule is likely to compare against: the spec's first
 * (gathered when it was loaded), then the plan's. */
static void harvest(quick *Q)
{
    const pv_spec *spec = Q->spec;
    lit_pool *p = &Q->lits;
    Q->harvested = true;
    for (size_t i = 0; i < spec->n_lit_ints && i < QUICK_MAX_LITERALS; i++)
        p->ints[p->n_ints++] = spec->lit_ints[i];
    for (size_t i = 0; i < spec->n_lit_strs && i < QUICK_MAX_LITERALS; i++)
        p->strs[p->n_strs++] = spec->lit_strs[i];
    const pv_plan *plan = Q->plan;
    for (size_t v = 0; v < plan->n_initial; v++)
        if (plan->initial[v].kind == PV_PV_LITERAL)
            pool_value(p, &plan->initial[v].lit);
    for (size_t i = 0; i < Q->analysed; i++) {
        const pv_step *st = &plan->steps[i];
        for (size_t a = 0; st->tool >= 0 && a < st->n_args; a++)
            if (st->args[a].kind == PV_PV_LITERAL)
                pool_value(p, &st->args[a].lit);
        for (size_t r = 0; st->tool >= 0 && r < st->n_result; r++)
            if (st->result[r].kind == PV_PV_LITERAL)
                pool_value(p, &st->result[r].lit);
    }
    qsort(p->ints, p->n_ints, sizeof(int64_t), cmp_i64);
}

static const char *slot_key(slot *s)
{
    if (!s->key)
        s->key = s->step < 0 ? pv_xasprintf("initial.%s", s->var->name)
                             : pv_xasprintf("steps[%d].%s.%s", s->step, s->what, s->var->name);
    return s->key;
}

/* A slot for an unknown, with only its base value as a candidate yet: 0,
 * or the bound nearest to it; false, the first enum value, "". */
static void add_slot(quick *Q, const char *what, const pv_var *var, int step, pv_value *value,
                     size_t *cap)
{
    pv_grow(&Q->slots, cap, Q->n_slots + 1, sizeof(slot));
    slot *s = &Q->slots[Q->n_slots++];
    memset(s, 0, sizeof *s);
    s->what = what;
    s->var = var;
    s->step = step;
    s->value = value;
    s->n_cand = 1;
    s->cand[0].type = var->type;
    switch (var->type.kind) {
    case PV_T_STRING:
        s->cand[0].u.s = (pv_str){"", 0};
        break;
    case PV_T_INT:
        if (var->has_min && var->min > 0)
            s->cand[0].u.i = var->min;
        else if (var->has_max && var->max < 0)
            s->cand[0].u.i = var->max;
        break;
    default:
        break; /* false, the first enum value */
    }
}

/*
 * The solver assumes every `always` rule at the start, so a rule that
 * bounds a state variable by a constant (x <= c, c > x, x == c, and
 * conjunctions of such) narrows that variable's interval when its initial
 * value is unknown. False when a variable is left no value: the solver
 * explains that.
 */
static bool narrow_start(quick *Q, const pv_expr *e, const bool *unknown)
{
    if (e->kind == PV_E_AND) {
        for (size_t k = 0; k < e->n_kids; k++)
            if (!narrow_start(Q, e->kids[k], unknown))
                return false;
        return true;
    }
    if (e->n_kids != 2)
        return true;
    pv_expr_kind op = e->kind;
    const pv_expr *x = e->kids[0], *c = e->kids[1];
    if (x->kind != PV_E_STATE) {
        const pv_expr *t = x;
        x = c;
        c = t;
        op = op == PV_E_LT   ? PV_E_GT
             : op == PV_E_GT ? PV_E_LT
             : op == PV_E_LE ? PV_E_GE
             : op == PV_E_GE ? PV_E_LE
                             : op;
    }
    if (x->kind != PV_E_STATE || x->type.kind != PV_T_INT || !c->is_const ||
        !unknown[x->u.ref.index])
        return true;
    aenv env = {Q, Q->astate[0], 0, -1};
    aval k = aeval(&env, c);
    if (!av_exact(&k))
        return true;
    aval *a = &Q->astate[0][x->u.ref.index];
    int64_t v = k.lo;
    bool upper = op == PV_E_LE || op == PV_E_LT || op == PV_E_EQ;
    bool lower = op == PV_E_GE || op == PV_E_GT || op == PV_E_EQ;
    if (op == PV_E_LT && v == INT64_MIN)
        return false;
    if (op == PV_E_GT && v == INT64_MAX)
        return false;
    if (upper) {
        int64_t hi = op == PV_E_LT ? v - 1 : v;
        if (a->hi_inf || hi < a->hi) {
            a->hi_inf = false;
            a->hi = hi;
        }
    }
    if (lower) {
        int64_t lo = op == PV_E_GT ? v + 1 : v;
        if (a->lo_inf || lo > a->lo) {
            a->lo_inf = false;
            a->lo = lo;
        }
    }
    return a->lo_inf || a->hi_inf || a->lo <= a->hi;
}

/*
 * Lay out the plan: intervals for every value and state, and the sample
 * runs' storage with the known values filled in and a slot for each
 * unknown (initial state, then per step results before arguments, as the
 * Z3 engine creates them, so witnesses list the same keys in the same
 * order). Returns false when the plan's known values leave no room for a
 * run (a referenced value outside its argument's bounds): the solver
 * explains that.
 */
static bool layout(quick *Q)
{
    const pv_spec *spec = Q->spec;
    const pv_plan *plan = Q->plan;
    size_t n = Q->analysed, ns = spec->n_state, cap = 0;
    Q->astate = pv_arena_calloc(&Q->arena, (n + 1) * sizeof(aval *));
    Q->aargs = pv_arena_calloc(&Q->arena, (n + 1) * sizeof(aval *));
    Q->ares = pv_arena_calloc(&Q->arena, (n + 1) * sizeof(aval *));
    Q->steps = pv_arena_calloc(&Q->arena, (n + 1) * sizeof(pv_cstep));
    Q->cstate = pv_arena_calloc(&Q->arena, (n + 1) * sizeof(pv_value *));
    for (size_t i = 0; i <= n; i++) {
        Q->astate[i] = pv_arena_calloc(&Q->arena, (ns + 1) * sizeof(aval));
        Q->cstate[i] = pv_arena_calloc(&Q->arena, (ns + 1) * sizeof(pv_value));
    }
    bool *unknown = pv_arena_calloc(&Q->arena, ns + 1);
    for (size_t v = 0; v < ns; v++) {
        const pv_pval *pv = &plan->initial[v];
        const pv_var *var = &spec->state[v];
        if (pv->kind == PV_PV_LITERAL) {
            Q->cstate[0][v] = pv->lit;
            Q->astate[0][v] = av_of_value(&pv->lit);
        } else if (pv->kind == PV_PV_ABSENT && var->has_init) {
            Q->cstate[0][v] = var->init;
            Q->astate[0][v] = av_of_value(&var->init);
        } else {
            add_slot(Q, NULL, var, -1, &Q->cstate[0][v], &cap);
            Q->astate[0][v] = av_domain(spec, var);
            unknown[v] = true;
        }
    }
    for (size_t r = 0; r < spec->n_invariants; r++)
        if (spec->invariants[r].kind == PV_RULE_STATE &&
            !narrow_start(Q, spec->invariants[r].cond, unknown))
            return false;
    for (size_t i = 0; i < n; i++) {
        const pv_step *st = &plan->steps[i];
        aval *pre = Q->astate[i], *post = Q->astate[i + 1];
        memcpy(post, pre, ns * sizeof(aval));
        if (st->tool < 0)
            continue;
        const pv_tool *tool = &spec->tools[st->tool];
        Q->aargs[i] = pv_arena_calloc(&Q->arena, (tool->n_args + 1) * sizeof(aval));
        Q->ares[i] = pv_arena_calloc(&Q->arena, (tool->n_returns + 1) * sizeof(aval));
        Q->steps[i].args = pv_arena_calloc(&Q->arena, (tool->n_args + 1) * sizeof(pv_value));
        Q->steps[i].result = pv_arena_calloc(&Q->arena, (tool->n_returns + 1) * sizeof(pv_value));
        for (size_t r = 0; r < tool->n_returns; r++) {
            const pv_pval *pv = &st->result[r];
            if (pv->kind == PV_PV_LITERAL) {
                Q->steps[i].result[r] = pv->lit;
                Q->ares[i][r] = av_of_value(&pv->lit);
            } else {
                add_slot(Q, "result", &tool->returns[r], (int)i, &Q->steps[i].result[r], &cap);
                Q->ares[i][r] = av_domain(spec, &tool->returns[r]);
            }
        }
        for (size_t a = 0; a < tool->n_args; a++) {
            const pv_pval *pv = &st->args[a];
            const pv_var *var = &tool->args[a];
            if (pv->kind == PV_PV_LITERAL) {
                Q->steps[i].args[a] = pv->lit;
                Q->aargs[i][a] = av_of_value(&pv->lit);
            } else if (pv->kind == PV_PV_REF) {
                /* The same value as the result it names, which the tool
                 * only accepts within the argument's bounds. */
                aval r = Q->ares[pv->ref_step][pv->ref_field];
                if (var->type.kind == PV_T_INT) {
                    if (var->has_min && (r.lo_inf || r.lo < var->min)) {
                        r.lo_inf = false;
                        r.lo = var->min;
                    }
                    if (var->has_max && (r.hi_inf || r.hi > var->max)) {
                        r.hi_inf = false;
                        r.hi = var->max;
                    }
                    if (!r.lo_inf && !r.hi_inf && r.lo > r.hi)
                        return false;
                }
                Q->aargs[i][a] = r;
            } else if (pv->kind == PV_PV_ABSENT && var->has_default) {
                Q->steps[i].args[a] = var->dflt;
                Q->aargs[i][a] = av_of_value(&var->dflt);
            } else {
                add_slot(Q, "args", var, (int)i, &Q->steps[i].args[a], &cap);
                Q->aargs[i][a] = av_domain(spec, var);
            }
        }
        aenv env = {Q, pre, (int)i, -1};
        for (size_t k = 0; k < tool->n_effects; k++)
            post[tool->effects[k].var] = aeval(&env, tool->effects[k].expr);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* questions                                                           */

enum { QS_HOLDS, QS_CERTAIN, QS_OPEN };

typedef struct question {
    pv_question what; /* the rule, the step, and which value breaks it */
    int bounds;       /* QS_*: what the intervals say */
    long break_run;   /* a valid run in which it breaks, or -1 */
    long hold_run;    /* a valid run in which it holds, or -1 */
    int *chain;       /* its steps (pv_chain.h), once computed */
    size_t n_chain;
} question;

static bool add_question(void *ctx, const pv_question *w)
{
    quick *Q = ctx;
    pv_grow(&Q->qs, &Q->cap_qs, Q->n_qs + 1, sizeof(question));
    question *q = &Q->qs[Q->n_qs++];
    *q = (question){*w, QS_OPEN, -1, -1, NULL, 0};
    aenv env = {Q, w->post ? Q->astate[w->step + 1] : Q->astate[w->step], w->step, -1};
    aval a = aeval(&env, w->cond);
    if (w->broken_if ? av_false(&a) : av_true(&a))
        q->bounds = QS_HOLDS;
    else if (w->broken_if ? av_true(&a) : av_false(&a))
        q->bounds = QS_CERTAIN;
    return true;
}

/* The question's chain, computed once: the search uses it to pick the
 * unknowns worth changing, and its finding reports it. */
static const int *question_chain(const quick *Q, question *q, size_t *n)
{
    if (!q->chain) {
        const pv_expr *exprs[1] = {q->what.cond};
        q->chain =
            pv_chain_compute(Q->spec, Q->plan, q->what.step, q->what.post, exprs, 1, &q->n_chain);
    }
    *n = q->n_chain;
    return q->chain;
}

/* ------------------------------------------------------------------ */
/* sample runs                                                         */

/* Put the run's values in place and compute the states. Returns false
 * when the run breaks the background (or leaves 64-bit integers). */
static bool run_values(quick *Q, const unsigned char *assign)
{
    const pv_spec *spec = Q->spec;
    const pv_plan *plan = Q->plan;
    for (size_t u = 0; u < Q->n_slots; u++)
        *Q->slots[u].value = Q->slots[u].cand[assign[u]];
    pv_cenv env = {spec, plan, Q->steps, Q->cstate[0], 0, -1};
    pv_value ok;
    for (size_t r = 0; r < spec->n_invariants; r++) {
        const pv_invariant *inv = &spec->invariants[r];
        if (inv->kind != PV_RULE_STATE)
            continue;
        if (pv_concrete_eval(&env, inv->cond, &ok) != PV_OK || !ok.u.b)
            return false;
    }
    size_t ns = spec->n_state;
    for (size_t i = 0; i < Q->analysed; i++) {
        const pv_step *st = &plan->steps[i];
        pv_value *pre = Q->cstate[i], *post = Q->cstate[i + 1];
        memcpy(post, pre, ns * sizeof(pv_value));
        if (st->tool < 0)
            continue;
        const pv_tool *tool = &spec->tools[st->tool];
        for (size_t a = 0; a < tool->n_args; a++) {
            const pv_pval *pv = &st->args[a];
            if (pv->kind != PV_PV_REF)
                continue;
            pv_value val = Q->steps[pv->ref_step].result[pv->ref_field];
            const pv_var *var = &tool->args[a];
            if (val.type.kind == PV_T_INT &&
                ((var->has_min && val.u.i < var->min) || (var->has_max && val.u.i > var->max)))
                return false;
            Q->steps[i].args[a] = val;
        }
        env.step = (int)i;
        env.state = pre;
        if (tool->ensures && (pv_concrete_eval(&env, tool->ensures, &ok) != PV_OK || !ok.u.b))
            return false;
        for (size_t k = 0; k < tool->n_effects; k++)
            if (pv_concrete_eval(&env, tool->effects[k].expr, &post[tool->effects[k].var]) != PV_OK)
                return false;
    }
    return true;
}

/* Run the assignment and record it. */
static void try_run(quick *Q, const unsigned char *assign)
{
    size_t r = Q->n_runs;
    if (r == Q->cap_runs) {
        Q->cap_runs = Q->cap_runs ? Q->cap_runs * 2 : 16;
        Q->run_assign = pv_xrealloc(Q->run_assign, Q->cap_runs * (Q->n_slots + 1));
        Q->run_breaks = pv_xrealloc(Q->run_breaks, Q->cap_runs * (Q->n_qs + 1));
        Q->run_valid = pv_xrealloc(Q->run_valid, Q->cap_runs * sizeof(bool));
    }
    Q->n_runs++;
    memcpy(Q->run_assign + r * Q->n_slots, assign, Q->n_slots);
    unsigned char *breaks = Q->run_breaks + r * Q->n_qs;
    bool valid = run_values(Q, assign);
    for (size_t k = 0; valid && k < Q->n_qs; k++) {
        const question *q = &Q->qs[k];
        if (q->bounds == QS_HOLDS)
            continue;
        pv_cenv env = {Q->spec,
                       Q->plan,
                       Q->steps,
                       q->what.post ? Q->cstate[q->what.step + 1] : Q->cstate[q->what.step],
                       q->what.step,
                       -1};
        pv_value b;
        if (pv_concrete_eval(&env, q->what.cond, &b) != PV_OK) {
            valid = false;
            break;
        }
        breaks[k] = b.u.b == q->what.broken_if;
    }
    Q->run_valid[r] = valid;
    if (!valid)
        return;
    if (Q->valid_run < 0)
        Q->valid_run = (long)r;
    for (size_t k = 0; k < Q->n_qs; k++) {
        question *q = &Q->qs[k];
        if (q->bounds == QS_HOLDS)
            continue;
        if (breaks[k] && q->break_run < 0)
            q->break_run = (long)r;
        if (!breaks[k] && q->hold_run < 0)
            q->hold_run = (long)r;
    }
}

/* Whether question q still lacks what its answer needs. */
static bool unsettled(const quick *Q, const question *q)
{
    (void)Q;
    switch (q->bounds) {
    case QS_HOLDS:
        return false;
    case QS_CERTAIN:
        return q->break_run < 0; /* a run for the witness */
    default:
        return q->break_run < 0 || q->hold_run < 0;
    }
}

/* Whether some question (or the background: no valid run yet) still
 * needs a run. */
static bool any_unsettled(const quick *Q)
{
    if (Q->valid_run < 0)
        return true;
    for (size_t k = 0; k < Q->n_qs; k++)
        if (unsettled(Q, &Q->qs[k]))
            return true;
    return false;
}

/*
 * Mark in rel[] the slots that can change an unsettled question: those of
 * the steps in its chain (the steps feeding it, pv_chain.h) and of the
 * initial state. With few unknowns, computing chains costs more than the
 * runs it saves (and with many unsettled questions, so does tracing them
 * all): then every unknown of a step up to the last unsettled question
 * counts. Before any run satisfies the background, every slot may
 * matter. Returns how many are marked.
 */
static size_t relevant_slots(quick *Q, bool *rel)
{
    size_t n = Q->plan->n_steps, marked = 0;
    bool all = Q->valid_run < 0;
    bool *steps = NULL, all_before = false;
    int last = -1;
    size_t chained = 0;
    for (size_t k = 0; !all && k < Q->n_qs; k++) {
        question *q = &Q->qs[k];
        if (!unsettled(Q, q))
            continue;
        last = q->what.step > last ? q->what.step : last;
        if (Q->n_slots <= QUICK_FEW_SLOTS || ++chained > QUICK_MAX_CHAINS) {
            all_before = true; /* too many to trace: every slot up to `last` */
            continue;
        }
        if (!steps)
            steps = pv_xcalloc(n + 1, sizeof(bool));
        size_t n_chain;
        const int *chain = question_chain(Q, q, &n_chain);
        for (size_t c = 0; c < n_chain; c++)
            steps[chain[c]] = true;
    }
    for (size_t u = 0; u < Q->n_slots; u++) {
        int st = Q->slots[u].step;
        rel[u] = all || st < 0 || (all_before && st <= last) || (steps && steps[st]);
        if (rel[u])
            fill_candidates(Q, &Q->slots[u]);
        marked += rel[u];
    }
    free(steps);
    return marked;
}

/*
 * Try runs until every question is settled or the budget is spent: the
 * base run; then each relevant unknown changed alone (so that a witness
 * differs from the base run where it must), all of them to their first
 * candidate after the base value before any to its second; then every relevant unknown
 * set to its k-th candidate at once, for each k (runs in which everything
 * succeeds, or everything is large); then pairs changed together. Returns
 * whether every question is settled.
 */
static bool search(quick *Q)
{
    size_t ns = Q->n_slots;
    size_t per_run = Q->analysed + Q->n_qs + 1;
    size_t max_runs =
        QUICK_MAX_WORK / per_run < QUICK_MAX_RUNS ? QUICK_MAX_WORK / per_run : QUICK_MAX_RUNS;
    if (max_runs < 2)
        max_runs = 2;
    unsigned char *assign = pv_xcalloc(ns + 1, 1);
    bool *rel = pv_xcalloc(ns + 1, sizeof(bool));
    try_run(Q, assign);
    if (!any_unsettled(Q))
        goto out;
    relevant_slots(Q, rel);
    for (size_t c = 1; c < QUICK_MAX_CANDIDATES; c++)
        for (size_t u = 0; u < ns; u++) {
            if (!rel[u] || c >= Q->slots[u].n_cand)
                continue;
            if (!any_unsettled(Q) || Q->n_runs == max_runs)
                goto out;
            assign[u] = (unsigned char)c;
            try_run(Q, assign);
            assign[u] = 0;
        }
    relevant_slots(Q, rel);
    for (size_t c = 1; c < QUICK_MAX_CANDIDATES; c++) {
        bool changed = false;
        for (size_t u = 0; u < ns; u++) {
            size_t last = Q->slots[u].n_cand - 1;
            assign[u] = rel[u] ? (unsigned char)(c < last ? c : last) : 0;
            changed |= rel[u] && c <= last;
        }
        if (!changed)
            break;
        if (!any_unsettled(Q) || Q->n_runs == max_runs)
            goto out;
        try_run(Q, assign);
    }
    memset(assign, 0, ns);
    relevant_slots(Q, rel);
    for (size_t u = 0; u < ns; u++)
        for (size_t w = u + 1; rel[u] && w < ns; w++) {
            for (size_t cu = 1; rel[w] && cu < Q->slots[u].n_cand; cu++)
                for (size_t cw = 1; cw < Q->slots[w].n_cand; cw++) {
                    if (!any_unsettled(Q) || Q->n_runs == max_runs)
                        goto out;
                    assign[u] = (unsigned char)cu;
                    assign[w] = (unsigned char)cw;
                    try_run(Q, assign);
                }
            assign[u] = assign[w] = 0;
        }
out:
    free(rel);
    free(assign);
    return !any_unsettled(Q);
}

/* ------------------------------------------------------------------ */
/* findings                                                            */

static void report(quick *Q, pv_verdict *v, question *q, bool certain, long run)
{
    /* Findings mostly share a few runs: lay a run out again only when the
     * previous finding's was another. */
    if (Q->laid_out != run) {
        run_values(Q, Q->run_assign + (size_t)run * Q->n_slots);
        Q->laid_out = run;
    }
    const pv_step *ps = &Q->plan->steps[q->what.step];
    pv_cenv env = {Q->spec,
                   Q->plan,
                   Q->steps,
                   q->what.post ? Q->cstate[q->what.step + 1] : Q->cstate[q->what.step],
                   q->what.step,
                   -1};
    char *where =
        pv_xasprintf("%s step %d (%s)", q->what.post ? "after" : "at", q->what.step, ps->tool_name);
    char *msg = pv_message_rule(Q->spec,
                                q->what.cond,
                                q->what.src,
                                q->what.kind == PV_K_SCOPE ? "holds" : "fails",
                                where,
                                pv_concrete_leaf_value,
                                &env);
    free(where);
    if (q->what.ex || q->what.requires_of) {
        char *scope = q->what.ex ? pv_scope_message(q->what.step, ps->tool_name, q->what.ex) : NULL;
        char *full = q->what.ex
                         ? pv_xasprintf("%s; when: %s", scope, msg)
                         : pv_xasprintf("requires of '%s': %s", q->what.requires_of->name, msg);
        free(scope);
        free(msg);
        msg = full;
    }
    pv_finding *f = pv_verdict_add(v,
                                   q->what.rule,
                                   q->what.kind,
                                   q->what.step,
                                   ps->tool_name,
                                   q->what.action,
                                   q->what.escalate_to,
                                   certain,
                                   msg);
    size_t n_chain;
    const int *chain = question_chain(Q, q, &n_chain);
    f->chain = pv_xmalloc((n_chain + 1) * sizeof(int));
    memcpy(f->chain, chain, n_chain * sizeof(int));
    f->n_chain = n_chain;
    if (Q->no_witness)
        return;
    f->witness = pv_xcalloc(Q->n_slots + 1, sizeof(pv_witness_entry));
    for (size_t u = 0; u < Q->n_slots; u++) {
        slot *s = &Q->slots[u];
        if (s->step > q->what.step)
            continue;
        f->witness[f->n_witness].key = pv_xstrdup(slot_key(s));
        f->witness[f->n_witness].value = pv_value_copy(s->value);
        f->n_witness++;
    }
}

static void quick_free(quick *Q)
{
    pv_arena_free(&Q->arena);
    for (size_t u = 0; u < Q->n_slots; u++)
        free(Q->slots[u].key);
    free(Q->slots);
    for (size_t k = 0; k < Q->n_qs; k++)
        free(Q->qs[k].chain);
    free(Q->qs);
    free(Q->run_assign);
    free(Q->run_breaks);
    free(Q->run_valid);
}

int pv_quick_verify(const pv_spec *spec, const pv_plan *plan, size_t from_step, bool no_witness,
                    pv_verdict **out)
{
    *out = NULL;
    quick Q;
    memset(&Q, 0, sizeof Q);
    Q.spec = spec;
    Q.plan = plan;
    size_t n = plan->n_steps;
    Q.analysed = n < (size_t)spec->max_steps ? n : (size_t)spec->max_steps;
    Q.from_step = from_step;
    Q.no_witness = no_witness;
    Q.valid_run = -1;
    Q.laid_out = -1;
    if (!layout(&Q)) {
        quick_free(&Q);
        return PV_ENOTCONCRETE;
    }
    pv_verdict *v = pv_verdict_new(spec, plan);
    for (size_t i = from_step; i < Q.analysed; i++)
        pv_step_questions(spec, plan, i, v, add_question, &Q);
    /* A state rule is reported once, at the earliest step it can break:
     * the first of its questions the bounds do not settle as holding is
     * the one to answer (if it turns out unsettled, the solver answers the
     * whole plan), and those after it are not asked. */
    bool *state_done = pv_xcalloc(spec->n_invariants + 1, sizeof(bool));
    for (size_t k = 0; k < Q.n_qs; k++) {
        question *q = &Q.qs[k];
        if (q->what.state_rule < 0)
            continue;
        if (state_done[q->what.state_rule])
            q->bounds = QS_HOLDS; /* not asked */
        else if (q->bounds != QS_HOLDS)
            state_done[q->what.state_rule] = true;
    }
    free(state_done);
    int rc = PV_ENOTCONCRETE;
    bool settled = search(&Q);
    if (settled) {
        rc = PV_OK;
        /* Findings grouped by the run that is their witness, so that each
         * run is laid out once (the verdict sorts them afterwards). */
        size_t n_rep = 0;
        size_t *order = pv_xmalloc((Q.n_qs + 1) * sizeof(size_t));
        for (size_t k = 0; k < Q.n_qs; k++)
            if (Q.qs[k].bounds != QS_HOLDS)
                order[n_rep++] = k;
        for (size_t i = 1; i < n_rep; i++) {
            size_t k = order[i], j = i;
            for (; j > 0 && Q.qs[order[j - 1]].break_run > Q.qs[k].break_run; j--)
                order[j] = order[j - 1];
            order[j] = k;
        }
        for (size_t i = 0; i < n_rep; i++) {
            question *q = &Q.qs[order[i]];
            report(&Q, v, q, q->bounds == QS_CERTAIN, q->break_run);
        }
        free(order);
    }
    if (rc == PV_OK && n > Q.analysed) {
        const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_BUDGET_EXCEEDED];
        char *msg = pv_xasprintf("the plan has %zu steps, more than limits.max_steps %d; steps "
                                 "from %zu on are not analysed",
                                 n,
                                 spec->max_steps,
                                 Q.analysed);
        pv_verdict_add(v,
                       "budget_exceeded",
                       PV_K_BUDGET,
                       (int)Q.analysed,
                       plan->steps[Q.analysed].tool_name,
                       fm->action,
                       fm->escalate_to,
                       true,
                       msg);
    }
    quick_free(&Q);
    if (rc != PV_OK) {
        pv_verdict_free(v);
        return rc;
    }
    pv_verdict_finish_from(v, spec, plan, from_step);
    *out = v;
    return PV_OK;
}
