/*
 * test_watchdog.c - the engine's watchdog against the two ways an
 * interrupt can land outside Z3's check (solver/engine.c, pv_engine.fired).
 *
 * The test binary defines Z3_solver_check itself, passing each call on to
 * Z3's, so that it can stall the engine thread at the worst moments: just
 * before the first certainty check (the first check of a verification on
 * a solver other than the one of its first check, counting only checks in
 * a scope) enters Z3, or just after it has left Z3. The stall outlasts the check's own limit, so
 * the watchdog interrupts while the engine thread is between check_begin and check_end but not
 * inside Z3:
 *
 *  - before: Z3 clears the cancel flag as a check starts, so a single
 *    interrupt is lost and a check with no answer runs on to the
 *    verification's deadline, taking the remaining rules with it;
 *  - after: the context stays cancelled, and Z3 then quietly drops the
 *    next question's assertion, so a rule that cannot break was reported.
 *
 * A stop asked for (pv_engine_interrupt, as when a call is cancelled)
 * just before Z3 enters a check must likewise be repeated.
 *
 * The stalls are hundreds of milliseconds against limits of about as much,
 * so a slow machine makes them no less certain to land.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <z3.h>

#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "support/fixture.h"
#include "support/verdicts.h"

/* What to do to the first certainty check of the next verification. */
static enum { STALL_NONE, STALL_BEFORE, STALL_AFTER, STOP_BEFORE } stall;
/* The check to act on: the first certainty check, or the second check on
 * the verification's first solver (after the background's). */
static bool on_main;
static unsigned main_checks;
static pv_engine *the_engine;
static unsigned stall_ms;
static Z3_solver first_solver; /* of the verification's first check */
static bool stalled;

Z3_lbool Z3_solver_check(Z3_context c, Z3_solver s);

Z3_lbool Z3_solver_check(Z3_context c, Z3_solver s)
{
    static Z3_lbool (*real)(Z3_context, Z3_solver);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "Z3_solver_check");
    /* The engine's checks all run in a scope; its empty solver (which
     * clears a stray cancel, and is checked once when a context is made)
     * has none, and is not one of them. */
    if (Z3_solver_get_num_scopes(c, s) == 0)
        return real(c, s);
    if (!first_solver)
        first_solver = s;
    bool target = on_main ? s == first_solver && ++main_checks == 2 : s != first_solver;
    bool now = stall != STALL_NONE && !stalled && target;
    if (now) {
        stalled = true;
        if (stall == STALL_BEFORE)
            usleep(stall_ms * 1000);
        else if (stall == STOP_BEFORE)
            pv_engine_interrupt(the_engine); /* its interrupt lands before Z3's check */
    }
    Z3_lbool r = real(c, s);
    if (now && stall == STALL_AFTER)
        usleep(stall_ms * 1000);
    return r;
}

static pv_verdict *verify_stalled(pv_engine *eng, const pv_spec *spec, const pv_plan *plan, int how,
                                  unsigned ms, unsigned timeout_ms)
{
    stall = how;
    stall_ms = ms;
    stalled = false;
    first_solver = NULL;
    main_checks = 0;
    /* The call's limit applies below the test suite's override. */
    pv_verify_opts o = {.no_quick = true, .timeout_ms = timeout_ms};
    pv_diags d = {0};
    pv_verdict *v = NULL;
    assert_int_equal(pv_engine_verify(eng, spec, plan, &o, &v, &d), PV_OK);
    pv_diags_clear(&d);
    assert_true(stalled); /* the stall happened: a certainty check ran */
    stall = STALL_NONE;
    return v;
}

/*
 * small (y <= 5) can break, so whether it must is asked with a limit of a
 * quarter of what is left (about 250 ms); the check answers at once, then
 * the engine thread stalls 400 ms before leaving it, and the watchdog
 * interrupts in between. whole (x <= 10) can never break: after the
 * stray interrupt it must still be proven, not reported.
 */
static void test_interrupt_after_the_check(void **state)
{
    pv_engine *eng = *state;
    pv_spec *spec =
        pvt_spec_from_text("t.yaml",
                           "spec: late\nversion: v\n"
                           "tools:\n  t: {args: {x: {type: int, min: 0, max: 10}, "
                           "y: {type: int, min: 0, max: 10}}}\n"
                           "invariants:\n"
                           "  - {id: small, on: t, action: block, assert: \"args.y <= 5\"}\n"
                           "  - {id: whole, on: t, action: block, assert: \"args.x <= 10\"}\n");
    pv_plan *plan = pvt_plan_from_text(spec, PVT_XY_UNKNOWN_PLAN);
    pv_verdict *v = verify_stalled(eng, spec, plan, STALL_AFTER, 400, 1000);
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->n_findings, 1);
    const pv_finding *f = &v->findings[0];
    assert_string_equal(f->rule, "small");
    assert_false(f->certain);
    const pv_value *y = pvt_witness_get(f, "steps[0].args.y");
    assert_non_null(y);
    assert_true(y->u.i > 5 && y->u.i <= 10);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * r breaks easily, but whether it can hold asks for an x below 10^15 with
 * six remainders, which Z3 cannot settle. Its limit (about 300 ms) runs
 * out while the engine thread stalls 400 ms before entering Z3; the
 * watchdog must interrupt again once Z3 has started, so that rule small
 * still gets the rest of the budget rather than solver_unknown.
 */
static void test_interrupt_before_the_check(void **state)
{
    pv_engine *eng = *state;
    pv_spec *spec = pvt_spec_from_text("t.yaml", PVT_HARD_THEN_SMALL_SPEC);
    pv_plan *plan = pvt_plan_from_text(spec, PVT_XY_UNKNOWN_PLAN);
    pv_verdict *v = verify_stalled(eng, spec, plan, STALL_BEFORE, 400, 1200);
    pvt_assert_hard_then_small(v);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

/*
 * The call is cancelled just as a question Z3 cannot settle is about to
 * enter Z3: whether some x below 10^15 has six given remainders, asked
 * with no limit but the verification's 20 s. That interrupt is lost, and
 * the watchdog must interrupt again, so the verification ends at once as
 * stopped; were it not, it would end when the budget ran out, with the
 * time limit as its reason.
 */
static void test_stop_before_the_check(void **state)
{
    pv_engine *eng = *state;
    pv_spec *spec = pvt_spec_from_text(
        "t.yaml",
        "spec: stopped\nversion: v\n"
        "tools:\n  t: {args: {x: int}}\n"
        "invariants:\n"
        "  - {id: r, on: t, action: block, assert: \"!(" PVT_HARD_X_COND ")\"}\n");
    pv_plan *plan = pvt_plan_from_text(spec, "steps:\n  - {tool: t, args: {x: {unknown: true}}}\n");
    the_engine = eng;
    on_main = true;
    pv_verdict *v = verify_stalled(eng, spec, plan, STOP_BEFORE, 0, 20000);
    on_main = false;
    assert_int_equal(v->decision, PV_ACT_HALT);
    assert_int_equal(v->n_findings, 1);
    assert_string_equal(v->findings[0].rule, "solver_unknown");
    assert_string_equal(v->findings[0].message,
                        "the solver could not decide 'r' at step 0: the verification was stopped");
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_spec_free(spec);
}

static int setup(void **state)
{
    pv_engine *eng = NULL;
    if (pv_engine_new(&eng) != PV_OK)
        return -1;
    *state = eng;
    return 0;
}

static int teardown(void **state)
{
    pv_engine_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interrupt_after_the_check),
        cmocka_unit_test(test_interrupt_before_the_check),
        cmocka_unit_test(test_stop_before_the_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
