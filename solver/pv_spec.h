/*
 * pv_spec.h - a loaded spec (contract section 2) in plain C types, and the
 * loader that builds it from YAML with positioned, exhaustive diagnostics.
 */
#ifndef PV_SPEC_H
#define PV_SPEC_H

#include "pv_common.h"
#include "pv_expr.h"

struct pv_plan;

typedef enum pv_action {
    PV_ACT_ALLOW = 0, /* only in verdicts and test expectations */
    PV_ACT_CLARIFY,
    PV_ACT_ESCALATE,
    PV_ACT_HALT,
    PV_ACT_BLOCK
} pv_action; /* ordered by severity */

const char *pv_action_name(pv_action a);
/* Parse an action name; returns -1 when s names none. */
int pv_action_parse(const char *s);

/* The situations of `failure_modes`. */
typedef enum pv_failure {
    PV_FAIL_UNKNOWN_TOOL = 0,
    PV_FAIL_MISSING_ARGUMENT,
    PV_FAIL_PRECONDITION,
    PV_FAIL_SOLVER_UNKNOWN,
    PV_FAIL_BUDGET_EXCEEDED,
    PV_FAIL__COUNT
} pv_failure;

const char *pv_failure_name(pv_failure f);

/* An enum type: its values, sorted and unique. */
typedef struct pv_enum {
    char **values;
    size_t n;
} pv_enum;

/* A declared variable: a state variable, a tool argument or a result field. */
typedef struct pv_var {
    char *name;
    char *description;
    pv_type type;
    bool has_min, has_max;
    int64_t min, max;
    bool has_init; /* state: `init` given */
    pv_value init;
    bool optional; /* args: absence is not missing_argument */
    bool has_default;
    pv_value dflt; /* args: value when absent */
    pv_pos pos;
} pv_var;

typedef struct pv_effect {
    int var;       /* state variable index */
    pv_expr *expr; /* over the pre-state, args and result */
    char *src;     /* the expression's text */
    pv_pos pos;
} pv_effect;

typedef struct pv_tool {
    char *name;
    char *description;
    bool irreversible;
    pv_var *args;
    size_t n_args;
    pv_var *returns;
    size_t n_returns;
    pv_expr *requires; /* NULL: true */
    char *requires_src;
    pv_pos requires_pos;
    pv_expr *ensures; /* NULL: true */
    char *ensures_src;
    pv_pos ensures_pos;
    pv_effect *effects;
    size_t n_effects;
    pv_pos pos;
} pv_tool;

typedef enum pv_rule_kind { PV_RULE_CALL, PV_RULE_STATE } pv_rule_kind;

typedef struct pv_invariant {
    char *id;
    char *description;
    pv_rule_kind kind;
    bool on_all;   /* on: "*" */
    int *on_tools; /* tool indices (call rules) */
    size_t n_on;
    pv_expr *cond; /* assert (call rule) or always (state rule) */
    char *cond_src;
    pv_action action;
    char *escalate_to; /* NULL unless action is escalate */
    char *enforcement; /* NULL when absent (lint reports it) */
    pv_pos pos;
    pv_pos cond_pos;
} pv_invariant;

typedef struct pv_exclusion {
    char *id;
    char *description;
    char **tools;    /* names; may name undeclared tools */
    int *tool_index; /* index into tools, or -1 when undeclared */
    size_t n_tools;
    pv_expr *when; /* NULL: always */
    char *when_src;
    char *escalate_to; /* NULL only when missing (a load error) */
    pv_pos pos;
} pv_exclusion;

typedef struct pv_failure_mode {
    pv_action action;
    char *escalate_to;
    bool given; /* stated in the spec rather than defaulted */
} pv_failure_mode;

typedef struct pv_constant {
    char *name;
    pv_value value;
    pv_pos pos;
} pv_constant;

/* A test's expectation. */
typedef struct pv_expect {
    pv_action decision;
    bool has_violations;
    char **violations; /* rule ids, sorted */
    size_t n_violations;
    bool has_step;
    int step;
} pv_expect;

typedef struct pv_test {
    char *name;
    char *description;
    struct pv_plan *plan;
    pv_expect expect;
    pv_pos pos;
} pv_test;

typedef struct pv_spec {
    char *id;
    char *version;
    char *description;
    char *file;   /* path it was loaded from */
    char *source; /* the spec's source text */
    size_t source_len;
    char digest[72]; /* "sha256:" + 64 hex digits */

    int max_steps;
    int solver_timeout_ms;

    pv_enum *enums;
    size_t n_enums;
    pv_var *state;
    size_t n_state;
    pv_constant *constants;
    size_t n_constants;
    pv_tool *tools;
    size_t n_tools;

    char **handles;
    size_t n_handles;
    pv_exclusion *excludes;
    size_t n_excludes;

    pv_invariant *invariants;
    size_t n_invariants;
    pv_failure_mode failure_modes[PV_FAIL__COUNT];
    pv_test *tests;
    size_t n_tests;

    /* The literals of its rules, exclusions, requires, ensures, effects and
     * state inits, unique: values the quick path's sample runs try for
     * unknowns (pv_quick.h). Strings point into the expressions. */
    int64_t *lit_ints;
    size_t n_lit_ints;
    const pv_str **lit_strs;
    size_t n_lit_strs;
} pv_spec;

/* Defaults when `limits` does not say. */
#define PV_DEFAULT_MAX_STEPS 256
#define PV_DEFAULT_SOLVER_TIMEOUT_MS 1000
#define PV_SPEC_MAX_ID 64

/*
 * Load a spec from YAML text. `file` names it in diagnostics. Every error
 * found goes into diags ("file:line:col: ..."), not just the first; with
 * any error the spec does not load: returns PV_EINPUT (or PV_ELIMIT) and
 * *out is NULL. Test plans inside the spec are validated too.
 */
int pv_spec_load(const char *file, const char *text, size_t len, pv_spec **out, pv_diags *diags);
/* Read and load a file. */
int pv_spec_load_file(const char *path, pv_spec **out, pv_diags *diags);
void pv_spec_free(pv_spec *spec);

/* Lookups: index or -1. */
int pv_spec_tool(const pv_spec *spec, const char *name);
int pv_spec_state_var(const pv_spec *spec, const char *name);
int pv_tool_arg(const pv_tool *tool, const char *name);
int pv_tool_return(const pv_tool *tool, const char *name);
/* Intern an enum with the given values (any order, no duplicates). */
int pv_spec_intern_enum(pv_spec *spec, const char *const *values, size_t n);
/* Index of value in enum enum_id, or -1. */
int pv_enum_value(const pv_spec *spec, int enum_id, const char *value, size_t len);
/* Type name for messages: "int", "enum [production, staging]"; new string. */
char *pv_type_describe(const pv_spec *spec, pv_type t);
/* Render a value for messages and JSON ("42", "true", "'text'", "production"). */
char *pv_value_describe(const pv_spec *spec, const pv_value *v);

#endif
