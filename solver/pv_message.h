/*
 * pv_message.h - messages of findings, shared by both engines.
 */
#ifndef PV_MESSAGE_H
#define PV_MESSAGE_H

#include "pv_spec.h"

/* The value of a leaf (PV_E_STATE, PV_E_ARG, PV_E_RESULT) in the failing
 * run; false when the run does not fix it. Strings may be borrowed. */
typedef bool (*pv_leaf_value_fn)(void *ctx, const pv_expr *leaf, pv_value *out);

/*
 * "refunded_total reaches 1350 > 1000 after step 2 (issue_refund)" for a
 * rule of the form `var OP literal`, else "SRC VERB WHERE with a = 1, ..."
 * (verb "fails" for a broken rule, "holds" for a condition that applies).
 * fails_where is e.g. "after step 2 (issue_refund)" or "at step 1
 * (issue_refund)". Returns a new string.
 */
char *pv_message_rule(const pv_spec *spec, const pv_expr *cond, const char *src, const char *verb,
                      const char *fails_where, pv_leaf_value_fn fn, void *ctx);

/* src with runs of whitespace (folded YAML) collapsed to one space. */
char *pv_message_oneline(const char *src);

#endif
