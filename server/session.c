/*
 * session.c - the state of a runtime Session: the plan being run, what has
 * run so far with its actual results, and a fresh verdict over the rest
 * after every message. The stream mechanics live in serve.c.
 *
 * The plan is kept as a document tree; each message edits the tree (a
 * result filled in, a remainder replaced) and the plan is loaded and
 * verified again, so a session's plan is validated exactly as a Verify
 * request is.
 */
#include "session.h"

#include "pv_plan.h"

#include <stdlib.h>
#include <string.h>

struct pv_session {
    const pv_spec *spec;
    pv_doc *doc;     /* {spec, id, initial_state, steps} */
    size_t executed; /* steps reported run */
    int safe_prefix; /* of the last verdict sent */
    bool deviated;
    int deviation_step;
    char *deviation;       /* what differed */
    pv_engine_session *es; /* the executed prefix's solver state */
};

pv_session *pv_session_new(void)
{
    return pv_xcalloc(1, sizeof(pv_session));
}

void pv_session_free(pv_session *s)
{
    if (!s)
        return;
    pv_doc_free(s->doc);
    pv_engine_session_free(s->es);
    free(s->deviation);
    free(s);
}

static pv_node *steps_of(pv_session *s)
{
    return (pv_node *)pv_node_get(s->doc->root, "steps");
}

/* A verdict with one plan_deviation finding: halt, certain. */
static pv_verdict *deviation_verdict(pv_session *s, const pv_plan *plan)
{
    pv_verdict *v = pv_verdict_new(s->spec, plan);
    const char *tool = NULL;
    const pv_node *steps = steps_of(s);
    if (s->deviation_step >= 0 && (size_t)s->deviation_step < steps->n) {
        const pv_node *t = pv_node_get(steps->items[s->deviation_step], "tool");
        tool = t && t->str.ptr ? t->str.ptr : NULL;
    }
    pv_finding *f = pv_verdict_add(v,
                                   "plan_deviation",
                                   PV_K_DEVIATION,
                                   s->deviation_step,
                                   tool,
                                   PV_ACT_HALT,
                                   NULL,
                                   true,
                                   pv_xstrdup(s->deviation));
    f->chain = pv_xcalloc(1, sizeof(int));
    f->chain[0] = s->deviation_step;
    f->n_chain = 1;
    v->decision = PV_ACT_HALT;
    v->safe_prefix = (int)s->executed;
    return v;
}

static void deviate(pv_session *s, int step, char *msg)
{
    s->deviated = true;
    s->deviation_step = step;
    free(s->deviation);
    s->deviation = msg;
}

/* Load the session's plan and verify it given what has run. */
static int reverify(pv_session *s, pv_engine *eng, const pv_verify_opts *opts, pv_verdict **out,
                    pv_diags *d)
{
    pv_plan *plan = NULL;
    int rc = pv_plan_from_node(s->spec, s->doc, s->doc->root, &plan, d);
    if (rc != PV_OK)
        return rc;
    pv_verdict *v = NULL;
    if (s->deviated) {
        v = deviation_verdict(s, plan);
    } else {
        /* A session stays on the worker (and engine) that took its call. */
        if (!s->es)
            s->es = pv_engine_session_new(eng);
        rc = pv_engine_verify_session(s->es, s->spec, plan, s->executed, opts, &v, d);
    }
    pv_plan_free(plan);
    if (rc == PV_OK) {
        s->safe_prefix = v->safe_prefix;
        *out = v;
    }
    return rc;
}

/* The result map of an executed step as a node, from the message. */
static pv_node *result_node(const Planverify__V1__StepExecuted *ex)
{
    /* Reuse the request converter: a one-step request carries the map. */
    Planverify__V1__Step step = PLANVERIFY__V1__STEP__INIT;
    step.n_result = ex->n_result;
    /* protobuf-c map entries all have the layout {base, key, value}. */
    step.result = (Planverify__V1__Step__ResultEntry **)(void *)ex->result;
    step.has_result = true;
    step.tool = (char *)"";
    step.id = (char *)"";
    Planverify__V1__Step *steps[1] = {&step};
    pv_node *seq = pv_proto_steps_to_node(1, steps);
    pv_node *res = pv_node_copy(pv_node_get(seq->items[0], "result"));
    pv_node_free(seq);
    return res;
}

/* The call as made, as a {tool, args} node, for comparison. */
static bool same_call(const pv_node *approved, const Planverify__V1__Step *call, char **why)
{
    Planverify__V1__Step copy = *call;
    copy.n_result = 0;
    copy.result = NULL;
    copy.has_result = false;
    Planverify__V1__Step *steps[1] = {&copy};
    pv_node *seq = pv_proto_steps_to_node(1, steps);
    const pv_node *made = seq->items[0];
    const pv_node *t1 = pv_node_get(approved, "tool"), *t2 = pv_node_get(made, "tool");
    const pv_node *a1 = pv_node_get(approved, "args"), *a2 = pv_node_get(made, "args");
    pv_node *empty = pv_node_new_map();
    bool same = true;
    if (!pv_node_equal(t1, t2)) {
        *why = pv_xasprintf("the approved step calls '%s', but '%s' ran",
                            t1 ? t1->str.ptr : "",
                            t2 ? t2->str.ptr : "");
        same = false;
    } else if (!pv_node_equal(a1 ? a1 : empty, a2 ? a2 : empty)) {
        /* Name the first argument that differs. */
        const pv_node *am = a1 ? a1 : empty, *bm = a2 ? a2 : empty;
        const char *name = NULL;
        for (size_t i = 0; i < am->n && !name; i++) {
            const pv_node *other = pv_node_get(bm, am->keys[i]->str.ptr);
            if (!other || !pv_node_equal(am->items[i], other))
                name = am->keys[i]->str.ptr;
        }
        for (size_t i = 0; i < bm->n && !name; i++)
            if (!pv_node_get(am, bm->keys[i]->str.ptr))
                name = bm->keys[i]->str.ptr;
        *why = pv_xasprintf("the call to '%s' ran with other arguments than approved (args.%s "
                            "differs)",
                            t1 ? t1->str.ptr : "",
                            name ? name : "?");
        same = false;
    }
    pv_node_free(empty);
    pv_node_free(seq);
    return same;
}

int pv_session_handle(pv_session *s, const pv_specset *specs, pv_engine *eng,
                      const Planverify__V1__SessionRequest *req, const pv_verify_opts *opts,
                      pv_verdict **out, const pv_spec **spec_out, pv_session_error *err)
{
    *out = NULL;
    err->status = PV_SESSION_OK;
    err->message = NULL;
    pv_diags d = {0};
    int rc = PV_OK;
    pv_node *prev_result = NULL; /* to undo a reported result that does not fit */
    switch (req->kind_case) {
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_START: {
        if (s->doc) {
            err->status = PV_SESSION_INVALID;
            err->message = pv_xstrdup("the session has already started; send executed or revise");
            return PV_EINPUT;
        }
        const Planverify__V1__VerifyRequest *start = req->start;
        const pv_spec *spec =
            start->spec && start->spec[0] ? pv_specset_find(specs, start->spec) : NULL;
        if (!spec) {
            err->status = PV_SESSION_NOT_FOUND;
            err->message = pv_xasprintf("no spec '%s' is loaded", start->spec ? start->spec : "");
            return PV_ENOTFOUND;
        }
        if ((start->version && start->version[0] && strcmp(start->version, spec->version)) ||
            (start->digest && start->digest[0] && strcmp(start->digest, spec->digest))) {
            err->status = PV_SESSION_NOT_FOUND;
            err->message = pv_xasprintf("spec '%s' is loaded at version '%s' (%s), not the one "
                                        "pinned",
                                        spec->id,
                                        spec->version,
                                        spec->digest);
            return PV_ENOTFOUND;
        }
        s->spec = spec;
        s->doc = pv_proto_request_to_doc(start);
        break;
    }
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_EXECUTED: {
        if (!s->doc) {
            err->status = PV_SESSION_INVALID;
            err->message = pv_xstrdup("the first message of a session must be start");
            return PV_EINPUT;
        }
        const Planverify__V1__StepExecuted *ex = req->executed;
        pv_node *steps = steps_of(s);
        if (s->deviated)
            break; /* the verdict stays halt */
        if (ex->index < 0 || (size_t)ex->index != s->executed) {
            deviate(s,
                    ex->index < 0 ? 0 : ex->index,
                    pv_xasprintf("step %d was reported run, but step %zu is the next step of the "
                                 "plan",
                                 ex->index,
                                 s->executed));
            break;
        }
        if ((size_t)ex->index >= steps->n) {
            deviate(s,
                    ex->index,
                    pv_xasprintf("step %d was reported run, but the plan has %zu steps",
                                 ex->index,
                                 steps->n));
            break;
        }
        if (ex->index >= s->safe_prefix) {
            deviate(s,
                    ex->index,
                    pv_xasprintf("step %d ran although the last verdict allowed only %d step%s "
                                 "(safe_prefix)",
                                 ex->index,
                                 s->safe_prefix,
                                 s->safe_prefix == 1 ? "" : "s"));
            break;
        }
        char *why = NULL;
        if (ex->call && !same_call(steps->items[ex->index], ex->call, &why)) {
            deviate(s, ex->index, why);
            break;
        }
        /* The actual result replaces the planned one; an empty map leaves
         * it as it was (a tool with no result fields). */
        if (ex->n_result > 0) {
            const pv_node *before = pv_node_get(steps->items[ex->index], "result");
            prev_result = before ? pv_node_copy(before) : pv_node_new_null();
            pv_node_map_set(steps->items[ex->index], "result", result_node(ex));
        }
        s->executed++;
        break;
    }
    case PLANVERIFY__V1__SESSION_REQUEST__KIND_REVISE: {
        if (!s->doc) {
            err->status = PV_SESSION_INVALID;
            err->message = pv_xstrdup("the first message of a session must be start");
            return PV_EINPUT;
        }
        if (s->deviated)
            break;
        pv_node *steps = steps_of(s);
        for (size_t i = s->executed; i < steps->n; i++)
            pv_node_free(steps->items[i]);
        steps->n = s->executed;
        pv_node *fresh = pv_proto_steps_to_node(req->revise->n_steps, req->revise->steps);
        for (size_t i = 0; i < fresh->n; i++)
            pv_node_seq_add(steps, fresh->items[i]);
        fresh->n = 0;
        pv_node_free(fresh);
        break;
    }
    default:
        err->status = PV_SESSION_INVALID;
        err->message = pv_xstrdup("a SessionRequest must carry start, executed or revise");
        return PV_EINPUT;
    }
    rc = reverify(s, eng, opts, out, &d);
    if (rc != PV_OK && req->kind_case == PLANVERIFY__V1__SESSION_REQUEST__KIND_EXECUTED &&
        d.n > 0) {
        /* The plan loaded and verified before this message, whose only
         * change is the actual result: a result outside the tool's declared
         * bounds or contradicting its `ensures` means the run is not what
         * the plan was approved under. */
        deviate(s,
                (int)s->executed - 1,
                pv_xasprintf("the reported result does not fit the spec: %s", d.items[0].msg));
        pv_diags_clear(&d);
        if (prev_result) {
            /* Keep the plan as approved, so later verdicts can load it. */
            pv_node_map_set(steps_of(s)->items[s->executed - 1], "result", prev_result);
            prev_result = NULL;
        }
        rc = reverify(s, eng, opts, out, &d);
    }
    pv_node_free(prev_result);
    if (rc != PV_OK) {
        size_t len = 1;
        for (size_t i = 0; i < d.n; i++)
            len += strlen(d.items[i].msg) + 2;
        err->message = pv_xmalloc(len);
        err->message[0] = '\0';
        for (size_t i = 0; i < d.n; i++) {
            if (i)
                strcat(err->message, "; ");
            strcat(err->message, d.items[i].msg);
        }
        err->status = PV_SESSION_INVALID;
    }
    pv_diags_clear(&d);
    *spec_out = s->spec;
    return rc;
}

size_t pv_session_executed(const pv_session *s)
{
    return s->executed;
}
