/*
 * session.h - runtime sessions: a plan being run, step by step.
 */
#ifndef PV_SESSION_H
#define PV_SESSION_H

#include "cli.h"
#include "proto_conv.h"
#include "pv_engine.h"

typedef struct pv_session pv_session;

typedef enum pv_session_status {
    PV_SESSION_OK = 0,
    PV_SESSION_INVALID,  /* INVALID_ARGUMENT: ends the stream */
    PV_SESSION_NOT_FOUND /* NOT_FOUND: the spec of `start` is not loaded */
} pv_session_status;

typedef struct pv_session_error {
    pv_session_status status;
    char *message; /* names the step and field where it can; caller frees */
} pv_session_error;

pv_session *pv_session_new(void);
void pv_session_free(pv_session *s);

/*
 * Apply one message (start, executed or revise) and verify the plan again
 * given what has run. On PV_OK, *out is the verdict over the remaining
 * steps (findings at executed steps are dropped; safe_prefix counts from
 * the start of the plan) and *spec_out its spec. A step reported out of
 * order, beyond the last safe_prefix, made with another tool or other
 * arguments than approved, or whose result contradicts the tool's
 * `ensures`, turns the session into a deviation: this and every later
 * verdict is halt with rule plan_deviation. Otherwise errors fill err.
 */
int pv_session_handle(pv_session *s, const pv_specset *specs, pv_engine *eng,
                      const Planverify__V1__SessionRequest *req, const pv_verify_opts *opts,
                      pv_verdict **out, const pv_spec **spec_out, pv_session_error *err);

size_t pv_session_executed(const pv_session *s);

#endif
