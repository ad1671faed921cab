/*
 * pv_verdict.h - the verdict of contract section 5, and the helpers that
 * both engines (the Z3 path engine and the concrete evaluator) use to build
 * one: findings, ordering, decision, safe_prefix, chains.
 */
#ifndef PV_VERDICT_H
#define PV_VERDICT_H

#include "pv_plan.h"
#include "pv_spec.h"

typedef enum pv_finding_kind {
    PV_K_CALL,
    PV_K_STATE,
    PV_K_SCOPE,
    PV_K_ALLOWLIST,
    PV_K_ARGUMENT,
    PV_K_PRECONDITION,
    PV_K_SOLVER,
    PV_K_BUDGET,
    PV_K_DEVIATION /* runtime sessions: what ran is not what was approved */
} pv_finding_kind;

const char *pv_finding_kind_name(pv_finding_kind k);
/* The kind named s, or -1. */
int pv_finding_kind_parse(const char *s);

/* One value of an unknown in a witness: key is "steps[i].args.NAME",
 * "steps[i].result.NAME" or "initial.NAME". */
typedef struct pv_witness_entry {
    char *key;
    pv_value value;
} pv_witness_entry;

typedef struct pv_finding {
    char *rule; /* invariant id, exclusion id or failure mode name */
    pv_finding_kind kind;
    int step;
    char *tool; /* the step's tool name (NULL past the end for budget) */
    pv_action action;
    char *escalate_to; /* NULL unless action is escalate */
    bool certain;
    int *chain;
    size_t n_chain;
    pv_witness_entry *witness;
    size_t n_witness;
    char *message;
} pv_finding;

typedef struct pv_verdict {
    pv_action decision;
    int safe_prefix;
    char *spec_id;
    char *spec_version;
    char *spec_digest;
    char *plan_id; /* NULL when the plan has none */
    pv_finding *findings;
    size_t n_findings;
} pv_verdict;

/* A fresh verdict for spec and plan with no findings yet. */
pv_verdict *pv_verdict_new(const pv_spec *spec, const pv_plan *plan);
void pv_verdict_free(pv_verdict *v);

/* Append a finding; takes ownership of message, chain and witness. The
 * action and escalation target are copied from the arguments. */
pv_finding *pv_verdict_add(pv_verdict *v, const char *rule, pv_finding_kind kind, int step,
                           const char *tool, pv_action action, const char *escalate_to,
                           bool certain, char *message);

/* Order findings by step then rule id, and set decision and safe_prefix
 * (contract section 5) for a plan of n_steps steps. */
void pv_verdict_finish(pv_verdict *v, const pv_spec *spec, const pv_plan *plan);

/* The same for a plan whose first `executed` steps have already run (a
 * runtime session): findings at those steps are dropped, and safe_prefix
 * counts from the start of the plan but never below `executed`. */
void pv_verdict_finish_from(pv_verdict *v, const pv_spec *spec, const pv_plan *plan,
                            size_t executed);

#endif
