/*
 * bench_grpc.c - a closed-loop load generator for a running
 * `planverify serve`, on the gRPC C core.
 *
 *   bench_grpc --server ADDR [--method M[,M...]] [--rounds R]
 *              [--concurrency N] [--duration-s S] [--warmup-s W]
 *              [--calls N] [--server-pid PID [--rss-every K]]
 *              [--channels N] [--plan FILE]... [--timeout-ms N] [--json]
 *              [--print-plan]
 *
 * One channel (one HTTP/2 connection; --channels N: N channels, each with
 * its own connection, the calls in flight spread evenly over them), one
 * completion queue, one thread.
 * The run is a sequence of phases on that one connection: for each of R
 * rounds, one phase per method in the order given (`--method
 * health,verify --rounds 3` runs health, verify, health, verify, health,
 * verify), so that methods are compared on the same server and connection
 * within one run. In a phase, N unary calls are started, and each
 * completion starts the next call at once, so N calls are in flight until
 * the end. Calls that complete during the first W seconds (warm-up) are not
 * measured; after that, every call that completes within the next S
 * seconds is. Then no new call starts and the calls in flight are drained
 * (bounded by the per-call deadline) before the next phase.
 *
 * With --calls N a phase is instead exactly N calls, all measured (no
 * warm-up): for long runs such as the memory benchmark.
 *
 * --server-pid PID (the server runs on this machine) adds the server's CPU
 * use over each phase to its figures, read from /proc/PID/stat; with
 * --calls, VmRSS and VmHWM are also read from /proc/PID/status before the
 * first call, after every K completed calls (--rss-every, default N / 20)
 * and after the last, and each sample is printed as a JSON line
 * {"rss_sample": ...}.
 *
 * Latency is from just before grpc_call_start_batch to the completion of
 * the call's one batch, for calls that ended OK with a well-formed answer.
 * Every call that did not is counted by status code and shown with the
 * first status message for that code, whether it happened inside the
 * measured window or not. Transparent retries are switched off on the
 * channel so that no failure turns into mere latency.
 *
 * Verify sends, by default, a fixed 10-step support-refunds conversation
 * with 3 unknown values (--print-plan shows it as a plan file); --plan
 * sends a plan file instead, converted as `planverify verify` converts it;
 * with several --plan options the calls take the plans in turn. Health
 * sends grpc.health.v1.Health/Check for planverify.v1.PlanVerifier.
 *
 * Output per phase: one human line (and a line per non-OK status code),
 * and with --json one more line, a JSON object (with "round"). Exit 0 when
 * every call was OK, 1 when any was not (the figures are still printed), 2
 * for bad options or when the server cannot be reached.
 */
#define _POSIX_C_SOURCE 200809L
#include "grpc/health/v1/health.pb-c.h"
#include "proto_conv.h"
#include "pv_doc.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A support conversation about two orders of one customer. Unknown: the
 * second order's amount (not looked up yet), finance's answer to the
 * approval request, and the amount the agent will refund on that order. */
static const char builtin_plan[] =
    "spec: support-refunds\n"
    "id: bench-support-10-steps\n"
    "steps:\n"
    "  - id: first\n"
    "    tool: lookup_order\n"
    "    args: {order_id: A1001}\n"
    "    result: {amount: 240, age_days: 12, status: delivered, email: dana@example.com}\n"
    "  - tool: create_return_label\n"
    "    args: {order_id: A1001}\n"
    "    result: {label_url: \"https://labels.example.com/A1001\"}\n"
    "  - tool: send_customer_message\n"
    "    args: {body: \"Here is your prepaid return label for order A1001.\"}\n"
    "  - tool: issue_refund\n"
    "    args: {order_id: A1001, amount: {ref: first.amount}, reason: item arrived damaged}\n"
    "  - id: second\n"
    "    tool: lookup_order\n"
    "    args: {order_id: A1002}\n"
    "    result: {amount: {unknown: true}, age_days: 4, status: delivered, email: "
    "dana@example.com}\n"
    "  - tool: request_approval\n"
    "    args: {order_id: A1002, amount: 650}\n"
    "    result: {approved: {unknown: true}}\n"
    "  - tool: send_customer_message\n"
    "    args: {body: \"Finance is reviewing the refund for order A1002.\"}\n"
    "  - tool: issue_refund\n"
    "    args: {order_id: A1002, amount: {unknown: true}, reason: late delivery}\n"
    "  - tool: create_return_label\n"
    "    args: {order_id: A1002}\n"
    "    result: {label_url: \"https://labels.example.com/A1002\"}\n"
    "  - tool: send_customer_message\n"
    "    args: {body: \"Your refund for order A1002 is on its way.\"}\n";

static const char *const status_names[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
#define N_CODES 17
/* Our own failure classes, counted next to the status codes. */
#define BAD_RESPONSE N_CODES       /* OK, but no message or not decodable */
#define BATCH_FAILED (N_CODES + 1) /* the batch completed with success=0 */
#define N_CLASSES (N_CODES + 2)

static const char *class_name(int c)
{
    if (c < N_CODES)
        return status_names[c];
    return c == BAD_RESPONSE ? "OK_BUT_BAD_RESPONSE" : "BATCH_FAILED";
}

typedef enum method { M_VERIFY, M_HEALTH } method;

typedef struct slot {
    grpc_channel *ch; /* the connection this slot's calls go on */
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    uint64_t start_ns;
} slot;

/* What one phase measured; reset at the start of each phase. */
typedef struct phase {
    uint64_t *lat_ns;
    size_t n_lat, cap_lat;
    uint64_t started, completed;
    uint64_t fails_in[N_CLASSES];  /* completed inside the window */
    uint64_t fails_out[N_CLASSES]; /* during warm-up or drain */
    char *first_detail[N_CLASSES];
    uint64_t decisions_n[8];
    char *decisions[8];
    size_t n_decisions;
    char *first_verdict;
    double window_s, client_cpu_pct, server_cpu_pct;
} phase;

typedef struct bench {
    grpc_channel **chs; /* one connection each */
    size_t n_chs;
    grpc_completion_queue *cq;
    int timeout_ms;
    method m; /* the current phase's method */
    grpc_slice verify_path, health_path;
    grpc_slice *verify_payloads; /* one per plan, taken in turn */
    size_t n_verify_payloads, next_payload;
    grpc_slice health_payload;
    size_t verify_steps; /* of the first plan */
    phase ph;
} bench;

/* User and system CPU seconds of this process. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* requests                                                            */

static grpc_slice pack_to_slice(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = pv_xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
    free(buf);
    return s;
}

/* The Verify request, from a plan file or from the built-in plan. */
static int verify_payload(const char *plan_file, grpc_slice *out, size_t *n_steps)
{
    pv_diags d = {0};
    pv_doc *doc = NULL;
    Planverify__V1__VerifyRequest *req = NULL;
    int rc = plan_file
                 ? pv_doc_load_file(plan_file, &doc, &d)
                 : pv_doc_parse("<built-in plan>", builtin_plan, strlen(builtin_plan), &doc, &d);
    if (rc == PV_OK)
        rc = pv_proto_request_from_doc(doc, &req, &d);
    if (rc == PV_OK && (!req->spec || !req->spec[0])) {
        fprintf(stderr, "bench_grpc: the plan names no spec\n");
        rc = PV_EINPUT;
    }
    if (rc != PV_OK) {
        for (size_t i = 0; i < d.n; i++) {
            char *msg = pv_diag_format(&d.items[i]);
            fprintf(stderr, "%s\n", msg);
            free(msg);
        }
    } else {
        *out = pack_to_slice(&req->base);
        *n_steps = req->n_steps;
    }
    pv_proto_request_free(req);
    pv_doc_free(doc);
    pv_diags_clear(&d);
    return rc;
}

static grpc_slice health_payload(void)
{
    Grpc__Health__V1__HealthCheckRequest req;
    grpc__health__v1__health_check_request__init(&req);
    req.service = (char *)"planverify.v1.PlanVerifier";
    return pack_to_slice(&req.base);
}

/* ------------------------------------------------------------------ */
/* calls                                                               */

/* Start one call of the current method in slot s (Verify takes the next
 * plan in turn). Exits when the call cannot be started. */
static void start_call(bench *b, slot *s)
{
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(b->timeout_ms, GPR_TIMESPAN));
    grpc_slice path = b->m == M_VERIFY ? b->verify_path : b->health_path;
    grpc_slice *payload = b->m == M_VERIFY
                              ? &b->verify_payloads[b->next_payload++ % b->n_verify_payloads]
                              : &b->health_payload;
    s->call = grpc_channel_create_call(
        s->ch, NULL, GRPC_PROPAGATE_DEFAULTS, b->cq, path, NULL, deadline, NULL);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->send = grpc_raw_byte_buffer_create(payload, 1);
    s->recv = NULL;
    s->status = GRPC_STATUS_UNKNOWN;
    s->details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    s->start_ns = now_ns();
    grpc_call_error e = grpc_call_start_batch(s->call, ops, 6, s, NULL);
    if (e != GRPC_CALL_OK) {
        fprintf(stderr, "bench_grpc: grpc_call_start_batch failed (%d)\n", (int)e);
        exit(2);
    }
    b->ph.started++;
}

static void count_decision(phase *ph, const char *decision)
{
    for (size_t i = 0; i < ph->n_decisions; i++)
        if (strcmp(ph->decisions[i], decision) == 0) {
            ph->decisions_n[i]++;
            return;
        }
    if (ph->n_decisions < 8) {
        ph->decisions[ph->n_decisions] = pv_xstrndup(decision, strlen(decision));
        ph->decisions_n[ph->n_decisions++] = 1;
    }
}

/* Checks the answer of an OK call. Returns false when it is not a
 * well-formed response of the method. */
static bool check_response(bench *b, grpc_byte_buffer *recv)
{
    if (!recv)
        return false;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, recv))
        return false;
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    bool ok = false;
    phase *ph = &b->ph;
    if (b->m == M_VERIFY) {
        Planverify__V1__Verdict *v =
            planverify__v1__verdict__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
        if (v && v->decision && v->decision[0]) {
            ok = true;
            count_decision(ph, v->decision);
            if (!ph->first_verdict) {
                char buf[512];
                size_t o = (size_t)snprintf(buf,
                                            sizeof buf,
                                            "%s, safe_prefix %d, %zu violation%s",
                                            v->decision,
                                            (int)v->safe_prefix,
                                            v->n_violations,
                                            v->n_violations == 1 ? "" : "s");
                for (size_t i = 0; i < v->n_violations && o < sizeof buf; i++)
                    o += (size_t)snprintf(buf + o,
                                          sizeof buf - o,
                                          "%s%s@%d",
                                          i ? ", " : ": ",
                                          v->violations[i]->rule,
                                          (int)v->violations[i]->step);
                ph->first_verdict = pv_xstrndup(buf, strlen(buf));
            }
        }
        if (v)
            planverify__v1__verdict__free_unpacked(v, NULL);
    } else {
        Grpc__Health__V1__HealthCheckResponse *h = grpc__health__v1__health_check_response__unpack(
            NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
        /* Anything but SERVING is a failure of the health check. */
        ok = h && h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        if (h)
            grpc__health__v1__health_check_response__free_unpacked(h, NULL);
    }
    grpc_slice_unref(sl);
    return ok;
}

/* Records a completed call; releases its resources. */
static void finish_call(bench *b, slot *s, bool success, uint64_t t, bool in_window)
{
    phase *ph = &b->ph;
    int cls = -1;
    if (!success)
        cls = BATCH_FAILED;
    else if (s->status != GRPC_STATUS_OK)
        cls = (unsigned)s->status < N_CODES ? (int)s->status : GRPC_STATUS_UNKNOWN;
    else if (!check_response(b, s->recv))
        cls = BAD_RESPONSE;
    if (cls < 0) {
        if (in_window) {
            pv_grow(&ph->lat_ns, &ph->cap_lat, ph->n_lat + 1, sizeof(uint64_t));
            ph->lat_ns[ph->n_lat++] = t - s->start_ns;
        }
    } else {
        if (in_window)
            ph->fails_in[cls]++;
        else
            ph->fails_out[cls]++;
        if (!ph->first_detail[cls])
            ph->first_detail[cls] = pv_xstrndup((const char *)GRPC_SLICE_START_PTR(s->details),
                                                GRPC_SLICE_LENGTH(s->details));
    }
    ph->completed++;
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    grpc_byte_buffer_destroy(s->send);
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_call_unref(s->call);
    s->call = NULL;
}

/* Waits until channel ch is connected. */
static bool wait_ready(bench *b, grpc_channel *ch, int timeout_ms)
{
    gpr_timespec until =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_connectivity_state st = grpc_channel_check_connectivity_state(ch, 1);
    int tag;
    while (st != GRPC_CHANNEL_READY) {
        grpc_channel_watch_connectivity_state(ch, st, until, b->cq, &tag);
        grpc_event ev;
        do
            ev = grpc_completion_queue_next(b->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        while (ev.type != GRPC_OP_COMPLETE || ev.tag != &tag);
        if (!ev.success)
            return false; /* the deadline passed */
        st = grpc_channel_check_connectivity_state(ch, 1);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* memory samples                                                      */

/* VmRSS and VmHWM of process pid in kB; false when it cannot be read. */
static bool read_rss(long pid, long *rss_kb, long *hwm_kb)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[256];
    *rss_kb = *hwm_kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm_kb = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return *rss_kb >= 0 && *hwm_kb >= 0;
}

/* CPU seconds (user + system) used so far by process pid, or -1. */
static double proc_cpu_s(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command name, which is in parentheses and may
     * contain spaces: state is field 3, utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Print one {"rss_sample": ...} line for pid after `calls` calls. */
static void rss_sample(long pid, uint64_t calls, uint64_t t_begin)
{
    long rss, hwm;
    if (!read_rss(pid, &rss, &hwm)) {
        fprintf(stderr, "bench_grpc: cannot read /proc/%ld/status\n", pid);
        return;
    }
    printf("{\"rss_sample\":{\"calls\":%llu,\"t_s\":%.3f,\"vmrss_kb\":%ld,\"vmhwm_kb\":%ld}}\n",
           (unsigned long long)calls,
           (double)(now_ns() - t_begin) / 1e9,
           rss,
           hwm);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* phases                                                              */

typedef struct phase_opts {
    size_t conc;
    double warmup_s, duration_s;
    uint64_t calls;  /* > 0: exactly this many calls, all measured */
    long server_pid; /* > 0: measure its CPU use, and with calls its memory */
    uint64_t rss_every;
} phase_opts;

/* Free what a phase's figures own and reset them to empty. */
static void phase_clear(phase *ph)
{
    for (int c = 0; c < N_CLASSES; c++)
        free(ph->first_detail[c]);
    for (size_t i = 0; i < ph->n_decisions; i++)
        free(ph->decisions[i]);
    free(ph->first_verdict);
    free(ph->lat_ns);
    memset(ph, 0, sizeof *ph);
}

/*
 * Run one phase of method m on the bench's channel (see the top comment):
 * a timed window after a warm-up, or exactly o->calls calls. Returns when
 * every call of the phase has completed; the figures are in b->ph.
 */
static void run_phase(bench *b, method m, const phase_opts *o)
{
    phase_clear(&b->ph);
    b->m = m;
    phase *ph = &b->ph;
    size_t n = o->conc;
    if (o->calls && o->calls < n)
        n = (size_t)o->calls;
    slot *slots = pv_xcalloc(n, sizeof *slots);
    for (size_t i = 0; i < n; i++)
        slots[i].ch = b->chs[i % b->n_chs];
    double cpu_begin = cpu_s();
    double server_cpu_begin = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
    uint64_t t_begin = now_ns();
    bool sample_rss = o->server_pid > 0 && o->calls;
    uint64_t t0 = t_begin, t1 = UINT64_MAX;
    if (!o->calls) {
        t0 = t_begin + (uint64_t)(o->warmup_s * 1e9);
        t1 = t0 + (uint64_t)(o->duration_s * 1e9);
    }
    if (sample_rss)
        rss_sample(o->server_pid, 0, t_begin);
    /* After the end the calls in flight get their deadline and a little
     * more, then are cancelled; cancelled calls still complete. */
    uint64_t t_cancel = UINT64_MAX;
    bool ending = false, cancelled = false;
    size_t in_flight = 0;
    for (size_t i = 0; i < n; i++) {
        start_call(b, &slots[i]);
        in_flight++;
    }
    while (in_flight > 0) {
        gpr_timespec wait =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(b->cq, wait, NULL);
        uint64_t t = now_ns();
        if (ev.type == GRPC_OP_COMPLETE) {
            slot *s = ev.tag;
            in_flight--;
            finish_call(b, s, ev.success, t, t >= t0 && t <= t1);
            if (sample_rss && ph->completed % o->rss_every == 0)
                rss_sample(o->server_pid, ph->completed, t_begin);
            bool more = o->calls ? ph->started < o->calls : t < t1;
            if (more) {
                start_call(b, s);
                in_flight++;
            }
        } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            fprintf(stderr, "bench_grpc: the completion queue shut down unexpectedly\n");
            exit(2);
        }
        bool done_starting = o->calls ? ph->started >= o->calls : t >= t1;
        if (done_starting && !ending) {
            ending = true;
            t_cancel = t + (uint64_t)b->timeout_ms * 1000000u + 2000000000u;
        }
        if (!cancelled && t > t_cancel) {
            fprintf(stderr,
                    "bench_grpc: %zu call(s) still in flight after the drain; cancelling\n",
                    in_flight);
            for (size_t i = 0; i < n; i++)
                if (slots[i].call)
                    grpc_call_cancel(slots[i].call, NULL);
            cancelled = true;
        }
    }
    uint64_t t_end = now_ns();
    if (sample_rss && ph->completed % o->rss_every != 0)
        rss_sample(o->server_pid, ph->completed, t_begin);
    ph->window_s = o->calls ? (double)(t_end - t_begin) / 1e9 : (double)(t1 - t0) / 1e9;
    /* The client's own CPU use (all its threads, gRPC's included) over the
     * whole phase: on a small machine it competes with the server. */
    double wall_s = (double)(t_end - t_begin) / 1e9;
    ph->client_cpu_pct = 100.0 * (cpu_s() - cpu_begin) / wall_s;
    double server_cpu_end = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
    ph->server_cpu_pct = server_cpu_begin >= 0 && server_cpu_end >= 0
                             ? 100.0 * (server_cpu_end - server_cpu_begin) / wall_s
                             : -1;
    free(slots);
}

/* ------------------------------------------------------------------ */
/* report                                                              */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in microseconds. */
static double pct_us(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1] / 1000.0;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/*
 * Print the phase's figures: the human line(s), and with json one JSON
 * line. Returns the number of calls that did not end OK.
 */
static uint64_t print_phase(bench *b, const char *addr, const phase_opts *o, int round,
                            const char *plan_desc, bool json)
{
    phase *ph = &b->ph;
    qsort(ph->lat_ns, ph->n_lat, sizeof(uint64_t), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < ph->n_lat; i++)
        sum += (double)ph->lat_ns[i];
    double mean_us = ph->n_lat ? sum / (double)ph->n_lat / 1000.0 : 0;
    double max_us = ph->n_lat ? (double)ph->lat_ns[ph->n_lat - 1] / 1000.0 : 0;
    double p50 = pct_us(ph->lat_ns, ph->n_lat, 50), p90 = pct_us(ph->lat_ns, ph->n_lat, 90),
           p99 = pct_us(ph->lat_ns, ph->n_lat, 99), p999 = pct_us(ph->lat_ns, ph->n_lat, 99.9);
    uint64_t err_in = 0, err_out = 0;
    for (int c = 0; c < N_CLASSES; c++) {
        err_in += ph->fails_in[c];
        err_out += ph->fails_out[c];
    }
    double thr = ph->window_s > 0 ? (double)ph->n_lat / ph->window_s : 0;
    const char *mname = b->m == M_VERIFY ? "verify" : "health";
    size_t payload_bytes = b->m == M_VERIFY ? (size_t)GRPC_SLICE_LENGTH(b->verify_payloads[0])
                                            : (size_t)GRPC_SLICE_LENGTH(b->health_payload);

    printf("bench_grpc %s round=%d server=%s concurrency=%zu window=%.1fs warmup=%.1fs: ok=%zu "
           "non_ok=%llu (+%llu outside the window) throughput=%.1f calls/s latency_us p50=%.0f "
           "p90=%.0f p99=%.0f p99.9=%.0f max=%.0f mean=%.0f client_cpu=%.0f%%\n",
           mname,
           round,
           addr,
           o->conc,
           ph->window_s,
           o->calls ? 0.0 : o->warmup_s,
           ph->n_lat,
           (unsigned long long)err_in,
           (unsigned long long)err_out,
           thr,
           p50,
           p90,
           p99,
           p999,
           max_us,
           mean_us,
           ph->client_cpu_pct);
    for (int c = 0; c < N_CLASSES; c++)
        if (ph->fails_in[c] || ph->fails_out[c])
            printf("  non-OK %s: %llu in the window, %llu outside; first message: \"%s\"\n",
                   class_name(c),
                   (unsigned long long)ph->fails_in[c],
                   (unsigned long long)ph->fails_out[c],
                   ph->first_detail[c] ? ph->first_detail[c] : "");
    if (b->m == M_VERIFY) {
        printf("  plan: %s (%zu steps, %zu request bytes); first verdict: %s\n",
               plan_desc,
               b->verify_steps,
               payload_bytes,
               ph->first_verdict ? ph->first_verdict : "(none)");
        /* With one plan, different decisions mean the server is not
         * deterministic (or ran out of time on some calls). */
        if (ph->n_decisions > 1 && b->n_verify_payloads == 1) {
            printf("  note: the same plan got different decisions:");
            for (size_t i = 0; i < ph->n_decisions; i++)
                printf(" %s x %llu", ph->decisions[i], (unsigned long long)ph->decisions_n[i]);
            printf("\n");
        }
    }
    if (ph->n_lat < 1000)
        printf("  note: %zu samples; p99.9 is the maximum or close to it\n", ph->n_lat);
    if (json) {
        printf("{\"method\":\"%s\",\"round\":%d,\"server\":", mname, round);
        json_string(stdout, addr);
        printf(",\"concurrency\":%zu,\"window_s\":%.3f,\"warmup_s\":%.3f,\"ok\":%zu,"
               "\"non_ok\":%llu,\"non_ok_outside_window\":%llu,\"throughput_per_s\":%.1f,"
               "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p99_9_us\":%.1f,"
               "\"max_us\":%.1f,\"mean_us\":%.1f,\"channels\":%zu,\"client_cpu_pct\":%.0f,"
               "\"server_cpu_pct\":%.0f,\"request_bytes\":%zu,\"plans\":%zu",
               o->conc,
               ph->window_s,
               o->calls ? 0.0 : o->warmup_s,
               ph->n_lat,
               (unsigned long long)err_in,
               (unsigned long long)err_out,
               thr,
               p50,
               p90,
               p99,
               p999,
               max_us,
               mean_us,
               b->n_chs,
               ph->client_cpu_pct,
               ph->server_cpu_pct,
               payload_bytes,
               b->m == M_VERIFY ? b->n_verify_payloads : (size_t)0);
        printf(",\"non_ok_by_code\":{");
        bool first = true;
        for (int c = 0; c < N_CLASSES; c++)
            if (ph->fails_in[c] || ph->fails_out[c]) {
                printf("%s\"%s\":%llu",
                       first ? "" : ",",
                       class_name(c),
                       (unsigned long long)(ph->fails_in[c] + ph->fails_out[c]));
                first = false;
            }
        printf("}");
        if (b->m == M_VERIFY) {
            printf(",\"decisions_all_ok_calls\":{");
            for (size_t i = 0; i < ph->n_decisions; i++) {
                printf("%s", i ? "," : "");
                json_string(stdout, ph->decisions[i]);
                printf(":%llu", (unsigned long long)ph->decisions_n[i]);
            }
            printf("}");
        }
        printf("}\n");
    }
    fflush(stdout);
    return err_in + err_out;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

static const char usage[] =
    "usage: bench_grpc --server ADDR [options]\n"
    "  --method M[,M...]        verify and/or health (grpc.health.v1.Health/Check), run\n"
    "                           in this order on one connection (default verify)\n"
    "  --rounds R               repeat the methods R times (default 1)\n"
    "  --concurrency N          calls in flight on the one connection (default 8)\n"
    "  --channels N             spread them over N channels, one connection each\n"
    "                           (default 1)\n"
    "  --duration-s S           measured seconds per phase, after the warm-up (default 10)\n"
    "  --warmup-s W             seconds not measured at the start of a phase (default 1)\n"
    "  --calls N                a phase is exactly N calls, all measured (no warm-up)\n"
    "  --server-pid PID         the server's process (on this machine): its CPU use per\n"
    "                           phase; with --calls also its VmRSS/VmHWM ...\n"
    "  --rss-every K            ... every K completed calls (default: N / 20)\n"
    "  --plan FILE              a plan to verify (default: a built-in 10-step\n"
    "                           support-refunds plan with 3 unknowns); repeat to\n"
    "                           send several plans in turn\n"
    "  --timeout-ms N           each call's deadline (default 10000)\n"
    "  --json                   also print each phase's results as one JSON line\n"
    "  --print-plan             print the built-in plan (a plan file) and exit\n"
    "exit: 0 every call OK, 1 some call was not (reported), 2 bad options or no server\n";

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* Parse "verify,health,..." into methods (at most 8). */
static bool parse_methods(const char *s, method *out, size_t *n)
{
    *n = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (*n == 8)
            return false;
        if (len == 6 && strncmp(s, "verify", 6) == 0)
            out[(*n)++] = M_VERIFY;
        else if (len == 6 && strncmp(s, "health", 6) == 0)
            out[(*n)++] = M_HEALTH;
        else
            return false;
        if (!e)
            break;
        s = e + 1;
    }
    return *n > 0;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    const char **plan_files = NULL;
    size_t n_plan_files = 0;
    double conc = 8, duration_s = 10, warmup_s = 1, timeout_ms = 10000, rounds = 1, calls = 0,
           server_pid = 0, rss_every = 0, channels = 1;
    bool json = false;
    method methods[8] = {M_VERIFY};
    size_t n_methods = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes = true;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--print-plan") == 0) {
            fputs(builtin_plan, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
            takes = false;
        } else if (!v)
            ok = false;
        else if (strcmp(a, "--server") == 0)
            addr = v;
        else if (strcmp(a, "--plan") == 0) {
            plan_files = pv_xrealloc(plan_files, (n_plan_files + 1) * sizeof(char *));
            plan_files[n_plan_files++] = v;
        } else if (strcmp(a, "--method") == 0)
            ok = parse_methods(v, methods, &n_methods);
        else if (strcmp(a, "--concurrency") == 0)
            ok = parse_num(v, 1, 10000, &conc) && conc == floor(conc);
        else if (strcmp(a, "--channels") == 0)
            ok = parse_num(v, 1, 64, &channels) && channels == floor(channels);
        else if (strcmp(a, "--rounds") == 0)
            ok = parse_num(v, 1, 1000, &rounds) && rounds == floor(rounds);
        else if (strcmp(a, "--calls") == 0)
            ok = parse_num(v, 1, 1e12, &calls) && calls == floor(calls);
        else if (strcmp(a, "--server-pid") == 0)
            ok = parse_num(v, 1, 1e9, &server_pid) && server_pid == floor(server_pid);
        else if (strcmp(a, "--rss-every") == 0)
            ok = parse_num(v, 1, 1e12, &rss_every) && rss_every == floor(rss_every);
        else if (strcmp(a, "--duration-s") == 0)
            ok = parse_num(v, 0.1, 86400, &duration_s);
        else if (strcmp(a, "--warmup-s") == 0)
            ok = parse_num(v, 0, 3600, &warmup_s);
        else if (strcmp(a, "--timeout-ms") == 0)
            ok = parse_num(v, 1, 3600000, &timeout_ms) && timeout_ms == floor(timeout_ms);
        else
            ok = false;
        if (!ok) {
            fprintf(
                stderr, "bench_grpc: bad option or value: %s%s%s\n", a, v ? " " : "", v ? v : "");
            fputs(usage, stderr);
            return 2;
        }
        if (takes)
            i++;
    }
    if (!addr) {
        fputs("bench_grpc: --server ADDR is required\n", stderr);
        fputs(usage, stderr);
        return 2;
    }
    bool any_verify = false;
    for (size_t i = 0; i < n_methods; i++)
        any_verify = any_verify || methods[i] == M_VERIFY;
    if (n_plan_files && !any_verify) {
        fputs("bench_grpc: --plan goes with --method verify\n", stderr);
        return 2;
    }
    if (rss_every > 0 && (calls == 0 || server_pid == 0)) {
        fputs("bench_grpc: --rss-every goes with --calls and --server-pid\n", stderr);
        return 2;
    }

    bench b;
    memset(&b, 0, sizeof b);
    b.timeout_ms = (int)timeout_ms;
    b.verify_path = grpc_slice_from_static_string("/planverify.v1.PlanVerifier/Verify");
    b.health_path = grpc_slice_from_static_string("/grpc.health.v1.Health/Check");
    b.health_payload = health_payload();
    size_t n_payloads = n_plan_files ? n_plan_files : 1;
    b.verify_payloads = pv_xcalloc(n_payloads, sizeof(grpc_slice));
    for (size_t i = 0; i < n_payloads; i++) {
        size_t steps = 0;
        if (verify_payload(n_plan_files ? plan_files[i] : NULL, &b.verify_payloads[i], &steps) !=
            PV_OK)
            return 2;
        if (i == 0)
            b.verify_steps = steps;
    }
    b.n_verify_payloads = n_payloads;
    char plan_desc[256];
    if (n_plan_files == 0)
        snprintf(plan_desc, sizeof plan_desc, "built-in support-refunds plan");
    else if (n_plan_files == 1)
        snprintf(plan_desc, sizeof plan_desc, "%s", plan_files[0]);
    else
        snprintf(plan_desc,
                 sizeof plan_desc,
                 "%zu plans in turn, first %s",
                 n_plan_files,
                 plan_files[0]);

    grpc_init();
    /* No transparent retries; each channel its own subchannel pool, so
     * that channels do not share one connection. */
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_ENABLE_RETRIES;
    args[0].value.integer = 0;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[1].value.integer = 1;
    grpc_channel_args chargs = {2, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    b.n_chs = (size_t)channels;
    b.chs = pv_xcalloc(b.n_chs, sizeof(grpc_channel *));
    b.cq = grpc_completion_queue_create_for_next(NULL);
    for (size_t i = 0; i < b.n_chs; i++) {
        b.chs[i] = grpc_channel_create(addr, creds, &chargs);
        if (!wait_ready(&b, b.chs[i], 5000)) {
            fprintf(stderr, "bench_grpc: cannot connect to %s within 5 s\n", addr);
            return 2;
        }
    }
    grpc_channel_credentials_release(creds);

    phase_opts o = {
        (size_t)conc, warmup_s, duration_s, (uint64_t)calls, (long)server_pid, (uint64_t)rss_every};
    if (!o.rss_every)
        o.rss_every = o.calls >= 20 ? o.calls / 20 : 1;
    uint64_t non_ok = 0;
    for (int r = 0; r < (int)rounds; r++)
        for (size_t k = 0; k < n_methods; k++) {
            run_phase(&b, methods[k], &o);
            non_ok += print_phase(&b, addr, &o, r, plan_desc, json);
        }

    grpc_completion_queue_shutdown(b.cq);
    while (grpc_completion_queue_next(b.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(b.cq);
    for (size_t i = 0; i < b.n_chs; i++)
        grpc_channel_destroy(b.chs[i]);
    free(b.chs);
    for (size_t i = 0; i < b.n_verify_payloads; i++)
        grpc_slice_unref(b.verify_payloads[i]);
    free(b.verify_payloads);
    grpc_slice_unref(b.health_payload);
    grpc_shutdown();
    phase_clear(&b.ph);
    free(plan_files);
    return non_ok ? 1 : 0;
}
