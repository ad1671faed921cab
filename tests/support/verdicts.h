/*
 * verdicts.h - looking into, comparing and printing verdicts, for the C
 * tests that hold one verifier's verdicts against another's
 * (test_differential.c, test_quick.c) or replay their witnesses
 * (test_witness.c, test_quick.c; see replay.h).
 *
 * Everything prints to stderr, where cmocka's own failure messages go, so
 * that a failing case shows the verdicts it compared next to the reason.
 */
#ifndef PVT_VERDICTS_H
#define PVT_VERDICTS_H

#include <stdbool.h>

#include "pv_spec.h"
#include "pv_verdict.h"

/* One verifier's answer on a plan: its return code, its verdict (NULL
 * unless rc is PV_OK) and its diagnostics; {0} holds nothing. */
typedef struct pvt_outcome {
    int rc;
    pv_verdict *v;
    pv_diags d;
} pvt_outcome;

/* Free what o holds (o itself is the caller's). */
void pvt_outcome_free(pvt_outcome *o);

/* True when a and b are both NULL or both the same string. */
bool pvt_str_eq_null(const char *a, const char *b);

/* The value f's witness gives the unknown named key ("steps[2].args.amount",
 * "initial.total", ...), or NULL when it names no such unknown. */
const pv_value *pvt_witness_get(const pv_finding *f, const char *key);

/* Which of decision, safe_prefix and number of findings verdicts a and b
 * differ in (the first, by that name), or NULL when they agree on all three. */
const char *pvt_verdict_summary_diff(const pv_verdict *a, const pv_verdict *b);

/* Does v (which may be NULL) hold a finding of kind `kind`? */
bool pvt_verdict_has_kind(const pv_verdict *v, pv_finding_kind kind);

/* Do findings x and y agree on kind, certainty, escalation target and
 * chain? That is, on all but which rule broke where (rule, step, action),
 * the tool, the message and the witness. */
bool pvt_finding_details_equal(const pv_finding *x, const pv_finding *y);

/* Print finding f on one line (step, rule, kind, action, escalation
 * target, certainty, chain, message), and with a spec (not NULL) its
 * witness on the next. */
void pvt_print_finding(const pv_spec *spec, const pv_finding *f);

/* Print verdict v under label: its decision, safe_prefix and findings (as
 * pvt_print_finding; spec may be NULL). When rc is not PV_OK or v is NULL,
 * print the return code instead, noting bad input (PV_EINPUT) and "not
 * concrete" (PV_ENOTCONCRETE: from the quick path, left to the solver). */
void pvt_print_verdict(const pv_spec *spec, const char *label, int rc, const pv_verdict *v);

/* Print o under label: its verdict or return code (as pvt_print_verdict),
 * then its diagnostics, each indented and prefixed by the label. */
void pvt_print_outcome(const pv_spec *spec, const char *label, const pvt_outcome *o);

#endif
