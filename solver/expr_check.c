/*
 * expr_check.c - the static type checker of the expression language
 * (contract section 3): resolves names in the context an expression
 * appears in, turns string literals into enum literals where an enum is
 * expected, types every node, and keeps arithmetic linear.
 *
 * There are no implicit conversions. The one place a literal changes
 * meaning is a string literal standing for an enum value, and only where
 * the enum is known from the other side (==, in, ?:) or from the expected
 * type of the whole expression.
 */
#include "pv_expr.h"
#include "pv_spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined in expr.c: s[0..n) as a quoted, escaped literal (new string). */
char *pv__expr_quote(const char *s, size_t n);

typedef struct checker {
    const pv_expr_ctx *ctx;
    const pv_spec *spec;
    pv_expr_error *err;
    const pv_expr *path; /* the path function whose condition is being checked */
} checker;

/* A type's description for messages, held by value so it can be an argument. */
typedef struct type_text {
    char s[200];
} type_text;

static type_text tt(const checker *c, pv_type t)
{
    type_text r;
    char *d = pv_type_describe(c->spec, t);
    snprintf(r.s, sizeof r.s, "%s", d);
    free(d);
    return r;
}

static int fail(checker *c, uint32_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the error and return PV_EINPUT; the first error found is reported. */
static int fail(checker *c, uint32_t off, const char *fmt, ...)
{
    va_list ap;
    c->err->off = off;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return PV_EINPUT;
}

static void set_type(pv_expr *e, pv_type_kind k)
{
    e->type = pv_type_make(k);
}

static bool kids_const(const pv_expr *e)
{
    for (size_t i = 0; i < e->n_kids; i++)
        if (!e->kids[i]->is_const)
            return false;
    return true;
}

/* --- names visible in a context, for did-you-mean ---------------------------------------- */

/* A NULL-terminated list of owned strings. */
typedef struct name_list {
    char **v;
    size_t n;
    size_t cap;
} name_list;

static void names_add(name_list *l, char *s)
{
    pv_grow(&l->v, &l->cap, l->n + 2, sizeof *l->v);
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
}

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static const pv_var *tool_field(const pv_tool *t, const char *name, bool result, int *index)
{
    int i = result ? pv_tool_return(t, name) : pv_tool_arg(t, name);
    if (index)
        *index = i;
    if (i < 0)
        return NULL;
    return result ? &t->returns[i] : &t->args[i];
}

/* prefix + each field that every tool of tools[0..n) declares with one type. */
static void add_common_fields(const checker *c, name_list *out, const int *tools, size_t n,
                              bool result, const char *prefix)
{
    if (n == 0)
        return;
    const pv_tool *first = &c->spec->tools[tools[0]];
    size_t count = result ? first->n_returns : first->n_args;
    for (size_t f = 0; f < count; f++) {
        const pv_var *v = result ? &first->returns[f] : &first->args[f];
        bool common = true;
        for (size_t t = 1; t < n && common; t++) {
            const pv_var *w = tool_field(&c->spec->tools[tools[t]], v->name, result, NULL);
            common = w && pv_type_eq(w->type, v->type);
        }
        if (common)
            names_add(out, pv_xasprintf("%s%s", prefix, v->name));
    }
}

/* Every name an expression may use here. */
static void visible_names(const checker *c, name_list *out)
{
    const pv_expr_ctx *x = c->ctx;
    for (size_t i = 0; i < c->spec->n_state; i++)
        names_add(out, pv_xstrdup(c->spec->state[i].name));
    for (size_t i = 0; i < c->spec->n_constants; i++)
        names_add(out, pv_xstrdup(c->spec->constants[i].name));
    if (x->where != PV_W_STATE_RULE)
        add_common_fields(c, out, x->tools, x->n_tools, false, "args.");
    if (x->where == PV_W_ENSURES || x->where == PV_W_EFFECT)
        add_common_fields(c, out, x->tools, x->n_tools, true, "result.");
    if (c->path) {
        const int *pt = c->path->u.path.tools;
        size_t pn = c->path->u.path.n_tools;
        add_common_fields(c, out, pt, pn, false, "it.args.");
        add_common_fields(c, out, pt, pn, true, "it.result.");
    }
}

/* "; did you mean 'x'?" for word among the visible names, or "". */
static void did_you_mean(const checker *c, const char *word, char *buf, size_t size)
{
    name_list l = {0};
    visible_names(c, &l);
    const char *s = l.n ? pv_suggest(word, (const char *const *)l.v, l.n) : NULL;
    if (s)
        snprintf(buf, size, "; did you mean '%s'?", s);
    else
        buf[0] = '\0';
    names_free(&l);
}

/* --- name resolution --------------------------------------------------------------------- */

/* Tool names of tools[0..n) for a message: "a, b, c", or "the 7 tools". */
static void tool_list_text(const checker *c, const int *tools, size_t n, char *buf, size_t size)
{
    if (n > 4) {
        snprintf(buf, size, "the %zu tools", n);
        return;
    }
    size_t o = (size_t)snprintf(buf, size, "the tools ");
    for (size_t i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(
            buf + o, size - o, "%s%s", i ? ", " : "", c->spec->tools[tools[i]].name);
}

/*
 * Resolve text (written as prefix + field) to a field of tools[0..n):
 * visible only when every tool declares it, with one type. On success e
 * becomes a `kind` reference and text is freed; on error e is unchanged.
 * `path` says the tools are a path function's rather than the rule's.
 */
static int resolve_field(checker *c, pv_expr *e, char *text, const char *field, const int *tools,
                         size_t n, bool result, pv_expr_kind kind, bool path)
{
    const char *what = result ? "result field" : "argument";
    const char *whats = result ? "result fields" : "arguments";
    const char *who = path ? "a path function over several tools" : "a rule over several tools";
    char hint[160], list[160];
    if (n == 0)
        return fail(c, e->off, "%s is not available: no declared tool in this context", text);
    size_t first = n;
    int first_index = -1;
    for (size_t i = 0; i < n && first == n; i++)
        if (tool_field(&c->spec->tools[tools[i]], field, result, &first_index))
            first = i;
    if (first == n) {
        did_you_mean(c, text, hint, sizeof hint);
        if (n == 1)
            return fail(c,
                        e->off,
                        "tool %s has no %s '%s'%s",
                        c->spec->tools[tools[0]].name,
                        what,
                        field,
                        hint);
        tool_list_text(c, tools, n, list, sizeof list);
        return fail(c,
                    e->off,
                    "none of %s has %s '%s'%s",
                    list,
                    result ? "a result field" : "an argument",
                    field,
                    hint);
    }
    const pv_tool *ft = &c->spec->tools[tools[first]];
    pv_type type = tool_field(ft, field, result, NULL)->type;
    for (size_t i = 0; i < n; i++) {
        const pv_tool *t = &c->spec->tools[tools[i]];
        const pv_var *v = tool_field(t, field, result, NULL);
        if (!v)
            return fail(c,
                        e->off,
                        "%s is not declared by tool %s (%s may read only the %s they all "
                        "declare with one type)",
                        text,
                        t->name,
                        who,
                        whats);
        if (!pv_type_eq(v->type, type))
            return fail(c,
                        e->off,
                        "%s is %s in tool %s but %s in tool %s (%s may read only the %s they "
                        "all declare with one type)",
                        text,
                        tt(c, type).s,
                        ft->name,
                        tt(c, v->type).s,
                        t->name,
                        who,
                        whats);
    }
    e->kind = kind;
    e->u.ref.name = pv_xstrdup(field);
    e->u.ref.index = n == 1 ? first_index : -1;
    e->type = type;
    e->is_const = false;
    free(text);
    return PV_OK;
}

static const pv_constant *find_constant(const pv_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_constants; i++)
        if (strcmp(spec->constants[i].name, name) == 0)
            return &spec->constants[i];
    return NULL;
}

/* Turn e (a name, already saved by the caller) into a literal of k's value. */
static bool become_constant(pv_expr *e, const pv_constant *k)
{
    const pv_value *v = &k->value;
    switch (v->type.kind) {
    case PV_T_INT:
        e->kind = PV_E_INT;
        e->u.i = v->u.i;
        break;
    case PV_T_BOOL:
        e->kind = PV_E_BOOL;
        e->u.b = v->u.b;
        break;
    case PV_T_STRING:
        e->kind = PV_E_STR;
        e->u.s = pv_str_dup(v->u.s.ptr, v->u.s.len);
        break;
    case PV_T_ENUM:
        e->kind = PV_E_ENUM;
        e->u.e = v->u.e;
        e->type = v->type;
        break;
    default:
        return false;
    }
    e->is_const = true;
    return true;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A resolved reference back to its name as written, so it can be resolved again. */
static void unresolve(pv_expr *e)
{
    const char *prefix = "";
    if (e->kind == PV_E_ARG)
        prefix = "args.";
    else if (e->kind == PV_E_RESULT)
        prefix = "result.";
    else if (e->kind == PV_E_IT_ARG)
        prefix = "it.args.";
    else if (e->kind == PV_E_IT_RESULT)
        prefix = "it.result.";
    char *text = pv_xasprintf("%s%s", prefix, e->u.ref.name);
    free(e->u.ref.name);
    e->kind = PV_E_NAME;
    e->u.name = text;
}

static const char STATE_ONLY[] = "is not available in a state rule (always:), which sees only the "
                                 "state";

/*
 * Resolve a PV_E_NAME by context: state variable, constant, args.X,
 * result.X, it.args.X / it.result.X. A name that exists but may not be
 * used here gets a message saying where it may be used.
 */
static int resolve_name(checker *c, pv_expr *e)
{
    const pv_expr_ctx *x = c->ctx;
    char *text = e->u.name;
    char hint[160];
    const char *dot = strchr(text, '.');
    if (!dot) {
        int si = pv_spec_state_var(c->spec, text);
        if (si >= 0) {
            e->kind = PV_E_STATE;
            e->u.ref.name = text;
            e->u.ref.index = si;
            e->type = c->spec->state[si].type;
            e->is_const = false;
            return PV_OK;
        }
        const pv_constant *k = find_constant(c->spec, text);
        if (k) {
            if (!become_constant(e, k))
                return fail(c, e->off, "constant '%s' has no usable value", text);
            free(text);
            return PV_OK;
        }
        if (strcmp(text, "args") == 0 || strcmp(text, "result") == 0)
            return fail(c, e->off, "'%s' needs a field name: write %s.NAME", text, text);
        if (strcmp(text, "it") == 0)
            return fail(c, e->off, "'it' needs a field name: write it.args.NAME or it.result.NAME");
        did_you_mean(c, text, hint, sizeof hint);
        return fail(c, e->off, "unknown name '%s'%s", text, hint);
    }
    const char *field = NULL;
    pv_expr_kind kind = PV_E_NAME;
    if (starts(text, "args.")) {
        if (x->where == PV_W_STATE_RULE)
            return fail(c, e->off, "%s %s", text, STATE_ONLY);
        field = text + 5;
        kind = PV_E_ARG;
    } else if (starts(text, "result.")) {
        if (x->where == PV_W_STATE_RULE)
            return fail(c, e->off, "%s %s", text, STATE_ONLY);
        if (x->where != PV_W_ENSURES && x->where != PV_W_EFFECT)
            return fail(c, e->off, "%s is only available in ensures and effects", text);
        field = text + 7;
        kind = PV_E_RESULT;
    } else if (starts(text, "it.args.") || starts(text, "it.result.")) {
        if (x->where == PV_W_STATE_RULE)
            return fail(c, e->off, "%s %s", text, STATE_ONLY);
        if (!c->path)
            return fail(c,
                        e->off,
                        "%s is only available inside the condition of earlier() or count()",
                        text);
        bool args = starts(text, "it.args.");
        field = text + (args ? 8 : 10);
        kind = args ? PV_E_IT_ARG : PV_E_IT_RESULT;
    }
    if (!field || strchr(field, '.')) {
        did_you_mean(c, text, hint, sizeof hint);
        return fail(c, e->off, "unknown name '%s'%s", text, hint);
    }
    bool result = kind == PV_E_RESULT || kind == PV_E_IT_RESULT;
    if (kind == PV_E_IT_ARG || kind == PV_E_IT_RESULT)
        return resolve_field(
            c, e, text, field, c->path->u.path.tools, c->path->u.path.n_tools, result, kind, true);
    return resolve_field(c, e, text, field, x->tools, x->n_tools, result, kind, false);
}

/* --- enum literals ----------------------------------------------------------------------- */

/* True when e is a string literal, or a ?: whose branches all are. */
static bool coercible(const pv_expr *e)
{
    if (e->kind == PV_E_STR)
        return true;
    if (e->kind == PV_E_COND && e->type.kind == PV_T_STRING)
        return coercible(e->kids[1]) && coercible(e->kids[2]);
    return false;
}

/*
 * Make the coercible e a value of enum type t: each string literal
 * becomes the enum literal of that value, or an error naming the values.
 */
static int coerce(checker *c, pv_expr *e, pv_type t)
{
    if (e->kind == PV_E_COND) {
        int rc = coerce(c, e->kids[1], t);
        if (rc == PV_OK)
            rc = coerce(c, e->kids[2], t);
        if (rc == PV_OK)
            e->type = t;
        return rc;
    }
    int v = pv_enum_value(c->spec, t.enum_id, e->u.s.ptr, e->u.s.len);
    if (v < 0) {
        const pv_enum *en = &c->spec->enums[t.enum_id];
        const char *s = NULL;
        if (memchr(e->u.s.ptr, '\0', e->u.s.len) == NULL)
            s = pv_suggest(e->u.s.ptr, (const char *const *)en->values, en->n);
        char *q = pv__expr_quote(e->u.s.ptr, e->u.s.len);
        char hint[160] = "";
        if (s)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", s);
        int rc = fail(c, e->off, "%s is not a value of %s%s", q, tt(c, t).s, hint);
        free(q);
        return rc;
    }
    free(e->u.s.ptr);
    e->kind = PV_E_ENUM;
    e->u.e = v;
    e->type = t;
    e->is_const = true;
    return PV_OK;
}

/*
 * If one of a and b is an enum and the other a coercible string literal,
 * make the literal that enum's value.
 */
static int unify_enum(checker *c, pv_expr *a, pv_expr *b)
{
    if (a->type.kind == PV_T_ENUM && coercible(b))
        return coerce(c, b, a->type);
    if (b->type.kind == PV_T_ENUM && coercible(a))
        return coerce(c, a, b->type);
    return PV_OK;
}

/* A note for the enum-versus-string mismatch, which looks fine to the writer. */
static const char *enum_string_hint(pv_type a, pv_type b)
{
    if ((a.kind == PV_T_ENUM && b.kind == PV_T_STRING) ||
        (a.kind == PV_T_STRING && b.kind == PV_T_ENUM))
        return " (only a string literal can stand for an enum value)";
    return "";
}

/* --- constant evaluation (for divisors) -------------------------------------------------- */

typedef struct cval {
    pv_type_kind k;
    int64_t i;
    bool b;
    const char *s;
    size_t n;
    int e;
} cval;

static int overflow(checker *c, const pv_expr *e)
{
    return fail(c, e->off, "constant arithmetic overflows 64-bit integers");
}

static bool bytes_find(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn > hn)
        return false;
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, nd, nn) == 0)
            return true;
    return false;
}

static bool cval_eq(const cval *a, const cval *b)
{
    switch (a->k) {
    case PV_T_INT:
        return a->i == b->i;
    case PV_T_BOOL:
        return a->b == b->b;
    case PV_T_STRING:
        return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    case PV_T_ENUM:
        return a->e == b->e;
    default:
        return false;
    }
}

/*
 * Evaluate the constant (is_const, type-checked) e into *out. Errors only
 * when 64-bit arithmetic overflows; the engine's integers are unbounded,
 * but a divisor has to be known here to rule out division by zero.
 */
static int eval(checker *c, const pv_expr *e, cval *out)
{
    cval a, b;
    int rc;
    memset(out, 0, sizeof *out);
    out->k = e->type.kind;
    switch (e->kind) {
    case PV_E_INT:
        out->i = e->u.i;
        return PV_OK;
    case PV_E_BOOL:
        out->b = e->u.b;
        return PV_OK;
    case PV_E_STR:
        out->s = e->u.s.ptr;
        out->n = e->u.s.len;
        return PV_OK;
    case PV_E_ENUM:
        out->e = e->u.e;
        return PV_OK;
    case PV_E_NOT:
        rc = eval(c, e->kids[0], &a);
        out->b = !a.b;
        return rc;
    case PV_E_NEG:
        if ((rc = eval(c, e->kids[0], &a)) != PV_OK)
            return rc;
        if (a.i == INT64_MIN)
            return overflow(c, e);
        out->i = -a.i;
        return PV_OK;
    case PV_E_ABS:
        if ((rc = eval(c, e->kids[0], &a)) != PV_OK)
            return rc;
        if (a.i == INT64_MIN)
            return overflow(c, e);
        out->i = a.i < 0 ? -a.i : a.i;
        return PV_OK;
    case PV_E_LEN:
        rc = eval(c, e->kids[0], &a);
        out->i = (int64_t)pv_utf8_len(&(pv_str){(char *)a.s, a.n});
        return rc;
    case PV_E_AND:
    case PV_E_OR:
    case PV_E_IMPLIES:
        /* short-circuit, so that a branch that is never taken cannot overflow */
        if ((rc = eval(c, e->kids[0], &a)) != PV_OK)
            return rc;
        if ((e->kind == PV_E_AND && !a.b) || (e->kind == PV_E_OR && a.b) ||
            (e->kind == PV_E_IMPLIES && !a.b)) {
            out->b = e->kind != PV_E_AND;
            return PV_OK;
        }
        rc = eval(c, e->kids[1], &b);
        out->b = b.b;
        return rc;
    case PV_E_COND:
        if ((rc = eval(c, e->kids[0], &a)) != PV_OK)
            return rc;
        return eval(c, e->kids[a.b ? 1 : 2], out);
    case PV_E_IN:
        if ((rc = eval(c, e->kids[0], &a)) != PV_OK)
            return rc;
        out->b = false;
        for (size_t i = 1; i < e->n_kids && !out->b; i++) {
            if ((rc = eval(c, e->kids[i], &b)) != PV_OK)
                return rc;
            out->b = cval_eq(&a, &b);
        }
        return PV_OK;
    default:
        break;
    }
    /* the remaining constant kinds have two operands */
    if (e->n_kids != 2)
        return fail(c, e->off, "internal error: cannot evaluate %s", pv_expr_kind_name(e->kind));
    if ((rc = eval(c, e->kids[0], &a)) != PV_OK || (rc = eval(c, e->kids[1], &b)) != PV_OK)
        return rc;
    int64_t q, r;
    switch (e->kind) {
    case PV_E_EQ:
        out->b = cval_eq(&a, &b);
        return PV_OK;
    case PV_E_NE:
        out->b = !cval_eq(&a, &b);
        return PV_OK;
    case PV_E_LT:
        out->b = a.i < b.i;
        return PV_OK;
    case PV_E_LE:
        out->b = a.i <= b.i;
        return PV_OK;
    case PV_E_GT:
        out->b = a.i > b.i;
        return PV_OK;
    case PV_E_GE:
        out->b = a.i >= b.i;
        return PV_OK;
    case PV_E_ADD:
        return __builtin_add_overflow(a.i, b.i, &out->i) ? overflow(c, e) : PV_OK;
    case PV_E_SUB:
        return __builtin_sub_overflow(a.i, b.i, &out->i) ? overflow(c, e) : PV_OK;
    case PV_E_MUL:
        return __builtin_mul_overflow(a.i, b.i, &out->i) ? overflow(c, e) : PV_OK;
    case PV_E_DIV:
    case PV_E_MOD:
        if (b.i == 0)
            return fail(c, e->kids[1]->off, "division by zero");
        if (!pv_smt_divmod(a.i, b.i, &q, &r))
            return overflow(c, e);
        out->i = e->kind == PV_E_DIV ? q : r;
        return PV_OK;
    case PV_E_MIN:
        out->i = a.i < b.i ? a.i : b.i;
        return PV_OK;
    case PV_E_MAX:
        out->i = a.i > b.i ? a.i : b.i;
        return PV_OK;
    case PV_E_STARTS_WITH:
        out->b = b.n <= a.n && memcmp(a.s, b.s, b.n) == 0;
        return PV_OK;
    case PV_E_ENDS_WITH:
        out->b = b.n <= a.n && memcmp(a.s + a.n - b.n, b.s, b.n) == 0;
        return PV_OK;
    case PV_E_CONTAINS:
        out->b = bytes_find(a.s, a.n, b.s, b.n);
        return PV_OK;
    default:
        return fail(c, e->off, "internal error: cannot evaluate %s", pv_expr_kind_name(e->kind));
    }
}

/* --- the checker ------------------------------------------------------------------------- */

static int check(checker *c, pv_expr *e);

static int check_kids(checker *c, pv_expr *e)
{
    for (size_t i = 0; i < e->n_kids; i++) {
        int rc = check(c, e->kids[i]);
        if (rc != PV_OK)
            return rc;
    }
    return PV_OK;
}

/* Both operands of a binary operator must be of kind k. */
static int need_operands(checker *c, const pv_expr *e, pv_type_kind k)
{
    for (size_t i = 0; i < 2; i++) {
        const pv_expr *kid = e->kids[i];
        if (kid->type.kind != k)
            return fail(c,
                        kid->off,
                        "'%s' expects %s operands, found %s on the %s",
                        pv_expr_kind_name(e->kind),
                        pv_type_kind_name(k),
                        tt(c, kid->type).s,
                        i == 0 ? "left" : "right");
    }
    return PV_OK;
}

/* Every argument of function e must be of kind k. */
static int need_args(checker *c, const pv_expr *e, pv_type_kind k)
{
    const char *article = k == PV_T_INT ? "an" : "a";
    for (size_t i = 0; i < e->n_kids; i++) {
        const pv_expr *kid = e->kids[i];
        if (kid->type.kind == k)
            continue;
        const char *hint =
            k == PV_T_STRING && kid->type.kind == PV_T_ENUM ? " (enums are not strings)" : "";
        if (e->n_kids == 1)
            return fail(c,
                        kid->off,
                        "%s() expects %s %s argument, found %s%s",
                        pv_expr_kind_name(e->kind),
                        article,
                        pv_type_kind_name(k),
                        tt(c, kid->type).s,
                        hint);
        return fail(c,
                    kid->off,
                    "%s() expects %s arguments, found %s as argument %zu%s",
                    pv_expr_kind_name(e->kind),
                    pv_type_kind_name(k),
                    tt(c, kid->type).s,
                    i + 1,
                    hint);
    }
    return PV_OK;
}

/* `*` keeps arithmetic linear; `/` and `%` need a known, non-zero divisor. */
static int check_linear(checker *c, pv_expr *e)
{
    pv_expr *l = e->kids[0], *r = e->kids[1];
    if (e->kind == PV_E_MUL) {
        if (!l->is_const && !r->is_const)
            return fail(c, e->off, "'*' needs a constant on one side (linear arithmetic only)");
        return PV_OK;
    }
    if (!r->is_const)
        return fail(c, r->off, "'%s' needs a constant divisor", pv_expr_kind_name(e->kind));
    cval v;
    int rc = eval(c, r, &v);
    if (rc != PV_OK)
        return rc;
    if (v.i == 0)
        return fail(c, r->off, "division by zero");
    return PV_OK;
}

static int check_in(checker *c, pv_expr *e)
{
    pv_expr *left = e->kids[0];
    int rc;
    /* a literal on the left takes the enum of the first enum item */
    if (coercible(left)) {
        for (size_t i = 1; i < e->n_kids; i++) {
            if (e->kids[i]->type.kind == PV_T_ENUM) {
                if ((rc = coerce(c, left, e->kids[i]->type)) != PV_OK)
                    return rc;
                break;
            }
        }
    }
    for (size_t i = 1; i < e->n_kids; i++) {
        pv_expr *item = e->kids[i];
        if (left->type.kind == PV_T_ENUM && coercible(item) &&
            (rc = coerce(c, item, left->type)) != PV_OK)
            return rc;
        if (!pv_type_eq(item->type, left->type))
            return fail(c,
                        item->off,
                        "'in' list items must have the left operand's type (%s), found %s%s",
                        tt(c, left->type).s,
                        tt(c, item->type).s,
                        enum_string_hint(left->type, item->type));
    }
    set_type(e, PV_T_BOOL);
    e->is_const = kids_const(e);
    return PV_OK;
}

static int check_path(checker *c, pv_expr *e)
{
    const char *fn = pv_expr_kind_name(e->kind);
    pv_expr_where w = c->ctx->where;
    if (w == PV_W_STATE_RULE)
        return fail(c, e->off, "%s() %s", fn, STATE_ONLY);
    if (w == PV_W_ENSURES)
        return fail(c,
                    e->off,
                    "%s() is not available in ensures; path functions are allowed in call "
                    "rules, requires, effects and when",
                    fn);
    if (c->path)
        return fail(c,
                    e->off,
                    "%s() cannot be nested inside the condition of another earlier() or count()",
                    fn);
    if (!e->u.path.tools)
        e->u.path.tools = pv_xmalloc((e->u.path.n_tools ? e->u.path.n_tools : 1) * sizeof(int));
    for (size_t i = 0; i < e->u.path.n_tools; i++) {
        const char *name = e->u.path.tool_names[i];
        int t = pv_spec_tool(c->spec, name);
        if (t < 0) {
            name_list l = {0};
            for (size_t k = 0; k < c->spec->n_tools; k++)
                names_add(&l, pv_xstrdup(c->spec->tools[k].name));
            const char *s = l.n ? pv_suggest(name, (const char *const *)l.v, l.n) : NULL;
            char hint[160] = "";
            if (s)
                snprintf(hint, sizeof hint, "; did you mean '%s'?", s);
            names_free(&l);
            return fail(c, e->off, "unknown tool '%s' in %s()%s", name, fn, hint);
        }
        e->u.path.tools[i] = t;
    }
    c->path = e;
    int rc = check(c, e->kids[0]);
    c->path = NULL;
    if (rc != PV_OK)
        return rc;
    if (e->kids[0]->type.kind != PV_T_BOOL)
        return fail(c,
                    e->kids[0]->off,
                    "the condition of %s() must be bool, found %s",
                    fn,
                    tt(c, e->kids[0]->type).s);
    set_type(e, e->kind == PV_E_COUNT ? PV_T_INT : PV_T_BOOL);
    e->is_const = false;
    return PV_OK;
}

/* Type-check e and its subtree; sets type and is_const on every node. */
static int check(checker *c, pv_expr *e)
{
    int rc;
    switch (e->kind) {
    case PV_E_INT:
        set_type(e, PV_T_INT);
        e->is_const = true;
        return PV_OK;
    case PV_E_BOOL:
        set_type(e, PV_T_BOOL);
        e->is_const = true;
        return PV_OK;
    case PV_E_STR:
        set_type(e, PV_T_STRING);
        e->is_const = true;
        return PV_OK;
    case PV_E_ENUM:
        e->is_const = true;
        return PV_OK;
    case PV_E_STATE:
    case PV_E_ARG:
    case PV_E_RESULT:
    case PV_E_IT_ARG:
    case PV_E_IT_RESULT:
        /* checked before (a copy checked again): resolve afresh in this context */
        unresolve(e);
        /* fall through */
    case PV_E_NAME:
        if ((rc = resolve_name(c, e)) != PV_OK)
            return rc;
        if (e->kind == PV_E_INT || e->kind == PV_E_BOOL || e->kind == PV_E_STR ||
            e->kind == PV_E_ENUM)
            return check(c, e); /* a constant became a literal */
        return PV_OK;
    case PV_E_EARLIER:
    case PV_E_COUNT:
        return check_path(c, e);
    default:
        break;
    }

    if ((rc = check_kids(c, e)) != PV_OK)
        return rc;
    e->is_const = kids_const(e);
    pv_expr **k = e->kids;
    switch (e->kind) {
    case PV_E_NOT:
        if (k[0]->type.kind != PV_T_BOOL)
            return fail(c, k[0]->off, "'!' expects a bool operand, found %s", tt(c, k[0]->type).s);
        set_type(e, PV_T_BOOL);
        return PV_OK;
    case PV_E_NEG:
        if (k[0]->type.kind != PV_T_INT)
            return fail(c, k[0]->off, "'-' expects an int operand, found %s", tt(c, k[0]->type).s);
        set_type(e, PV_T_INT);
        return PV_OK;
    case PV_E_AND:
    case PV_E_OR:
    case PV_E_IMPLIES:
        if ((rc = need_operands(c, e, PV_T_BOOL)) != PV_OK)
            return rc;
        set_type(e, PV_T_BOOL);
        return PV_OK;
    case PV_E_ADD:
    case PV_E_SUB:
    case PV_E_MUL:
    case PV_E_DIV:
    case PV_E_MOD:
        if ((rc = need_operands(c, e, PV_T_INT)) != PV_OK)
            return rc;
        set_type(e, PV_T_INT);
        if (e->kind == PV_E_ADD || e->kind == PV_E_SUB)
            return PV_OK;
        return check_linear(c, e);
    case PV_E_LT:
    case PV_E_LE:
    case PV_E_GT:
    case PV_E_GE:
        if ((rc = need_operands(c, e, PV_T_INT)) != PV_OK)
            return rc;
        set_type(e, PV_T_BOOL);
        return PV_OK;
    case PV_E_EQ:
    case PV_E_NE:
        if ((rc = unify_enum(c, k[0], k[1])) != PV_OK)
            return rc;
        if (!pv_type_eq(k[0]->type, k[1]->type))
            return fail(c,
                        k[1]->off,
                        "'%s' needs operands of one type, found %s on the left and %s on the "
                        "right%s",
                        pv_expr_kind_name(e->kind),
                        tt(c, k[0]->type).s,
                        tt(c, k[1]->type).s,
                        enum_string_hint(k[0]->type, k[1]->type));
        set_type(e, PV_T_BOOL);
        return PV_OK;
    case PV_E_COND:
        if (k[0]->type.kind != PV_T_BOOL)
            return fail(
                c, k[0]->off, "the condition of '?:' must be bool, found %s", tt(c, k[0]->type).s);
        if ((rc = unify_enum(c, k[1], k[2])) != PV_OK)
            return rc;
        if (!pv_type_eq(k[1]->type, k[2]->type))
            return fail(c,
                        k[2]->off,
                        "the branches of '?:' must have one type, found %s and %s%s",
                        tt(c, k[1]->type).s,
                        tt(c, k[2]->type).s,
                        enum_string_hint(k[1]->type, k[2]->type));
        e->type = k[1]->type;
        return PV_OK;
    case PV_E_IN:
        return check_in(c, e);
    case PV_E_STARTS_WITH:
    case PV_E_ENDS_WITH:
    case PV_E_CONTAINS:
        if ((rc = need_args(c, e, PV_T_STRING)) != PV_OK)
            return rc;
        set_type(e, PV_T_BOOL);
        return PV_OK;
    case PV_E_LEN:
        if ((rc = need_args(c, e, PV_T_STRING)) != PV_OK)
            return rc;
        set_type(e, PV_T_INT);
        return PV_OK;
    case PV_E_MIN:
    case PV_E_MAX:
    case PV_E_ABS:
        if ((rc = need_args(c, e, PV_T_INT)) != PV_OK)
            return rc;
        set_type(e, PV_T_INT);
        return PV_OK;
    default:
        return fail(c, e->off, "internal error: unexpected node %s", pv_expr_kind_name(e->kind));
    }
}

/* What the whole expression is, for the message when its type is wrong. */
static const char *whole_name(pv_expr_where w)
{
    switch (w) {
    case PV_W_CALL_RULE:
    case PV_W_STATE_RULE:
        return "the condition of an invariant";
    case PV_W_REQUIRES:
        return "requires";
    case PV_W_ENSURES:
        return "ensures";
    case PV_W_EFFECT:
        return "the value of an effect";
    case PV_W_WHEN:
        return "when";
    }
    return "the expression";
}

/*
 * Type-check e in place (see pv_expr.h). On error the tree may be partly
 * resolved; it stays valid for pv_expr_free and to_string but must not be
 * used further.
 */
int pv_expr_check(pv_expr *e, const pv_expr_ctx *ctx, pv_type expected, pv_expr_error *err)
{
    pv_expr_error scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    checker c = {ctx, ctx->spec, err, NULL};
    for (size_t i = 0; i < ctx->n_tools; i++)
        if (ctx->tools[i] < 0 || (size_t)ctx->tools[i] >= ctx->spec->n_tools)
            return fail(&c, 0, "internal error: context names tool index %d", ctx->tools[i]);
    int rc = check(&c, e);
    if (rc != PV_OK)
        return rc;
    if (expected.kind == PV_T_INVALID)
        return PV_OK;
    if (expected.kind == PV_T_ENUM && coercible(e) && (rc = coerce(&c, e, expected)) != PV_OK)
        return rc;
    if (!pv_type_eq(e->type, expected)) {
        const char *what = whole_name(ctx->where);
        /* the hint helps only where a string was given for an enum */
        const char *hint = expected.kind == PV_T_ENUM ? enum_string_hint(expected, e->type) : "";
        if (ctx->where == PV_W_EFFECT)
            return fail(&c,
                        e->off,
                        "%s must have its state variable's type, %s; found %s%s",
                        what,
                        tt(&c, expected).s,
                        tt(&c, e->type).s,
                        hint);
        return fail(&c,
                    e->off,
                    "%s must be %s, found %s%s",
                    what,
                    tt(&c, expected).s,
                    tt(&c, e->type).s,
                    hint);
    }
    return PV_OK;
}
