/*
 * pv_expr.h - the expression language of contract section 3: a lexer and
 * recursive-descent parser producing an AST, and a static type checker that
 * resolves names in their context and enforces linear arithmetic.
 *
 * Positions inside an expression are byte offsets into the expression's own
 * text; the spec loader maps them to file line:column.
 */
#ifndef PV_EXPR_H
#define PV_EXPR_H

#include "pv_common.h"

struct pv_spec;
struct pv_tool;

typedef enum pv_expr_kind {
    /* literals */
    PV_E_INT,
    PV_E_BOOL,
    PV_E_STR,  /* string literal (may become PV_E_ENUM during checking) */
    PV_E_ENUM, /* enum literal: a string literal resolved against an enum */
    /* names (before checking every name is PV_E_NAME) */
    PV_E_NAME,      /* unresolved: text in u.name */
    PV_E_STATE,     /* state variable u.ref.index */
    PV_E_ARG,       /* args.NAME of the current step: u.ref.name */
    PV_E_RESULT,    /* result.NAME of the current step */
    PV_E_IT_ARG,    /* it.args.NAME inside a path function */
    PV_E_IT_RESULT, /* it.result.NAME inside a path function */
    /* operators */
    PV_E_NOT,
    PV_E_NEG,
    PV_E_AND,
    PV_E_OR,
    PV_E_IMPLIES,
    PV_E_EQ,
    PV_E_NE,
    PV_E_LT,
    PV_E_LE,
    PV_E_GT,
    PV_E_GE,
    PV_E_ADD,
    PV_E_SUB,
    PV_E_MUL,
    PV_E_DIV,
    PV_E_MOD,
    PV_E_COND, /* kids[0] ? kids[1] : kids[2] */
    PV_E_IN,   /* kids[0] in [kids[1], ...] */
    /* functions */
    PV_E_STARTS_WITH,
    PV_E_ENDS_WITH,
    PV_E_CONTAINS,
    PV_E_LEN,
    PV_E_MIN,
    PV_E_MAX,
    PV_E_ABS,
    /* path functions: kids[0] is the condition over `it` */
    PV_E_EARLIER,
    PV_E_COUNT,
    PV_E__COUNT
} pv_expr_kind;

typedef struct pv_expr pv_expr;

struct pv_expr {
    pv_expr_kind kind;
    pv_type type;  /* set by the checker; PV_T_INVALID before */
    uint32_t off;  /* byte offset of the node's first character */
    uint32_t end;  /* byte offset one past its last character */
    bool is_const; /* set by the checker: no names, only literals/constants */
    union {
        int64_t i;  /* PV_E_INT */
        bool b;     /* PV_E_BOOL */
        pv_str s;   /* PV_E_STR */
        int e;      /* PV_E_ENUM: value index in the enum of `type` */
        char *name; /* PV_E_NAME: the dotted name as written */
        struct {    /* PV_E_STATE, PV_E_ARG, PV_E_RESULT, PV_E_IT_* */
            char *name;
            int index; /* state var index; for args/results the index in the
                          tool's list when the context has exactly one tool,
                          else -1 (resolve by name per tool) */
        } ref;
        struct {        /* PV_E_EARLIER, PV_E_COUNT */
            int *tools; /* tool indices into pv_spec.tools */
            size_t n_tools;
            char **tool_names; /* as written, for messages */
        } path;
    } u;
    pv_expr **kids;
    size_t n_kids;
};

/* An error inside an expression: byte offset and message. */
typedef struct pv_expr_error {
    uint32_t off;
    char msg[256];
} pv_expr_error;

/* Maximum nesting depth of an expression (parentheses, operators, calls). */
#define PV_EXPR_MAX_DEPTH 64
/* Maximum length of one expression's text. */
#define PV_EXPR_MAX_LEN 8192

/*
 * Parse src[0..len) into an AST. On success returns PV_OK and sets *out.
 * On a syntax error returns PV_EINPUT, sets *out to NULL and fills err with
 * the offset of the offending token and a message saying what was expected.
 * Names stay unresolved (PV_E_NAME) and types unset until pv_expr_check.
 */
int pv_expr_parse(const char *src, size_t len, pv_expr **out, pv_expr_error *err);

/* Free an AST (NULL is fine). */
void pv_expr_free(pv_expr *e);

/* Deep copy. */
pv_expr *pv_expr_copy(const pv_expr *e);

/* Where an expression appears decides which names it may use. */
typedef enum pv_expr_where {
    PV_W_CALL_RULE,  /* invariant with `on:`: pre-state, args, path functions */
    PV_W_STATE_RULE, /* invariant with `always:`: post-state only */
    PV_W_REQUIRES,   /* pre-state, args, path functions */
    PV_W_ENSURES,    /* pre-state, args, result */
    PV_W_EFFECT,     /* pre-state, args, result, path functions */
    PV_W_WHEN        /* scope exclusion: pre-state, args (declared tools), path functions */
} pv_expr_where;

const char *pv_expr_where_name(pv_expr_where w);

/* The context an expression is checked in. */
typedef struct pv_expr_ctx {
    const struct pv_spec *spec; /* state, constants, enums, tools */
    pv_expr_where where;
    /* The tools whose args (and results) `args.X` / `result.X` refer to. A
     * name is visible only when every tool declares it with one type. For a
     * state rule, n_tools is 0. */
    const int *tools;
    size_t n_tools;
} pv_expr_ctx;

/*
 * Type-check e in place: resolve names (PV_E_NAME becomes PV_E_STATE,
 * PV_E_ARG, ... or a literal for a constant), turn string literals into enum
 * literals where an enum is expected, set every node's type and is_const,
 * and reject non-linear arithmetic. `expected` is the type the whole
 * expression must have (bool for rules; a state variable's type for an
 * effect); PV_T_INVALID accepts any type.
 * Returns PV_OK, or PV_EINPUT with err set to the first error found.
 */
int pv_expr_check(pv_expr *e, const pv_expr_ctx *ctx, pv_type expected, pv_expr_error *err);

/* Operator spelling for messages ("&&", "starts_with", ...). */
const char *pv_expr_kind_name(pv_expr_kind k);

/* Render an AST back to fully parenthesised text, for tests and messages.
 * Returns a new string. */
char *pv_expr_to_string(const pv_expr *e, const struct pv_spec *spec);

/* Walk helpers used by the engine and lint. */
bool pv_expr_uses_path(const pv_expr *e);

#endif
