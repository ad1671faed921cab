/*
 * serve.c - `planverify serve`: the gRPC service on the gRPC C core.
 *
 * Shape: N worker threads, each with its own completion queue and its own
 * engine (a Z3 context is not thread-safe). Every worker keeps one request
 * armed per registered method on its queue, so the server spreads calls
 * over the workers. A call's state is freed once both its send batch and
 * its RECV_CLOSE_ON_SERVER batch have completed.
 *
 * While a worker verifies, it cannot wait on its queue, so the engine asks
 * it before every solver query whether to stop; the worker then polls its
 * queue without blocking, keeps any other event for later, and stops when
 * the call's close arrives marked cancelled.
 *
 * Shutdown (SIGTERM or SIGINT): health turns NOT_SERVING, the server stops
 * accepting calls, in-flight calls finish within the grace period (then are
 * cancelled), and the process exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"
#include "proto_conv.h"
#include "wire.h"
#include "session.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum method {
    M_VERIFY,
    M_LIST_SPECS,
    M_GET_SPEC,
    M_HEALTH_CHECK,
    M_HEALTH_WATCH,
    M_SESSION,
    M__COUNT
};

static const char *const method_paths[M__COUNT] = {
    "/planverify.v1.PlanVerifier/Verify",
    "/planverify.v1.PlanVerifier/ListSpecs",
    "/planverify.v1.PlanVerifier/GetSpec",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/planverify.v1.PlanVerifier/Session",
};

/* Calls to methods nobody registered (answered UNIMPLEMENTED at once rather
 * than left to their deadline). */
#define M_UNKNOWN M__COUNT

/* Requests kept armed per worker and method (see worker_main). */
#define ARMED_VERIFY 1
#define ARMED_OTHER 8
/* Verify requests armed per worker when shutdown begins (see pv_cli_serve). */
#define ARMED_AT_SHUTDOWN 256

typedef enum ev_kind {
    EV_NEW,
    EV_SENT,
    EV_CLOSED,
    EV_WATCH_RECV,
    EV_WATCH_SENT,
    EV_SESS_RECV,
    EV_SESS_SENT
} ev_kind;

struct call;
typedef struct tag {
    struct call *call;
    ev_kind kind;
} tag;

typedef struct server server;
typedef struct worker worker;

typedef struct call {
    worker *w;
    enum method m;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details_unknown; /* M_UNKNOWN only */
    grpc_byte_buffer *payload;
    tag t_new, t_sent, t_closed, t_watch_recv, t_watch_sent, t_sess_recv, t_sess_sent;
    int cancelled;
    bool closed; /* RECV_CLOSE_ON_SERVER completed */
    int pending; /* batches started and not yet completed */
    grpc_byte_buffer *response;
    grpc_slice details;
    bool has_details;
    /* Health/Watch streams */
    grpc_byte_buffer *watch_msg;
    bool watch_sending;   /* a SEND_MESSAGE batch is in flight */
    bool watch_finishing; /* the server is stopping: end the stream */
    bool watch_final;     /* the batch in flight carries the status */
    bool watch_listed;    /* in the worker's list of watchers */
    struct call *next_watch;
    /* Session streams */
    pv_session *sess;
    grpc_byte_buffer *sess_msg;
    bool sess_counted;           /* counted in server.sessions */
    bool sess_waiting;           /* a RECV_MESSAGE is in flight */
    struct timespec sess_active; /* when the last message arrived */
    struct call *next_sess;
} call;

struct worker {
    server *srv;
    bool control; /* serves health, specs and unknown methods; no engine */
    int index;
    pthread_t thread;
    grpc_completion_queue *cq;
    pv_engine *engine;
    call *watches;
    call *sessions; /* this worker's open Session streams */
    /* events that arrived while a verification polled the queue */
    grpc_event *deferred;
    size_t n_deferred, cap_deferred;
    call *verifying; /* the call being verified, for the stop check */
    struct timespec last_poll;
    bool stopping; /* the server is shutting down: arm nothing new */
};

struct server {
    grpc_server *gs;
    pv_specset specs;
    worker *workers;
    int n_workers;
    void *methods[M__COUNT];
    atomic_int serving;   /* health: 1 once specs are loaded, 0 while stopping */
    atomic_long accepted; /* calls matched to a worker */
    atomic_long verdicts; /* Verify calls answered with a verdict */
    atomic_int sessions;  /* open Session streams */
    int max_sessions;
    int session_idle_ms;
    size_t max_request_bytes;
    size_t memory_budget;
    bool solver_only; /* --solver-only: no quick path (pv_quick.h) */
};

/* ------------------------------------------------------------------ */
/* a bounded allocator for decoding requests                          */

/*
 * An arena: protobuf-c's allocations for one request come from a few
 * chunks, released together once the request has been turned into a plan
 * (budget_release), instead of one malloc and free per string and
 * message. `limit` bounds the bytes handed out; past it the decoder gets
 * NULL and the call RESOURCE_EXHAUSTED.
 */
typedef struct budget_alloc {
    size_t used, limit;
    bool exhausted;
    char *chunks; /* the newest chunk; each starts with a pointer to the previous */
    size_t chunk_used, chunk_size;
} budget_alloc;

#define BUDGET_CHUNK 8192
#define BUDGET_ALIGN 16

static void *budget_malloc(void *data, size_t size)
{
    budget_alloc *b = data;
    if (size > b->limit - b->used) {
        b->exhausted = true;
        return NULL;
    }
    b->used += size;
    size = (size + BUDGET_ALIGN - 1) & ~(size_t)(BUDGET_ALIGN - 1);
    if (!b->chunks || size > b->chunk_size - b->chunk_used) {
        size_t cs = size + BUDGET_ALIGN > BUDGET_CHUNK ? size + BUDGET_ALIGN : BUDGET_CHUNK;
        char *c = malloc(cs);
        if (!c)
            return NULL;
        *(char **)c = b->chunks;
        b->chunks = c;
        b->chunk_size = cs;
        b->chunk_used = BUDGET_ALIGN;
    }
    void *p = b->chunks + b->chunk_used;
    b->chunk_used += size;
    return p;
}

static void budget_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* released with the whole arena */
}

static void budget_release(budget_alloc *b)
{
    while (b->chunks) {
        char *prev = *(char **)b->chunks;
        free(b->chunks);
        b->chunks = prev;
    }
    b->used = b->chunk_used = b->chunk_size = 0;
}

/* ------------------------------------------------------------------ */
/* calls                                                               */

static void arm(worker *w, enum method m)
{
    if (w->stopping)
        return;
    call *c = pv_xcalloc(1, sizeof *c);
    c->w = w;
    c->m = m;
    c->t_new = (tag){c, EV_NEW};
    c->t_sent = (tag){c, EV_SENT};
    c->t_closed = (tag){c, EV_CLOSED};
    c->t_watch_recv = (tag){c, EV_WATCH_RECV};
    c->t_watch_sent = (tag){c, EV_WATCH_SENT};
    c->t_sess_recv = (tag){c, EV_SESS_RECV};
    c->t_sess_sent = (tag){c, EV_SESS_SENT};
    grpc_metadata_array_init(&c->md);
    grpc_call_error e;
    if (m == M_UNKNOWN) {
        grpc_call_details_init(&c->details_unknown);
        e = grpc_server_request_call(
            w->srv->gs, &c->call, &c->details_unknown, &c->md, w->cq, w->cq, &c->t_new);
    } else {
        e = grpc_server_request_registered_call(w->srv->gs,
                                                w->srv->methods[m],
                                                &c->call,
                                                &c->deadline,
                                                &c->md,
                                                m == M_HEALTH_WATCH || m == M_SESSION ? NULL
                                                                                      : &c->payload,
                                                w->cq,
                                                w->cq,
                                                &c->t_new);
    }
    if (e != GRPC_CALL_OK) {
        grpc_metadata_array_destroy(&c->md);
        if (m == M_UNKNOWN)
            grpc_call_details_destroy(&c->details_unknown);
        free(c);
    }
}

static void session_unlink(call *c);

static void call_free(call *c)
{
    if (c->sess || c->sess_counted) {
        session_unlink(c);
        pv_session_free(c->sess);
        if (c->sess_counted)
            atomic_fetch_sub(&c->w->srv->sessions, 1);
    }
    if (c->sess_msg)
        grpc_byte_buffer_destroy(c->sess_msg);
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    if (c->m == M_UNKNOWN)
        grpc_call_details_destroy(&c->details_unknown);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->response)
        grpc_byte_buffer_destroy(c->response);
    if (c->watch_msg)
        grpc_byte_buffer_destroy(c->watch_msg);
    if (c->has_details)
        grpc_slice_unref(c->details);
    free(c);
}

static void maybe_free(call *c)
{
    if (c->pending == 0)
        call_free(c);
}

static void start_recv_close(call *c)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_closed, NULL) == GRPC_CALL_OK)
        c->pending++;
}

static grpc_byte_buffer *bytes_message(const char *buf, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer(buf, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* A verdict as a Verdict message, encoded directly (wire.c). */
static grpc_byte_buffer *verdict_message(const pv_spec *spec, const pv_verdict *v, int32_t executed)
{
    pv_buf out = {0};
    pv_wire_verdict(spec, v, executed, &out);
    grpc_byte_buffer *bb = bytes_message(out.ptr, out.len);
    free(out.ptr);
    return bb;
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = pv_xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    free(buf);
    return bb;
}

/* Finish a unary call: the response (or none) and a status. Takes
 * ownership of response. */
static void finish(call *c, grpc_byte_buffer *response, grpc_status_code status,
                   const char *details)
{
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
    if (response) {
        c->response = response;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = response;
        n++;
    }
    c->details = grpc_slice_from_copied_string(details ? details : "");
    c->has_details = true;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details = details ? &c->details : NULL;
    n++;
    if (grpc_call_start_batch(c->call, ops, n, &c->t_sent, NULL) == GRPC_CALL_OK)
        c->pending++;
}

/* The request payload as one contiguous buffer (caller frees). */
static uint8_t *read_payload(call *c, size_t *len)
{
    *len = 0;
    if (!c->payload)
        return NULL;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, c->payload))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    *len = GRPC_SLICE_LENGTH(s);
    uint8_t *buf = pv_xmalloc(*len ? *len : 1);
    memcpy(buf, GRPC_SLICE_START_PTR(s), *len);
    grpc_slice_unref(s);
    return buf;
}

/* ------------------------------------------------------------------ */
/* stop checks during a verification                                   */

static void defer_event(worker *w, grpc_event ev)
{
    pv_grow(&w->deferred, &w->cap_deferred, w->n_deferred + 1, sizeof(grpc_event));
    w->deferred[w->n_deferred++] = ev;
}

/* Polls the worker's queue (at most every millisecond) and reports
 * whether the call being verified was cancelled. */
static bool verify_should_stop(void *ctx)
{
    worker *w = ctx;
    call *c = w->verifying;
    if (!c)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long us =
        (now.tv_sec - w->last_poll.tv_sec) * 1000000L + (now.tv_nsec - w->last_poll.tv_nsec) / 1000;
    if (us < 1000)
        return c->closed && c->cancelled;
    w->last_poll = now;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        tag *t = ev.tag;
        if (t->call == c && t->kind == EV_CLOSED) {
            c->closed = true;
            c->pending--;
            continue;
        }
        defer_event(w, ev);
    }
    return c->closed && c->cancelled;
}

/* ------------------------------------------------------------------ */
/* handlers                                                            */

static char *join_diags(const pv_diags *d)
{
    size_t len = 1;
    for (size_t i = 0; i < d->n; i++)
        len += strlen(d->items[i].msg) + 2;
    char *s = pv_xmalloc(len);
    s[0] = '\0';
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            strcat(s, "; ");
        strcat(s, d->items[i].msg);
    }
    return s;
}

/* Verification options for a call: the solver gets what is left of the
 * call's deadline less a margin, so there is time to answer; and it stops
 * when the client cancels. */
static pv_verify_opts call_opts(call *c)
{
    pv_verify_opts opts = {0};
    gpr_timespec left = gpr_time_sub(gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC),
                                     gpr_now(GPR_CLOCK_MONOTONIC));
    if (gpr_time_cmp(left, gpr_time_from_seconds(3600, GPR_TIMESPAN)) < 0) {
        int64_t ms = gpr_time_to_millis(left);
        int64_t margin = ms / 10 > 5 ? ms / 10 : 5;
        opts.timeout_ms = ms - margin > 1 ? (unsigned)(ms - margin) : 1;
    }
    opts.should_stop = verify_should_stop;
    opts.stop_ctx = c->w;
    opts.no_quick = c->w->srv->solver_only;
    return opts;
}

static void handle_verify(call *c)
{
    worker *w = c->w;
    server *srv = w->srv;
    size_t len;
    uint8_t *buf = read_payload(c, &len);
    /* The direct decoder takes the common case; protobuf-c the rest (and
     * says what is wrong with a bad request). */
    pv_wire_request wr;
    budget_alloc ba = {.limit = srv->memory_budget};
    Planverify__V1__VerifyRequest *req = NULL;
    pv_doc *doc = NULL;
    const char *req_spec, *req_version, *req_digest;
    if (pv_wire_request_to_doc(buf ? buf : (const uint8_t *)"", len, srv->memory_budget, &wr)) {
        doc = wr.doc;
        req_spec = wr.spec;
        req_version = wr.version;
        req_digest = wr.digest;
    } else {
        ProtobufCAllocator alloc = {budget_malloc, budget_free, &ba};
        req = planverify__v1__verify_request__unpack(&alloc, len, buf);
        if (!req) {
            free(buf);
            budget_release(&ba);
            if (ba.exhausted)
                finish(c,
                       NULL,
                       GRPC_STATUS_RESOURCE_EXHAUSTED,
                       "the request needs more memory to decode than the per-request limit");
            else
                finish(c,
                       NULL,
                       GRPC_STATUS_INVALID_ARGUMENT,
                       "the request is not a valid planverify.v1.VerifyRequest");
            return;
        }
        req_spec = req->spec ? req->spec : "";
        req_version = req->version ? req->version : "";
        req_digest = req->digest ? req->digest : "";
    }
    free(buf);
    const pv_spec *spec = req_spec[0] ? pv_specset_find(&srv->specs, req_spec) : NULL;
    char *msg = NULL;
    grpc_status_code status = GRPC_STATUS_OK;
    if (!req_spec[0]) {
        status = GRPC_STATUS_INVALID_ARGUMENT;
        msg = pv_xstrdup("field spec: the request names no spec");
    } else if (!spec) {
        status = GRPC_STATUS_NOT_FOUND;
        msg = pv_xasprintf("no spec '%s' is loaded", req_spec);
    } else if (req_version[0] && strcmp(req_version, spec->version) != 0) {
        status = GRPC_STATUS_NOT_FOUND;
        msg = pv_xasprintf(
            "spec '%s' is loaded at version '%s', not '%s'", spec->id, spec->version, req_version);
    } else if (req_digest[0] && strcmp(req_digest, spec->digest) != 0) {
        status = GRPC_STATUS_NOT_FOUND;
        msg = pv_xasprintf(
            "spec '%s' is loaded with digest %s, not %s", spec->id, spec->digest, req_digest);
    }
    if (status != GRPC_STATUS_OK) {
        budget_release(&ba);
        pv_doc_free(doc);
        finish(c, NULL, status, msg);
        free(msg);
        return;
    }
    if (req) {
        doc = pv_proto_request_to_doc(req);
        budget_release(&ba);
    }
    pv_diags d = {0};
    pv_plan *plan = NULL;
    pv_verdict *v = NULL;
    int rc = pv_plan_from_node(spec, doc, doc->root, &plan, &d);
    if (rc == PV_OK) {
        pv_verify_opts opts = call_opts(c);
        w->verifying = c;
        clock_gettime(CLOCK_MONOTONIC, &w->last_poll);
        rc = pv_engine_verify(w->engine, spec, plan, &opts, &v, &d);
        w->verifying = NULL;
    }
    if (c->closed && c->cancelled) {
        /* Nobody is waiting for the answer. */
        finish(c, NULL, GRPC_STATUS_CANCELLED, "cancelled");
    } else if (rc != PV_OK) {
        char *m = join_diags(&d);
        finish(c, NULL, GRPC_STATUS_INVALID_ARGUMENT, m);
        free(m);
    } else {
        finish(c, verdict_message(spec, v, 0), GRPC_STATUS_OK, NULL);
        atomic_fetch_add(&srv->verdicts, 1);
    }
    pv_diags_clear(&d);
    pv_verdict_free(v);
    pv_plan_free(plan);
    pv_doc_free(doc);
}

static void fill_spec_info(Planverify__V1__SpecInfo *info, const pv_spec *s, bool source)
{
    planverify__v1__spec_info__init(info);
    info->id = s->id;
    info->version = s->version;
    info->digest = (char *)s->digest;
    info->description = s->description ? s->description : "";
    info->source = source ? s->source : "";
}

static void handle_list_specs(call *c)
{
    server *srv = c->w->srv;
    Planverify__V1__ListSpecsResponse resp;
    planverify__v1__list_specs_response__init(&resp);
    Planverify__V1__SpecInfo *infos = pv_xcalloc(srv->specs.n + 1, sizeof *infos);
    Planverify__V1__SpecInfo **ptrs = pv_xcalloc(srv->specs.n + 1, sizeof *ptrs);
    for (size_t i = 0; i < srv->specs.n; i++) {
        fill_spec_info(&infos[i], srv->specs.specs[i], false);
        ptrs[i] = &infos[i];
    }
    resp.n_specs = srv->specs.n;
    resp.specs = ptrs;
    finish(c, pack_message(&resp.base), GRPC_STATUS_OK, NULL);
    free(infos);
    free(ptrs);
}

static void handle_get_spec(call *c)
{
    server *srv = c->w->srv;
    size_t len;
    uint8_t *buf = read_payload(c, &len);
    Planverify__V1__GetSpecRequest *req = planverify__v1__get_spec_request__unpack(NULL, len, buf);
    free(buf);
    if (!req) {
        finish(c,
               NULL,
               GRPC_STATUS_INVALID_ARGUMENT,
               "the request is not a valid planverify.v1.GetSpecRequest");
        return;
    }
    const pv_spec *s = pv_specset_find(&srv->specs, req->id ? req->id : "");
    if (!s) {
        char *m = pv_xasprintf("no spec '%s' is loaded", req->id ? req->id : "");
        finish(c, NULL, GRPC_STATUS_NOT_FOUND, m);
        free(m);
    } else {
        Planverify__V1__SpecInfo info;
        fill_spec_info(&info, s, true);
        finish(c, pack_message(&info.base), GRPC_STATUS_OK, NULL);
    }
    planverify__v1__get_spec_request__free_unpacked(req, NULL);
}

/* The health of a service name, or -1 when the name is not ours. */
static int health_of(server *srv, const char *service)
{
    if (service && service[0] && strcmp(service, "planverify.v1.PlanVerifier") != 0)
        return -1;
    return atomic_load(&srv->serving)
               ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
               : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static grpc_byte_buffer *health_message(int status)
{
    Grpc__Health__V1__HealthCheckResponse resp;
    grpc__health__v1__health_check_response__init(&resp);
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    return pack_message(&resp.base);
}

static void handle_health_check(call *c)
{
    size_t len;
    uint8_t *buf = read_payload(c, &len);
    Grpc__Health__V1__HealthCheckRequest *req =
        grpc__health__v1__health_check_request__unpack(NULL, len, buf);
    free(buf);
    if (!req) {
        finish(c, NULL, GRPC_STATUS_INVALID_ARGUMENT, "not a grpc.health.v1.HealthCheckRequest");
        return;
    }
    int st = health_of(c->w->srv, req->service);
    if (st < 0) {
        char *m = pv_xasprintf("unknown service '%s'", req->service);
        finish(c, NULL, GRPC_STATUS_NOT_FOUND, m);
        free(m);
    } else
        finish(c, health_message(st), GRPC_STATUS_OK, NULL);
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
}

/* Health/Watch: read the request, then send the status now and whenever it
 * changes, until the client goes away or the server stops. */
static void watch_start(call *c)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &c->watch_msg;
    if (grpc_call_start_batch(c->call, ops, 2, &c->t_watch_recv, NULL) == GRPC_CALL_OK)
        c->pending++;
}

static void watch_send(call *c, int status, bool last)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (c->response)
        grpc_byte_buffer_destroy(c->response);
    c->response = health_message(status);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->response;
    n++;
    if (last) {
        c->details = grpc_slice_from_copied_string("the server is shutting down");
        c->has_details = true;
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = GRPC_STATUS_UNAVAILABLE;
        ops[n].data.send_status_from_server.status_details = &c->details;
        n++;
    }
    if (grpc_call_start_batch(c->call, ops, n, &c->t_watch_sent, NULL) == GRPC_CALL_OK) {
        c->pending++;
        c->watch_sending = true;
        c->watch_final = last;
    }
}

static void watch_unlist(call *c)
{
    worker *w = c->w;
    for (call **p = &w->watches; *p; p = &(*p)->next_watch)
        if (*p == c) {
            *p = c->next_watch;
            break;
        }
    c->watch_listed = false;
}

static void watch_on_recv(call *c, bool ok)
{
    Grpc__Health__V1__HealthCheckRequest *req = NULL;
    if (ok && c->watch_msg) {
        grpc_byte_buffer_reader r;
        if (grpc_byte_buffer_reader_init(&r, c->watch_msg)) {
            grpc_slice s = grpc_byte_buffer_reader_readall(&r);
            grpc_byte_buffer_reader_destroy(&r);
            req = grpc__health__v1__health_check_request__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
            grpc_slice_unref(s);
        }
    }
    if (!req) {
        finish(c, NULL, GRPC_STATUS_INVALID_ARGUMENT, "not a grpc.health.v1.HealthCheckRequest");
        return;
    }
    int st = health_of(c->w->srv, req->service);
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    if (st < 0)
        st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    c->next_watch = c->w->watches;
    c->w->watches = c;
    c->watch_listed = true;
    c->watch_finishing = c->w->stopping;
    watch_send(c, st, c->watch_finishing);
}

/* Tell every watcher of this worker that the server is going away. */
static void watches_shutdown(worker *w)
{
    for (call *c = w->watches; c; c = c->next_watch) {
        if (c->watch_finishing || c->closed)
            continue;
        c->watch_finishing = true;
        if (!c->watch_sending)
            watch_send(
                c, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING, true);
    }
}

/* ------------------------------------------------------------------ */
/* Session streams                                                     */

static void session_unlink(call *c)
{
    for (call **p = &c->w->sessions; *p; p = &(*p)->next_sess)
        if (*p == c) {
            *p = c->next_sess;
            break;
        }
}

/* End a stream whose initial metadata has been sent. */
static void finish_stream(call *c, grpc_status_code status, const char *details)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    if (c->has_details)
        grpc_slice_unref(c->details);
    c->details = grpc_slice_from_copied_string(details ? details : "");
    c->has_details = true;
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = status;
    op.data.send_status_from_server.status_details = details ? &c->details : NULL;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_sent, NULL) == GRPC_CALL_OK)
        c->pending++;
}

static void session_recv(call *c, bool with_metadata)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (with_metadata)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &c->sess_msg;
    n++;
    if (grpc_call_start_batch(c->call, ops, n, &c->t_sess_recv, NULL) == GRPC_CALL_OK) {
        c->pending++;
        c->sess_waiting = true;
        clock_gettime(CLOCK_MONOTONIC, &c->sess_active);
    }
}

static void session_start(call *c)
{
    server *srv = c->w->srv;
    if (atomic_fetch_add(&srv->sessions, 1) >= srv->max_sessions) {
        atomic_fetch_sub(&srv->sessions, 1);
        char *m = pv_xasprintf("the server holds its limit of %d open sessions", srv->max_sessions);
        finish(c, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, m);
        free(m);
        return;
    }
    c->sess_counted = true;
    c->sess = pv_session_new();
    c->next_sess = c->w->sessions;
    c->w->sessions = c;
    session_recv(c, true);
}

static void session_on_recv(call *c, bool ok)
{
    worker *w = c->w;
    server *srv = w->srv;
    c->sess_waiting = false;
    if (!ok || !c->sess_msg) {
        /* The client closed its side (or the call is gone): the session
         * ends, and its state with it. */
        finish_stream(c, GRPC_STATUS_OK, NULL);
        return;
    }
    grpc_byte_buffer_reader r;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (grpc_byte_buffer_reader_init(&r, c->sess_msg)) {
        grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        len = GRPC_SLICE_LENGTH(sl);
        buf = pv_xmalloc(len ? len : 1);
        memcpy(buf, GRPC_SLICE_START_PTR(sl), len);
        grpc_slice_unref(sl);
    }
    grpc_byte_buffer_destroy(c->sess_msg);
    c->sess_msg = NULL;
    budget_alloc ba = {.limit = srv->memory_budget};
    ProtobufCAllocator alloc = {budget_malloc, budget_free, &ba};
    Planverify__V1__SessionRequest *req =
        buf ? planverify__v1__session_request__unpack(&alloc, len, buf) : NULL;
    free(buf);
    if (!req) {
        budget_release(&ba);
        finish_stream(c,
                      ba.exhausted ? GRPC_STATUS_RESOURCE_EXHAUSTED : GRPC_STATUS_INVALID_ARGUMENT,
                      ba.exhausted ? "the message needs more memory to decode than the limit"
                                   : "the message is not a valid planverify.v1.SessionRequest");
        return;
    }
    pv_verify_opts opts = call_opts(c);
    pv_verdict *v = NULL;
    const pv_spec *spec = NULL;
    pv_session_error err;
    w->verifying = c;
    clock_gettime(CLOCK_MONOTONIC, &w->last_poll);
    int rc = pv_session_handle(c->sess, &srv->specs, w->engine, req, &opts, &v, &spec, &err);
    w->verifying = NULL;
    budget_release(&ba);
    if (c->closed && c->cancelled) {
        pv_verdict_free(v);
        free(err.message);
        return; /* the client is gone; EV_CLOSED frees the call */
    }
    if (rc != PV_OK) {
        finish_stream(c,
                      err.status == PV_SESSION_NOT_FOUND ? GRPC_STATUS_NOT_FOUND
                                                         : GRPC_STATUS_INVALID_ARGUMENT,
                      err.message ? err.message : "bad session message");
        free(err.message);
        return;
    }
    if (c->response)
        grpc_byte_buffer_destroy(c->response);
    c->response = verdict_message(spec, v, (int32_t)pv_session_executed(c->sess));
    pv_verdict_free(v);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = c->response;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_sess_sent, NULL) == GRPC_CALL_OK)
        c->pending++;
}

/* Cancel this worker's sessions that have waited for a message longer than
 * the idle timeout; their state is freed when the cancellation completes. */
static void sweep_idle_sessions(worker *w)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (call *c = w->sessions; c; c = c->next_sess) {
        long ms = (now.tv_sec - c->sess_active.tv_sec) * 1000L +
                  (now.tv_nsec - c->sess_active.tv_nsec) / 1000000L;
        if (c->sess_waiting && ms > w->srv->session_idle_ms) {
            char *m =
                pv_xasprintf("the session was idle for more than %d ms", w->srv->session_idle_ms);
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED, m, NULL);
            free(m);
            c->sess_waiting = false; /* cancel once */
        }
    }
}

static void dispatch(worker *w, grpc_event ev)
{
    tag *t = ev.tag;
    call *c = t->call;
    switch (t->kind) {
    case EV_NEW:
        if (!ev.success) {
            /* The server is shutting down: this request will never be
             * matched with a call. */
            w->stopping = true;
            watches_shutdown(w);
            grpc_metadata_array_destroy(&c->md);
            if (c->m == M_UNKNOWN)
                grpc_call_details_destroy(&c->details_unknown);
            free(c);
            return;
        }
        /* A Verify request is armed again only once this worker is free:
         * gRPC hands a new call to the first queue with a request armed,
         * and a busy worker holding armed requests would take every call
         * of its connection while the others idle. */
        if (c->m != M_VERIFY)
            arm(w, c->m);
        atomic_fetch_add(&w->srv->accepted, 1);
        start_recv_close(c);
        switch (c->m) {
        case M_VERIFY:
            handle_verify(c);
            arm(w, M_VERIFY);
            break;
        case M_LIST_SPECS:
            handle_list_specs(c);
            break;
        case M_GET_SPEC:
            handle_get_spec(c);
            break;
        case M_HEALTH_CHECK:
            handle_health_check(c);
            break;
        case M_HEALTH_WATCH:
            watch_start(c);
            break;
        case M_SESSION:
            session_start(c);
            break;
        case M_UNKNOWN: {
            char *path = pv_xstrndup((const char *)GRPC_SLICE_START_PTR(c->details_unknown.method),
                                     GRPC_SLICE_LENGTH(c->details_unknown.method));
            char *m = pv_xasprintf("method %s is not implemented by this server", path);
            finish(c, NULL, GRPC_STATUS_UNIMPLEMENTED, m);
            free(m);
            free(path);
            break;
        }
        default:
            break;
        }
        return;
    case EV_SENT:
        c->pending--;
        maybe_free(c);
        return;
    case EV_CLOSED:
        c->closed = true;
        c->pending--;
        if (c->watch_listed)
            watch_unlist(c);
        maybe_free(c);
        return;
    case EV_WATCH_RECV:
        c->pending--;
        watch_on_recv(c, ev.success);
        maybe_free(c);
        return;
    case EV_SESS_RECV:
        c->pending--;
        session_on_recv(c, ev.success);
        maybe_free(c);
        return;
    case EV_SESS_SENT:
        c->pending--;
        if (ev.success && !(c->closed && c->cancelled))
            session_recv(c, false);
        maybe_free(c);
        return;
    case EV_WATCH_SENT:
        c->pending--;
        c->watch_sending = false;
        if (!ev.success || c->watch_final) {
            if (c->watch_listed)
                watch_unlist(c);
        } else if (c->watch_finishing) {
            watch_send(
                c, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING, true);
        }
        maybe_free(c);
        return;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    /* Verification workers take Verify and Session; the control worker
     * takes the cheap methods, so a health probe never waits behind a
     * verification. A verification worker keeps one Verify request armed
     * while it is free (see dispatch): calls then go to whichever worker is
     * free, and wait inside gRPC while none is; at shutdown those waiting
     * calls are matched before gRPC would cancel them (see pv_cli_serve). */
    if (w->control) {
        for (int m = M_LIST_SPECS; m <= M_HEALTH_WATCH; m++)
            for (int k = 0; k < ARMED_OTHER; k++)
                arm(w, (enum method)m);
        for (int k = 0; k < ARMED_OTHER; k++)
            arm(w, (enum method)M_UNKNOWN);
    } else {
        for (int k = 0; k < ARMED_VERIFY; k++)
            arm(w, M_VERIFY);
        for (int k = 0; k < ARMED_OTHER; k++)
            arm(w, M_SESSION);
    }
    for (;;) {
        if (w->n_deferred > 0) {
            grpc_event ev = w->deferred[0];
            memmove(w->deferred, w->deferred + 1, (w->n_deferred - 1) * sizeof(grpc_event));
            w->n_deferred--;
            dispatch(w, ev);
            continue;
        }
        /* Wake at least once a second to end idle sessions. */
        gpr_timespec tick =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(1000, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(w->cq, tick, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            dispatch(w, ev);
        if (w->sessions)
            sweep_idle_sessions(w);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */

static const char serve_usage[] =
    "usage: planverify serve [options]\n"
    "  --listen ADDR            host:port to listen on (default 127.0.0.1:50051; port 0\n"
    "                           picks a free one, printed on stderr)\n"
    "  --specs DIR              the specs to serve (default: the bundled specs)\n"
    "  --threads N              worker threads (default: the number of cores)\n"
    "  --max-request-bytes N    larger requests get RESOURCE_EXHAUSTED (default 4194304)\n"
    "  --tls-cert FILE --tls-key FILE   serve TLS with this certificate and key (PEM)\n"
    "  --tls-client-ca FILE     require client certificates signed by this CA (mutual TLS)\n"
    "  --grace-ms N             on SIGTERM/SIGINT, let calls finish this long (default 10000)\n"
    "  --max-sessions N         open Session streams at most (default 1024)\n"
    "  --session-idle-ms N      end a Session with no message for this long (default 300000)\n"
    "  --solver-only            send every plan with unknowns to the solver, skipping the\n"
    "                           quick path (bounds and sample runs): same decisions, the\n"
    "                           solver's witnesses, more time per call\n";

static char *read_pem(const char *path, const char *what)
{
    pv_diags d = {0};
    char *text;
    size_t len;
    if (pv_read_file(path, 1 << 20, &text, &len, &d) != PV_OK) {
        fprintf(stderr,
                "planverify serve: cannot read the %s %s: %s\n",
                what,
                path,
                d.n ? d.items[0].msg : "error");
        pv_diags_clear(&d);
        return NULL;
    }
    if (!strstr(text, "-----BEGIN ")) {
        fprintf(
            stderr, "planverify serve: the %s %s is not PEM (no -----BEGIN line)\n", what, path);
        free(text);
        return NULL;
    }
    return text;
}

/* Try to bind addr ourselves first: gRPC only says a port could not be
 * added, while the user needs to know that it is taken. Returns false
 * (with a message) when it cannot be bound. */
static bool check_bindable(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return true; /* not host:port; let gRPC judge */
    char host[256];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host)
        return true;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    if (port <= 0)
        return true;
    struct sockaddr_in sa4;
    memset(&sa4, 0, sizeof sa4);
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa4.sin_addr) != 1)
        return true; /* IPv6 or a name: let gRPC judge */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return true;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = bind(fd, (struct sockaddr *)&sa4, sizeof sa4) == 0;
    int err = errno;
    close(fd);
    if (!ok)
        fprintf(stderr, "planverify serve: cannot listen on %s: %s\n", addr, strerror(err));
    return ok;
}

static bool parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v < lo || v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

int pv_cli_serve(int argc, char **argv)
{
    const char *listen = "127.0.0.1:50051", *specs_dir = NULL;
    const char *tls_cert = NULL, *tls_key = NULL, *tls_ca = NULL;
    size_t threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    size_t max_req = 4u << 20, grace_ms = 10000, max_sessions = 1024, idle_ms = 300000;
    bool solver_only = false;
    if (threads < 1)
        threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(serve_usage, stdout);
            return PV_EXIT_OK;
        } else if (strcmp(a, "--solver-only") == 0) {
            solver_only = true;
            continue;
        } else if (!v)
            ok = false;
        else if (strcmp(a, "--listen") == 0)
            listen = v;
        else if (strcmp(a, "--specs") == 0)
            specs_dir = v;
        else if (strcmp(a, "--threads") == 0)
            ok = parse_size(v, 1, 256, &threads);
        else if (strcmp(a, "--max-request-bytes") == 0)
            ok = parse_size(v, 64, (size_t)1 << 30, &max_req);
        else if (strcmp(a, "--grace-ms") == 0)
            ok = parse_size(v, 0, 3600000, &grace_ms);
        else if (strcmp(a, "--max-sessions") == 0)
            ok = parse_size(v, 0, 1000000, &max_sessions);
        else if (strcmp(a, "--session-idle-ms") == 0)
            ok = parse_size(v, 10, 86400000, &idle_ms);
        else if (strcmp(a, "--tls-cert") == 0)
            tls_cert = v;
        else if (strcmp(a, "--tls-key") == 0)
            tls_key = v;
        else if (strcmp(a, "--tls-client-ca") == 0)
            tls_ca = v;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr,
                    "planverify serve: bad option or value: %s%s%s\n",
                    a,
                    v ? " " : "",
                    v ? v : "");
            fputs(serve_usage, stderr);
            return PV_EXIT_USAGE;
        }
        i++;
    }
    if (!tls_cert != !tls_key || (tls_ca && !tls_cert)) {
        fprintf(stderr,
                "planverify serve: --tls-cert and --tls-key go together, and "
                "--tls-client-ca needs them\n");
        return PV_EXIT_USAGE;
    }

    /* Signals are taken by sigwait in the main thread; every other thread
     * (ours and gRPC's) inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    server srv;
    memset(&srv, 0, sizeof srv);
    atomic_init(&srv.serving, 0);
    srv.max_request_bytes = max_req;
    srv.max_sessions = (int)max_sessions;
    srv.solver_only = solver_only;
    srv.session_idle_ms = (int)idle_ms;
    /* Decoded messages take a few times their wire size; more is a
     * hostile or broken request. */
    srv.memory_budget = max_req * 16 + (1u << 20);
    pv_diags d = {0};
    const char *dir = specs_dir ? specs_dir : pv_bundled_specs_dir();
    if (pv_specset_add_dir(&srv.specs, dir, &d) != PV_OK) {
        pv_cli_print_diags(stderr, &d, "error");
        fprintf(stderr, "planverify serve: the specs in %s did not load\n", dir);
        pv_diags_clear(&d);
        pv_specset_free(&srv.specs);
        return PV_EXIT_USAGE;
    }
    grpc_server_credentials *creds = NULL;
    if (tls_cert) {
        char *cert = read_pem(tls_cert, "certificate"), *key = read_pem(tls_key, "key");
        char *ca = tls_ca ? read_pem(tls_ca, "client CA") : NULL;
        if (!cert || !key || (tls_ca && !ca)) {
            free(cert);
            free(key);
            free(ca);
            pv_specset_free(&srv.specs);
            return PV_EXIT_USAGE;
        }
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        creds = grpc_ssl_server_credentials_create_ex(
            ca,
            &pair,
            1,
            ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
        free(cert);
        free(key);
        free(ca);
    }
    if (!check_bindable(listen)) {
        if (creds)
            grpc_server_credentials_release(creds);
        pv_specset_free(&srv.specs);
        return PV_EXIT_USAGE;
    }

    grpc_init();
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)max_req;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0; /* a second server must not share the port */
    grpc_channel_args chargs = {2, args};
    srv.gs = grpc_server_create(&chargs, NULL);
    for (int m = 0; m < M__COUNT; m++)
        srv.methods[m] = grpc_server_register_method(
            srv.gs,
            method_paths[m],
            NULL,
            m == M_HEALTH_WATCH || m == M_SESSION ? GRPC_SRM_PAYLOAD_NONE
                                                  : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
            0);
    /* `threads` verification workers, and one control worker after them. */
    size_t nw = threads + 1;
    srv.n_workers = (int)nw;
    srv.workers = pv_xcalloc(nw, sizeof(worker));
    for (size_t i = 0; i < nw; i++) {
        worker *w = &srv.workers[i];
        w->srv = &srv;
        w->index = (int)i;
        w->control = i == threads;
        w->cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv.gs, w->cq, NULL);
        if (!w->control && pv_engine_new(&w->engine) != PV_OK) {
            fprintf(stderr, "planverify serve: cannot create a Z3 context\n");
            return PV_EXIT_USAGE;
        }
    }
    grpc_completion_queue *shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv.gs, shutdown_cq, NULL);
    if (!creds)
        creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(srv.gs, listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        if (tls_cert)
            fprintf(stderr,
                    "planverify serve: cannot listen on %s with TLS: check that %s is a valid "
                    "PEM certificate and %s its matching private key\n",
                    listen,
                    tls_cert,
                    tls_key);
        else
            fprintf(stderr,
                    "planverify serve: cannot listen on %s (address invalid or in use)\n",
                    listen);
        /* Tear down what was set up, so that nothing leaks on this path. */
        grpc_server_shutdown_and_notify(srv.gs, shutdown_cq, NULL);
        grpc_completion_queue_next(shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        grpc_server_destroy(srv.gs);
        grpc_completion_queue *queues[260]; /* threads <= 256, the control worker, shutdown */
        size_t nq = 0;
        queues[nq++] = shutdown_cq;
        for (size_t i = 0; i < nw; i++)
            queues[nq++] = srv.workers[i].cq;
        for (size_t q = 0; q < nq; q++) {
            grpc_completion_queue_shutdown(queues[q]);
            while (grpc_completion_queue_next(queues[q], gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
                       .type != GRPC_QUEUE_SHUTDOWN)
                ;
            grpc_completion_queue_destroy(queues[q]);
        }
        for (size_t i = 0; i < nw; i++)
            pv_engine_free(srv.workers[i].engine);
        free(srv.workers);
        pv_specset_free(&srv.specs);
        grpc_shutdown();
        return PV_EXIT_USAGE;
    }
    grpc_server_start(srv.gs);
    for (size_t i = 0; i < nw; i++)
        pthread_create(&srv.workers[i].thread, NULL, worker_main, &srv.workers[i]);
    atomic_store(&srv.serving, 1);

    char shown[300];
    const char *colon = strrchr(listen, ':');
    snprintf(shown,
             sizeof shown,
             "%.*s:%d",
             colon ? (int)(colon - listen) : (int)strlen(listen),
             listen,
             port);
    fprintf(stderr,
            "planverify: serving %zu spec%s from %s on %s%s with %zu worker%s\n",
            srv.specs.n,
            srv.specs.n == 1 ? "" : "s",
            dir,
            shown,
            tls_cert ? " (TLS)" : "",
            threads,
            threads == 1 ? "" : "s");
    fprintf(stderr, "planverify: listening on %s\n", shown);
    fflush(stderr);

    /* Wait for a signal while polling a completion queue: gRPC reads the
     * network from threads that wait on queues, and with every worker busy
     * verifying, this thread keeps arriving calls from queueing unread
     * (gRPC would cancel such calls at shutdown). */
    int sig = 0;
    struct timespec zero = {0, 0};
    for (;;) {
        sig = sigtimedwait(&sigs, NULL, &zero);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        gpr_timespec tick =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(20, GPR_TIMESPAN));
        grpc_completion_queue_next(shutdown_cq, tick, NULL);
    }
    fprintf(stderr,
            "planverify: %s received, shutting down (grace %zu ms)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT",
            grace_ms);
    atomic_store(&srv.serving, 0);
    /* Calls gRPC holds while every worker is busy (none armed) would be
     * cancelled by the shutdown; arming many requests first matches them
     * all, and the workers finish them within the grace period. */
    for (size_t i = 0; i < threads; i++)
        for (int k = 0; k < ARMED_AT_SHUTDOWN; k++)
            arm(&srv.workers[i], M_VERIFY);
    int shutdown_tag;
    grpc_server_shutdown_and_notify(srv.gs, shutdown_cq, &shutdown_tag);
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                      gpr_time_from_millis((int64_t)grace_ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(shutdown_cq, until, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        fprintf(stderr, "planverify: grace period over, cancelling the remaining calls\n");
        grpc_server_cancel_all_calls(srv.gs);
        for (size_t i = 0; i < threads; i++)
            pv_engine_interrupt(srv.workers[i].engine);
        grpc_completion_queue_next(shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
    for (size_t i = 0; i < nw; i++)
        grpc_completion_queue_shutdown(srv.workers[i].cq);
    for (size_t i = 0; i < nw; i++)
        pthread_join(srv.workers[i].thread, NULL);
    grpc_server_destroy(srv.gs);
    grpc_completion_queue_shutdown(shutdown_cq);
    while (
        grpc_completion_queue_next(shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
        GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(shutdown_cq);
    for (size_t i = 0; i < nw; i++) {
        grpc_completion_queue_destroy(srv.workers[i].cq);
        pv_engine_free(srv.workers[i].engine);
        free(srv.workers[i].deferred);
    }
    free(srv.workers);
    pv_specset_free(&srv.specs);
    grpc_shutdown();
    /* Scripts (and the shutdown test) compare these with what clients saw. */
    fprintf(stderr,
            "planverify: stopped; %ld calls accepted, %ld verdicts sent\n",
            atomic_load(&srv.accepted),
            atomic_load(&srv.verdicts));
    return PV_EXIT_OK;
}
