/*
 * client.c - `planverify verify --server ADDR PLAN...`: the same check as
 * `planverify check`, through a running service, on the gRPC C core.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "proto_conv.h"
#include "pv_doc.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

static const char verify_usage[] =
    "usage: planverify verify --server ADDR [options] PLAN...\n"
    "  Sends each plan file (YAML or JSON) to a running `planverify serve`.\n"
    "  --format text|json       output as `check` prints it (default text)\n"
    "  --spec ID                verify against this spec id (default: the plan's `spec`)\n"
    "  --timeout-ms N           the call's deadline (default 10000)\n"
    "  --tls-ca FILE            use TLS, trusting this CA for the server's certificate\n"
    "  --tls-cert FILE --tls-key FILE   present this client certificate (mutual TLS)\n"
    "exit: 0 every plan allowed, 1 some other decision, 2 bad input or a failed call\n";

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

static char *read_text(const char *path)
{
    pv_diags d = {0};
    char *text;
    size_t len;
    if (pv_read_file(path, 1 << 20, &text, &len, &d) != PV_OK) {
        fprintf(stderr,
                "planverify verify: cannot read %s: %s\n",
                path,
                d.n ? d.items[0].msg : "error");
        pv_diags_clear(&d);
        return NULL;
    }
    return text;
}

/* One unary Verify call. Returns the verdict, or NULL with *status and
 * *details set. */
static Planverify__V1__Verdict *call_verify(grpc_channel *ch, grpc_completion_queue *cq,
                                            const Planverify__V1__VerifyRequest *req,
                                            int timeout_ms, grpc_status_code *status,
                                            char **details)
{
    size_t len = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *buf = pv_xmalloc(len ? len : 1);
    protobuf_c_message_pack(&req->base, buf);
    grpc_slice payload = grpc_slice_from_copied_buffer((const char *)buf, len);
    free(buf);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(
        ch,
        NULL,
        GRPC_PROPAGATE_DEFAULTS,
        cq,
        grpc_slice_from_static_string("/planverify.v1.PlanVerifier/Verify"),
        NULL,
        deadline,
        NULL);
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *recv = NULL;
    grpc_slice status_details;
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = status;
    ops[5].data.recv_status_on_client.status_details = &status_details;
    int tag;
    grpc_call_start_batch(call, ops, 6, &tag, NULL);
    grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    Planverify__V1__Verdict *v = NULL;
    *details = pv_xstrndup((const char *)GRPC_SLICE_START_PTR(status_details),
                           GRPC_SLICE_LENGTH(status_details));
    if (*status == GRPC_STATUS_OK && recv) {
        grpc_byte_buffer_reader r;
        grpc_byte_buffer_reader_init(&r, recv);
        grpc_slice s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        v = planverify__v1__verdict__unpack(NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        grpc_slice_unref(s);
        if (!v) {
            *status = GRPC_STATUS_INTERNAL;
            free(*details);
            *details = pv_xstrdup("the server's answer is not a planverify.v1.Verdict");
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(status_details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    return v;
}

int pv_cli_verify(int argc, char **argv)
{
    const char *addr = NULL, *spec_id = NULL, *ca = NULL, *cert = NULL, *key = NULL;
    pv_format format = PV_FMT_TEXT;
    long timeout_ms = 10000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(verify_usage, stdout);
            return PV_EXIT_OK;
        }
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        bool ok = v != NULL;
        if (ok && strcmp(a, "--server") == 0)
            addr = v;
        else if (ok && strcmp(a, "--spec") == 0)
            spec_id = v;
        else if (ok && strcmp(a, "--tls-ca") == 0)
            ca = v;
        else if (ok && strcmp(a, "--tls-cert") == 0)
            cert = v;
        else if (ok && strcmp(a, "--tls-key") == 0)
            key = v;
        else if (ok && strcmp(a, "--format") == 0)
            ok = pv_format_parse(v, &format) == PV_OK && format != PV_FMT_JUNIT;
        else if (ok && strcmp(a, "--timeout-ms") == 0) {
            char *end;
            timeout_ms = strtol(v, &end, 10);
            ok = !*end && timeout_ms > 0 && timeout_ms <= 3600000;
        } else
            ok = false;
        if (!ok) {
            fprintf(stderr, "planverify verify: bad option or value: %s\n", a);
            fputs(verify_usage, stderr);
            return PV_EXIT_USAGE;
        }
        i++;
    }
    if (!addr || i >= argc || (!cert != !key) || (cert && !ca)) {
        fprintf(stderr,
                "planverify verify: %s\n",
                !addr       ? "--server ADDR is required"
                : i >= argc ? "no plan files given"
                            : "--tls-cert and --tls-key go together, with --tls-ca");
        fputs(verify_usage, stderr);
        return PV_EXIT_USAGE;
    }
    grpc_channel_credentials *creds;
    if (ca) {
        char *ca_pem = read_text(ca), *cert_pem = cert ? read_text(cert) : NULL,
             *key_pem = key ? read_text(key) : NULL;
        if (!ca_pem || (cert && (!cert_pem || !key_pem))) {
            free(ca_pem);
            free(cert_pem);
            free(key_pem);
            return PV_EXIT_USAGE;
        }
        grpc_ssl_pem_key_cert_pair pair = {key_pem, cert_pem};
        grpc_init();
        creds = grpc_ssl_credentials_create(ca_pem, cert ? &pair : NULL, NULL, NULL);
        free(ca_pem);
        free(cert_pem);
        free(key_pem);
    } else {
        grpc_init();
        creds = grpc_insecure_credentials_create();
    }
    grpc_channel *ch = grpc_channel_create(addr, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    size_t n_bad = 0, n_allow = 0, n_other = 0;
    size_t counts[PV_ACT_BLOCK + 1] = {0};
    for (; i < argc; i++) {
        const char *file = argv[i];
        pv_diags d = {0};
        pv_doc *doc = NULL;
        Planverify__V1__VerifyRequest *req = NULL;
        int rc = pv_doc_load_file(file, &doc, &d);
        if (rc == PV_OK)
            rc = pv_proto_request_from_doc(doc, &req, &d);
        if (rc == PV_OK && spec_id) {
            free(req->spec);
            req->spec = pv_xstrdup(spec_id);
        }
        if (rc != PV_OK) {
            pv_cli_print_diags(stderr, &d, "error");
            n_bad++;
        } else {
            grpc_status_code status;
            char *details;
            Planverify__V1__Verdict *pv =
                call_verify(ch, cq, req, (int)timeout_ms, &status, &details);
            if (!pv) {
                fprintf(stderr,
                        "%s: error: %s: %s\n",
                        file,
                        (size_t)status < sizeof status_names / sizeof status_names[0]
                            ? status_names[status]
                            : "UNKNOWN",
                        details);
                n_bad++;
            } else {
                pv_verdict *v = pv_verdict_from_proto(pv);
                if (format == PV_FMT_JSON)
                    pv_print_verdict_json(stdout, NULL, v, file);
                else
                    pv_print_verdict_text(stdout, NULL, v, file);
                counts[v->decision]++;
                if (v->decision == PV_ACT_ALLOW)
                    n_allow++;
                else
                    n_other++;
                pv_verdict_free(v);
                planverify__v1__verdict__free_unpacked(pv, NULL);
            }
            free(details);
        }
        pv_proto_request_free(req);
        pv_doc_free(doc);
        pv_diags_clear(&d);
    }
    if (format == PV_FMT_TEXT)
        pv_print_summary(stdout, counts, n_bad);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    grpc_shutdown();
    return n_bad ? PV_EXIT_USAGE : n_other ? PV_EXIT_FINDINGS : PV_EXIT_OK;
}
