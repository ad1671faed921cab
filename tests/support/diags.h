/*
 * diags.h - comparing a loader's diagnostics with the exact expected ones.
 */
#ifndef PVT_DIAGS_H
#define PVT_DIAGS_H

#include <stdbool.h>

#include "pv_common.h"

/*
 * True when `other_ok` holds and d holds exactly the diagnostics in
 * want[0..n) ("line:col: message", in order; n counts the entries before
 * the first NULL, at most max_want). Otherwise prints the case's name, rc,
 * and both lists to stderr, and returns false.
 */
bool pvt_expect_diags(const char *name, int rc, bool other_ok, const pv_diags *d,
                      const char *const *want, size_t max_want);

#endif
