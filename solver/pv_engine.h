/*
 * pv_engine.h - the path engine: encodes a plan over a spec as SMT
 * constraints in Z3 (one copy of the state per step) and searches for
 * assignments of the unknowns under which a rule breaks.
 *
 * An engine owns one Z3 context and solver. A context is not thread-safe
 * and costs milliseconds to create, so each thread creates one engine and
 * reuses it for every plan; specs need no registration.
 */
#ifndef PV_ENGINE_H
#define PV_ENGINE_H

#include "pv_verdict.h"

typedef struct pv_engine pv_engine;

typedef struct pv_verify_opts {
    /* Send every check to the solver, even those that simplify to a
     * constant, and never take a shortcut (for testing the encoding against
     * the concrete evaluator). */
    bool force_solver;
    /* Do not hand fully known plans to the concrete evaluator (the shortcut
     * that skips Z3 when nothing is unknown); for tests of the Z3 path. */
    bool no_fast_path;
    /* Do not try the quick path (pv_quick.h: interval bounds and sample
     * runs) before the solver for plans with unknowns; for tests that hold
     * the two to the same verdicts, and for measuring the solver. */
    bool no_quick;
    /* Upper bound on solver time for this verification in ms; 0 uses the
     * spec's limits.solver_timeout_ms. The smaller of the two applies. */
    unsigned timeout_ms;
    /* Do not compute witnesses (saves model construction). */
    bool no_witness;
    /* Called before each solver query; returning true abandons the
     * verification, which then ends in solver_unknown ("stopped"). Lets a
     * server stop work for a call its client cancelled. May be NULL. */
    bool (*should_stop)(void *ctx);
    void *stop_ctx;
    /* Steps before this index have already run (a runtime session): they
     * are encoded, with their actual results, but no rule is checked at
     * them, since their findings would be history. */
    size_t from_step;
} pv_verify_opts;

/* Create an engine. Returns PV_OK, or PV_EIO when Z3 cannot be set up. */
int pv_engine_new(pv_engine **out);
void pv_engine_free(pv_engine *eng);

/*
 * Verify plan against spec. On success returns PV_OK with *out set; the
 * verdict says allow only when the solver proved that no assignment of the
 * unknowns breaks any rule (a solver that cannot decide within the limits
 * yields the solver_unknown failure mode). Returns PV_EINPUT, with a
 * diagnostic naming the step and field, when the plan contradicts itself:
 * a given result that breaks its tool's `ensures`, a referenced value
 * outside the argument's bounds, an initial state that breaks an `always`
 * invariant.
 */
int pv_engine_verify(pv_engine *eng, const pv_spec *spec, const pv_plan *plan,
                     const pv_verify_opts *opts, pv_verdict **out, pv_diags *diags);

/*
 * Runtime sessions: the same verification for a plan whose first `executed`
 * steps have run (their actual results are in the plan), reusing the solver
 * state of the executed prefix across calls instead of encoding it again.
 * Findings at executed steps are dropped (pv_verdict_finish_from). A session
 * belongs to one engine and one thread; the plan's executed steps must not
 * change between calls (their results only get filled in as they run).
 */
typedef struct pv_engine_session pv_engine_session;
pv_engine_session *pv_engine_session_new(pv_engine *eng);
void pv_engine_session_free(pv_engine_session *es);
int pv_engine_verify_session(pv_engine_session *es, const pv_spec *spec, const pv_plan *plan,
                             size_t executed, const pv_verify_opts *opts, pv_verdict **out,
                             pv_diags *diags);

/* Stop a running verification from another thread; it ends with
 * solver_unknown. Safe to call at any time. */
void pv_engine_interrupt(pv_engine *eng);

#endif
