/*
 * bench_engine.c - in-process verification time of the Z3 engine against
 * plan length and number of unknowns, on the bundled support-refunds spec.
 *
 *   bench_engine [SPEC] [--reps N]
 *
 * Prints a Markdown table of median and p90 microseconds per plan, and the
 * growth from the shortest to the longest plan next to what linear growth
 * would give. Figures are for comparison within one run on one machine;
 * nothing here is asserted.
 */
#define _POSIX_C_SOURCE 200809L
#include "pv_concrete.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"

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

/*
 * A realistic support conversation of n steps: look up an order (result
 * known), create a return label, reply, and now and then a small refund.
 * `unknowns` of the refund amounts or lookup results are left unknown,
 * spread over the plan.
 */
static char *make_plan(size_t n, int unknowns)
{
    size_t cap = 256 + n * 200;
    char *buf = malloc(cap);
    size_t o = (size_t)snprintf(buf, cap, "spec: support-refunds\nsteps:\n");
    /* Unknown refund amounts first, then unknown lookup results. */
    bool *unknown = calloc(n + 1, 1);
    int left = unknowns;
    for (size_t i = 3; i < n && left > 0; i += 4, left--)
        unknown[i] = true;
    for (size_t i = 0; i < n && left > 0; i += 4, left--)
        unknown[i] = true;
    for (size_t i = 0; i < n; i++) {
        size_t order = i / 4;
        bool unknown_here = unknown[i];
        switch (i % 4) {
        case 0:
            o += (size_t)snprintf(buf + o,
                                  cap - o,
                                  "  - {id: o%zu, tool: lookup_order, args: {order_id: A%zu}%s}\n",
                                  order,
                                  order,
                                  unknown_here ? ""
                                               : ", result: {amount: 80, age_days: 3, status: "
                                                 "delivered, email: c@example.com}");
            break;
        case 1:
            o += (size_t)snprintf(buf + o,
                                  cap - o,
                                  "  - {tool: create_return_label, args: {order_id: A%zu}}\n",
                                  order);
            break;
        case 2:
            o += (size_t)snprintf(
                buf + o, cap - o, "  - {tool: send_customer_message, args: {body: ok}}\n");
            break;
        default:
            if (unknown_here) {
                o += (size_t)snprintf(buf + o,
                                      cap - o,
                                      "  - {tool: issue_refund, args: {order_id: A%zu, amount: "
                                      "{unknown: true}, reason: r}}\n",
                                      order);
            } else
                o += (size_t)snprintf(buf + o,
                                      cap - o,
                                      "  - {tool: issue_refund, args: {order_id: A%zu, amount: "
                                      "1, reason: r}}\n",
                                      order);
        }
    }
    free(unknown);
    return buf;
}

int main(int argc, char **argv)
{
    const char *spec_path = "specs/support-refunds.yaml";
    int reps = 30;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            spec_path = argv[i];
    }
    pv_diags d = {0};
    pv_spec *spec;
    if (pv_spec_load_file(spec_path, &spec, &d) != PV_OK) {
        fprintf(stderr, "cannot load %s\n", spec_path);
        return 2;
    }
    /* Long plans are the point here, not the spec's budget. */
    spec->max_steps = 100000;
    spec->solver_timeout_ms = 60000;
    pv_engine *eng;
    if (pv_engine_new(&eng) != PV_OK)
        return 2;
    static const size_t lengths[] = {5, 10, 50, 200};
    static const int unknown_counts[] = {0, 3};
    double med[2][4];
    printf("| steps | unknowns | median us | p90 us | decision | findings |\n");
    printf("|---:|---:|---:|---:|---|---:|\n");
    for (int u = 0; u < 2; u++) {
        for (int l = 0; l < 4; l++) {
            char *text = make_plan(lengths[l], unknown_counts[u]);
            pv_doc *doc;
            pv_plan *plan;
            if (pv_doc_parse("bench", text, strlen(text), &doc, &d) != PV_OK ||
                pv_plan_from_node(spec, doc, doc->root, &plan, &d) != PV_OK) {
                for (size_t k = 0; k < d.n; k++)
                    fprintf(stderr,
                            "%d:%d: %s\n",
                            d.items[k].pos.line,
                            d.items[k].pos.col,
                            d.items[k].msg);
                return 2;
            }
            int r = lengths[l] >= 200 ? (reps + 2) / 3 : reps;
            double *t = calloc((size_t)r, sizeof(double));
            pv_verdict *v = NULL;
            for (int k = -2; k < r; k++) { /* two warm-up runs */
                pv_verdict_free(v);
                double t0 = now_us();
                if (pv_engine_verify(eng, spec, plan, NULL, &v, &d) != PV_OK) {
                    fprintf(stderr, "verify failed\n");
                    return 2;
                }
                if (k >= 0)
                    t[k] = now_us() - t0;
            }
            qsort(t, (size_t)r, sizeof(double), cmp_double);
            med[u][l] = t[r / 2];
            printf("| %zu | %d | %.0f | %.0f | %s | %zu |\n",
                   lengths[l],
                   unknown_counts[u],
                   t[r / 2],
                   t[(r * 9) / 10],
                   pv_action_name(v->decision),
                   v->n_findings);
            pv_verdict_free(v);
            free(t);
            pv_plan_free(plan);
            pv_doc_free(doc);
            free(text);
        }
    }
    printf("\nGrowth from 5 to 200 steps (linear would be 40x): ");
    printf("%.1fx with 0 unknowns, %.1fx with 3 unknowns.\n",
           med[0][3] / med[0][0],
           med[1][3] / med[1][0]);
    pv_engine_free(eng);
    pv_spec_free(spec);
    return 0;
}
