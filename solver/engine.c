/*
 * engine.c - the Z3 path engine.
 *
 * A plan is encoded once per verification: one term per state variable per
 * step, literals as constants, unknown arguments and results as Z3
 * constants constrained by their declared type, bounds and enum set and by
 * the tool's `ensures`. These background constraints B are asserted in an
 * outer solver scope. Each rule at each step is then a query "B and the
 * rule is broken" in an inner scope: satisfiable means the rule can break
 * (the model is the witness), and when "B and the rule holds" is
 * unsatisfiable the break is certain.
 *
 * Memory: the context is created with Z3_mk_context, which keeps every
 * term the API returns until the context is deleted (popping solver scopes
 * does not release them). Rather than reference-count every term, an
 * engine replaces its context after PV_ENGINE_RECYCLE verifications, which
 * bounds its memory at the cost of one context creation (~12 ms) per
 * that many plans.
 */
#define _POSIX_C_SOURCE 200809L
#include "pv_call.h"
#include "pv_chain.h"
#include "pv_concrete.h"
#include "pv_engine.h"
#include "pv_message.h"
#include "pv_quick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <z3.h>

/* Verifications between two context replacements (see the top comment). */
#define PV_ENGINE_RECYCLE 500

struct pv_engine {
    /* Guards ctx against pv_engine_interrupt from another thread while the
     * context is replaced. */
    pthread_mutex_t lock;
    unsigned uses;            /* verifications since the context was created */
    unsigned generation;      /* bumped whenever the context is replaced */
    unsigned budget_override; /* PLANVERIFY_SOLVER_TIMEOUT_MS, or 0 */
    /* The watchdog: a thread that interrupts the check that runs when the
     * verification's deadline (alarm) or the check's own shorter limit
     * (check_alarm, for certainty checks) has passed. Z3's timeout
     * parameter would do the latter, but its timer wakes a thread per query
     * and takes a lock shared by every context in the process, which kept
     * two workers from running at twice the rate of one.
     *
     * So that starting a verification or a capped check wakes nobody, the
     * watchdog, while there is work, wakes every WATCHDOG_TICK_MS on its
     * own (wake_at); a new limit signals it only when it falls before
     * wake_at. After a tick with no verification it sleeps until signalled
     * (idle). */
    pthread_t watchdog;
    pthread_cond_t wake;
    bool armed, quit, idle, check_capped;
    unsigned arms; /* verifications armed so far, to tell a quiet tick */
    struct timespec wake_at;
    /* Z3 is interrupted only inside Z3_solver_check, which is built to be
     * cancelled; an interrupt landing in anything else (simplify, pop,
     * model evaluation) can leave the context broken, which showed as rare
     * crashes in later checks. in_check says the engine thread is inside
     * one (from just before Z3_solver_check to just after it);
     * interrupted that an interrupt was delivered, after which the
     * context is replaced before its next verification; fired that one
     * was delivered during the current check; cap_hit that the check's
     * own limit ran out; stop that pv_engine_interrupt asked the running
     * verification to end. All under lock.
     *
     * An interrupt is repeated every millisecond while its reason holds:
     * one delivered before Z3 has entered the check is lost (Z3 clears
     * the cancel flag as the check starts). One delivered after Z3 has
     * left it leaves the context cancelled, and then Z3 quietly drops
     * assertions and fails model evaluation, so check_end reports it and
     * the engine clears the flag with a check of the empty solver `flush`
     * before going on. */
    bool in_check, interrupted, fired, cap_hit, stop;
    struct timespec alarm, check_alarm; /* CLOCK_MONOTONIC */
    Z3_context ctx;
    Z3_solver solver;
    /* For the certainty checks, whose shorter limit may cut them short:
     * a solver whose check was cut short and is then asked more questions
     * crashed Z3 4.8.12 now and then, so those checks run here, on a copy
     * of the background in a scope of the verification's own, and this
     * solver is reset after any check it does not decide. Both solvers are
     * otherwise only popped after a verification, not reset: a reset makes
     * Z3 build its solver anew at the next push, which cost about as much
     * as the checks themselves and goes through Z3's process-wide
     * parameter table, which two engines then contend for. */
    Z3_solver scratch;
    /* Never asserted to (see fired). Z3 builds a solver's kernel at its
     * first check, some 2 MB: only a context that was interrupted pays
     * for it, and a failure then fails the verification closed. */
    Z3_solver flush;
    Z3_sort int_sort, bool_sort, str_sort;
    Z3_symbol questions_sym; /* see simplify_queries */
};

/* An unknown of the plan, for witnesses. */
typedef struct unknown {
    char *key;
    Z3_ast ast;
    pv_type type;
    int step; /* -1 for the initial state */
} unknown;

typedef struct enc {
    pv_engine *eng;
    Z3_context c;
    Z3_solver solver; /* the engine's, or a session's */
    const pv_spec *spec;
    const pv_plan *plan;
    const pv_verify_opts *opts;
    pv_diags *diags;
    size_t analysed;
    Z3_ast **state; /* [analysed + 1][n_state] */
    Z3_ast **args;  /* [analysed][n_args] */
    Z3_ast **res;   /* [analysed][n_returns] */
    unknown *unknowns;
    size_t n_unknowns, cap_unknowns;
    struct timespec deadline;
    bool solver_failed; /* an unknown answer or a Z3 error: stop checking */
    bool ctx_lost;      /* an interrupted context could not be cleared: every
                           query is undecided (see check_end) */
    bool poisoned;      /* the encoding could not represent the plan: every
                           query is undecided, for good */
    /* Gather every check's question instead of asking it (see
     * run_all_checks). */
    bool collecting;
    struct query *queries;
    size_t n_queries, cap_queries;
    char *fail_reason;
    /* The engine's scratch solver holds this verification's background
     * (see certainty_check). */
    bool scratch_ready;
    /* A check on the engine's main solver did not decide: the solver is
     * reset after this verification rather than only popped, so that no
     * solver cut short is asked again (see pv_engine.scratch). */
    bool main_undecided;
} enc;

static void on_z3_error(Z3_context c, Z3_error_code e)
{
    /* The default handler exits the process. Errors are read back with
     * Z3_get_error_code after each step instead, and end in solver_unknown. */
    (void)c;
    (void)e;
}

/* Create the engine's Z3 context and solver. Returns false when Z3 cannot
 * be set up. */
static bool engine_open(pv_engine *eng)
{
    Z3_config cfg = Z3_mk_config();
    if (!cfg)
        return false;
    Z3_set_param_value(cfg, "model", "true");
    Z3_context c = Z3_mk_context(cfg);
    Z3_del_config(cfg);
    if (!c)
        return false;
    Z3_set_error_handler(c, on_z3_error);
    eng->ctx = c;
    eng->solver = Z3_mk_simple_solver(c);
    Z3_solver_inc_ref(c, eng->solver);
    eng->scratch = Z3_mk_simple_solver(c);
    Z3_solver_inc_ref(c, eng->scratch);
    eng->flush = Z3_mk_simple_solver(c);
    Z3_solver_inc_ref(c, eng->flush);
    Z3_params p = Z3_mk_params(c);
    Z3_params_inc_ref(c, p);
    /* Without this every check installs a SIGINT handler process-wide. */
    Z3_params_set_bool(c, p, Z3_mk_string_symbol(c, "ctrl_c"), false);
    Z3_solver_set_params(c, eng->solver, p);
    Z3_solver_set_params(c, eng->scratch, p);
    Z3_solver_set_params(c, eng->flush, p);
    Z3_params_dec_ref(c, p);
    eng->int_sort = Z3_mk_int_sort(c);
    eng->bool_sort = Z3_mk_bool_sort(c);
    eng->str_sort = Z3_mk_string_sort(c);
    eng->questions_sym = Z3_mk_string_symbol(c, "pv.questions");
    eng->uses = 0;
    return Z3_get_error_code(c) == Z3_OK;
}

static void engine_close(pv_engine *eng)
{
    if (eng->solver)
        Z3_solver_dec_ref(eng->ctx, eng->solver);
    if (eng->scratch)
        Z3_solver_dec_ref(eng->ctx, eng->scratch);
    if (eng->flush)
        Z3_solver_dec_ref(eng->ctx, eng->flush);
    eng->scratch = eng->flush = NULL;
    if (eng->ctx)
        Z3_del_context(eng->ctx);
    eng->solver = NULL;
    eng->ctx = NULL;
}

/* How often the watchdog looks at the clock while verifications run. */
#define WATCHDOG_TICK_MS 5

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec ts_plus_ms(struct timespec t, long ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Interrupt the check that runs (under eng->lock). */
static void watchdog_fire(pv_engine *eng)
{
    if (eng->ctx && eng->in_check) {
        Z3_interrupt(eng->ctx);
        eng->interrupted = eng->fired = true;
    }
}

static void *watchdog_main(void *arg)
{
    pv_engine *eng = arg;
    unsigned arms_seen = 0;
    pthread_mutex_lock(&eng->lock);
    while (!eng->quit) {
        if (!eng->armed && eng->arms == arms_seen) {
            /* A tick went by without a verification: sleep until one. */
            eng->idle = true;
            pthread_cond_wait(&eng->wake, &eng->lock);
            eng->idle = false;
            continue;
        }
        arms_seen = eng->arms;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        struct timespec next = ts_plus_ms(now, WATCHDOG_TICK_MS);
        /* Past a limit, or asked to stop: interrupt, and again a
         * millisecond later (see fired). */
        bool fire = eng->stop;
        if (eng->armed) {
            if (!ts_before(&now, &eng->alarm))
                fire = true;
            else if (ts_before(&eng->alarm, &next))
                next = eng->alarm;
        }
        if (eng->in_check && eng->check_capped) {
            if (!ts_before(&now, &eng->check_alarm)) {
                eng->cap_hit = true;
                fire = true;
            } else if (ts_before(&eng->check_alarm, &next))
                next = eng->check_alarm;
        }
        if (fire) {
            watchdog_fire(eng);
            next = ts_plus_ms(now, 1);
        }
        eng->wake_at = next;
        pthread_cond_timedwait(&eng->wake, &eng->lock, &next);
    }
    pthread_mutex_unlock(&eng->lock);
    return NULL;
}

/* Wake the watchdog if it sleeps past `at` (under eng->lock). */
static void watchdog_need(pv_engine *eng, const struct timespec *at)
{
    if (eng->idle || ts_before(at, &eng->wake_at))
        pthread_cond_signal(&eng->wake);
}

/* Arm the watchdog for `at` (or disarm it when at is NULL). */
static void watchdog_arm(pv_engine *eng, const struct timespec *at)
{
    pthread_mutex_lock(&eng->lock);
    eng->armed = at != NULL;
    if (at) {
        eng->alarm = *at;
        eng->arms++;
        watchdog_need(eng, at);
    }
    pthread_mutex_unlock(&eng->lock);
}

int pv_engine_new(pv_engine **out)
{
    *out = NULL;
    pv_engine *eng = pv_xcalloc(1, sizeof *eng);
    pthread_mutex_init(&eng->lock, NULL);
    /* An operator's override of every spec's solver budget, for machines
     * much slower or busier than the one the limits were written for (and
     * for test suites, whose verdicts must not depend on the load). A
     * caller's own timeout_ms still lowers it. */
    const char *override = getenv("PLANVERIFY_SOLVER_TIMEOUT_MS");
    if (override && *override) {
        char *end;
        long ms = strtol(override, &end, 10);
        if (*end == '\0' && ms > 0 && ms <= 3600000)
            eng->budget_override = (unsigned)ms;
    }
    if (!engine_open(eng)) {
        engine_close(eng);
        pthread_mutex_destroy(&eng->lock);
        free(eng);
        return PV_EIO;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&eng->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&eng->watchdog, NULL, watchdog_main, eng);
    *out = eng;
    return PV_OK;
}

void pv_engine_free(pv_engine *eng)
{
    if (!eng)
        return;
    pthread_mutex_lock(&eng->lock);
    eng->quit = true;
    pthread_cond_signal(&eng->wake);
    pthread_mutex_unlock(&eng->lock);
    pthread_join(eng->watchdog, NULL);
    pthread_cond_destroy(&eng->wake);
    engine_close(eng);
    pthread_mutex_destroy(&eng->lock);
    free(eng);
}

void pv_engine_interrupt(pv_engine *eng)
{
    pthread_mutex_lock(&eng->lock);
    eng->stop = true;
    watchdog_fire(eng);
    pthread_mutex_unlock(&eng->lock);
}

/* Enter or leave Z3_solver_check (see in_check); a check with a limit
 * of its own passes it as `cap` (NULL: none). Returns, on entry, whether
 * the verification was asked to stop. */
static bool check_begin(pv_engine *eng, const struct timespec *cap)
{
    pthread_mutex_lock(&eng->lock);
    bool stop = eng->stop;
    eng->in_check = !stop;
    eng->cap_hit = eng->fired = false;
    eng->check_capped = cap && !stop;
    if (eng->check_capped) {
        eng->check_alarm = *cap;
        watchdog_need(eng, cap);
    }
    pthread_mutex_unlock(&eng->lock);
    return stop;
}

/* Leave the check; *cap_hit says whether its own limit ran out. An
 * interrupt delivered during it, perhaps after Z3 had already answered,
 * left the context cancelled: a check of the empty solver clears that
 * (see pv_engine.fired). Returns false when that fails, and then nothing
 * more may be asked of the context. */
static bool check_end(pv_engine *eng, bool *cap_hit)
{
    pthread_mutex_lock(&eng->lock);
    eng->in_check = false;
    eng->check_capped = false;
    *cap_hit = eng->cap_hit;
    bool fired = eng->fired;
    pthread_mutex_unlock(&eng->lock);
    if (!fired)
        return true;
    return Z3_solver_check(eng->ctx, eng->flush) == Z3_L_TRUE &&
           Z3_get_error_code(eng->ctx) == Z3_OK;
}

/* ------------------------------------------------------------------ */
/* terms                                                               */

static Z3_sort sort_of(enc *E, pv_type t)
{
    switch (t.kind) {
    case PV_T_BOOL:
        return E->eng->bool_sort;
    case PV_T_STRING:
        return E->eng->str_sort;
    default: /* int, and enums as the index of their value */
        return E->eng->int_sort;
    }
}

static Z3_ast mk_int(enc *E, int64_t v)
{
    return Z3_mk_int64(E->c, v, E->eng->int_sort);
}

/* Decode the UTF-8 code point at s[*i] and advance past it. A byte that
 * does not start a valid sequence stands for itself (the loaders pass text
 * through unchanged, so it is matched as that byte value). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char b = s[*i];
    size_t extra = b >= 0xF0 && b < 0xF8 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
    if (extra == 0 || b >= 0xF8 || *i + extra >= len) {
        (*i)++;
        return b;
    }
    uint32_t cp = b & (0x3Fu >> extra);
    for (size_t k = 1; k <= extra; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return b;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3Fu);
    }
    *i += extra + 1;
    return cp;
}

/* A string constant. Z3 reads \u{...} escapes in string literals, so every
 * character other than a letter, digit or space is written as one: the
 * string then means exactly its code points, whatever it contains. */
static Z3_ast mk_str(enc *E, const pv_str *s)
{
    char *buf = pv_xmalloc(s->len * 10 + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s->ptr;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp = utf8_next(p, s->len, &i);
        if (cp > PV_MAX_CODE_POINT) {
            /* The loaders refuse such strings; should one get here, fail
             * closed rather than hand Z3 an escape it rejects. */
            E->poisoned = true;
            cp = 0xFFFD;
        }
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
            cp == ' ')
            buf[o++] = (char)cp;
        else
            o += (size_t)sprintf(buf + o, "\\u{%x}", cp);
    }
    buf[o] = '\0';
    Z3_ast a = Z3_mk_string(E->c, buf);
    free(buf);
    return a;
}

static Z3_ast mk_value(enc *E, const pv_value *v)
{
    switch (v->type.kind) {
    case PV_T_INT:
        return mk_int(E, v->u.i);
    case PV_T_BOOL:
        return v->u.b ? Z3_mk_true(E->c) : Z3_mk_false(E->c);
    case PV_T_STRING:
        return mk_str(E, &v->u.s);
    case PV_T_ENUM:
        return mk_int(E, v->u.e);
    default:
        return Z3_mk_false(E->c);
    }
}

/* The constraints a value of variable var's declared type satisfies. */
static Z3_ast domain(enc *E, const pv_var *var, Z3_ast x)
{
    Z3_ast parts[2];
    unsigned n = 0;
    if (var->type.kind == PV_T_ENUM) {
        parts[n++] = Z3_mk_ge(E->c, x, mk_int(E, 0));
        parts[n++] = Z3_mk_lt(E->c, x, mk_int(E, (int64_t)E->spec->enums[var->type.enum_id].n));
    } else if (var->type.kind == PV_T_INT) {
        if (var->has_min)
            parts[n++] = Z3_mk_ge(E->c, x, mk_int(E, var->min));
        if (var->has_max)
            parts[n++] = Z3_mk_le(E->c, x, mk_int(E, var->max));
    }
    if (n == 0)
        return Z3_mk_true(E->c);
    return n == 1 ? parts[0] : Z3_mk_and(E->c, n, parts);
}

static void assert_bg(enc *E, Z3_ast a)
{
    Z3_solver_assert(E->c, E->solver, a);
}

/* A fresh unknown named by its witness key, constrained to its domain. */
static Z3_ast mk_unknown(enc *E, char *key, const pv_var *var, int step)
{
    Z3_ast x = Z3_mk_const(E->c, Z3_mk_string_symbol(E->c, key), sort_of(E, var->type));
    pv_grow(&E->unknowns, &E->cap_unknowns, E->n_unknowns + 1, sizeof(unknown));
    E->unknowns[E->n_unknowns++] = (unknown){key, x, var->type, step};
    assert_bg(E, domain(E, var, x));
    return x;
}

/* ------------------------------------------------------------------ */
/* expressions                                                         */

static Z3_ast field_term(enc *E, int step, bool result, const pv_expr *e)
{
    const pv_step *st = &E->plan->steps[step];
    const pv_tool *tool = &E->spec->tools[st->tool];
    int idx = result ? pv_tool_return(tool, e->u.ref.name) : pv_tool_arg(tool, e->u.ref.name);
    return result ? E->res[step][idx] : E->args[step][idx];
}

/* Encode e at `step` over the state terms st; `it` is the step bound by
 * an enclosing path function (or -1). */
static Z3_ast encode(enc *E, const pv_expr *e, int step, Z3_ast *st, int it)
{
    Z3_context c = E->c;
    Z3_ast k[2];
    if (e->n_kids >= 1 && e->kind != PV_E_EARLIER && e->kind != PV_E_COUNT && e->kind != PV_E_IN &&
        e->kind != PV_E_COND) {
        k[0] = encode(E, e->kids[0], step, st, it);
        if (e->n_kids >= 2)
            k[1] = encode(E, e->kids[1], step, st, it);
    }
    switch (e->kind) {
    case PV_E_INT:
        return mk_int(E, e->u.i);
    case PV_E_BOOL:
        return e->u.b ? Z3_mk_true(c) : Z3_mk_false(c);
    case PV_E_STR:
        return mk_str(E, &e->u.s);
    case PV_E_ENUM:
        return mk_int(E, e->u.e);
    case PV_E_STATE:
        return st[e->u.ref.index];
    case PV_E_ARG:
        return field_term(E, step, false, e);
    case PV_E_RESULT:
        return field_term(E, step, true, e);
    case PV_E_IT_ARG:
        return field_term(E, it, false, e);
    case PV_E_IT_RESULT:
        return field_term(E, it, true, e);
    case PV_E_NOT:
        return Z3_mk_not(c, k[0]);
    case PV_E_NEG:
        return Z3_mk_unary_minus(c, k[0]);
    case PV_E_AND:
        return Z3_mk_and(c, 2, k);
    case PV_E_OR:
        return Z3_mk_or(c, 2, k);
    case PV_E_IMPLIES:
        return Z3_mk_implies(c, k[0], k[1]);
    case PV_E_EQ:
        return Z3_mk_eq(c, k[0], k[1]);
    case PV_E_NE:
        return Z3_mk_not(c, Z3_mk_eq(c, k[0], k[1]));
    case PV_E_LT:
        return Z3_mk_lt(c, k[0], k[1]);
    case PV_E_LE:
        return Z3_mk_le(c, k[0], k[1]);
    case PV_E_GT:
        return Z3_mk_gt(c, k[0], k[1]);
    case PV_E_GE:
        return Z3_mk_ge(c, k[0], k[1]);
    case PV_E_ADD:
        return Z3_mk_add(c, 2, k);
    case PV_E_SUB:
        return Z3_mk_sub(c, 2, k);
    case PV_E_MUL:
        return Z3_mk_mul(c, 2, k);
    case PV_E_DIV: /* SMT-LIB div and mod: the remainder is never negative */
        return Z3_mk_div(c, k[0], k[1]);
    case PV_E_MOD:
        return Z3_mk_mod(c, k[0], k[1]);
    case PV_E_COND:
        return Z3_mk_ite(c,
                         encode(E, e->kids[0], step, st, it),
                         encode(E, e->kids[1], step, st, it),
                         encode(E, e->kids[2], step, st, it));
    case PV_E_IN: {
        Z3_ast x = encode(E, e->kids[0], step, st, it);
        Z3_ast *eqs = pv_xmalloc(e->n_kids * sizeof(Z3_ast));
        for (size_t i = 1; i < e->n_kids; i++)
            eqs[i - 1] = Z3_mk_eq(c, x, encode(E, e->kids[i], step, st, it));
        Z3_ast r = Z3_mk_or(c, (unsigned)(e->n_kids - 1), eqs);
        free(eqs);
        return r;
    }
    case PV_E_STARTS_WITH:
        return Z3_mk_seq_prefix(c, k[1], k[0]);
    case PV_E_ENDS_WITH:
        return Z3_mk_seq_suffix(c, k[1], k[0]);
    case PV_E_CONTAINS:
        return Z3_mk_seq_contains(c, k[0], k[1]);
    case PV_E_LEN:
        return Z3_mk_seq_length(c, k[0]);
    case PV_E_MIN:
        return Z3_mk_ite(c, Z3_mk_le(c, k[0], k[1]), k[0], k[1]);
    case PV_E_MAX:
        return Z3_mk_ite(c, Z3_mk_ge(c, k[0], k[1]), k[0], k[1]);
    case PV_E_ABS:
        return Z3_mk_ite(c, Z3_mk_ge(c, k[0], mk_int(E, 0)), k[0], Z3_mk_unary_minus(c, k[0]));
    case PV_E_EARLIER:
    case PV_E_COUNT: {
        bool count = e->kind == PV_E_COUNT;
        Z3_ast *terms = pv_xmalloc(((size_t)step + 1) * sizeof(Z3_ast));
        unsigned n = 0;
        for (int j = 0; j < step; j++) {
            int t = E->plan->steps[j].tool;
            bool match = false;
            for (size_t q = 0; q < e->u.path.n_tools; q++)
                match |= e->u.path.tools[q] == t;
            if (!match)
                continue;
            Z3_ast cond = encode(E, e->kids[0], step, st, j);
            terms[n++] = count ? Z3_mk_ite(c, cond, mk_int(E, 1), mk_int(E, 0)) : cond;
        }
        Z3_ast r;
        if (n == 0)
            r = count ? mk_int(E, 0) : Z3_mk_false(c);
        else if (n == 1)
            r = terms[0];
        else
            r = count ? Z3_mk_add(c, n, terms) : Z3_mk_or(c, n, terms);
        free(terms);
        return r;
    }
    default:
        return Z3_mk_false(c);
    }
}

/* ------------------------------------------------------------------ */
/* solving                                                             */

static long ms_left(const enc *E)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (E->deadline.tv_sec - now.tv_sec) * 1000 + (E->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

/* Run the solver on the current assertions within what is left of the
 * time budget. */
static Z3_lbool solve_capped(enc *E, long cap_ms);

static Z3_lbool solve(enc *E)
{
    return solve_capped(E, 0);
}

/* The solver could not decide, for `why`: nothing more is asked in this
 * verification (see solver_failed). Returns Z3_L_UNDEF. */
static Z3_lbool give_up(enc *E, const char *why)
{
    E->solver_failed = true;
    free(E->fail_reason);
    E->fail_reason = pv_xstrdup(why ? why : "unknown");
    return Z3_L_UNDEF;
}

/* An undecided answer that does not end the checks (the question may
 * still be decided another way): asking goes on. */
static void clear_failure(enc *E)
{
    E->solver_failed = false;
    free(E->fail_reason);
    E->fail_reason = NULL;
}

#define LOST_CONTEXT "the solver could not recover from an interrupt"

/* As solve, but spending at most cap_ms (0: no cap beyond the budget). */
static Z3_lbool solve_capped(enc *E, long cap_ms)
{
    if (E->poisoned)
        return give_up(E, "a string holds a character beyond U+2FFFF");
    if (E->ctx_lost)
        return give_up(E, LOST_CONTEXT);
    if (E->solver_failed)
        return Z3_L_UNDEF;
    if (E->opts->should_stop && E->opts->should_stop(E->opts->stop_ctx))
        return give_up(E, "the verification was stopped (call cancelled)");
    long left = ms_left(E);
    if (left <= 0)
        return give_up(E, "the time limit ran out");
    /* The watchdog holds the verification's deadline, and a capped
     * query's shorter limit. */
    bool capped = cap_ms > 0 && cap_ms < left;
    struct timespec cap_at;
    if (capped) {
        clock_gettime(CLOCK_MONOTONIC, &cap_at);
        cap_at = ts_plus_ms(cap_at, cap_ms);
    }
    if (check_begin(E->eng, capped ? &cap_at : NULL))
        return give_up(E, "the verification was stopped");
    Z3_lbool r = Z3_solver_check(E->c, E->solver);
    Z3_error_code err = Z3_get_error_code(E->c);
    bool cap_hit;
    bool cleared = check_end(E->eng, &cap_hit);
    if (cleared && r != Z3_L_UNDEF && err == Z3_OK)
        return r;
    if (E->solver == E->eng->solver)
        E->main_undecided = true;
    if (!cleared) {
        /* Fail closed, for the rest of this verification: the context is
         * replaced before the next (it was interrupted). */
        E->ctx_lost = true;
        return give_up(E, LOST_CONTEXT);
    }
    const char *why =
        err != Z3_OK ? Z3_get_error_msg(E->c, err) : Z3_solver_get_reason_unknown(E->c, E->solver);
    if (err == Z3_OK && (ms_left(E) <= 0 || cap_hit))
        why = "the time limit ran out";
    return give_up(E, why);
}

/* Decode Z3's rendering of a string constant: \u{hex} escapes, every other
 * character itself; code points become UTF-8. */
static pv_str decode_z3_string(const char *s)
{
    size_t len = strlen(s);
    char *out = pv_xmalloc(len * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        int used = 0;
        if (s[i] == '\\' && sscanf(s + i, "\\u{%x}%n", &cp, &used) == 1 && used > 0) {
            i += (size_t)used;
        } else {
            out[o++] = s[i++];
            continue;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD; /* not encodable in UTF-8 */
        if (cp < 0x80)
            out[o++] = (char)cp;
        else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = '\0';
    return (pv_str){out, o};
}

/* The value of term x of type t in model m (completed where free). */
static bool model_value(enc *E, Z3_model m, Z3_ast x, pv_type t, pv_value *out)
{
    Z3_ast v;
    memset(out, 0, sizeof *out);
    out->type = t;
    if (!Z3_model_eval(E->c, m, x, true, &v))
        return false;
    switch (t.kind) {
    case PV_T_BOOL:
        out->u.b = Z3_get_bool_value(E->c, v) == Z3_L_TRUE;
        return true;
    case PV_T_STRING:
        if (!Z3_is_string(E->c, v))
            return false;
        out->u.s = decode_z3_string(Z3_get_string(E->c, v));
        return true;
    default: {
        int64_t i;
        if (!Z3_get_numeral_int64(E->c, v, &i))
            return false;
        if (t.kind == PV_T_ENUM)
            out->u.e = (int)i;
        else
            out->u.i = i;
        return true;
    }
    }
}

/* For messages: leaf values under a model. */
typedef struct leaf_ctx {
    enc *E;
    Z3_model m;
    int step;
    Z3_ast *st;
    pv_value *owned; /* strings to free afterwards */
    size_t n_owned;
} leaf_ctx;

static bool leaf_value(void *ctx, const pv_expr *leaf, pv_value *out)
{
    leaf_ctx *L = ctx;
    Z3_ast x;
    if (leaf->kind == PV_E_STATE)
        x = L->st[leaf->u.ref.index];
    else if (leaf->kind == PV_E_ARG || leaf->kind == PV_E_RESULT)
        x = field_term(L->E, L->step, leaf->kind == PV_E_RESULT, leaf);
    else
        return false;
    if (!L->m) {
        /* No model: only values that simplify to constants are known. */
        return false;
    }
    if (!model_value(L->E, L->m, x, leaf->type, out))
        return false;
    if (out->type.kind == PV_T_STRING) {
        L->owned = pv_xrealloc(L->owned, (L->n_owned + 1) * sizeof(pv_value));
        L->owned[L->n_owned++] = *out;
    }
    return true;
}

/* Copy the witness: every unknown of the steps up to `step` (and of the
 * initial state) under model m. */
static void fill_witness(enc *E, Z3_model m, int step, pv_finding *f)
{
    if (E->opts->no_witness)
        return;
    f->witness = pv_xcalloc(E->n_unknowns + 1, sizeof(pv_witness_entry));
    for (size_t i = 0; i < E->n_unknowns; i++) {
        const unknown *u = &E->unknowns[i];
        if (u->step > step)
            continue;
        pv_value v;
        if (!model_value(E, m, u->ast, u->type, &v))
            continue;
        f->witness[f->n_witness].key = pv_xstrdup(u->key);
        f->witness[f->n_witness].value = v;
        f->n_witness++;
    }
}

typedef enum outcome { OUT_HOLDS, OUT_POSSIBLE, OUT_CERTAIN, OUT_UNKNOWN } outcome;

/*
 * Can `broken` hold under the background constraints? On OUT_POSSIBLE or
 * OUT_CERTAIN, *model is a model of it (caller releases with
 * Z3_model_dec_ref), or NULL when the query was decided by simplification
 * alone and nothing is unknown.
 */
static outcome check_simplified(enc *E, Z3_ast broken, bool simplified, Z3_model *model);

static outcome check(enc *E, Z3_ast broken, Z3_model *model)
{
    return check_simplified(E, broken, false, model);
}

/* Can `broken` fail to hold under the background, within cap_ms? Asked of
 * the engine's scratch solver (see pv_engine.scratch), which gets a copy of
 * the solver's assertions (the background) at the first such question of
 * a verification and keeps it for the next, each asked in a scope of its
 * own; a check that does not decide resets it, so a solver cut short is
 * never asked again. */
static Z3_lbool certainty_check(enc *E, Z3_ast broken, long cap_ms)
{
    Z3_context c = E->c;
    Z3_solver main = E->solver, t = E->eng->scratch;
    if (!E->scratch_ready) {
        Z3_ast_vector bg = Z3_solver_get_assertions(c, main);
        if (!bg)
            return Z3_L_UNDEF;
        Z3_ast_vector_inc_ref(c, bg);
        unsigned n = Z3_ast_vector_size(c, bg);
        Z3_solver_push(c, t); /* the verification's scope, popped at its end */
        for (unsigned i = 0; i < n; i++)
            Z3_solver_assert(c, t, Z3_ast_vector_get(c, bg, i));
        Z3_ast_vector_dec_ref(c, bg);
        E->scratch_ready = true;
    }
    Z3_solver_push(c, t);
    Z3_solver_assert(c, t, Z3_mk_not(c, broken));
    E->solver = t;
    Z3_lbool r = solve_capped(E, cap_ms);
    E->solver = main;
    if (r == Z3_L_UNDEF) {
        Z3_solver_reset(c, t);
        E->scratch_ready = false;
    } else {
        Z3_solver_pop(c, t, 1);
    }
    return r;
}

/* As check, for a question that was simplified already (and is not
 * constant false). */
static outcome check_simplified(enc *E, Z3_ast broken, bool simplified, Z3_model *model)
{
    Z3_context c = E->c;
    Z3_solver s = E->solver;
    *model = NULL;
    if (E->solver_failed)
        return OUT_UNKNOWN;
    if (!E->opts->force_solver && !simplified) {
        Z3_ast simple = Z3_simplify(c, broken);
        if (simple && Z3_get_bool_value(c, simple) == Z3_L_FALSE)
            return OUT_HOLDS;
        if (simple)
            broken = simple;
    }

    Z3_solver_push(c, s);
    Z3_solver_assert(c, s, broken);
    Z3_lbool r = solve(E);
    if (r == Z3_L_TRUE) {
        *model = Z3_solver_get_model(c, s);
        if (*model)
            Z3_model_inc_ref(c, *model);
    }
    Z3_solver_pop(c, s, 1);
    if (r == Z3_L_UNDEF)
        return OUT_UNKNOWN;
    if (r == Z3_L_FALSE)
        return OUT_HOLDS;
    if (!E->opts->force_solver && Z3_get_bool_value(c, broken) == Z3_L_TRUE)
        return OUT_CERTAIN;
    /* Whether the break is certain refines the answer; it gets at most a
     * quarter of what is left, so that one hard proof cannot starve the
     * remaining rules of their budget. */
    long quarter = ms_left(E) / 4;
    r = certainty_check(E, broken, quarter > 10 ? quarter : 10);
    if (r == Z3_L_UNDEF) {
        /* The break itself is proven possible; not knowing whether it is
         * certain must not hide it. */
        clear_failure(E);
        return OUT_POSSIBLE;
    }
    return r == Z3_L_FALSE ? OUT_CERTAIN : OUT_POSSIBLE;
}

/* ------------------------------------------------------------------ */
/* encoding the plan                                                   */

static char *key_of(const char *what, int step, const char *name)
{
    if (step < 0)
        return pv_xasprintf("initial.%s", name);
    return pv_xasprintf("steps[%d].%s.%s", step, what, name);
}

static void encode_initial(enc *E)
{
    const pv_spec *spec = E->spec;
    E->state[0] = pv_xcalloc(spec->n_state + 1, sizeof(Z3_ast));
    for (size_t v = 0; v < spec->n_state; v++) {
        const pv_pval *pv = &E->plan->initial[v];
        const pv_var *var = &spec->state[v];
        if (pv->kind == PV_PV_LITERAL)
            E->state[0][v] = mk_value(E, &pv->lit);
        else if (pv->kind == PV_PV_ABSENT && var->has_init)
            E->state[0][v] = mk_value(E, &var->init);
        else
            E->state[0][v] = mk_unknown(E, key_of(NULL, -1, var->name), var, -1);
    }
}

/* Encode step i's arguments and results, assert its ensures, and compute
 * the state after it. */
static void encode_step(enc *E, size_t i)
{
    const pv_spec *spec = E->spec;
    const pv_step *st = &E->plan->steps[i];
    Z3_ast *pre = E->state[i];
    Z3_ast *post = pv_xmalloc((spec->n_state + 1) * sizeof(Z3_ast));
    memcpy(post, pre, spec->n_state * sizeof(Z3_ast));
    E->state[i + 1] = post;
    if (st->tool < 0)
        return;
    const pv_tool *tool = &spec->tools[st->tool];
    E->args[i] = pv_xcalloc(tool->n_args + 1, sizeof(Z3_ast));
    E->res[i] = pv_xcalloc(tool->n_returns + 1, sizeof(Z3_ast));
    for (size_t r = 0; r < tool->n_returns; r++) {
        const pv_pval *pv = &st->result[r];
        if (pv->kind == PV_PV_LITERAL)
            E->res[i][r] = mk_value(E, &pv->lit);
        else
            E->res[i][r] = mk_unknown(
                E, key_of("result", (int)i, tool->returns[r].name), &tool->returns[r], (int)i);
    }
    for (size_t a = 0; a < tool->n_args; a++) {
        const pv_pval *pv = &st->args[a];
        const pv_var *var = &tool->args[a];
        if (pv->kind == PV_PV_LITERAL)
            E->args[i][a] = mk_value(E, &pv->lit);
        else if (pv->kind == PV_PV_REF) {
            E->args[i][a] = E->res[pv->ref_step][pv->ref_field];
            /* The tool refuses values outside its schema before acting. */
            assert_bg(E, domain(E, var, E->args[i][a]));
        } else if (pv->kind == PV_PV_ABSENT && var->has_default)
            E->args[i][a] = mk_value(E, &var->dflt);
        else
            E->args[i][a] = mk_unknown(E, key_of("args", (int)i, var->name), var, (int)i);
    }
    if (tool->ensures)
        assert_bg(E, encode(E, tool->ensures, (int)i, pre, -1));
    for (size_t k = 0; k < tool->n_effects; k++)
        post[tool->effects[k].var] = encode(E, tool->effects[k].expr, (int)i, pre, -1);
}

/*
 * The background is unsatisfiable: find what makes it so, re-encoding step
 * by step with a check after each, and report it as bad input.
 */
static void explain_contradiction(enc *E)
{
    Z3_context c = E->c;
    Z3_solver s = E->solver;
    Z3_solver_pop(c, s, 1);
    Z3_solver_push(c, s);
    const pv_spec *spec = E->spec;
    const pv_plan *plan = E->plan;
    free(E->state[0]);
    for (size_t u = 0; u < E->n_unknowns; u++)
        free(E->unknowns[u].key);
    E->n_unknowns = 0;
    encode_initial(E);
    for (size_t r = 0; r < spec->n_invariants; r++) {
        const pv_invariant *inv = &spec->invariants[r];
        if (inv->kind != PV_RULE_STATE)
            continue;
        assert_bg(E, encode(E, inv->cond, 0, E->state[0], -1));
        if (solve(E) == Z3_L_FALSE) {
            pv_diags_add(E->diags,
                         plan->file,
                         plan->pos,
                         "initial_state breaks invariant '%s' (%s)",
                         inv->id,
                         inv->cond_src);
            return;
        }
    }
    for (size_t i = 0; i < E->analysed; i++) {
        free(E->state[i + 1]);
        free(E->args[i]);
        free(E->res[i]);
        encode_step(E, i);
        if (solve(E) != Z3_L_FALSE)
            continue;
        const pv_step *st = &plan->steps[i];
        char *label = pv_step_label(plan, i);
        const pv_tool *tool = &spec->tools[st->tool];
        if (st->has_result && tool->ensures)
            pv_diags_add(E->diags,
                         plan->file,
                         st->pos,
                         "%s, field result: the given result contradicts ensures of tool '%s' "
                         "(%s)",
                         label,
                         tool->name,
                         tool->ensures_src);
        else if (tool->ensures)
            pv_diags_add(E->diags,
                         plan->file,
                         st->pos,
                         "%s: ensures of tool '%s' cannot hold here (%s); the spec or the plan "
                         "is contradictory",
                         label,
                         tool->name,
                         tool->ensures_src);
        else
            pv_diags_add(E->diags,
                         plan->file,
                         st->pos,
                         "%s, field args: a referenced value lies outside the argument's "
                         "declared bounds",
                         label);
        free(label);
        return;
    }
    pv_diags_add(E->diags,
                 plan->file,
                 plan->pos,
                 "the plan's known values contradict each other (the solver found no run)");
}

/* ------------------------------------------------------------------ */
/* the checks                                                          */

static void add_solver_unknown(enc *E, pv_verdict *v, int step, const char *what)
{
    const pv_failure_mode *fm = &E->spec->failure_modes[PV_FAIL_SOLVER_UNKNOWN];
    const pv_step *st = (size_t)step < E->plan->n_steps ? &E->plan->steps[step] : NULL;
    char *msg = pv_xasprintf("the solver could not decide %s at step %d: %s",
                             what,
                             step,
                             E->fail_reason ? E->fail_reason : "unknown");
    pv_verdict_add(v,
                   "solver_unknown",
                   PV_K_SOLVER,
                   step,
                   st ? st->tool_name : NULL,
                   fm->action,
                   fm->escalate_to,
                   false,
                   msg);
}

/* Record a finding of `outcome` for question q (its values in the pre-
 * or post-state st; prefix, if any, leads its message). Returns false
 * when the solver could not decide. */
static bool report(enc *E, pv_verdict *v, outcome o, Z3_model m, const pv_question *q,
                   const char *prefix, Z3_ast *st)
{
    const char *rule = q->rule, *src = q->src;
    const pv_expr *cond = q->cond;
    pv_finding_kind kind = q->kind;
    int step = q->step;
    bool post = q->post;
    if (o == OUT_HOLDS)
        return true;
    if (o == OUT_UNKNOWN) {
        char *what = pv_xasprintf("'%s'", rule);
        add_solver_unknown(E, v, step, what);
        free(what);
        return false;
    }
    const pv_step *ps = &E->plan->steps[step];
    char *where = pv_xasprintf("%s step %d (%s)", post ? "after" : "at", step, ps->tool_name);
    leaf_ctx L = {E, m, step, st, NULL, 0};
    char *msg = pv_message_rule(
        E->spec, cond, src, kind == PV_K_SCOPE ? "holds" : "fails", where, leaf_value, &L);
    for (size_t i = 0; i < L.n_owned; i++)
        pv_value_free(&L.owned[i]);
    free(L.owned);
    free(where);
    if (prefix) {
        char *full = pv_xasprintf("%s%s", prefix, msg);
        free(msg);
        msg = full;
    }
    pv_finding *f = pv_verdict_add(
        v, rule, kind, step, ps->tool_name, q->action, q->escalate_to, o == OUT_CERTAIN, msg);
    const pv_expr *exprs[1] = {cond};
    f->chain = pv_chain_compute(E->spec, E->plan, step, post, exprs, cond ? 1 : 0, &f->n_chain);
    if (m)
        fill_witness(E, m, step, f);
    return true;
}

/* A check's question, collected, and what to report if the answer is "it
 * breaks" (see report). */
typedef struct query {
    Z3_ast broken; /* simplified once collecting ends */
    pv_question q;
    char *prefix;
    Z3_ast *st;
} query;

/*
 * Ask whether `broken`, question q's break, can hold, and report a finding
 * if so. While collecting, the question is only recorded (unless it is
 * false as it stands) for run_all_checks. *breaks tells whether
 * a finding was made (always false while collecting). Returns false when
 * the solver could not decide.
 */
static bool ask(enc *E, pv_verdict *v, Z3_ast broken, const pv_question *q, const char *prefix,
                Z3_ast *st, bool *breaks)
{
    if (breaks)
        *breaks = false;
    if (E->collecting) {
        /* Simplified all together once collected (simplify_queries). */
        if (Z3_get_bool_value(E->c, broken) == Z3_L_FALSE)
            return true;
        pv_grow(&E->queries, &E->cap_queries, E->n_queries + 1, sizeof(query));
        E->queries[E->n_queries++] = (query){broken, *q, prefix ? pv_xstrdup(prefix) : NULL, st};
        return true;
    }
    Z3_model m;
    outcome o = check(E, broken, &m);
    if (breaks)
        *breaks = o != OUT_HOLDS;
    bool ok = report(E, v, o, m, q, prefix, st);
    if (m)
        Z3_model_dec_ref(E->c, m);
    return ok;
}

/* Where ask_question asks: the encoding, the verdict, and which state
 * rules have been reported (each once, at its earliest step). */
typedef struct asking {
    enc *E;
    pv_verdict *v;
    bool *reported;
} asking;

/* One of a step's questions (pv_step_questions), asked of the solver.
 * Returns false when the solver gave up. */
static bool ask_question(void *ctx, const pv_question *q)
{
    asking *A = ctx;
    enc *E = A->E;
    if (q->state_rule >= 0 && A->reported[q->state_rule])
        return true;
    Z3_ast *st = E->state[q->post ? q->step + 1 : q->step];
    Z3_ast cond = encode(E, q->cond, q->step, st, -1);
    char *prefix = NULL;
    if (q->ex) {
        char *scope = pv_scope_message(q->step, E->plan->steps[q->step].tool_name, q->ex);
        prefix = pv_xasprintf("%s; when: ", scope);
        free(scope);
    } else if (q->requires_of) {
        prefix = pv_xasprintf("requires of '%s': ", q->requires_of->name);
    }
    bool breaks;
    bool ok = ask(E, A->v, q->broken_if ? cond : Z3_mk_not(E->c, cond), q, prefix, st, &breaks);
    free(prefix);
    if (q->state_rule >= 0)
        A->reported[q->state_rule] = breaks;
    return ok;
}

/* Free per-step term arrays of n steps: state[0..n], args and res[0..n). */
static void free_step_terms(Z3_ast **state, Z3_ast **args, Z3_ast **res, size_t n)
{
    for (size_t i = 0; state && i <= n; i++)
        free(state[i]);
    for (size_t i = 0; i < n; i++) {
        free(args[i]);
        free(res[i]);
    }
    free(state);
    free(args);
    free(res);
}

static void free_unknowns(unknown *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(u[i].key);
    free(u);
}

static void free_encoding(enc *E)
{
    watchdog_arm(E->eng, NULL);
    if (E->scratch_ready)
        Z3_solver_pop(E->c, E->eng->scratch, 1);
    free_step_terms(E->state, E->args, E->res, E->analysed);
    free_unknowns(E->unknowns, E->n_unknowns);
    free(E->fail_reason);
    for (size_t i = 0; i < E->n_queries; i++)
        free(E->queries[i].prefix);
    free(E->queries);
}

/* Every check at every step from opts->from_step on, in order: call-level
 * checks, then state rules (each reported once, at the earliest step). Stops
 * at the first undecided query. */
static void run_checks(enc *E, pv_verdict *v)
{
    asking A = {E, v, pv_xcalloc(E->spec->n_invariants + 1, sizeof(bool))};
    for (size_t i = E->opts->from_step; i < E->analysed; i++)
        if (!pv_step_questions(E->spec, E->plan, i, v, ask_question, &A))
            break;
    free(A.reported);
}

/*
 * Simplify the collected questions and drop those that simplify to false.
 * One Z3_simplify call takes them all, as the arguments of an application
 * of an uninterpreted function: each call builds a new rewriter, which
 * reads its settings from Z3's process-wide parameter table under a lock
 * shared by every engine, so a call per question made engines in
 * different threads wait on each other (1.72x the throughput of one
 * thread with two, 1.80x this way; bench_engine threads, solver only). The
 * rewriter leaves the application itself alone; should it not, or should
 * Z3 fail, the questions stay as they are, which the solver answers all
 * the same.
 */
static void simplify_queries(enc *E)
{
    size_t n = E->n_queries;
    if (n == 0)
        return;
    Z3_context c = E->c;
    Z3_ast *qs = pv_xmalloc(n * sizeof(Z3_ast));
    Z3_sort *dom = pv_xmalloc(n * sizeof(Z3_sort));
    for (size_t i = 0; i < n; i++) {
        qs[i] = E->queries[i].broken;
        dom[i] = E->eng->bool_sort;
    }
    Z3_func_decl f = Z3_mk_func_decl(c, E->eng->questions_sym, (unsigned)n, dom, E->eng->bool_sort);
    Z3_ast app = f ? Z3_mk_app(c, f, (unsigned)n, qs) : NULL;
    Z3_ast all = app ? Z3_simplify(c, app) : NULL;
    if (all && !(Z3_is_app(c, all) && Z3_get_app_num_args(c, Z3_to_app(c, all)) == n &&
                 Z3_is_eq_func_decl(c, Z3_get_app_decl(c, Z3_to_app(c, all)), f)))
        all = NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        Z3_ast simple = all ? Z3_get_app_arg(c, Z3_to_app(c, all), (unsigned)i) : NULL;
        if (!simple)
            simple = qs[i];
        if (Z3_get_bool_value(c, simple) == Z3_L_FALSE) {
            free(E->queries[i].prefix);
            continue;
        }
        E->queries[kept] = E->queries[i];
        E->queries[kept++].broken = simple;
    }
    E->n_queries = kept;
    free(qs);
    free(dom);
}

/*
 * Every check, in two phases unless force_solver. Most plans break nothing,
 * and one solver call can show that: run_checks first gathers every
 * question (recording at once the findings that need no question, such as
 * an unknown tool), simplify_queries keeps those that simplification
 * leaves open, and one call asks
 * whether any of them can break. When none can, that is the verdict. When
 * one can (or the call is undecided), the questions are asked one by one,
 * in order, exactly as the direct path asks them: a state rule at its
 * earliest breaking step, each finding with its own witness and whether it
 * is certain, and solver_unknown at the first undecided one, after which
 * nothing is reported. Asking one by one keeps witnesses the same from run
 * to run, where a shared model would depend on the solver's history.
 */
static void run_all_checks(enc *E, pv_verdict *v)
{
    if (E->opts->force_solver) {
        run_checks(E, v);
        return;
    }
    E->collecting = true;
    run_checks(E, v);
    E->collecting = false;
    simplify_queries(E);
    if (E->n_queries == 0)
        return;
    Z3_context c = E->c;
    Z3_solver s = E->solver;
    Z3_ast *disj = pv_xmalloc(E->n_queries * sizeof(Z3_ast));
    for (size_t i = 0; i < E->n_queries; i++)
        disj[i] = E->queries[i].broken;
    Z3_solver_push(c, s);
    Z3_solver_assert(c, s, E->n_queries == 1 ? disj[0] : Z3_mk_or(c, (unsigned)E->n_queries, disj));
    Z3_lbool any = solve(E);
    Z3_solver_pop(c, s, 1);
    free(disj);
    if (any == Z3_L_FALSE)
        return;
    /* Undecided as a whole: the questions one by one may still be decided
     * within what is left of the budget. */
    clear_failure(E);
    bool *state_done = pv_xcalloc(E->spec->n_invariants + 1, sizeof(bool));
    for (size_t i = 0; i < E->n_queries; i++) {
        query *qu = &E->queries[i];
        const pv_question *q = &qu->q;
        if (q->state_rule >= 0 && state_done[q->state_rule])
            continue;
        Z3_model m;
        outcome o = check_simplified(E, qu->broken, true, &m);
        if (q->state_rule >= 0 && o != OUT_HOLDS)
            state_done[q->state_rule] = true;
        bool ok = report(E, v, o, m, q, qu->prefix, qu->st);
        if (m)
            Z3_model_dec_ref(c, m);
        if (!ok)
            break;
    }
    free(state_done);
}

/* Set up an encoding of plan against spec on solver s (the engine's or a
 * session's), with the verification's deadline. */
static void enc_init(enc *E, pv_engine *eng, Z3_solver s, const pv_spec *spec, const pv_plan *plan,
                     const pv_verify_opts *opts, pv_diags *diags)
{
    memset(E, 0, sizeof *E);
    E->eng = eng;
    E->c = eng->ctx;
    E->solver = s;
    E->spec = spec;
    E->plan = plan;
    E->opts = opts;
    E->diags = diags;
    size_t n = plan->n_steps;
    E->analysed = n < (size_t)spec->max_steps ? n : (size_t)spec->max_steps;
    unsigned budget =
        eng->budget_override ? eng->budget_override : (unsigned)spec->solver_timeout_ms;
    if (opts->timeout_ms && opts->timeout_ms < budget)
        budget = opts->timeout_ms;
    clock_gettime(CLOCK_MONOTONIC, &E->deadline);
    E->deadline = ts_plus_ms(E->deadline, (long)budget);
    E->state = pv_xcalloc(E->analysed + 2, sizeof(Z3_ast *));
    E->args = pv_xcalloc(E->analysed + 1, sizeof(Z3_ast *));
    E->res = pv_xcalloc(E->analysed + 1, sizeof(Z3_ast *));
    watchdog_arm(eng, &E->deadline);
}

/* Unknown initial values satisfy every state rule at the start. */
static void assume_initial_rules(enc *E)
{
    for (size_t r = 0; r < E->spec->n_invariants; r++)
        if (E->spec->invariants[r].kind == PV_RULE_STATE)
            assert_bg(E, encode(E, E->spec->invariants[r].cond, 0, E->state[0], -1));
}

/* The background holds: run the checks; then budget_exceeded, order,
 * decision and safe_prefix. */
static void verify_encoded(enc *E, pv_verdict *v, Z3_lbool bg)
{
    const pv_plan *plan = E->plan;
    const pv_spec *spec = E->spec;
    if (bg == Z3_L_UNDEF)
        add_solver_unknown(E, v, 0, "whether the plan's assumptions hold together");
    else
        run_all_checks(E, v);
    size_t n = plan->n_steps;
    if (n > E->analysed) {
        const pv_failure_mode *fm = &spec->failure_modes[PV_FAIL_BUDGET_EXCEEDED];
        char *msg = pv_xasprintf("the plan has %zu steps, more than limits.max_steps %d; steps "
                                 "from %zu on are not analysed",
                                 n,
                                 spec->max_steps,
                                 E->analysed);
        pv_verdict_add(v,
                       "budget_exceeded",
                       PV_K_BUDGET,
                       (int)E->analysed,
                       plan->steps[E->analysed].tool_name,
                       fm->action,
                       fm->escalate_to,
                       true,
                       msg);
    }
    pv_verdict_finish_from(v, spec, plan, E->opts->from_step);
}

/* Count a use of the engine's context, replacing the context when it has
 * served PV_ENGINE_RECYCLE verifications. False when Z3 fails. */
static bool engine_use(pv_engine *eng)
{
    pthread_mutex_lock(&eng->lock);
    bool tainted = eng->interrupted;
    eng->interrupted = false;
    eng->stop = false;
    pthread_mutex_unlock(&eng->lock);
    if (++eng->uses <= PV_ENGINE_RECYCLE && !tainted)
        return true;
    pthread_mutex_lock(&eng->lock);
    engine_close(eng);
    bool ok = engine_open(eng);
    eng->generation++;
    pthread_mutex_unlock(&eng->lock);
    eng->uses = 1;
    return ok;
}

/* Nothing unknown: the concrete evaluator decides the same (the
 * differential test holds the two to it) without a solver call; with
 * unknowns, the quick path may (test_quick holds it to the solver).
 * Returns PV_ENOTCONCRETE when the plan needs the solver. */
static int concrete_shortcut(const pv_spec *spec, const pv_plan *plan, const pv_verify_opts *opts,
                             pv_verdict **out, pv_diags *diags)
{
    if (opts->force_solver || opts->no_fast_path)
        return PV_ENOTCONCRETE;
    pv_verdict *cv = NULL;
    int rc = pv_concrete_verify_from(spec, plan, false, opts->from_step, &cv, diags);
    if (rc == PV_OK)
        *out = cv;
    if (rc != PV_ENOTCONCRETE || opts->no_quick)
        return rc;
    /* Unknowns: bounds and sample runs settle most plans (pv_quick.h). */
    return pv_quick_verify(spec, plan, opts->from_step, opts->no_witness, out);
}

int pv_engine_verify(pv_engine *eng, const pv_spec *spec, const pv_plan *plan,
                     const pv_verify_opts *opts, pv_verdict **out, pv_diags *diags)
{
    static const pv_verify_opts defaults = {0};
    *out = NULL;
    if (!opts)
        opts = &defaults;
    int rc = concrete_shortcut(spec, plan, opts, out, diags);
    if (rc != PV_ENOTCONCRETE)
        return rc;
    if (!engine_use(eng))
        return PV_EIO;
    enc E;
    enc_init(&E, eng, eng->solver, spec, plan, opts, diags);
    Z3_context c = eng->ctx;
    Z3_solver s = eng->solver;
    Z3_solver_push(c, s);
    encode_initial(&E);
    assume_initial_rules(&E);
    for (size_t i = 0; i < E.analysed; i++)
        encode_step(&E, i);
    pv_verdict *v = pv_verdict_new(spec, plan);
    rc = PV_OK;
    Z3_lbool bg = solve(&E);
    if (bg == Z3_L_FALSE) {
        explain_contradiction(&E);
        rc = PV_EINPUT;
    } else {
        verify_encoded(&E, v, bg);
    }
    Z3_solver_pop(c, s, 1);
    if (E.main_undecided)
        Z3_solver_reset(c, s);
    free_encoding(&E);
    if (rc != PV_OK) {
        pv_verdict_free(v);
        return rc;
    }
    *out = v;
    return PV_OK;
}

/* ------------------------------------------------------------------ */
/* runtime sessions                                                    */

/*
 * A session's own solver, in its engine's context, keeps the executed
 * prefix encoded and asserted at scope level 1 between messages; each
 * message encodes only the steps not yet run, at level 2, and pops them
 * afterwards. The prefix's terms stay valid because the context keeps every
 * term until it is replaced; when the engine replaces its context (see
 * PV_ENGINE_RECYCLE), the session notices the new generation and encodes
 * its prefix again.
 */
struct pv_engine_session {
    pv_engine *eng;
    unsigned generation;
    Z3_solver solver; /* NULL: nothing encoded */
    const pv_spec *spec;
    size_t k;             /* steps encoded at level 1 */
    Z3_ast **state;       /* [k + 1] */
    Z3_ast **args, **res; /* [k] */
    unknown *unknowns;
    size_t n_unknowns;
};

pv_engine_session *pv_engine_session_new(pv_engine *eng)
{
    pv_engine_session *es = pv_xcalloc(1, sizeof *es);
    es->eng = eng;
    return es;
}

/* Forget the prefix; release the solver only while its context lives. */
static void session_reset(pv_engine_session *es)
{
    if (es->solver && es->generation == es->eng->generation)
        Z3_solver_dec_ref(es->eng->ctx, es->solver);
    es->solver = NULL;
    free_step_terms(es->state, es->args, es->res, es->k);
    es->state = NULL;
    es->args = es->res = NULL;
    free_unknowns(es->unknowns, es->n_unknowns);
    es->unknowns = NULL;
    es->n_unknowns = 0;
    es->k = 0;
    es->spec = NULL;
}

void pv_engine_session_free(pv_engine_session *es)
{
    if (!es)
        return;
    session_reset(es);
    free(es);
}

int pv_engine_verify_session(pv_engine_session *es, const pv_spec *spec, const pv_plan *plan,
                             size_t executed, const pv_verify_opts *opts_in, pv_verdict **out,
                             pv_diags *diags)
{
    *out = NULL;
    pv_verify_opts opts = opts_in ? *opts_in : (pv_verify_opts){0};
    opts.from_step = executed;
    int rc = concrete_shortcut(spec, plan, &opts, out, diags);
    if (rc != PV_ENOTCONCRETE)
        return rc;
    pv_engine *eng = es->eng;
    if (!engine_use(eng))
        return PV_EIO;
    if (es->solver && (es->generation != eng->generation || es->spec != spec))
        session_reset(es);
    Z3_context c = eng->ctx;
    enc E;
    if (!es->solver) {
        es->solver = Z3_mk_simple_solver(c);
        Z3_solver_inc_ref(c, es->solver);
        Z3_params p = Z3_mk_params(c);
        Z3_params_inc_ref(c, p);
        Z3_params_set_bool(c, p, Z3_mk_string_symbol(c, "ctrl_c"), false);
        Z3_solver_set_params(c, es->solver, p);
        Z3_params_dec_ref(c, p);
        es->generation = eng->generation;
        es->spec = spec;
        Z3_solver_push(c, es->solver); /* level 1: the prefix */
        enc_init(&E, eng, es->solver, spec, plan, &opts, diags);
        encode_initial(&E);
        assume_initial_rules(&E);
        es->state = pv_xcalloc(1, sizeof(Z3_ast *));
        es->state[0] = E.state[0];
    } else {
        enc_init(&E, eng, es->solver, spec, plan, &opts, diags);
        for (size_t i = 0; i <= es->k; i++)
            E.state[i] = es->state[i];
        for (size_t i = 0; i < es->k; i++) {
            E.args[i] = es->args[i];
            E.res[i] = es->res[i];
        }
        for (size_t u = 0; u < es->n_unknowns; u++) {
            pv_grow(&E.unknowns, &E.cap_unknowns, E.n_unknowns + 1, sizeof(unknown));
            E.unknowns[E.n_unknowns] = es->unknowns[u];
            E.unknowns[E.n_unknowns++].key = pv_xstrdup(es->unknowns[u].key);
        }
    }
    /* Steps that ran since the last message join the prefix at level 1. */
    size_t want = executed < E.analysed ? executed : E.analysed;
    for (size_t i = es->k; i < want; i++)
        encode_step(&E, i);
    if (want > es->k) {
        es->state = pv_xrealloc(es->state, (want + 1) * sizeof(Z3_ast *));
        es->args = pv_xrealloc(es->args, (want + 1) * sizeof(Z3_ast *));
        es->res = pv_xrealloc(es->res, (want + 1) * sizeof(Z3_ast *));
        for (size_t i = es->k; i < want; i++) {
            es->state[i + 1] = E.state[i + 1];
            es->args[i] = E.args[i];
            es->res[i] = E.res[i];
        }
        es->k = want;
    }
    /* The prefix's unknowns (the initial state's and those of the steps in
     * it) come first in E.unknowns; the session keeps a copy for the next
     * message's witnesses. */
    free_unknowns(es->unknowns, es->n_unknowns);
    es->unknowns = pv_xcalloc(E.n_unknowns + 1, sizeof(unknown));
    es->n_unknowns = 0;
    for (size_t u = 0; u < E.n_unknowns && E.unknowns[u].step < (int)es->k; u++) {
        es->unknowns[u] = E.unknowns[u];
        es->unknowns[u].key = pv_xstrdup(E.unknowns[u].key);
        es->n_unknowns++;
    }
    /* Level 2: the steps not yet run, for this message only. */
    Z3_solver_push(c, es->solver);
    for (size_t i = es->k; i < E.analysed; i++)
        encode_step(&E, i);
    pv_verdict *v = pv_verdict_new(spec, plan);
    Z3_lbool bg = solve(&E);
    if (bg != Z3_L_FALSE)
        verify_encoded(&E, v, bg);
    Z3_solver_pop(c, es->solver, 1);
    /* The prefix's rows belong to the session; free only the rest. */
    for (size_t i = 0; i <= es->k; i++)
        E.state[i] = NULL;
    for (size_t i = 0; i < es->k; i++)
        E.args[i] = E.res[i] = NULL;
    free_encoding(&E);
    if (bg == Z3_L_FALSE) {
        /* Contradictory: explain it with a full encoding, and start the
         * prefix afresh next time (a reported result may be the cause). */
        pv_verdict_free(v);
        session_reset(es);
        return pv_engine_verify(eng, spec, plan, &opts, out, diags);
    }
    *out = v;
    return PV_OK;
}
