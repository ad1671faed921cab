/*
 * spec.c - the spec loader: YAML document tree -> pv_spec.
 *
 * The loader never stops at the first problem: every section is checked and
 * every error reported with its position, so an author fixes a file in one
 * pass. It works in two passes over the tree: declarations first (limits,
 * constants, state, tools with their args and returns), so that expressions,
 * which may name any of them, are checked in the second pass against a
 * complete set of names.
 */
#include "pv_internal.h"
#include "pv_plan.h"
#include "pv_sha256.h"
#include "pv_quick.h"
#include "pv_spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct loader {
    const pv_doc *doc;
    pv_diags *diags;
    pv_spec *spec;
    size_t errors;
} loader;

static void lerr(loader *ld, const pv_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report an error at a node's position (or the file start when at is NULL). */
static void lerr(loader *ld, const pv_node *at, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pv_pos pos = at ? at->pos : (pv_pos){1, 1};
    pv_diags_add(ld->diags, ld->doc->file, pos, "%s", buf);
    ld->errors++;
}

static const char *scalar_text(const pv_node *n)
{
    return n->str.ptr ? n->str.ptr : "";
}

/* ------------------------------------------------------------------ */
/* shared helpers (also used by the plan loader)                       */

bool pv__is_ident(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

int pv__check_keys(const pv_doc *doc, const pv_node *map, const char *const *allowed, size_t n,
                   const char *what, pv_diags *diags)
{
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *key = scalar_text(map->keys[i]);
        size_t j = 0;
        while (j < n && strcmp(key, allowed[j]) != 0)
            j++;
        if (j < n)
            continue;
        const char *hint = pv_suggest(key, allowed, n);
        if (hint)
            pv_diags_add(diags,
                         doc->file,
                         map->keys[i]->pos,
                         "unknown key '%s' in %s; did you mean '%s'?",
                         key,
                         what,
                         hint);
        else {
            /* List what is allowed so the author need not open the docs. */
            char list[512] = "";
            for (size_t k = 0; k < n; k++) {
                if (k)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, allowed[k], sizeof list - strlen(list) - 1);
            }
            pv_diags_add(diags,
                         doc->file,
                         map->keys[i]->pos,
                         "unknown key '%s' in %s; expected one of: %s",
                         key,
                         what,
                         list);
        }
        bad++;
    }
    return bad;
}

int pv__value_from_node(const pv_spec *spec, const pv_node *n, pv_type t, pv_value *out, char **msg)
{
    memset(out, 0, sizeof *out);
    out->type = t;
    if (n->kind != PV_N_SCALAR || n->skind == PV_S_NULL || n->skind == PV_S_FLOAT) {
        char *d = pv_node_describe(n);
        char *ty = pv_type_describe(spec, t);
        *msg = pv_xasprintf("expected %s %s, found %s",
                            t.kind == PV_T_INT || t.kind == PV_T_ENUM ? "an" : "a",
                            ty,
                            d);
        free(d);
        free(ty);
        return PV_EINPUT;
    }
    switch (t.kind) {
    case PV_T_INT:
        if (n->skind == PV_S_INT) {
            out->u.i = n->ival;
            return PV_OK;
        }
        if (n->skind == PV_S_BIGINT) {
            *msg = pv_xasprintf("the integer %s does not fit in 64 bits", scalar_text(n));
            return PV_EINPUT;
        }
        break;
    case PV_T_BOOL:
        if (n->skind == PV_S_BOOL) {
            out->u.b = n->bval;
            return PV_OK;
        }
        break;
    case PV_T_STRING:
        if (n->skind == PV_S_STRING) {
            uint32_t cp = pv_utf8_beyond_range(n->str.ptr, n->str.len);
            if (cp) {
                *msg = pv_xasprintf("the string holds U+%04X, beyond U+2FFFF, the last character "
                                    "the solver represents",
                                    cp);
                return PV_EINPUT;
            }
            out->u.s = pv_str_dup(n->str.ptr, n->str.len);
            return PV_OK;
        }
        break;
    case PV_T_ENUM:
        if (n->skind == PV_S_STRING) {
            int e = pv_enum_value(spec, t.enum_id, n->str.ptr, n->str.len);
            if (e >= 0) {
                out->u.e = e;
                return PV_OK;
            }
            const pv_enum *en = &spec->enums[t.enum_id];
            const char *hint = pv_suggest(scalar_text(n), (const char *const *)en->values, en->n);
            char *ty = pv_type_describe(spec, t);
            if (hint)
                *msg = pv_xasprintf(
                    "'%s' is not a value of %s; did you mean '%s'?", scalar_text(n), ty, hint);
            else
                *msg = pv_xasprintf("'%s' is not a value of %s", scalar_text(n), ty);
            free(ty);
            return PV_EINPUT;
        }
        break;
    default:
        break;
    }
    char *d = pv_node_describe(n);
    char *ty = pv_type_describe(spec, t);
    if (t.kind == PV_T_STRING && (n->skind == PV_S_INT || n->skind == PV_S_BOOL))
        *msg = pv_xasprintf("expected a string, found %s (quote it: \"%s\")", d, scalar_text(n));
    else
        *msg = pv_xasprintf("expected %s %s, found %s",
                            t.kind == PV_T_INT || t.kind == PV_T_ENUM ? "an" : "a",
                            ty,
                            d);
    free(d);
    free(ty);
    return PV_EINPUT;
}

int pv__value_check_bounds(const pv_var *var, const pv_value *v, char **msg)
{
    if (v->type.kind != PV_T_INT)
        return PV_OK;
    if (var->has_min && v->u.i < var->min) {
        *msg = pv_xasprintf("%lld is below the minimum %lld of '%s'",
                            (long long)v->u.i,
                            (long long)var->min,
                            var->name);
        return PV_EINPUT;
    }
    if (var->has_max && v->u.i > var->max) {
        *msg = pv_xasprintf("%lld is above the maximum %lld of '%s'",
                            (long long)v->u.i,
                            (long long)var->max,
                            var->name);
        return PV_EINPUT;
    }
    return PV_OK;
}

/* ------------------------------------------------------------------ */
/* small typed readers                                                 */

static bool expect_map(loader *ld, const pv_node *n, const char *what)
{
    if (n && n->kind == PV_N_MAP)
        return true;
    char *d = n ? pv_node_describe(n) : pv_xstrdup("nothing");
    lerr(ld, n, "%s must be a mapping, found %s", what, d);
    free(d);
    return false;
}

static bool expect_seq(loader *ld, const pv_node *n, const char *what)
{
    if (n && n->kind == PV_N_SEQ)
        return true;
    char *d = n ? pv_node_describe(n) : pv_xstrdup("nothing");
    lerr(ld, n, "%s must be a list, found %s", what, d);
    free(d);
    return false;
}

/* A string-valued field: a string scalar (numbers and booleans are refused
 * so that `version: 1.10` does not silently become "1.1"). */
static char *read_string(loader *ld, const pv_node *n, const char *what)
{
    if (n && n->kind == PV_N_SCALAR && n->skind == PV_S_STRING)
        return pv_xstrndup(n->str.ptr, n->str.len);
    char *d = n ? pv_node_describe(n) : pv_xstrdup("nothing");
    if (n && n->kind == PV_N_SCALAR && n->skind != PV_S_NULL)
        lerr(ld, n, "%s must be a string, found %s (quote it: \"%s\")", what, d, scalar_text(n));
    else
        lerr(ld, n, "%s must be a string, found %s", what, d);
    free(d);
    return NULL;
}

static bool read_bool(loader *ld, const pv_node *n, const char *what, bool *out)
{
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_BOOL) {
        *out = n->bval;
        return true;
    }
    char *d = pv_node_describe(n);
    lerr(ld, n, "%s must be true or false, found %s", what, d);
    free(d);
    return false;
}

static bool read_int(loader *ld, const pv_node *n, const char *what, int64_t lo, int64_t hi,
                     int64_t *out)
{
    if (n->kind != PV_N_SCALAR || n->skind != PV_S_INT) {
        char *d = pv_node_describe(n);
        lerr(ld, n, "%s must be an integer, found %s", what, d);
        free(d);
        return false;
    }
    if (n->ival < lo || n->ival > hi) {
        lerr(ld,
             n,
             "%s must be between %lld and %lld, found %lld",
             what,
             (long long)lo,
             (long long)hi,
             (long long)n->ival);
        return false;
    }
    *out = n->ival;
    return true;
}

/* ^[a-z][a-z0-9_-]{0,63}$ : the contract's spec id. */
static bool is_spec_id(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > PV_SPEC_MAX_ID || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Rule ids (invariants, exclusions): ^[A-Za-z][A-Za-z0-9_.-]{0,127}$ */
static bool is_rule_id(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 128 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Tool names: ^[A-Za-z_][A-Za-z0-9_.-]{0,127}$ (MCP-style names with dots
 * and dashes are common; such tools are named in expressions as strings). */
static bool is_tool_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 128 ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static const char *const reserved_names[] = {"true", "false", "in", "args", "result", "it"};

/* Names of state variables, args, results and constants must be usable in
 * expressions. */
static bool check_name(loader *ld, const pv_node *key, const char *what)
{
    const char *s = scalar_text(key);
    size_t len = key->str.len;
    if (!pv__is_ident(s, len) || len > 64) {
        lerr(ld,
             key,
             "invalid %s name '%s': expected a letter or '_' followed by letters, "
             "digits or '_' (at most 64)",
             what,
             s);
        return false;
    }
    for (size_t i = 0; i < PV_ARRAY_LEN(reserved_names); i++)
        if (strcmp(s, reserved_names[i]) == 0) {
            lerr(ld,
                 key,
                 "'%s' is a reserved word and cannot name %s %s",
                 s,
                 strchr("aeiou", what[0]) ? "an" : "a",
                 what);
            return false;
        }
    return true;
}

/* ------------------------------------------------------------------ */
/* variables: state, args, returns                                     */

typedef enum var_kind { VK_STATE, VK_ARG, VK_RETURN } var_kind;

static const char *var_kind_name(var_kind k)
{
    return k == VK_STATE ? "state variable" : k == VK_ARG ? "argument" : "result field";
}

static const char *const type_names[] = {"int", "bool", "string", "enum"};

static bool parse_type_name(loader *ld, const pv_node *n, pv_type_kind *out)
{
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_STRING) {
        for (size_t i = 0; i < PV_ARRAY_LEN(type_names); i++)
            if (strcmp(scalar_text(n), type_names[i]) == 0) {
                *out = (pv_type_kind)(PV_T_INT + i);
                return true;
            }
        const char *hint = pv_suggest(scalar_text(n), type_names, PV_ARRAY_LEN(type_names));
        if (hint)
            lerr(ld, n, "unknown type '%s'; did you mean '%s'?", scalar_text(n), hint);
        else
            lerr(ld, n, "unknown type '%s'; expected int, bool, string or enum", scalar_text(n));
        return false;
    }
    char *d = pv_node_describe(n);
    lerr(ld, n, "a type must be int, bool, string or enum, found %s", d);
    free(d);
    return false;
}

/* Parse `values:` of an enum and intern it. Returns the enum id or -1. */
static int load_enum_values(loader *ld, const pv_node *n)
{
    if (!expect_seq(ld, n, "enum values"))
        return -1;
    if (n->n == 0) {
        lerr(ld, n, "an enum needs at least one value");
        return -1;
    }
    const char **vals = pv_xcalloc(n->n, sizeof(char *));
    bool ok = true;
    for (size_t i = 0; i < n->n; i++) {
        const pv_node *v = n->items[i];
        if (v->kind != PV_N_SCALAR || v->skind != PV_S_STRING) {
            char *d = pv_node_describe(v);
            lerr(ld, v, "enum values must be strings, found %s", d);
            free(d);
            ok = false;
            continue;
        }
        if (v->str.len == 0 || strlen(v->str.ptr) != v->str.len) {
            lerr(ld, v, "enum values must be non-empty text");
            ok = false;
            continue;
        }
        vals[i] = v->str.ptr;
        for (size_t j = 0; j < i; j++)
            if (vals[j] && strcmp(vals[j], vals[i]) == 0) {
                lerr(ld, v, "duplicate enum value '%s'", vals[i]);
                ok = false;
            }
    }
    int id = ok ? pv_spec_intern_enum(ld->spec, vals, n->n) : -1;
    free(vals);
    return id;
}

static const char *const var_keys[] = {
    "type", "values", "min", "max", "init", "optional", "default", "description"};

/*
 * Load one variable declaration (short form "int" or long form map) into
 * *v. Returns false (with errors reported) when it is unusable; v is then
 * left for the caller to free.
 */
static bool load_var(loader *ld, const pv_node *key, const pv_node *val, var_kind kind, pv_var *v)
{
    memset(v, 0, sizeof *v);
    v->type = pv_type_make(PV_T_INVALID);
    v->name = pv_xstrndup(key->str.ptr, key->str.len);
    v->pos = key->pos;
    bool ok = check_name(ld, key, var_kind_name(kind));
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", var_kind_name(kind), v->name);

    if (val->kind == PV_N_SCALAR) {
        pv_type_kind tk;
        if (!parse_type_name(ld, val, &tk))
            return false;
        if (tk == PV_T_ENUM) {
            lerr(ld, val, "%s: an enum needs its values: {type: enum, values: [a, b]}", what);
            return false;
        }
        v->type = pv_type_make(tk);
        return ok;
    }
    if (!expect_map(ld, val, what))
        return false;
    if (pv__check_keys(ld->doc, val, var_keys, PV_ARRAY_LEN(var_keys), what, ld->diags)) {
        ld->errors++;
        ok = false;
    }
    const pv_node *type = pv_node_get(val, "type");
    const pv_node *values = pv_node_get(val, "values");
    const pv_node *min = pv_node_get(val, "min");
    const pv_node *max = pv_node_get(val, "max");
    const pv_node *init = pv_node_get(val, "init");
    const pv_node *optional = pv_node_get(val, "optional");
    const pv_node *dflt = pv_node_get(val, "default");
    const pv_node *desc = pv_node_get(val, "description");

    if (desc)
        v->description = read_string(ld, desc, "description");
    if (!type) {
        lerr(ld, val, "%s: missing required key 'type'", what);
        return false;
    }
    pv_type_kind tk;
    if (!parse_type_name(ld, type, &tk))
        return false;
    if (tk == PV_T_ENUM) {
        if (!values) {
            lerr(ld, type, "%s: an enum needs 'values'", what);
            return false;
        }
        int id = load_enum_values(ld, values);
        if (id < 0)
            return false;
        v->type = pv_type_enum(id);
    } else {
        v->type = pv_type_make(tk);
        if (values) {
            lerr(ld, values, "%s: 'values' is only allowed with type enum", what);
            ok = false;
        }
    }
    if ((min || max) && tk != PV_T_INT) {
        lerr(ld, min ? min : max, "%s: 'min' and 'max' are only allowed with type int", what);
        ok = false;
    } else {
        int64_t x;
        if (min) {
            if (read_int(ld, min, "min", INT64_MIN, INT64_MAX, &x)) {
                v->has_min = true;
                v->min = x;
            } else
                ok = false;
        }
        if (max) {
            if (read_int(ld, max, "max", INT64_MIN, INT64_MAX, &x)) {
                v->has_max = true;
                v->max = x;
            } else
                ok = false;
        }
        if (v->has_min && v->has_max && v->min > v->max) {
            lerr(ld,
                 min,
                 "%s: min %lld is greater than max %lld",
                 what,
                 (long long)v->min,
                 (long long)v->max);
            ok = false;
        }
    }
    if (optional) {
        if (kind != VK_ARG) {
            lerr(ld, optional, "%s: 'optional' is only allowed on tool arguments", what);
            ok = false;
        } else if (!read_bool(ld, optional, "optional", &v->optional))
            ok = false;
    }
    /* A value node (init or default) must have the variable's type and lie
     * within its bounds. */
    const pv_node *value_nodes[2] = {init, dflt};
    const char *value_keys[2] = {"init", "default"};
    var_kind value_kinds[2] = {VK_STATE, VK_ARG};
    for (int i = 0; i < 2; i++) {
        const pv_node *vn = value_nodes[i];
        if (!vn)
            continue;
        if (kind != value_kinds[i]) {
            lerr(ld,
                 vn,
                 "%s: '%s' is only allowed on %ss",
                 what,
                 value_keys[i],
                 var_kind_name(value_kinds[i]));
            ok = false;
            continue;
        }
        pv_value val_out;
        char *msg = NULL;
        if (pv__value_from_node(ld->spec, vn, v->type, &val_out, &msg) != PV_OK ||
            pv__value_check_bounds(v, &val_out, &msg) != PV_OK) {
            lerr(ld, vn, "%s: %s %s", what, value_keys[i], msg);
            free(msg);
            pv_value_free(&val_out);
            ok = false;
            continue;
        }
        if (i == 0) {
            v->has_init = true;
            v->init = val_out;
        } else {
            v->has_default = true;
            v->dflt = val_out;
            /* A default only makes sense for an argument that may be absent. */
            v->optional = true;
        }
    }
    return ok;
}

/* Load a map of variable declarations into a fresh array. */
static void load_vars(loader *ld, const pv_node *map, var_kind kind, const char *what, pv_var **out,
                      size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!map)
        return;
    if (map->kind == PV_N_SCALAR && map->skind == PV_S_NULL)
        return; /* `args:` with nothing under it: no arguments */
    if (!expect_map(ld, map, what))
        return;
    pv_var *vars = pv_xcalloc(map->n, sizeof(pv_var));
    size_t n = 0;
    for (size_t i = 0; i < map->n; i++) {
        if (load_var(ld, map->keys[i], map->items[i], kind, &vars[n])) {
            n++;
        } else {
            pv_var *v = &vars[n];
            free(v->name);
            free(v->description);
            pv_value_free(&v->init);
            pv_value_free(&v->dflt);
            memset(v, 0, sizeof *v);
        }
    }
    *out = vars;
    *n_out = n;
}

/* ------------------------------------------------------------------ */
/* expressions                                                         */

/* The first string literal in e holding a character beyond the solver's
 * range, and its offset. */
static void find_far_string(const pv_expr *e, uint32_t *cp, size_t *off)
{
    if (!e || *cp)
        return;
    if (e->kind == PV_E_STR && (*cp = pv_utf8_beyond_range(e->u.s.ptr, e->u.s.len))) {
        *off = e->off;
        return;
    }
    for (size_t i = 0; i < e->n_kids; i++)
        find_far_string(e->kids[i], cp, off);
}

/*
 * Parse and type-check the expression in scalar node n. Returns the AST or
 * NULL (with the error reported at the exact file position of the offending
 * sub-expression). *src_out receives a copy of the text.
 */
static pv_expr *load_expr(loader *ld, const pv_node *n, pv_expr_where where, const int *tools,
                          size_t n_tools, pv_type expected, const char *what, char **src_out)
{
    if (src_out)
        *src_out = NULL;
    if (!n || n->kind != PV_N_SCALAR || n->skind == PV_S_NULL || n->skind == PV_S_FLOAT ||
        n->skind == PV_S_BIGINT) {
        char *d = n ? pv_node_describe(n) : pv_xstrdup("nothing");
        lerr(ld, n, "%s must be an expression (a string), found %s", what, d);
        free(d);
        return NULL;
    }
    pv_expr_error err;
    pv_expr *e = NULL;
    if (pv_expr_parse(n->str.ptr, n->str.len, &e, &err) != PV_OK) {
        pv_diags_add(ld->diags,
                     ld->doc->file,
                     pv_node_offset_pos(ld->doc, n, err.off),
                     "%s: %s",
                     what,
                     err.msg);
        ld->errors++;
        return NULL;
    }
    pv_expr_ctx ctx = {ld->spec, where, tools, n_tools};
    uint32_t far = 0;
    size_t far_off = 0;
    find_far_string(e, &far, &far_off);
    if (far) {
        pv_diags_add(ld->diags,
                     ld->doc->file,
                     pv_node_offset_pos(ld->doc, n, far_off),
                     "%s: the string holds U+%04X, beyond U+2FFFF, the last character the solver "
                     "represents",
                     what,
                     far);
        ld->errors++;
        pv_expr_free(e);
        return NULL;
    }
    if (pv_expr_check(e, &ctx, expected, &err) != PV_OK) {
        pv_diags_add(ld->diags,
                     ld->doc->file,
                     pv_node_offset_pos(ld->doc, n, err.off),
                     "%s: %s",
                     what,
                     err.msg);
        ld->errors++;
        pv_expr_free(e);
        return NULL;
    }
    if (src_out)
        *src_out = pv_xstrndup(n->str.ptr, n->str.len);
    return e;
}

/* ------------------------------------------------------------------ */
/* sections                                                            */

static void load_limits(loader *ld, const pv_node *n)
{
    static const char *const keys[] = {"max_steps", "solver_timeout_ms", "description"};
    if (!expect_map(ld, n, "limits"))
        return;
    if (pv__check_keys(ld->doc, n, keys, PV_ARRAY_LEN(keys), "limits", ld->diags))
        ld->errors++;
    const pv_node *ms = pv_node_get(n, "max_steps");
    const pv_node *to = pv_node_get(n, "solver_timeout_ms");
    int64_t x;
    if (ms && read_int(ld, ms, "limits.max_steps", 1, PV_PLAN_MAX_STEPS, &x))
        ld->spec->max_steps = (int)x;
    if (to && read_int(ld, to, "limits.solver_timeout_ms", 1, 3600000, &x))
        ld->spec->solver_timeout_ms = (int)x;
}

static void load_constants(loader *ld, const pv_node *n)
{
    if (!expect_map(ld, n, "constants"))
        return;
    pv_spec *s = ld->spec;
    s->constants = pv_xcalloc(n->n, sizeof(pv_constant));
    for (size_t i = 0; i < n->n; i++) {
        const pv_node *k = n->keys[i], *v = n->items[i];
        if (!check_name(ld, k, "constant"))
            continue;
        pv_type t;
        if (v->kind == PV_N_SCALAR && v->skind == PV_S_INT)
            t = pv_type_make(PV_T_INT);
        else if (v->kind == PV_N_SCALAR && v->skind == PV_S_BOOL)
            t = pv_type_make(PV_T_BOOL);
        else if (v->kind == PV_N_SCALAR && v->skind == PV_S_STRING)
            t = pv_type_make(PV_T_STRING);
        else {
            char *d = pv_node_describe(v);
            lerr(ld,
                 v,
                 "constant '%s' must be an integer, a boolean or a string, found %s",
                 scalar_text(k),
                 d);
            free(d);
            continue;
        }
        pv_constant *c = &s->constants[s->n_constants];
        char *msg = NULL;
        if (pv__value_from_node(s, v, t, &c->value, &msg) != PV_OK) {
            lerr(ld, v, "constant '%s': %s", scalar_text(k), msg);
            free(msg);
            continue;
        }
        c->name = pv_xstrdup(scalar_text(k));
        c->pos = k->pos;
        s->n_constants++;
    }
}

static const char *const tool_keys[] = {
    "description", "irreversible", "args", "returns", "requires", "ensures", "effects"};

/* First pass over a tool: everything but its expressions. */
static void load_tool_decl(loader *ld, const pv_node *key, const pv_node *val, pv_tool *t)
{
    memset(t, 0, sizeof *t);
    t->name = pv_xstrndup(key->str.ptr, key->str.len);
    t->pos = key->pos;
    if (!is_tool_name(t->name))
        lerr(ld,
             key,
             "invalid tool name '%s': expected a letter or '_' followed by letters, "
             "digits, '_', '-' or '.' (at most 128)",
             t->name);
    char what[200];
    snprintf(what, sizeof what, "tool '%s'", t->name);
    if (val->kind == PV_N_SCALAR && val->skind == PV_S_NULL)
        return; /* a tool with no args, returns or effects */
    if (!expect_map(ld, val, what))
        return;
    if (pv__check_keys(ld->doc, val, tool_keys, PV_ARRAY_LEN(tool_keys), what, ld->diags))
        ld->errors++;
    const pv_node *n;
    if ((n = pv_node_get(val, "description")))
        t->description = read_string(ld, n, "description");
    if ((n = pv_node_get(val, "irreversible")))
        read_bool(ld, n, "irreversible", &t->irreversible);
    char sub[240];
    snprintf(sub, sizeof sub, "args of %s", what);
    load_vars(ld, pv_node_get(val, "args"), VK_ARG, sub, &t->args, &t->n_args);
    snprintf(sub, sizeof sub, "returns of %s", what);
    load_vars(ld, pv_node_get(val, "returns"), VK_RETURN, sub, &t->returns, &t->n_returns);
}

/* Second pass over a tool: requires, ensures and effects. */
static void load_tool_exprs(loader *ld, const pv_node *val, int index)
{
    pv_tool *t = &ld->spec->tools[index];
    if (val->kind != PV_N_MAP)
        return;
    const pv_node *n;
    char what[240];
    pv_type boolean = pv_type_make(PV_T_BOOL);
    if ((n = pv_node_get(val, "requires"))) {
        snprintf(what, sizeof what, "requires of tool '%s'", t->name);
        t->requires = load_expr(ld, n, PV_W_REQUIRES, &index, 1, boolean, what, &t->requires_src);
        t->requires_pos = n->pos;
    }
    if ((n = pv_node_get(val, "ensures"))) {
        snprintf(what, sizeof what, "ensures of tool '%s'", t->name);
        t->ensures = load_expr(ld, n, PV_W_ENSURES, &index, 1, boolean, what, &t->ensures_src);
        t->ensures_pos = n->pos;
    }
    if (!(n = pv_node_get(val, "effects")))
        return;
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_NULL)
        return;
    snprintf(what, sizeof what, "effects of tool '%s'", t->name);
    if (!expect_map(ld, n, what))
        return;
    t->effects = pv_xcalloc(n->n, sizeof(pv_effect));
    for (size_t i = 0; i < n->n; i++) {
        const pv_node *k = n->keys[i];
        int var = pv_spec_state_var(ld->spec, scalar_text(k));
        if (var < 0) {
            const char **names = pv_xcalloc(ld->spec->n_state + 1, sizeof(char *));
            for (size_t j = 0; j < ld->spec->n_state; j++)
                names[j] = ld->spec->state[j].name;
            const char *hint = pv_suggest(scalar_text(k), names, ld->spec->n_state);
            if (hint)
                lerr(ld,
                     k,
                     "effect of tool '%s' assigns '%s', which is not a state variable; "
                     "did you mean '%s'?",
                     t->name,
                     scalar_text(k),
                     hint);
            else
                lerr(ld,
                     k,
                     "effect of tool '%s' assigns '%s', which is not a state variable",
                     t->name,
                     scalar_text(k));
            free(names);
            continue;
        }
        snprintf(what, sizeof what, "effect on '%s' of tool '%s'", scalar_text(k), t->name);
        char *src = NULL;
        pv_expr *e = load_expr(
            ld, n->items[i], PV_W_EFFECT, &index, 1, ld->spec->state[var].type, what, &src);
        if (!e)
            continue;
        t->effects[t->n_effects++] = (pv_effect){var, e, src, n->items[i]->pos};
    }
}

static void load_state(loader *ld, const pv_node *n)
{
    load_vars(ld, n, VK_STATE, "state", &ld->spec->state, &ld->spec->n_state);
}

/* Name clashes between the namespaces an expression resolves plain names
 * in: a state variable and a constant may not share a name. */
static void check_name_clashes(loader *ld, const pv_node *constants)
{
    pv_spec *s = ld->spec;
    for (size_t i = 0; i < s->n_constants; i++)
        if (pv_spec_state_var(s, s->constants[i].name) >= 0) {
            const pv_node *k = NULL;
            for (size_t j = 0; constants && j < constants->n; j++)
                if (strcmp(scalar_text(constants->keys[j]), s->constants[i].name) == 0)
                    k = constants->keys[j];
            lerr(ld, k, "constant '%s' has the name of a state variable", s->constants[i].name);
        }
}

/* A list of tool names (`on:`, exclusion `tools:`): a string or a list of
 * strings. Returns the node count (0 on error) and the name nodes. */
static size_t read_name_list(loader *ld, const pv_node *n, const char *what, const pv_node ***out)
{
    *out = NULL;
    if (n->kind == PV_N_SCALAR && n->skind == PV_S_STRING) {
        *out = pv_xmalloc(sizeof(pv_node *));
        (*out)[0] = n;
        return 1;
    }
    if (n->kind != PV_N_SEQ) {
        char *d = pv_node_describe(n);
        lerr(ld, n, "%s must be a tool name or a list of tool names, found %s", what, d);
        free(d);
        return 0;
    }
    if (n->n == 0) {
        lerr(ld, n, "%s must name at least one tool", what);
        return 0;
    }
    *out = pv_xcalloc(n->n, sizeof(pv_node *));
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++) {
        const pv_node *it = n->items[i];
        if (it->kind != PV_N_SCALAR || it->skind != PV_S_STRING) {
            char *d = pv_node_describe(it);
            lerr(ld, it, "%s: expected a tool name, found %s", what, d);
            free(d);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            if (strcmp(scalar_text((*out)[j]), scalar_text(it)) == 0)
                dup = true;
        if (dup) {
            lerr(ld, it, "%s names tool '%s' twice", what, scalar_text(it));
            continue;
        }
        (*out)[k++] = it;
    }
    return k;
}

/* Resolve a tool name node to its index, reporting an undeclared tool with
 * a did-you-mean. */
static int resolve_tool(loader *ld, const pv_node *n, const char *what)
{
    int t = pv_spec_tool(ld->spec, scalar_text(n));
    if (t >= 0)
        return t;
    const char **names = pv_xcalloc(ld->spec->n_tools + 1, sizeof(char *));
    for (size_t j = 0; j < ld->spec->n_tools; j++)
        names[j] = ld->spec->tools[j].name;
    const char *hint = pv_suggest(scalar_text(n), names, ld->spec->n_tools);
    if (hint)
        lerr(ld,
             n,
             "%s names '%s', which is not a declared tool; did you mean '%s'?",
             what,
             scalar_text(n),
             hint);
    else
        lerr(ld, n, "%s names '%s', which is not a declared tool", what, scalar_text(n));
    free(names);
    return -1;
}

/* Action and escalation target of a rule: `escalate` needs a target, and a
 * target beside any other action is a mistake worth flagging. */
static bool load_action_nodes(loader *ld, const pv_node *map, const pv_node *a, const pv_node *to,
                              const char *what, pv_action *action, char **escalate_to)
{
    *escalate_to = NULL;
    if (!a) {
        lerr(ld, map, "%s: missing required key 'action' (block, escalate, clarify or halt)", what);
        return false;
    }
    static const char *const actions[] = {"block", "escalate", "clarify", "halt"};
    int act = -1;
    if (a->kind == PV_N_SCALAR && a->skind == PV_S_STRING)
        act = pv_action_parse(scalar_text(a));
    if (act <= PV_ACT_ALLOW) {
        if (a->kind == PV_N_SCALAR && a->skind == PV_S_STRING) {
            const char *hint = pv_suggest(scalar_text(a), actions, PV_ARRAY_LEN(actions));
            if (act == PV_ACT_ALLOW)
                lerr(ld,
                     a,
                     "%s: 'allow' is not an action for a rule; expected block, escalate, "
                     "clarify or halt",
                     what);
            else if (hint)
                lerr(ld,
                     a,
                     "%s: unknown action '%s'; did you mean '%s'?",
                     what,
                     scalar_text(a),
                     hint);
            else
                lerr(ld,
                     a,
                     "%s: unknown action '%s'; expected block, escalate, clarify or halt",
                     what,
                     scalar_text(a));
        } else {
            char *d = pv_node_describe(a);
            lerr(ld, a, "%s: action must be block, escalate, clarify or halt, found %s", what, d);
            free(d);
        }
        return false;
    }
    *action = (pv_action)act;
    if (to) {
        char *t = read_string(ld, to, "escalate_to");
        if (!t)
            return false;
        if (*action != PV_ACT_ESCALATE) {
            lerr(ld,
                 to,
                 "%s: escalate_to is only used with action: escalate (action is %s)",
                 what,
                 pv_action_name(*action));
            free(t);
            return false;
        }
        if (t[0] == '\0') {
            lerr(ld, to, "%s: escalate_to must not be empty", what);
            free(t);
            return false;
        }
        *escalate_to = t;
    } else if (*action == PV_ACT_ESCALATE) {
        lerr(ld, a, "%s: action escalate needs escalate_to (who handles it)", what);
        return false;
    }
    return true;
}

static bool load_action(loader *ld, const pv_node *map, const char *what, pv_action *action,
                        char **escalate_to)
{
    return load_action_nodes(ld,
                             map,
                             pv_node_get(map, "action"),
                             pv_node_get(map, "escalate_to"),
                             what,
                             action,
                             escalate_to);
}

/* Rule ids share one namespace (invariants and exclusions appear side by
 * side in verdicts), and failure-mode names are reserved in it. */
typedef struct id_seen {
    const char *id;
    pv_pos pos;
} id_seen;

static bool claim_id(loader *ld, const pv_node *n, id_seen *seen, size_t *n_seen)
{
    const char *id = scalar_text(n);
    if (!is_rule_id(id)) {
        lerr(ld,
             n,
             "invalid id '%s': expected a letter followed by letters, digits, '_', '-' "
             "or '.' (at most 128)",
             id);
        return false;
    }
    for (int f = 0; f < PV_FAIL__COUNT; f++)
        if (strcmp(id, pv_failure_name((pv_failure)f)) == 0) {
            lerr(ld, n, "id '%s' is reserved for the failure mode of that name", id);
            return false;
        }
    for (size_t i = 0; i < *n_seen; i++)
        if (strcmp(seen[i].id, id) == 0) {
            lerr(ld,
                 n,
                 "duplicate id '%s' (first at line %d, column %d)",
                 id,
                 seen[i].pos.line,
                 seen[i].pos.col);
            return false;
        }
    seen[(*n_seen)++] = (id_seen){id, n->pos};
    return true;
}

/*
 * What every rule entry (invariant, exclusion) starts with: `what` (200
 * bytes) gets its label for messages ("invariant 'x'", or "invariant at
 * line N" without an id), its keys are checked, its description read, and
 * its id read and claimed. Returns false when the id is missing or not
 * usable (reported); *id is set whenever it could be read.
 */
static bool load_rule_head(loader *ld, const pv_node *n, const char *kind, const char *const *keys,
                           size_t n_keys, char *what, id_seen *seen, size_t *n_seen, char **id,
                           char **description)
{
    const pv_node *idn = pv_node_get(n, "id");
    if (idn && idn->kind == PV_N_SCALAR)
        snprintf(what, 200, "%s '%s'", kind, scalar_text(idn));
    else
        snprintf(what, 200, "%s at line %d", kind, n->pos.line);
    if (pv__check_keys(ld->doc, n, keys, n_keys, what, ld->diags))
        ld->errors++;
    bool ok = true;
    if (!idn) {
        lerr(ld, n, "%s: missing required key 'id'", what);
        ok = false;
    } else if (!(*id = read_string(ld, idn, "id")) || !claim_id(ld, idn, seen, n_seen))
        ok = false;
    const pv_node *d = pv_node_get(n, "description");
    if (d)
        *description = read_string(ld, d, "description");
    return ok;
}

static const char *const invariant_keys[] = {
    "id", "description", "on", "assert", "always", "action", "escalate_to", "enforcement"};

static void load_invariant(loader *ld, const pv_node *n, id_seen *seen, size_t *n_seen)
{
    if (!expect_map(ld, n, "an invariant"))
        return;
    char what[200];
    pv_invariant r;
    memset(&r, 0, sizeof r);
    r.pos = n->pos;
    bool ok = load_rule_head(ld,
                             n,
                             "invariant",
                             invariant_keys,
                             PV_ARRAY_LEN(invariant_keys),
                             what,
                             seen,
                             n_seen,
                             &r.id,
                             &r.description);
    const pv_node *d;
    if ((d = pv_node_get(n, "enforcement")))
        r.enforcement = read_string(ld, d, "enforcement");
    if (!load_action(ld, n, what, &r.action, &r.escalate_to))
        ok = false;

    const pv_node *on = pv_node_get(n, "on");
    const pv_node *as = pv_node_get(n, "assert");
    const pv_node *al = pv_node_get(n, "always");
    if (al && (on || as)) {
        lerr(ld,
             al,
             "%s: give either 'on' with 'assert' (a call rule) or 'always' (a state "
             "rule), not both",
             what);
        ok = false;
    } else if (al) {
        r.kind = PV_RULE_STATE;
        r.cond_pos = al->pos;
        r.cond =
            load_expr(ld, al, PV_W_STATE_RULE, NULL, 0, pv_type_make(PV_T_BOOL), what, &r.cond_src);
        ok = ok && r.cond;
    } else if (on && as) {
        r.kind = PV_RULE_CALL;
        r.cond_pos = as->pos;
        if (on->kind == PV_N_SCALAR && on->skind == PV_S_STRING &&
            strcmp(scalar_text(on), "*") == 0) {
            r.on_all = true;
            r.n_on = ld->spec->n_tools;
            r.on_tools = pv_xcalloc(r.n_on, sizeof(int));
            for (size_t i = 0; i < r.n_on; i++)
                r.on_tools[i] = (int)i;
        } else {
            const pv_node **names;
            size_t k = read_name_list(ld, on, "on", &names);
            r.on_tools = pv_xcalloc(k ? k : 1, sizeof(int));
            bool all = k > 0;
            for (size_t i = 0; i < k; i++) {
                int t = resolve_tool(ld, names[i], "on");
                if (t < 0)
                    all = false;
                else
                    r.on_tools[r.n_on++] = t;
            }
            free(names);
            ok = ok && all;
        }
        if (ok || r.n_on > 0) {
            r.cond = load_expr(ld,
                               as,
                               PV_W_CALL_RULE,
                               r.on_tools,
                               r.n_on,
                               pv_type_make(PV_T_BOOL),
                               what,
                               &r.cond_src);
            ok = ok && r.cond;
        }
    } else if (on) {
        lerr(ld, on, "%s: 'on' needs 'assert', the condition checked before each call", what);
        ok = false;
    } else if (as) {
        lerr(ld,
             as,
             "%s: 'assert' needs 'on', the tools it guards (or use 'always' for a rule "
             "over the state)",
             what);
        ok = false;
    } else {
        lerr(
            ld, n, "%s: missing 'on' with 'assert' (a call rule) or 'always' (a state rule)", what);
        ok = false;
    }
    pv_spec *s = ld->spec;
    if (ok) {
        s->invariants[s->n_invariants++] = r;
        return;
    }
    free(r.id);
    free(r.description);
    free(r.enforcement);
    free(r.escalate_to);
    free(r.on_tools);
    pv_expr_free(r.cond);
    free(r.cond_src);
}

static const char *const exclusion_keys[] = {"id", "description", "tools", "when", "escalate_to"};

static void load_exclusion(loader *ld, const pv_node *n, id_seen *seen, size_t *n_seen)
{
    if (!expect_map(ld, n, "a scope exclusion"))
        return;
    char what[200];
    pv_exclusion x;
    memset(&x, 0, sizeof x);
    x.pos = n->pos;
    bool ok = load_rule_head(ld,
                             n,
                             "exclusion",
                             exclusion_keys,
                             PV_ARRAY_LEN(exclusion_keys),
                             what,
                             seen,
                             n_seen,
                             &x.id,
                             &x.description);
    const pv_node *d;
    if ((d = pv_node_get(n, "escalate_to"))) {
        x.escalate_to = read_string(ld, d, "escalate_to");
        if (!x.escalate_to)
            ok = false;
        else if (!x.escalate_to[0]) {
            lerr(ld, d, "%s: escalate_to must not be empty", what);
            ok = false;
        }
    } else {
        lerr(ld, n, "%s: missing 'escalate_to': every exclusion names who handles it", what);
        ok = false;
    }
    const pv_node *tools = pv_node_get(n, "tools");
    bool all_declared = true;
    if (!tools) {
        lerr(ld, n, "%s: missing required key 'tools'", what);
        ok = false;
    } else {
        const pv_node **names;
        size_t k = read_name_list(ld, tools, "tools", &names);
        if (k == 0)
            ok = false;
        x.tools = pv_xcalloc(k ? k : 1, sizeof(char *));
        x.tool_index = pv_xcalloc(k ? k : 1, sizeof(int));
        for (size_t i = 0; i < k; i++) {
            x.tools[i] = pv_xstrdup(scalar_text(names[i]));
            x.tool_index[i] = pv_spec_tool(ld->spec, x.tools[i]);
            if (x.tool_index[i] < 0)
                all_declared = false;
        }
        x.n_tools = k;
        free(names);
    }
    const pv_node *when = pv_node_get(n, "when");
    if (when && x.n_tools > 0) {
        /* `when` reads the call's arguments, which only declared tools
         * have; with an undeclared tool in the list no args are visible. */
        x.when = load_expr(ld,
                           when,
                           PV_W_WHEN,
                           x.tool_index,
                           all_declared ? x.n_tools : 0,
                           pv_type_make(PV_T_BOOL),
                           what,
                           &x.when_src);
        ok = ok && x.when;
    }
    pv_spec *s = ld->spec;
    if (ok) {
        s->excludes[s->n_excludes++] = x;
        return;
    }
    free(x.id);
    free(x.description);
    free(x.escalate_to);
    for (size_t i = 0; i < x.n_tools; i++)
        free(x.tools[i]);
    free(x.tools);
    free(x.tool_index);
    pv_expr_free(x.when);
    free(x.when_src);
}

static void load_scope(loader *ld, const pv_node *n, id_seen *seen, size_t *n_seen)
{
    static const char *const keys[] = {"handles", "excludes", "description"};
    if (!expect_map(ld, n, "scope"))
        return;
    if (pv__check_keys(ld->doc, n, keys, PV_ARRAY_LEN(keys), "scope", ld->diags))
        ld->errors++;
    pv_spec *s = ld->spec;
    const pv_node *h = pv_node_get(n, "handles");
    if (h && expect_seq(ld, h, "scope.handles")) {
        s->handles = pv_xcalloc(h->n ? h->n : 1, sizeof(char *));
        for (size_t i = 0; i < h->n; i++) {
            char *t = read_string(ld, h->items[i], "each entry of scope.handles");
            if (t)
                s->handles[s->n_handles++] = t;
        }
    }
    const pv_node *x = pv_node_get(n, "excludes");
    if (x && expect_seq(ld, x, "scope.excludes")) {
        s->excludes = pv_xcalloc(x->n ? x->n : 1, sizeof(pv_exclusion));
        for (size_t i = 0; i < x->n; i++)
            load_exclusion(ld, x->items[i], seen, n_seen);
    }
}

static void load_failure_modes(loader *ld, const pv_node *n)
{
    static const char *const names[PV_FAIL__COUNT] = {
        "unknown_tool", "missing_argument", "precondition", "solver_unknown", "budget_exceeded"};
    static const char *const long_keys[] = {"action", "escalate_to", "description"};
    if (!expect_map(ld, n, "failure_modes"))
        return;
    if (pv__check_keys(ld->doc, n, names, PV_FAIL__COUNT, "failure_modes", ld->diags))
        ld->errors++;
    for (int f = 0; f < PV_FAIL__COUNT; f++) {
        const pv_node *v = pv_node_get(n, names[f]);
        if (!v)
            continue;
        char what[80];
        snprintf(what, sizeof what, "failure mode '%s'", names[f]);
        pv_failure_mode *fm = &ld->spec->failure_modes[f];
        pv_action act;
        char *to = NULL;
        if (v->kind == PV_N_MAP) {
            if (pv__check_keys(ld->doc, v, long_keys, PV_ARRAY_LEN(long_keys), what, ld->diags))
                ld->errors++;
            if (!load_action(ld, v, what, &act, &to))
                continue;
        } else {
            /* Short form: the action alone; `escalate` needs the long form. */
            if (!load_action_nodes(ld, v, v, NULL, what, &act, &to))
                continue;
        }
        fm->action = act;
        fm->escalate_to = to;
        fm->given = true;
    }
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const test_keys[] = {"name", "description", "initial_state", "plan", "expect"};
static const char *const expect_keys[] = {"decision", "violations", "step"};

/* A test: its expectation is checked here; its plan against the spec only
 * when the declarations loaded cleanly (otherwise a broken tool would make
 * every test that calls it report errors that are not the test's). */
static void load_test(loader *ld, const pv_node *n, bool check_plans, id_seen *ids, size_t n_ids)
{
    if (!expect_map(ld, n, "a test"))
        return;
    const pv_node *name = pv_node_get(n, "name");
    char what[240];
    if (name && name->kind == PV_N_SCALAR)
        snprintf(what, sizeof what, "test '%.200s'", scalar_text(name));
    else
        snprintf(what, sizeof what, "test at line %d", n->pos.line);
    if (pv__check_keys(ld->doc, n, test_keys, PV_ARRAY_LEN(test_keys), what, ld->diags))
        ld->errors++;
    pv_test t;
    memset(&t, 0, sizeof t);
    t.pos = n->pos;
    bool ok = true;
    if (!name) {
        lerr(ld, n, "%s: missing required key 'name'", what);
        ok = false;
    } else if (!(t.name = read_string(ld, name, "name")))
        ok = false;
    const pv_node *d;
    if ((d = pv_node_get(n, "description")))
        t.description = read_string(ld, d, "description");
    pv_spec *s = ld->spec;
    for (size_t i = 0; ok && i < s->n_tests; i++)
        if (strcmp(s->tests[i].name, t.name) == 0) {
            lerr(ld,
                 name,
                 "duplicate test name '%s' (first at line %d)",
                 t.name,
                 s->tests[i].pos.line);
            ok = false;
        }

    const pv_node *ex = pv_node_get(n, "expect");
    if (!ex) {
        lerr(ld, n, "%s: missing required key 'expect'", what);
        ok = false;
    } else if (!expect_map(ld, ex, "expect"))
        ok = false;
    else {
        if (pv__check_keys(
                ld->doc, ex, expect_keys, PV_ARRAY_LEN(expect_keys), "expect", ld->diags)) {
            ld->errors++;
            ok = false;
        }
        const pv_node *dec = pv_node_get(ex, "decision");
        int a = -1;
        if (!dec) {
            lerr(ld, ex, "%s: expect needs 'decision'", what);
            ok = false;
        } else if (dec->kind != PV_N_SCALAR || dec->skind != PV_S_STRING ||
                   (a = pv_action_parse(scalar_text(dec))) < 0) {
            char *desc = pv_node_describe(dec);
            lerr(ld,
                 dec,
                 "%s: decision must be allow, clarify, escalate, halt or block, found %s",
                 what,
                 desc);
            free(desc);
            ok = false;
        } else
            t.expect.decision = (pv_action)a;
        const pv_node *vs = pv_node_get(ex, "violations");
        if (vs && expect_seq(ld, vs, "expect.violations")) {
            /* ids is NULL when the rule ids are not known for sure. */
            t.expect.has_violations = true;
            t.expect.violations = pv_xcalloc(vs->n ? vs->n : 1, sizeof(char *));
            if (!ids)
                n_ids = 0;
            const char **known = pv_xcalloc(n_ids + PV_FAIL__COUNT + 1, sizeof(char *));
            for (size_t i = 0; i < n_ids; i++)
                known[i] = ids[i].id;
            for (int f = 0; f < PV_FAIL__COUNT; f++)
                known[n_ids + (size_t)f] = pv_failure_name((pv_failure)f);
            for (size_t i = 0; i < vs->n; i++) {
                char *v = read_string(ld, vs->items[i], "each expected violation");
                if (!v) {
                    ok = false;
                    continue;
                }
                size_t j = 0;
                while (j < n_ids + PV_FAIL__COUNT && strcmp(known[j], v) != 0)
                    j++;
                if (j == n_ids + PV_FAIL__COUNT && ids) {
                    const char *hint = pv_suggest(v, known, n_ids + PV_FAIL__COUNT);
                    if (hint)
                        lerr(ld,
                             vs->items[i],
                             "%s: '%s' is not a rule id or failure mode; did "
                             "you mean '%s'?",
                             what,
                             v,
                             hint);
                    else
                        lerr(
                            ld, vs->items[i], "%s: '%s' is not a rule id or failure mode", what, v);
                    free(v);
                    ok = false;
                    continue;
                }
                for (size_t k = 0; k < t.expect.n_violations; k++)
                    if (strcmp(t.expect.violations[k], v) == 0) {
                        lerr(ld, vs->items[i], "%s: violation '%s' is listed twice", what, v);
                        ok = false;
                    }
                t.expect.violations[t.expect.n_violations++] = v;
            }
            free(known);
            qsort(t.expect.violations, t.expect.n_violations, sizeof(char *), cmp_strp);
        } else if (vs)
            ok = false;
        const pv_node *st = pv_node_get(ex, "step");
        int64_t x;
        if (st) {
            if (read_int(ld, st, "expect.step", 0, PV_PLAN_MAX_STEPS, &x)) {
                t.expect.has_step = true;
                t.expect.step = (int)x;
            } else
                ok = false;
        }
    }
    const pv_node *plan = pv_node_get(n, "plan");
    const pv_node *init = pv_node_get(n, "initial_state");
    if (!plan) {
        lerr(ld, n, "%s: missing required key 'plan'", what);
        ok = false;
    } else if (!expect_seq(ld, plan, "plan"))
        ok = false;
    else if (check_plans) {
        size_t before = ld->diags->n;
        if (pv_plan_from_steps(s, ld->doc, init, plan, &t.plan, ld->diags) != PV_OK) {
            ld->errors += ld->diags->n - before + 1;
            ok = false;
        }
    }
    if (ok) {
        s->tests[s->n_tests++] = t;
        return;
    }
    free(t.name);
    free(t.description);
    pv_plan_free(t.plan);
    for (size_t i = 0; i < t.expect.n_violations; i++)
        free(t.expect.violations[i]);
    free(t.expect.violations);
}

static const char *const top_keys[] = {"spec",
                                       "version",
                                       "description",
                                       "limits",
                                       "state",
                                       "constants",
                                       "tools",
                                       "scope",
                                       "invariants",
                                       "failure_modes",
                                       "tests"};

/* Run both passes over the document; errors accumulate in ld. */
static void load_spec_doc(loader *ld, const pv_node *root)
{
    pv_spec *s = ld->spec;
    if (!root) {
        lerr(ld,
             NULL,
             "the spec is empty; expected a mapping with at least 'spec', 'version' "
             "and 'tools'");
        return;
    }
    if (!expect_map(ld, root, "a spec"))
        return;
    /* With a misspelled top-level section (say `invariant:`), its rule ids
     * are unknown, and every test naming one would be reported too. */
    bool ids_known = true;
    if (pv__check_keys(ld->doc, root, top_keys, PV_ARRAY_LEN(top_keys), "the spec", ld->diags)) {
        ld->errors++;
        ids_known = false;
    }

    const pv_node *n;
    if (!(n = pv_node_get(root, "spec")))
        lerr(ld, root, "missing required key 'spec' (the spec's id)");
    else if ((s->id = read_string(ld, n, "spec")) && !is_spec_id(s->id))
        lerr(ld, n, "invalid spec id '%s': expected ^[a-z][a-z0-9_-]{0,63}$", s->id);
    if (!(n = pv_node_get(root, "version")))
        lerr(ld, root, "missing required key 'version'");
    else
        s->version = read_string(ld, n, "version");
    if ((n = pv_node_get(root, "description")))
        s->description = read_string(ld, n, "description");
    if ((n = pv_node_get(root, "limits")))
        load_limits(ld, n);
    const pv_node *constants = pv_node_get(root, "constants");
    if (constants)
        load_constants(ld, constants);
    if ((n = pv_node_get(root, "state")))
        load_state(ld, n);
    check_name_clashes(ld, constants);

    const pv_node *tools = pv_node_get(root, "tools");
    if (!tools)
        lerr(ld, root, "missing required key 'tools' (the tools the agent may call)");
    else if (expect_map(ld, tools, "tools")) {
        s->tools = pv_xcalloc(tools->n ? tools->n : 1, sizeof(pv_tool));
        for (size_t i = 0; i < tools->n; i++)
            load_tool_decl(ld, tools->keys[i], tools->items[i], &s->tools[s->n_tools++]);
    }
    size_t decl_errors = ld->errors;

    /* Pass two: expressions, which may name anything declared above. */
    if (tools && tools->kind == PV_N_MAP)
        for (size_t i = 0; i < tools->n; i++)
            load_tool_exprs(ld, tools->items[i], (int)i);

    size_t cap_ids = 0;
    const pv_node *inv = pv_node_get(root, "invariants");
    const pv_node *scope = pv_node_get(root, "scope");
    const pv_node *xs = scope && scope->kind == PV_N_MAP ? pv_node_get(scope, "excludes") : NULL;
    cap_ids += inv && inv->kind == PV_N_SEQ ? inv->n : 0;
    cap_ids += xs && xs->kind == PV_N_SEQ ? xs->n : 0;
    id_seen *ids = pv_xcalloc(cap_ids + 1, sizeof(id_seen));
    size_t n_ids = 0;
    if (inv && expect_seq(ld, inv, "invariants")) {
        s->invariants = pv_xcalloc(inv->n ? inv->n : 1, sizeof(pv_invariant));
        for (size_t i = 0; i < inv->n; i++)
            load_invariant(ld, inv->items[i], ids, &n_ids);
    }
    if (scope)
        load_scope(ld, scope, ids, &n_ids);
    if ((n = pv_node_get(root, "failure_modes")))
        load_failure_modes(ld, n);
    const pv_node *tests = pv_node_get(root, "tests");
    if (tests && expect_seq(ld, tests, "tests")) {
        s->tests = pv_xcalloc(tests->n ? tests->n : 1, sizeof(pv_test));
        for (size_t i = 0; i < tests->n; i++)
            load_test(ld, tests->items[i], decl_errors == 0, ids_known ? ids : NULL, n_ids);
    }
    free(ids);
}

static void set_default_failure_modes(pv_spec *s)
{
    static const pv_action defaults[PV_FAIL__COUNT] = {
        PV_ACT_BLOCK, PV_ACT_CLARIFY, PV_ACT_HALT, PV_ACT_HALT, PV_ACT_HALT};
    for (int f = 0; f < PV_FAIL__COUNT; f++)
        s->failure_modes[f] = (pv_failure_mode){defaults[f], NULL, false};
}

int pv_spec_load(const char *file, const char *text, size_t len, pv_spec **out, pv_diags *diags)
{
    *out = NULL;
    pv_doc *doc = NULL;
    int rc = pv_doc_parse(file, text, len, &doc, diags);
    if (rc != PV_OK)
        return rc;
    pv_spec *s = pv_xcalloc(1, sizeof(pv_spec));
    s->max_steps = PV_DEFAULT_MAX_STEPS;
    s->solver_timeout_ms = PV_DEFAULT_SOLVER_TIMEOUT_MS;
    set_default_failure_modes(s);
    s->file = pv_xstrdup(file ? file : "<spec>");
    s->source = pv_xstrndup(text, len);
    s->source_len = len;
    char hex[65];
    pv_sha256_hex(text, len, hex);
    snprintf(s->digest, sizeof s->digest, "sha256:%s", hex);

    loader ld = {doc, diags, s, 0};
    load_spec_doc(&ld, doc->root);
    pv_doc_free(doc);
    if (ld.errors > 0) {
        pv_spec_free(s);
        return PV_EINPUT;
    }
    pv_quick_spec_literals(s);
    *out = s;
    return PV_OK;
}

int pv_spec_load_file(const char *path, pv_spec **out, pv_diags *diags)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = pv_read_file(path, PV_DOC_MAX_BYTES, &text, &len, diags);
    if (rc != PV_OK)
        return rc;
    rc = pv_spec_load(path, text, len, out, diags);
    free(text);
    return rc;
}
