/*
 * replay.h - witness replay for the C tests (test_witness.c, test_quick.c).
 *
 * A finding that is possible but not certain carries a witness: values of
 * the plan's unknowns under which its rule breaks (contract section 5).
 * Replaying it puts those values into the plan in place of the unknowns,
 * cuts the plan after the finding's step (a rule at step k reads only
 * steps 0..k, and later unknowns would need values that satisfy their
 * tools' `ensures`), loads the result as a plan file and runs the concrete
 * evaluator on it, which shares no code with the Z3 encoding or the quick
 * path: it must find the same rule broken at the same step.
 *
 * The plan must be a verdict's plan from step 0 (the concrete evaluator
 * checks every step). Uses cmocka assertions through pvt_sbuf, so call it
 * only from inside a cmocka test.
 */
#ifndef PVT_REPLAY_H
#define PVT_REPLAY_H

#include <stdbool.h>

#include "pv_common.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"

/* What replaying one finding gave (pvt_replay_run); {0} holds nothing. */
typedef struct pvt_replay {
    const pv_spec *spec; /* borrowed */
    const pv_finding *f; /* the finding replayed (borrowed) */
    const char *why;     /* NULL when the replay breaks f's rule at f's step, else why not */
    char *text;          /* the replayed plan as YAML plan-file text */
    char *bad;           /* the first witness key without a usable value, or NULL */
    pv_diags d;          /* what loading and evaluating the replayed plan said */
    pv_verdict *cv;      /* the concrete evaluator's verdict on it, or NULL */
} pvt_replay;

/* Replay finding f of a verdict on plan into r (overwritten; free it with
 * pvt_replay_free). Returns r->why. */
const char *pvt_replay_run(pvt_replay *r, const pv_spec *spec, const pv_plan *plan,
                           const pv_finding *f);

/* Print why r failed: the rule and step, the missing witness key, the
 * replayed plan, its diagnostics and the concrete evaluator's verdict. */
void pvt_replay_print(const pvt_replay *r);

/* Free what r holds; r->why stays valid (a string constant). */
void pvt_replay_free(pvt_replay *r);

/* Replay f on plan (pvt_replay_run): NULL when it breaks the same rule at
 * the same step, else why not, after printing the details (as
 * pvt_replay_print) when `report`. */
const char *pvt_replay_check(const pv_spec *spec, const pv_plan *plan, const pv_finding *f,
                             bool report);

#endif
