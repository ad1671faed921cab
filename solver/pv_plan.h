/*
 * pv_plan.h - a plan (contract section 4) validated against a spec: every
 * argument and result field typed, refs resolved to (step, field), bounds
 * and enum sets checked on literals.
 */
#ifndef PV_PLAN_H
#define PV_PLAN_H

#include "pv_common.h"
#include "pv_doc.h"
#include "pv_spec.h"

typedef enum pv_pval_kind {
    PV_PV_ABSENT = 0, /* not given: for args, missing (or default); for
                         results and initial state, unknown */
    PV_PV_LITERAL,
    PV_PV_REF,    /* an earlier step's result field */
    PV_PV_UNKNOWN /* {unknown: true} */
} pv_pval_kind;

typedef struct pv_pval {
    pv_pval_kind kind;
    pv_value lit;  /* PV_PV_LITERAL */
    int ref_step;  /* PV_PV_REF: index of the earlier step */
    int ref_field; /* PV_PV_REF: index in that step's tool's returns */
    pv_pos pos;
} pv_pval;

typedef struct pv_step {
    char *id; /* NULL when not given */
    char *tool_name;
    int tool;      /* index into spec->tools, or -1 when undeclared */
    pv_pval *args; /* [n_args], by the tool's argument index (NULL when tool < 0) */
    size_t n_args;
    bool has_result; /* a `result` map was given */
    pv_pval *result; /* [n_result], by the tool's returns index (NULL when tool < 0) */
    size_t n_result;
    pv_pos pos;
} pv_step;

typedef struct pv_plan {
    char *spec_id; /* NULL when the plan names no spec */
    char *id;      /* NULL when not given */
    char *file;
    pv_pval *initial; /* [n_initial == spec->n_state]: ABSENT uses `init`, or unknown */
    size_t n_initial;
    pv_step *steps;
    size_t n_steps;
    pv_pos pos;
} pv_plan;

#define PV_PLAN_MAX_STEPS 100000

/*
 * Build a plan from a document node (a plan map, or for a spec test the
 * test map, whose `plan` is the step list and `initial_state` the initial
 * state). Every error goes into diags, naming the step (index and id) and
 * the field; returns PV_EINPUT when there is any.
 *
 *  pv_plan_from_node:  node is a plan map {spec, id, initial_state, steps}
 *  pv_plan_from_steps: steps is a sequence of steps, initial may be NULL
 */
int pv_plan_from_node(const pv_spec *spec, const pv_doc *doc, const pv_node *node, pv_plan **out,
                      pv_diags *diags);
int pv_plan_from_steps(const pv_spec *spec, const pv_doc *doc, const pv_node *initial,
                       const pv_node *steps, pv_plan **out, pv_diags *diags);

/* The `spec` field of a plan document, or NULL. */
const char *pv_plan_doc_spec_id(const pv_doc *doc);

void pv_plan_free(pv_plan *plan);

/* "step 2 (refund)" or "step 2" for messages; new string. */
char *pv_step_label(const pv_plan *plan, size_t i);

/* Whether s[0..len) is a step id the plan loader accepts: it matches the
 * contract's ^[A-Za-z_][A-Za-z0-9_-]*$ (so is not empty) and is at most 128
 * bytes. s need not be NUL-terminated. The trace importers use it to keep
 * only the call ids that would load. */
bool pv_step_id_valid(const char *s, size_t len);

#endif
