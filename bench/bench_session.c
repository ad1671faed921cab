/*
 * bench_session.c - Session step latency against a fresh Verify of the same
 * remaining plan, in process (no network), on the bundled support-refunds
 * spec.
 *
 *   bench_session [--steps N] [--reps R]
 *
 * A session runs a plan of N steps (a support conversation whose lookups
 * return unknown results and whose refunds refer to them). After each
 * reported step, the time of the session's fresh verdict is compared with
 * that of a stand-alone verification of the same plan with the executed
 * results filled in. Prints medians per step and overall; asserts nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "proto_conv.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A conversation of n steps: lookup (unknown result), reply, refund of a
 * small literal amount, repeated. */
static char *make_plan(size_t n)
{
    size_t cap = 256 + n * 160;
    char *buf = malloc(cap);
    size_t o = (size_t)snprintf(buf, cap, "spec: support-refunds\nid: bench\nsteps:\n");
    for (size_t i = 0; i < n; i++) {
        size_t k = i / 3;
        if (i % 3 == 0)
            o += (size_t)snprintf(buf + o,
                                  cap - o,
                                  "  - {id: o%zu, tool: lookup_order, args: {order_id: A%zu}}\n",
                                  k,
                                  k);
        else if (i % 3 == 1)
            o += (size_t)snprintf(
                buf + o, cap - o, "  - {tool: send_customer_message, args: {body: ok}}\n");
        else
            o += (size_t)snprintf(
                buf + o, cap - o, "  - {tool: create_return_label, args: {order_id: A%zu}}\n", k);
    }
    return buf;
}

/* The result a lookup reports. */
static Planverify__V1__SessionRequest *executed_msg(size_t index, bool lookup)
{
    Planverify__V1__SessionRequest *r = calloc(1, sizeof *r);
    planverify__v1__session_request__init(r);
    Planverify__V1__StepExecuted *ex = calloc(1, sizeof *ex);
    planverify__v1__step_executed__init(ex);
    ex->index = (int32_t)index;
    r->kind_case = PLANVERIFY__V1__SESSION_REQUEST__KIND_EXECUTED;
    r->executed = ex;
    if (!lookup)
        return r;
    static const char *names[] = {"amount", "age_days", "status", "email"};
    ex->n_result = 4;
    ex->result = calloc(4, sizeof *ex->result);
    for (int f = 0; f < 4; f++) {
        Planverify__V1__StepExecuted__ResultEntry *e = calloc(1, sizeof *e);
        planverify__v1__step_executed__result_entry__init(e);
        e->key = (char *)names[f];
        e->value = calloc(1, sizeof *e->value);
        planverify__v1__value__init(e->value);
        if (f < 2) {
            e->value->kind_case = PLANVERIFY__V1__VALUE__KIND_INT_VALUE;
            e->value->int_value = f == 0 ? 40 : 3;
        } else {
            e->value->kind_case = PLANVERIFY__V1__VALUE__KIND_STRING_VALUE;
            e->value->string_value = (char *)(f == 2 ? "delivered" : "c@example.com");
        }
        ex->result[f] = e;
    }
    return r;
}

int main(int argc, char **argv)
{
    size_t steps = 12;
    int reps = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--steps") == 0)
            steps = (size_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
    }
    pv_specset set = {0};
    pv_diags d = {0};
    if (pv_specset_add_file(&set, "specs/support-refunds.yaml", &d) != PV_OK) {
        fprintf(stderr, "run from the source tree: specs/support-refunds.yaml did not load\n");
        return 2;
    }
    pv_engine *eng;
    pv_engine_new(&eng);
    char *text = make_plan(steps);
    pv_doc *doc;
    pv_doc_parse("bench", text, strlen(text), &doc, &d);
    Planverify__V1__VerifyRequest *req;
    pv_proto_request_from_doc(doc, &req, &d);
    double *sess_t = calloc((size_t)reps * steps, sizeof(double));
    double *fresh_t = calloc((size_t)reps * steps, sizeof(double));
    size_t n_t = 0;
    pv_verify_opts opts = {0};
    for (int r = 0; r < reps; r++) {
        pv_session *sess = pv_session_new();
        Planverify__V1__SessionRequest start = PLANVERIFY__V1__SESSION_REQUEST__INIT;
        start.kind_case = PLANVERIFY__V1__SESSION_REQUEST__KIND_START;
        start.start = req;
        pv_verdict *v;
        const pv_spec *spec;
        pv_session_error err;
        pv_session_handle(sess, &set, eng, &start, &opts, &v, &spec, &err);
        pv_verdict_free(v);
        for (size_t i = 0; i + 1 < steps; i++) {
            Planverify__V1__SessionRequest *m = executed_msg(i, i % 3 == 0);
            double t0 = now_us();
            if (pv_session_handle(sess, &set, eng, m, &opts, &v, &spec, &err) != PV_OK) {
                fprintf(stderr, "session step %zu failed: %s\n", i, err.message);
                return 2;
            }
            double t1 = now_us();
            pv_verdict_free(v);
            /* The same remaining plan, verified from scratch: the plan file
             * with the results reported so far written in. */
            pv_plan *plan;
            pv_doc *fresh = pv_doc_from_root("fresh", pv_node_copy(doc->root));
            pv_node *st = (pv_node *)pv_node_get(fresh->root, "steps");
            for (size_t j = 0; j <= i; j += 3) {
                pv_node *res = pv_node_new_map();
                pv_node_map_add(res, "amount", pv_node_new_int(40));
                pv_node_map_add(res, "age_days", pv_node_new_int(3));
                pv_node_map_add(res, "status", pv_node_new_str("delivered", 9));
                pv_node_map_add(res, "email", pv_node_new_str("c@example.com", 13));
                pv_node_map_set(st->items[j], "result", res);
            }
            pv_plan_from_node(spec, fresh, fresh->root, &plan, &d);
            double t2 = now_us();
            pv_engine_verify(eng, spec, plan, &opts, &v, &d);
            double t3 = now_us();
            pv_verdict_free(v);
            pv_plan_free(plan);
            pv_doc_free(fresh);
            sess_t[n_t] = t1 - t0;
            fresh_t[n_t] = t3 - t2;
            n_t++;
            Planverify__V1__StepExecuted *ex = m->executed;
            for (size_t f = 0; f < ex->n_result; f++) {
                free(ex->result[f]->value);
                free(ex->result[f]);
            }
            free(ex->result);
            free(ex);
            free(m);
        }
        pv_session_free(sess);
    }
    qsort(sess_t, n_t, sizeof(double), cmp_double);
    qsort(fresh_t, n_t, sizeof(double), cmp_double);
    printf("| plan steps | session step p50 us | p90 us | fresh Verify p50 us | p90 us | "
           "ratio p50 |\n|---:|---:|---:|---:|---:|---:|\n");
    printf("| %zu | %.0f | %.0f | %.0f | %.0f | %.2f |\n",
           steps,
           sess_t[n_t / 2],
           sess_t[n_t * 9 / 10],
           fresh_t[n_t / 2],
           fresh_t[n_t * 9 / 10],
           sess_t[n_t / 2] / fresh_t[n_t / 2]);
    printf("\nA session step includes re-loading its plan tree; the fresh Verify is the "
           "engine alone.\n");
    free(sess_t);
    free(fresh_t);
    pv_proto_request_free(req);
    pv_doc_free(doc);
    free(text);
    pv_engine_free(eng);
    pv_specset_free(&set);
    return 0;
}
