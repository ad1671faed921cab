/*
 * test_expr_check.c - the expression type checker (contract section 3):
 * name resolution in each context, constants, enum literals, path
 * functions, every type error with its exact message and offset, and the
 * linear-arithmetic rules (with SMT-LIB division for constant divisors).
 *
 * The spec is built by hand (no YAML), so these tests depend only on the
 * spec lookups and the enum interning of spec_util.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_expr.h"
#include "pv_spec.h"

/* --- the fixture spec ------------------------------------------------------------------ */

static char *dup_str(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    assert_non_null(p);
    strcpy(p, s);
    return p;
}

static void add_var(pv_var **vars, size_t *n, const char *name, pv_type t)
{
    *vars = realloc(*vars, (*n + 1) * sizeof **vars);
    assert_non_null(*vars);
    pv_var *v = &(*vars)[(*n)++];
    memset(v, 0, sizeof *v);
    v->name = dup_str(name);
    v->type = t;
}

static int add_tool(pv_spec *s, const char *name)
{
    s->tools = realloc(s->tools, (s->n_tools + 1) * sizeof *s->tools);
    assert_non_null(s->tools);
    pv_tool *t = &s->tools[s->n_tools];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    return (int)s->n_tools++;
}

static void add_constant(pv_spec *s, const char *name, pv_value v)
{
    s->constants = realloc(s->constants, (s->n_constants + 1) * sizeof *s->constants);
    assert_non_null(s->constants);
    pv_constant *c = &s->constants[s->n_constants++];
    memset(c, 0, sizeof *c);
    c->name = dup_str(name);
    c->value = v;
}

static pv_value int_value(int64_t i)
{
    pv_value v;
    memset(&v, 0, sizeof v);
    v.type = pv_type_make(PV_T_INT);
    v.u.i = i;
    return v;
}

static pv_value bool_value(bool b)
{
    pv_value v;
    memset(&v, 0, sizeof v);
    v.type = pv_type_make(PV_T_BOOL);
    v.u.b = b;
    return v;
}

static pv_value str_value(const char *s)
{
    pv_value v;
    memset(&v, 0, sizeof v);
    v.type = pv_type_make(PV_T_STRING);
    v.u.s.ptr = dup_str(s);
    v.u.s.len = strlen(s);
    return v;
}

/*
 * state:  refunded_total int, approvals int, pii bool,
 *         env enum [staging, production], region enum [eu, us], label string,
 *         mode enum [production, staging]   (the same type as env)
 * constants: max_refund 500, default_env 'production', strict true, zero 0,
 *         two 2, greeting 'hi'
 * tools:  lookup_order(order_id: string) -> amount, age_days: int, email: string
 *         issue_refund(order_id: string, amount: int)
 *         request_approval(reason: string)
 *         deploy(target: enum [staging, production], order_id: int)
 *         get_reservation(id: string) -> refundable: bool, status: enum [active, cancelled]
 *         cancel_reservation(id: string)
 *         fetch_a(id: int) -> x: int
 *         fetch_b() -> x: string
 *         send-email(to: string)
 */
static pv_spec *make_spec(void)
{
    pv_spec *s = calloc(1, sizeof *s);
    assert_non_null(s);
    const char *env_vals[] = {"staging", "production"};
    const char *env_vals2[] = {"production", "staging"};
    const char *region_vals[] = {"us", "eu"};
    const char *status_vals[] = {"active", "cancelled"};
    pv_type env = pv_type_enum(pv_spec_intern_enum(s, env_vals, 2));
    pv_type env2 = pv_type_enum(pv_spec_intern_enum(s, env_vals2, 2));
    pv_type region = pv_type_enum(pv_spec_intern_enum(s, region_vals, 2));
    pv_type status = pv_type_enum(pv_spec_intern_enum(s, status_vals, 2));
    assert_true(pv_type_eq(env, env2));
    pv_type t_int = pv_type_make(PV_T_INT), t_bool = pv_type_make(PV_T_BOOL);
    pv_type t_str = pv_type_make(PV_T_STRING);

    add_var(&s->state, &s->n_state, "refunded_total", t_int);
    add_var(&s->state, &s->n_state, "approvals", t_int);
    add_var(&s->state, &s->n_state, "pii", t_bool);
    add_var(&s->state, &s->n_state, "env", env);
    add_var(&s->state, &s->n_state, "region", region);
    add_var(&s->state, &s->n_state, "label", t_str);
    add_var(&s->state, &s->n_state, "mode", env2);

    add_constant(s, "max_refund", int_value(500));
    add_constant(s, "default_env", str_value("production"));
    add_constant(s, "strict", bool_value(true));
    add_constant(s, "zero", int_value(0));
    add_constant(s, "two", int_value(2));
    add_constant(s, "greeting", str_value("hi"));

    int t = add_tool(s, "lookup_order");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "order_id", t_str);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "amount", t_int);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "age_days", t_int);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "email", t_str);
    t = add_tool(s, "issue_refund");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "order_id", t_str);
    add_var(&s->tools[t].args, &s->tools[t].n_args, "amount", t_int);
    t = add_tool(s, "request_approval");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "reason", t_str);
    t = add_tool(s, "deploy");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "target", env);
    add_var(&s->tools[t].args, &s->tools[t].n_args, "order_id", t_int);
    t = add_tool(s, "get_reservation");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "id", t_str);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "refundable", t_bool);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "status", status);
    t = add_tool(s, "cancel_reservation");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "id", t_str);
    t = add_tool(s, "fetch_a");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "id", t_int);
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "x", t_int);
    t = add_tool(s, "fetch_b");
    add_var(&s->tools[t].returns, &s->tools[t].n_returns, "x", t_str);
    t = add_tool(s, "send-email");
    add_var(&s->tools[t].args, &s->tools[t].n_args, "to", t_str);
    return s;
}

static void free_vars(pv_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(vars[i].name);
    free(vars);
}

static void free_spec(pv_spec *s)
{
    for (size_t i = 0; i < s->n_enums; i++) {
        for (size_t j = 0; j < s->enums[i].n; j++)
            free(s->enums[i].values[j]);
        free(s->enums[i].values);
    }
    free(s->enums);
    free_vars(s->state, s->n_state);
    for (size_t i = 0; i < s->n_constants; i++) {
        free(s->constants[i].name);
        if (s->constants[i].value.type.kind == PV_T_STRING)
            free(s->constants[i].value.u.s.ptr);
    }
    free(s->constants);
    for (size_t i = 0; i < s->n_tools; i++) {
        free(s->tools[i].name);
        free_vars(s->tools[i].args, s->tools[i].n_args);
        free_vars(s->tools[i].returns, s->tools[i].n_returns);
    }
    free(s->tools);
    free(s);
}

static int setup(void **state)
{
    *state = make_spec();
    return 0;
}

static int teardown(void **state)
{
    free_spec(*state);
    return 0;
}

/* --- running one check ----------------------------------------------------------------- */

/* "bool", "int", "string", "" (any), or "=VAR": the type of state variable VAR. */
static pv_type parse_expected(const pv_spec *s, const char *want)
{
    if (strcmp(want, "bool") == 0)
        return pv_type_make(PV_T_BOOL);
    if (strcmp(want, "int") == 0)
        return pv_type_make(PV_T_INT);
    if (strcmp(want, "string") == 0)
        return pv_type_make(PV_T_STRING);
    if (want[0] == '=') {
        int v = pv_spec_state_var(s, want + 1);
        assert_true(v >= 0);
        return s->state[v].type;
    }
    return pv_type_make(PV_T_INVALID);
}

/* Tool indices from "a,b,c" (at most 8). */
static size_t parse_tools(const pv_spec *s, const char *list, int *out)
{
    size_t n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int i = pv_spec_tool(s, t);
        if (i < 0)
            fail_msg("fixture has no tool '%s'", t);
        assert_true(n < 8);
        out[n++] = i;
    }
    return n;
}

typedef struct run {
    pv_expr *e;
    int rc;
    pv_expr_error err;
} run;

static run check_in(const pv_spec *s, pv_expr_where w, const char *tools, const char *expected,
                    const char *src)
{
    run r;
    memset(&r, 0, sizeof r);
    int idx[8];
    pv_expr_ctx ctx = {s, w, idx, parse_tools(s, tools, idx)};
    if (pv_expr_parse(src, strlen(src), &r.e, &r.err) != PV_OK)
        fail_msg("\"%s\" does not parse: %u: %s", src, r.err.off, r.err.msg);
    r.rc = pv_expr_check(r.e, &ctx, parse_expected(s, expected), &r.err);
    return r;
}

/* --- table: expressions that check ----------------------------------------------------- */

typedef struct ok_case {
    pv_expr_where where;
    const char *tools;
    const char *expected;
    const char *src;
    const char *rendered; /* after checking: constants replaced */
    const char *type;     /* of the whole expression */
} ok_case;

#define CALL PV_W_CALL_RULE
#define STATE PV_W_STATE_RULE

static const ok_case OK_CASES[] = {
    /* call rules: pre-state, args, constants */
    {CALL,
     "issue_refund",
     "bool",
     "args.amount <= 500 || approvals > 0",
     "((args.amount <= 500) || (approvals > 0))",
     "bool"},
    {CALL, "issue_refund", "bool", "args.amount <= max_refund", "(args.amount <= 500)", "bool"},
    {CALL, "issue_refund", "bool", "strict => pii", "(true => pii)", "bool"},
    {CALL, "issue_refund", "bool", "!pii", "(!pii)", "bool"},
    {CALL, "issue_refund", "bool", "true", "true", "bool"},
    {CALL, "issue_refund", "", "pii ? args.amount : zero", "(pii ? args.amount : 0)", "int"},
    {CALL, "issue_refund", "", "label", "label", "string"},
    {CALL, "issue_refund", "", "env", "env", "enum [production, staging]"},
    {CALL, "issue_refund", "int", "-approvals", "(-approvals)", "int"},
    /* enums: literals compared with, listed after, or beside an enum */
    {CALL, "issue_refund", "bool", "env == 'production'", "(env == 'production')", "bool"},
    {CALL, "issue_refund", "bool", "'staging' != env", "('staging' != env)", "bool"},
    {CALL, "issue_refund", "bool", "env == mode", "(env == mode)", "bool"},
    {CALL, "issue_refund", "bool", "env == default_env", "(env == 'production')", "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "env in ['production', \"staging\"]",
     "(env in ['production', 'staging'])",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "'production' in [env, mode]",
     "('production' in [env, mode])",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "(pii ? 'staging' : 'production') == env",
     "((pii ? 'staging' : 'production') == env)",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "env == (pii ? 'staging' : mode)",
     "(env == (pii ? 'staging' : mode))",
     "bool"},
    {CALL, "issue_refund", "", "pii ? region : 'eu'", "(pii ? region : 'eu')", "enum [eu, us]"},
    {CALL, "issue_refund", "bool", "label == 'x'", "(label == 'x')", "bool"},
    {CALL, "issue_refund", "bool", "'a' == 'b'", "('a' == 'b')", "bool"},
    {CALL, "deploy", "bool", "args.target == env", "(args.target == env)", "bool"},
    {CALL, "deploy", "bool", "args.target != 'staging'", "(args.target != 'staging')", "bool"},
    /* strings and functions */
    {CALL, "issue_refund", "bool", "len(label) + 1 > two", "((len(label) + 1) > 2)", "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "starts_with(label, 'a') && ends_with(label, greeting) && contains(args.order_id, '-')",
     "((starts_with(label, 'a') && ends_with(label, 'hi')) && contains(args.order_id, '-'))",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "min(args.amount, 10) + max(1, approvals) - abs(-3) >= 0",
     "(((min(args.amount, 10) + max(1, approvals)) - abs(-3)) >= 0)",
     "bool"},
    /* linear arithmetic */
    {CALL,
     "issue_refund",
     "bool",
     "args.amount * 2 + 3 * approvals > 0",
     "(((args.amount * 2) + (3 * approvals)) > 0)",
     "bool"},
    {CALL, "issue_refund", "int", "args.amount * (two + 1)", "(args.amount * (2 + 1))", "int"},
    {CALL, "issue_refund", "int", "max_refund * two", "(500 * 2)", "int"},
    {CALL,
     "issue_refund",
     "int",
     "args.amount / 2 + args.amount % 3",
     "((args.amount / 2) + (args.amount % 3))",
     "int"},
    {CALL, "issue_refund", "int", "args.amount / -2", "(args.amount / -2)", "int"},
    {CALL,
     "issue_refund",
     "int",
     "refunded_total % (max_refund / 100)",
     "(refunded_total % (500 / 100))",
     "int"},
    {CALL,
     "issue_refund",
     "int",
     "approvals / (-7 / 2 + 5)",
     "(approvals / ((-7 / 2) + 5))",
     "int"},
    {CALL,
     "issue_refund",
     "int",
     "approvals / (true ? 3 : 0)",
     "(approvals / (true ? 3 : 0))",
     "int"},
    {CALL,
     "issue_refund",
     "int",
     "approvals / (len('\\u00e9t\\u00e9') - 2)",
     "(approvals / (len('\xc3\xa9t\xc3\xa9') - 2))",
     "int"},
    {CALL,
     "issue_refund",
     "int",
     "approvals / (-9223372036854775808 % 3)",
     "(approvals / (-9223372036854775808 % 3))",
     "int"},
    {CALL,
     "issue_refund",
     "bool",
     "args.amount in [1, two, max_refund]",
     "(args.amount in [1, 2, 500])",
     "bool"},
    /* path functions */
    {CALL,
     "issue_refund",
     "bool",
     "earlier(lookup_order, it.args.order_id == args.order_id)",
     "earlier(lookup_order, (it.args.order_id == args.order_id))",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "count(issue_refund) < 3",
     "(count(issue_refund, true) < 3)",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "count([issue_refund, lookup_order], it.args.order_id == args.order_id) <= 2",
     "(count([issue_refund, lookup_order], (it.args.order_id == args.order_id)) <= 2)",
     "bool"},
    {CALL,
     "cancel_reservation",
     "bool",
     "earlier(get_reservation, it.args.id == args.id && it.result.refundable)",
     "earlier(get_reservation, ((it.args.id == args.id) && it.result.refundable))",
     "bool"},
    {CALL,
     "cancel_reservation",
     "bool",
     "earlier(get_reservation, it.result.status == 'active')",
     "earlier(get_reservation, (it.result.status == 'active'))",
     "bool"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier('send-email', contains(it.args.to, '@') && refunded_total > max_refund)",
     "earlier('send-email', (contains(it.args.to, '@') && (refunded_total > 500)))",
     "bool"},
    {CALL,
     "issue_refund",
     "int",
     "count([fetch_a, fetch_b], true) * 2",
     "(count([fetch_a, fetch_b], true) * 2)",
     "int"},
    /* the other contexts */
    {PV_W_REQUIRES,
     "issue_refund",
     "bool",
     "args.amount <= 5000 && earlier(lookup_order)",
     "((args.amount <= 5000) && earlier(lookup_order, true))",
     "bool"},
    {PV_W_ENSURES,
     "lookup_order",
     "bool",
     "result.amount >= 0 && result.age_days >= 0",
     "((result.amount >= 0) && (result.age_days >= 0))",
     "bool"},
    {PV_W_ENSURES,
     "get_reservation",
     "bool",
     "result.refundable => result.status == 'active'",
     "(result.refundable => (result.status == 'active'))",
     "bool"},
    {PV_W_EFFECT,
     "issue_refund",
     "int",
     "refunded_total + args.amount",
     "(refunded_total + args.amount)",
     "int"},
    {PV_W_EFFECT, "lookup_order", "=label", "result.email", "result.email", "string"},
    {PV_W_EFFECT,
     "lookup_order",
     "int",
     "refunded_total + count(issue_refund, it.args.order_id == args.order_id)",
     "(refunded_total + count(issue_refund, (it.args.order_id == args.order_id)))",
     "int"},
    {PV_W_EFFECT, "deploy", "=env", "args.target", "args.target", "enum [production, staging]"},
    {PV_W_EFFECT, "deploy", "=env", "'staging'", "'staging'", "enum [production, staging]"},
    {PV_W_EFFECT, "deploy", "=env", "default_env", "'production'", "enum [production, staging]"},
    {PV_W_EFFECT,
     "deploy",
     "=env",
     "pii ? 'staging' : \"production\"",
     "(pii ? 'staging' : 'production')",
     "enum [production, staging]"},
    {PV_W_EFFECT, "deploy", "=mode", "env", "env", "enum [production, staging]"},
    {PV_W_EFFECT, "deploy", "=label", "'production'", "'production'", "string"},
    {STATE, "", "bool", "refunded_total <= 1000", "(refunded_total <= 1000)", "bool"},
    {STATE,
     "",
     "bool",
     "refunded_total <= max_refund * 2",
     "(refunded_total <= (500 * 2))",
     "bool"},
    {STATE,
     "",
     "bool",
     "env == 'production' => approvals > 0",
     "((env == 'production') => (approvals > 0))",
     "bool"},
    {PV_W_WHEN,
     "lookup_order,issue_refund",
     "bool",
     "starts_with(args.order_id, 'A') && !pii",
     "(starts_with(args.order_id, 'A') && (!pii))",
     "bool"},
    {PV_W_WHEN, "", "bool", "earlier(issue_refund)", "earlier(issue_refund, true)", "bool"},
    {CALL,
     "issue_refund,lookup_order,cancel_reservation",
     "bool",
     "refunded_total < max_refund",
     "(refunded_total < 500)",
     "bool"},
};

static void test_ok_table(void **state)
{
    const pv_spec *s = *state;
    int failures = 0;
    for (size_t i = 0; i < sizeof OK_CASES / sizeof OK_CASES[0]; i++) {
        const ok_case *c = &OK_CASES[i];
        run r = check_in(s, c->where, c->tools, c->expected, c->src);
        if (r.rc != PV_OK) {
            print_error("row %zu: \"%s\" in %s: %u: %s\n",
                        i,
                        c->src,
                        pv_expr_where_name(c->where),
                        r.err.off,
                        r.err.msg);
            failures++;
        } else {
            char *got = pv_expr_to_string(r.e, s);
            char *type = pv_type_describe(s, r.e->type);
            if (strcmp(got, c->rendered) != 0 || strcmp(type, c->type) != 0) {
                print_error("row %zu: \"%s\"\n   got  %s : %s\n   want %s : %s\n",
                            i,
                            c->src,
                            got,
                            type,
                            c->rendered,
                            c->type);
                failures++;
            }
            free(got);
            free(type);
        }
        pv_expr_free(r.e);
    }
    assert_int_equal(failures, 0);
}

/* --- table: errors --------------------------------------------------------------------- */

typedef struct err_case {
    pv_expr_where where;
    const char *tools;
    const char *expected;
    const char *src;
    uint32_t off;
    const char *msg;
} err_case;

static const err_case ERR_CASES[] = {
    /* state rules see only the state and constants */
    {STATE,
     "",
     "bool",
     "args.amount > 0",
     0,
     "args.amount is not available in a state rule (always:), which sees only the state"},
    {STATE,
     "",
     "bool",
     "refunded_total > result.amount",
     17,
     "result.amount is not available in a state rule (always:), which sees only the state"},
    {STATE,
     "",
     "bool",
     "it.args.x",
     0,
     "it.args.x is not available in a state rule (always:), which sees only the state"},
    {STATE,
     "",
     "bool",
     "pii || earlier(issue_refund)",
     7,
     "earlier() is not available in a state rule (always:), which sees only the state"},
    {STATE,
     "",
     "bool",
     "refunded_total",
     0,
     "the condition of an invariant must be bool, found int"},
    {STATE,
     "",
     "bool",
     "refundd_total > 0",
     0,
     "unknown name 'refundd_total'; did you mean 'refunded_total'?"},
    {STATE, "", "bool", "max_refnd > 0", 0, "unknown name 'max_refnd'; did you mean 'max_refund'?"},
    /* names in call rules */
    {CALL,
     "issue_refund",
     "bool",
     "result.amount > 0",
     0,
     "result.amount is only available in ensures and effects"},
    {CALL,
     "issue_refund",
     "bool",
     "args.amout > 0",
     0,
     "tool issue_refund has no argument 'amout'; did you mean 'args.amount'?"},
    {CALL,
     "issue_refund",
     "bool",
     "args.zzzzzz > 0",
     0,
     "tool issue_refund has no argument 'zzzzzz'"},
    {CALL,
     "issue_refund",
     "bool",
     "it.args.order_id == args.order_id",
     0,
     "it.args.order_id is only available inside the condition of earlier() or count()"},
    {CALL, "issue_refund", "bool", "args > 0", 0, "'args' needs a field name: write args.NAME"},
    {CALL, "issue_refund", "bool", "result", 0, "'result' needs a field name: write result.NAME"},
    {CALL,
     "issue_refund",
     "bool",
     "pii && it",
     7,
     "'it' needs a field name: write it.args.NAME or it.result.NAME"},
    {CALL, "issue_refund", "bool", "foo.bar.baz", 0, "unknown name 'foo.bar.baz'"},
    {CALL, "issue_refund", "bool", "qqqqqqqq", 0, "unknown name 'qqqqqqqq'"},
    {PV_W_WHEN,
     "",
     "bool",
     "args.x == 1",
     0,
     "args.x is not available: no declared tool in this context"},
    {CALL,
     "issue_refund,request_approval",
     "bool",
     "args.amount > 0",
     0,
     "args.amount is not declared by tool request_approval (a rule over several tools may read "
     "only the arguments they all declare with one type)"},
    {CALL,
     "request_approval,issue_refund",
     "bool",
     "args.amount > 0",
     0,
     "args.amount is not declared by tool request_approval (a rule over several tools may read "
     "only the arguments they all declare with one type)"},
    {CALL,
     "issue_refund,deploy",
     "bool",
     "args.order_id == 'x'",
     0,
     "args.order_id is string in tool issue_refund but int in tool deploy (a rule over several "
     "tools may read only the arguments they all declare with one type)"},
    {CALL,
     "issue_refund,deploy",
     "bool",
     "args.nothing > 0",
     0,
     "none of the tools issue_refund, deploy has an argument 'nothing'"},
    {PV_W_ENSURES,
     "lookup_order",
     "bool",
     "result.amout >= 0",
     0,
     "tool lookup_order has no result field 'amout'; did you mean 'result.amount'?"},
    {PV_W_EFFECT,
     "issue_refund",
     "int",
     "refunded_total + result.amount",
     17,
     "tool issue_refund has no result field 'amount'"},
    /* operator types */
    {CALL,
     "issue_refund",
     "bool",
     "args.amount + 'x' > 0",
     14,
     "'+' expects int operands, found string on the right"},
    {CALL,
     "issue_refund",
     "bool",
     "pii + 1 > 0",
     0,
     "'+' expects int operands, found bool on the left"},
    {CALL,
     "issue_refund",
     "bool",
     "1 - pii > 0",
     4,
     "'-' expects int operands, found bool on the right"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals && pii",
     0,
     "'&&' expects bool operands, found int on the left"},
    {CALL,
     "issue_refund",
     "bool",
     "pii || approvals",
     7,
     "'||' expects bool operands, found int on the right"},
    {CALL,
     "issue_refund",
     "bool",
     "pii => 1",
     7,
     "'=>' expects bool operands, found int on the right"},
    {CALL, "issue_refund", "bool", "!approvals", 1, "'!' expects a bool operand, found int"},
    {CALL, "issue_refund", "bool", "-pii", 1, "'-' expects an int operand, found bool"},
    {CALL,
     "issue_refund",
     "bool",
     "label < 'b'",
     0,
     "'<' expects int operands, found string on the left"},
    {CALL,
     "issue_refund",
     "bool",
     "env >= 1",
     0,
     "'>=' expects int operands, found enum [production, staging] on the left"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals == pii",
     13,
     "'==' needs operands of one type, found int on the left and bool on the right"},
    {CALL,
     "issue_refund",
     "bool",
     "env != region",
     7,
     "'!=' needs operands of one type, found enum [production, staging] on the left and enum "
     "[eu, us] on the right"},
    {CALL,
     "issue_refund",
     "bool",
     "env == label",
     7,
     "'==' needs operands of one type, found enum [production, staging] on the left and string on "
     "the right (only a string literal can stand for an enum value)"},
    {CALL,
     "issue_refund",
     "bool",
     "(pii ? 1 : 'x') > 0",
     11,
     "the branches of '?:' must have one type, found int and string"},
    {CALL,
     "issue_refund",
     "bool",
     "(approvals ? 1 : 2) > 0",
     1,
     "the condition of '?:' must be bool, found int"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals in [1, 'x']",
     17,
     "'in' list items must have the left operand's type (int), found string"},
    {CALL,
     "issue_refund",
     "bool",
     "env in ['production', 1]",
     22,
     "'in' list items must have the left operand's type (enum [production, staging]), found int"},
    {CALL,
     "issue_refund",
     "bool",
     "env in [label]",
     8,
     "'in' list items must have the left operand's type (enum [production, staging]), found "
     "string (only a string literal can stand for an enum value)"},
    /* enum literals are checked against the enum's values */
    {CALL,
     "issue_refund",
     "bool",
     "env == 'prod'",
     7,
     "'prod' is not a value of enum [production, staging]; did you mean 'production'?"},
    {CALL,
     "issue_refund",
     "bool",
     "'stagng' == env",
     0,
     "'stagng' is not a value of enum [production, staging]; did you mean 'staging'?"},
    {CALL,
     "issue_refund",
     "bool",
     "env == 'qa'",
     7,
     "'qa' is not a value of enum [production, staging]"},
    {CALL,
     "issue_refund",
     "bool",
     "env in ['production', 'stagin']",
     22,
     "'stagin' is not a value of enum [production, staging]; did you mean 'staging'?"},
    {CALL,
     "issue_refund",
     "bool",
     "region == default_env",
     10,
     "'production' is not a value of enum [eu, us]"},
    {CALL,
     "issue_refund",
     "",
     "pii ? region : 'uk'",
     15,
     "'uk' is not a value of enum [eu, us]; did you mean 'us'?"},
    {CALL,
     "issue_refund",
     "bool",
     "env == 'it\\'s'",
     7,
     "'it\\'s' is not a value of enum [production, staging]"},
    /* functions */
    {CALL,
     "issue_refund",
     "bool",
     "len(env) > 0",
     4,
     "len() expects a string argument, found enum [production, staging] (enums are not strings)"},
    {CALL,
     "issue_refund",
     "bool",
     "starts_with(label, 1)",
     19,
     "starts_with() expects string arguments, found int as argument 2"},
    {CALL,
     "issue_refund",
     "bool",
     "contains(approvals, 'x')",
     9,
     "contains() expects string arguments, found int as argument 1"},
    {CALL,
     "issue_refund",
     "bool",
     "ends_with(label, mode)",
     17,
     "ends_with() expects string arguments, found enum [production, staging] as argument 2 (enums "
     "are not strings)"},
    {CALL,
     "issue_refund",
     "bool",
     "min(pii, 1) > 0",
     4,
     "min() expects int arguments, found bool as argument 1"},
    {CALL,
     "issue_refund",
     "bool",
     "max(1, label) > 0",
     7,
     "max() expects int arguments, found string as argument 2"},
    {CALL,
     "issue_refund",
     "bool",
     "abs(label) > 0",
     4,
     "abs() expects an int argument, found string"},
    {CALL,
     "issue_refund",
     "bool",
     "len(label)",
     0,
     "the condition of an invariant must be bool, found int"},
    /* linear arithmetic */
    {CALL,
     "issue_refund",
     "bool",
     "args.amount * approvals > 0",
     0,
     "'*' needs a constant on one side (linear arithmetic only)"},
    {CALL,
     "issue_refund",
     "bool",
     "1 + args.amount * count(lookup_order) > 0",
     4,
     "'*' needs a constant on one side (linear arithmetic only)"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals / args.amount > 0",
     12,
     "'/' needs a constant divisor"},
    {CALL, "issue_refund", "bool", "approvals % approvals > 0", 12, "'%' needs a constant divisor"},
    {CALL, "issue_refund", "bool", "10 / len(label) > 0", 5, "'/' needs a constant divisor"},
    {CALL, "issue_refund", "bool", "approvals / 0 > 0", 12, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals % zero > 0", 12, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (two - 2) > 0", 13, "division by zero"},
    /* SMT-LIB division: -7 / 2 is -4 (C says -3), -7 % 2 is 1 (C says -1) */
    {CALL, "issue_refund", "bool", "approvals / (-7 / 2 + 4) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (-7 % 2 - 1) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (7 / -2 + 3) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (7 % -2 - 1) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (-7 / -2 - 4) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (-7 % -2 - 1) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (false ? 1 : 0) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / min(0, 5) > 0", 12, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (len('') * 3) > 0", 13, "division by zero"},
    {CALL, "issue_refund", "bool", "approvals / (1 / 0) > 0", 17, "division by zero"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals / (9223372036854775807 + 1) > 0",
     13,
     "constant arithmetic overflows 64-bit integers"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals / (-9223372036854775808 / -1) > 0",
     13,
     "constant arithmetic overflows 64-bit integers"},
    {CALL,
     "issue_refund",
     "bool",
     "approvals / abs(-9223372036854775808) > 0",
     12,
     "constant arithmetic overflows 64-bit integers"},
    /* path functions */
    {CALL,
     "issue_refund",
     "bool",
     "earlier(lookup_ordr)",
     0,
     "unknown tool 'lookup_ordr' in earlier(); did you mean 'lookup_order'?"},
    {CALL,
     "issue_refund",
     "bool",
     "count([issue_refund, nope]) > 0",
     0,
     "unknown tool 'nope' in count()"},
    {CALL,
     "issue_refund",
     "bool",
     "count(issue_refund, count(issue_refund) > 0) > 0",
     20,
     "count() cannot be nested inside the condition of another earlier() or count()"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier(lookup_order, it.result.amout > 0)",
     22,
     "tool lookup_order has no result field 'amout'; did you mean 'it.result.amount'?"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier(lookup_order, it.args.order_id)",
     22,
     "the condition of earlier() must be bool, found string"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier([issue_refund, request_approval], it.args.amount > 0)",
     42,
     "it.args.amount is not declared by tool request_approval (a path function over several "
     "tools may read only the arguments they all declare with one type)"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier([issue_refund, deploy], it.args.order_id == 'x')",
     32,
     "it.args.order_id is string in tool issue_refund but int in tool deploy (a path function "
     "over several tools may read only the arguments they all declare with one type)"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier([fetch_a, fetch_b], it.result.x > 0)",
     28,
     "it.result.x is int in tool fetch_a but string in tool fetch_b (a path function over "
     "several tools may read only the result fields they all declare with one type)"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier([fetch_b, request_approval], it.args.id > 0)",
     37,
     "none of the tools fetch_b, request_approval has an argument 'id'"},
    {CALL,
     "issue_refund",
     "bool",
     "count(issue_refund) && pii",
     0,
     "'&&' expects bool operands, found int on the left"},
    {CALL,
     "issue_refund",
     "bool",
     "earlier(issue_refund, result.amount > 0)",
     22,
     "result.amount is only available in ensures and effects"},
    {PV_W_ENSURES,
     "lookup_order",
     "bool",
     "result.amount > 0 && earlier(issue_refund)",
     21,
     "earlier() is not available in ensures; path functions are allowed in call rules, requires, "
     "effects and when"},
    /* the whole expression's type */
    {PV_W_ENSURES, "lookup_order", "bool", "result.amount", 0, "ensures must be bool, found int"},
    {PV_W_REQUIRES, "issue_refund", "bool", "  args.amount", 2, "requires must be bool, found int"},
    {PV_W_WHEN, "issue_refund", "bool", "label", 0, "when must be bool, found string"},
    {CALL,
     "issue_refund",
     "bool",
     "'production'",
     0,
     "the condition of an invariant must be bool, found string"},
    {PV_W_EFFECT,
     "issue_refund",
     "int",
     "pii",
     0,
     "the value of an effect must have its state variable's type, int; found bool"},
    {PV_W_EFFECT,
     "deploy",
     "=env",
     "'prod'",
     0,
     "'prod' is not a value of enum [production, staging]; did you mean 'production'?"},
    {PV_W_EFFECT,
     "deploy",
     "=env",
     "pii ? 'staging' : 'prd'",
     18,
     "'prd' is not a value of enum [production, staging]"},
    {PV_W_EFFECT,
     "deploy",
     "=env",
     "label",
     0,
     "the value of an effect must have its state variable's type, enum [production, staging]; "
     "found string (only a string literal can stand for an enum value)"},
    {PV_W_EFFECT,
     "deploy",
     "=env",
     "region",
     0,
     "the value of an effect must have its state variable's type, enum [production, staging]; "
     "found enum [eu, us]"},
    {PV_W_EFFECT,
     "deploy",
     "=label",
     "env",
     0,
     "the value of an effect must have its state variable's type, string; found enum "
     "[production, staging]"},
    {PV_W_EFFECT,
     "deploy",
     "=approvals",
     "'1'",
     0,
     "the value of an effect must have its state variable's type, int; found string"},
};

static void test_error_table(void **state)
{
    const pv_spec *s = *state;
    int failures = 0;
    for (size_t i = 0; i < sizeof ERR_CASES / sizeof ERR_CASES[0]; i++) {
        const err_case *c = &ERR_CASES[i];
        run r = check_in(s, c->where, c->tools, c->expected, c->src);
        if (r.rc != PV_EINPUT) {
            char *got = pv_expr_to_string(r.e, s);
            print_error("row %zu: \"%s\" returned %d: %s\n", i, c->src, r.rc, got);
            free(got);
            failures++;
        } else if (r.err.off != c->off || strcmp(r.err.msg, c->msg) != 0) {
            print_error("row %zu: \"%s\"\n   got  %u: %s\n   want %u: %s\n",
                        i,
                        c->src,
                        r.err.off,
                        r.err.msg,
                        c->off,
                        c->msg);
            failures++;
        }
        pv_expr_free(r.e);
    }
    assert_int_equal(failures, 0);
}

/* --- the resolved tree ----------------------------------------------------------------- */

static void test_resolution(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s, CALL, "issue_refund", "bool", "refunded_total + args.amount > max_refund");
    assert_int_equal(r.rc, PV_OK);
    pv_expr *sum = r.e->kids[0];
    assert_int_equal(sum->kids[0]->kind, PV_E_STATE);
    assert_string_equal(sum->kids[0]->u.ref.name, "refunded_total");
    assert_int_equal(sum->kids[0]->u.ref.index, 0);
    assert_int_equal(sum->kids[0]->type.kind, PV_T_INT);
    assert_int_equal(sum->kids[1]->kind, PV_E_ARG);
    assert_string_equal(sum->kids[1]->u.ref.name, "amount");
    assert_int_equal(sum->kids[1]->u.ref.index, 1);
    /* a constant becomes a literal, keeping its place in the text */
    pv_expr *k = r.e->kids[1];
    assert_int_equal(k->kind, PV_E_INT);
    assert_true(k->u.i == 500);
    assert_true(k->is_const);
    assert_int_equal(k->off, 31);
    assert_int_equal(k->end, 41);
    assert_false(sum->is_const);
    assert_false(r.e->is_const);
    assert_int_equal(r.e->type.kind, PV_T_BOOL);
    pv_expr_free(r.e);

    /* several tools: args resolve by name, index -1 */
    r = check_in(s, CALL, "issue_refund,lookup_order", "bool", "args.order_id == 'A'");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kids[0]->kind, PV_E_ARG);
    assert_int_equal(r.e->kids[0]->u.ref.index, -1);
    pv_expr_free(r.e);

    r = check_in(s, PV_W_ENSURES, "get_reservation", "bool", "result.status == 'cancelled'");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kids[0]->kind, PV_E_RESULT);
    assert_string_equal(r.e->kids[0]->u.ref.name, "status");
    assert_int_equal(r.e->kids[0]->u.ref.index, 1);
    pv_expr *lit = r.e->kids[1];
    assert_int_equal(lit->kind, PV_E_ENUM);
    assert_true(pv_type_eq(lit->type, r.e->kids[0]->type));
    assert_int_equal(lit->u.e, pv_enum_value(s, lit->type.enum_id, "cancelled", 9));
    assert_true(lit->is_const);
    pv_expr_free(r.e);

    r = check_in(s, PV_W_EFFECT, "deploy", "=env", "pii ? default_env : 'staging'");
    assert_int_equal(r.rc, PV_OK);
    assert_true(pv_type_eq(r.e->type, s->state[3].type));
    assert_int_equal(r.e->kids[1]->kind, PV_E_ENUM);
    assert_int_equal(r.e->kids[1]->u.e,
                     pv_enum_value(s, s->state[3].type.enum_id, "production", 10));
    assert_int_equal(r.e->kids[2]->kind, PV_E_ENUM);
    assert_int_equal(r.e->kids[2]->u.e, pv_enum_value(s, s->state[3].type.enum_id, "staging", 7));
    pv_expr_free(r.e);
}

static void test_constants(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s, STATE, "", "", "strict");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kind, PV_E_BOOL);
    assert_true(r.e->u.b);
    assert_true(r.e->is_const);
    assert_int_equal(r.e->type.kind, PV_T_BOOL);
    pv_expr_free(r.e);

    r = check_in(s, STATE, "", "", "greeting");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kind, PV_E_STR);
    assert_int_equal(r.e->u.s.len, 2);
    assert_memory_equal(r.e->u.s.ptr, "hi", 3);
    assert_ptr_not_equal(r.e->u.s.ptr, s->constants[5].value.u.s.ptr);
    assert_int_equal(r.e->type.kind, PV_T_STRING);
    pv_expr_free(r.e);

    /* is_const: built only from literals and constants */
    r = check_in(s, CALL, "issue_refund", "int", "args.amount + (two * max_refund - len('x'))");
    assert_int_equal(r.rc, PV_OK);
    assert_false(r.e->is_const);
    assert_false(r.e->kids[0]->is_const);
    pv_expr *right = r.e->kids[1];
    assert_true(right->is_const);
    assert_true(right->kids[0]->is_const);
    assert_true(right->kids[1]->is_const);
    assert_int_equal(right->kids[1]->kind, PV_E_LEN);
    pv_expr_free(r.e);

    r = check_in(s, CALL, "issue_refund", "bool", "count(issue_refund, true) > 0");
    assert_int_equal(r.rc, PV_OK);
    assert_false(r.e->kids[0]->is_const);
    assert_true(r.e->kids[0]->kids[0]->is_const);
    pv_expr_free(r.e);
}

static void test_path_resolution(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s,
                     CALL,
                     "cancel_reservation",
                     "bool",
                     "earlier([get_reservation, 'cancel_reservation'], it.args.id == args.id)");
    assert_int_equal(r.rc, PV_OK);
    pv_expr *p = r.e;
    assert_int_equal(p->kind, PV_E_EARLIER);
    assert_int_equal(p->u.path.n_tools, 2);
    assert_int_equal(p->u.path.tools[0], pv_spec_tool(s, "get_reservation"));
    assert_int_equal(p->u.path.tools[1], pv_spec_tool(s, "cancel_reservation"));
    pv_expr *it = p->kids[0]->kids[0];
    assert_int_equal(it->kind, PV_E_IT_ARG);
    assert_string_equal(it->u.ref.name, "id");
    assert_int_equal(it->u.ref.index, -1);
    assert_int_equal(p->kids[0]->kids[1]->kind, PV_E_ARG);
    assert_int_equal(p->kids[0]->kids[1]->u.ref.index, 0);
    assert_int_equal(p->type.kind, PV_T_BOOL);
    assert_false(p->is_const);
    pv_expr_free(r.e);

    r = check_in(
        s, PV_W_REQUIRES, "issue_refund", "int", "count(lookup_order, it.result.amount > 0)");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->type.kind, PV_T_INT);
    assert_int_equal(r.e->kids[0]->kids[0]->kind, PV_E_IT_RESULT);
    assert_int_equal(r.e->kids[0]->kids[0]->u.ref.index, 0);
    pv_expr_free(r.e);
}

/* Every node carries a type after a successful check. */
static void assert_all_typed(const pv_expr *e)
{
    assert_int_not_equal(e->type.kind, PV_T_INVALID);
    assert_int_not_equal(e->kind, PV_E_NAME);
    for (size_t i = 0; i < e->n_kids; i++)
        assert_all_typed(e->kids[i]);
}

static void test_all_nodes_typed(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s,
                     CALL,
                     "issue_refund",
                     "bool",
                     "(pii ? -approvals : abs(args.amount) % 7) in [min(1, 2), max(3, 4)] && "
                     "!(env in ['staging']) => earlier(lookup_order, starts_with(it.args.order_id, "
                     "args.order_id) && ends_with(label, 'x') && contains('a', 'b') && len(label) "
                     "* 2 != -1)");
    assert_int_equal(r.rc, PV_OK);
    assert_all_typed(r.e);
    pv_expr_free(r.e);
}

static void test_recheck_copy_in_another_context(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s, CALL, "issue_refund", "bool", "args.order_id == args.order_id");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kids[0]->u.ref.index, 0);

    /* a copy checks afresh: deploy declares order_id second, as an int */
    pv_expr *copy = pv_expr_copy(r.e);
    int deploy = pv_spec_tool(s, "deploy");
    pv_expr_ctx ctx = {s, CALL, &deploy, 1};
    pv_expr_error err;
    assert_int_equal(pv_expr_check(copy, &ctx, pv_type_make(PV_T_BOOL), &err), PV_OK);
    assert_int_equal(copy->kids[0]->u.ref.index, 1);
    char *text = pv_expr_to_string(copy, s);
    assert_string_equal(text, "(args.order_id == args.order_id)");
    free(text);

    /* and again in a context where the name means nothing */
    int approval = pv_spec_tool(s, "request_approval");
    pv_expr_ctx ctx2 = {s, CALL, &approval, 1};
    assert_int_equal(pv_expr_check(copy, &ctx2, pv_type_make(PV_T_BOOL), NULL), PV_EINPUT);
    assert_int_equal(pv_expr_check(copy, &ctx2, pv_type_make(PV_T_BOOL), &err), PV_EINPUT);
    assert_string_equal(err.msg, "tool request_approval has no argument 'order_id'");

    /* checking twice in the same context is harmless */
    assert_int_equal(
        pv_expr_check(r.e, &(pv_expr_ctx){s, CALL, &deploy, 1}, pv_type_make(PV_T_INVALID), &err),
        PV_OK);
    pv_expr_free(copy);
    pv_expr_free(r.e);
}

static void test_enum_literal_recheck(void **state)
{
    const pv_spec *s = *state;
    run r = check_in(s, CALL, "issue_refund", "bool", "env == 'staging'");
    assert_int_equal(r.rc, PV_OK);
    assert_int_equal(r.e->kids[1]->kind, PV_E_ENUM);
    pv_expr_error err;
    int t = pv_spec_tool(s, "issue_refund");
    pv_expr_ctx ctx = {s, CALL, &t, 1};
    assert_int_equal(pv_expr_check(r.e, &ctx, pv_type_make(PV_T_BOOL), &err), PV_OK);
    assert_int_equal(r.e->kids[1]->kind, PV_E_ENUM);
    char *text = pv_expr_to_string(r.e, s);
    assert_string_equal(text, "(env == 'staging')");
    free(text);
    pv_expr_free(r.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_table),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_path_resolution),
        cmocka_unit_test(test_all_nodes_typed),
        cmocka_unit_test(test_recheck_copy_in_another_context),
        cmocka_unit_test(test_enum_literal_recheck),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
