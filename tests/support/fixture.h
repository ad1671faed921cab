/*
 * fixture.h - what the C tests that verify plans set up: the cmocka group
 * fixture of the randomised tests (test_differential.c, test_witness.c,
 * test_quick.c: every spec of a run and an engine), and specs and plans
 * loaded from text for fixed cases (those tests and test_engine.c).
 *
 * The loaders assert that loading succeeds (after printing the loader's
 * diagnostics), so like the rest of tests/support they may only be called
 * from inside a cmocka test, setup or teardown.
 */
#ifndef PVT_FIXTURE_H
#define PVT_FIXTURE_H

#include <stddef.h>

#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "support/plangen.h"

/* The group state of a randomised test (its per-spec counts are its own). */
typedef struct pvt_fixture {
    pvt_spec_set set; /* every bundled spec, then the synthetic one */
    pv_engine *eng;
} pvt_fixture;

/* cmocka group setup: a pvt_fixture into *state, with the spec set and an
 * engine loaded. 0, or -1 with *state NULL after freeing what was set up
 * (cmocka runs no group teardown after a failed setup). */
int pvt_fixture_setup(void **state);

/* cmocka group teardown for pvt_fixture_setup; *state may be NULL. */
int pvt_fixture_teardown(void **state);

/* A condition over an int args.x that Z3 can neither satisfy nor refute
 * in any time a test can wait: an x below 10^15 with six given remainders.
 * For tests of time limits and interrupts. */
#define PVT_HARD_X_COND                                                                            \
    "args.x % 7919 == 17 && args.x % 7907 == 3 && args.x % 7901 == 5 && args.x % 7883 == 11 "      \
    "&& args.x % 7877 == 13 && args.x % 7873 == 1 && args.x > 0 && args.x < 1000000000000000"

/* A spec whose rule r breaks easily (x = 0) while whether it can hold is
 * PVT_HARD_X_COND, which Z3 cannot settle, followed by rule small, which
 * breaks for a y above 5. For tests that a limit on one question leaves
 * the next its budget. */
#define PVT_HARD_THEN_SMALL_SPEC                                                                   \
    "spec: hard-then-small\nversion: v\n"                                                          \
    "tools:\n  t: {args: {x: int, y: {type: int, min: 0, max: 10}}}\n"                             \
    "invariants:\n"                                                                                \
    "  - {id: r, on: t, action: block, assert: \"" PVT_HARD_X_COND "\"}\n"                         \
    "  - {id: small, on: t, action: escalate, escalate_to: ops, assert: \"args.y <= 5\"}\n"
/* What PVT_HARD_THEN_SMALL_SPEC gives on PVT_XY_UNKNOWN_PLAN when rule
 * r's limit leaves small its budget: block, with r and then small (to
 * ops) found possible, not certain. */
void pvt_assert_hard_then_small(const pv_verdict *v);

/* A plan of one call of tool t with its arguments x and y unknown. */
#define PVT_XY_UNKNOWN_PLAN                                                                        \
    "steps:\n  - {tool: t, args: {x: {unknown: true}, y: {unknown: true}}}\n"

/* The spec in text (the file `name`, for diagnostics); asserts it loads. */
pv_spec *pvt_spec_from_text(const char *name, const char *text);

/* The spec in the file at path under the source tree (pvt_source_dir),
 * such as "specs/support-refunds.yaml"; asserts it loads. */
pv_spec *pvt_spec_from_source(const char *path);

/* The plan for spec in text, through the document and plan loaders;
 * asserts it loads. */
pv_plan *pvt_plan_from_text(const pv_spec *spec, const char *text);

#endif
