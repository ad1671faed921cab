/*
 * plangen.c - realistic plans and specs for the benchmarks (see plangen.h).
 *
 * A plan is written twice. The first pass only records the places where a
 * value could be unknown, with a priority class; the unknowns are then
 * chosen class by class, spread evenly within a class, and the second pass
 * writes the plan with those values as {unknown: true} (or, for the
 * concrete twin, as their run-time values, which are the literals the first
 * pass would have written).
 */
#define _POSIX_C_SOURCE 200809L
#include "plangen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Priority classes of unknown values: lower is chosen first. */
enum { CL_DECISION = 0, CL_RESULT = 1, CL_DETAIL = 2, CL__COUNT = 3 };

typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

/* Append printf-style text to b. */
static void sb_vprintf(sb *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (k < 0)
        abort();
    pv_grow(&b->p, &b->cap, b->n + (size_t)k + 1, 1);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    b->n += (size_t)k;
}

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

typedef struct gen {
    sb out;
    size_t n_steps, steps; /* asked for, written so far */
    bool counting;         /* first pass: record places only */
    int *cls;              /* first pass: class of each place */
    size_t n_places, cap_places;
    const bool *chosen; /* second pass: the places that are unknown */
    size_t place;       /* second pass: index of the next place */
    bool concrete;
    int placed;
} gen;

/* Start a step; false when the plan already has its n_steps steps. */
static bool step(gen *g)
{
    if (g->steps >= g->n_steps)
        return false;
    g->steps++;
    return true;
}

static void put(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&g->out, fmt, ap);
    va_end(ap);
}

/*
 * A value that may be unknown, of priority class cls: writes
 * {unknown: true} when this place was chosen (and the plan is not the
 * concrete twin), else the literal.
 */
static void val(gen *g, int cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void val(gen *g, int cls, const char *fmt, ...)
{
    bool unknown = false;
    if (g->counting) {
        pv_grow(&g->cls, &g->cap_places, g->n_places + 1, sizeof(int));
        g->cls[g->n_places++] = cls;
    } else if (g->chosen[g->place++]) {
        g->placed++;
        unknown = !g->concrete;
    }
    if (unknown) {
        put(g, "{unknown: true}");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&g->out, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* refunds                                                             */

/* lookup_order of order `e`, whose facts follow from e. */
static bool rf_lookup(gen *g, int e, int amount)
{
    if (!step(g))
        return false;
    static const char *const status[] = {"delivered", "delivered", "shipped", "delivered"};
    put(g,
        "  - {id: o%d, tool: lookup_order, args: {order_id: \"A%d\"}, result: {amount: ",
        e,
        1000 + e);
    val(g, CL_RESULT, "%d", amount);
    put(g, ", age_days: ");
    val(g, CL_RESULT, "%d", 2 + (e * 7) % 20);
    put(g, ", status: ");
    val(g, CL_DETAIL, "%s", status[e % 4]);
    put(g, ", email: \"customer%d@example.com\"}}\n", e % 7);
    return true;
}

/* A reply about order e; false when the plan is full. */
static bool rf_message(gen *g, int e, const char *what)
{
    if (!step(g))
        return false;
    put(g,
        "  - {tool: send_customer_message, args: {body: \"%s for order A%d.\"}}\n",
        what,
        1000 + e);
    return true;
}

/* A refund of order e whose amount may be unknown (a decision the agent
 * has not made yet); false when the plan is full. */
static bool rf_refund(gen *g, int e, int amount, const char *reason)
{
    if (!step(g))
        return false;
    put(g, "  - {tool: issue_refund, args: {order_id: \"A%d\", amount: ", 1000 + e);
    val(g, CL_DECISION, "%d", amount);
    put(g, ", reason: \"%s\"}}\n", reason);
    return true;
}

/*
 * A support conversation: episode e is about order A(1000+e). Most are
 * status questions and returns; every tenth a small partial refund; the
 * third a refund above the approval threshold with finance's approval.
 * Known refunds stay within the conversation cap at any length.
 */
static void refunds_plan(gen *g)
{
    for (int e = 0;; e++) {
        int amount = 40 + (e * 37) % 160;
        if (e == 2) {
            if (!rf_lookup(g, e, 720) || !step(g))
                return;
            put(g,
                "  - {tool: request_approval, args: {order_id: \"A%d\", amount: 550}, "
                "result: {approved: ",
                1000 + e);
            val(g, CL_DECISION, "true");
            put(g, "}}\n");
            if (!rf_refund(g, e, 550, "damaged in transit") ||
                !rf_message(g, e, "Your refund of $550 is approved"))
                return;
        } else if (e % 10 == 4) {
            if (!rf_lookup(g, e, amount) || !rf_refund(g, e, 10 + e % 11, "late delivery") ||
                !rf_message(g, e, "We refunded part of the price"))
                return;
        } else if (e % 3 == 1) {
            if (!rf_lookup(g, e, amount) || !step(g))
                return;
            put(g,
                "  - {tool: create_return_label, args: {order_id: \"A%d\"}, "
                "result: {label_url: \"https://labels.example.com/A%d\"}}\n",
                1000 + e,
                1000 + e);
            if (!rf_message(g, e, "Here is your prepaid return label"))
                return;
        } else if (!rf_lookup(g, e, amount) || !rf_message(g, e, "Your order is on its way"))
            return;
    }
}

/* ------------------------------------------------------------------ */
/* database                                                            */

/* A read of customer e's orders whose success flag and row count may be
 * unknown; false when the plan is full. */
static bool db_query(gen *g, int e)
{
    if (!step(g))
        return false;
    put(g,
        "  - {tool: run_query, args: {statement: \"SELECT id, status FROM orders WHERE "
        "customer_id = %d\"}, result: {ok: ",
        e);
    val(g, CL_RESULT, "true");
    put(g, ", rows: ");
    val(g, CL_DETAIL, "%d", 1 + e % 9);
    put(g, "}}\n");
    return true;
}

/*
 * A production data fix during business hours: from staging with no freeze
 * declared, connect to production, read the change calendar (no freeze),
 * then inspect, read, fix rows with WHEREd UPDATEs, load rows a person
 * supplied, and once apply a reviewed, dry-run migration with the DBA's
 * approval. No destructive statement.
 */
static void database_plan(gen *g)
{
    if (!step(g))
        return;
    put(g, "  - {tool: connect_database, args: {env: production, database: crm}}\n");
    if (!step(g))
        return;
    put(g, "  - {tool: get_change_calendar, args: {}, result: {freeze: ");
    val(g, CL_DECISION, "false");
    put(g, "}}\n");
    for (int e = 0;; e++) {
        if (e == 3) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: plan_migration, args: {migration_id: \"2026_11_add_index\"}, "
                "result: {ok: ");
            val(g, CL_DECISION, "true");
            put(g, ", statements: 2}}\n");
            if (!step(g))
                return;
            put(g,
                "  - {tool: request_human_approval, args: {operation: production_migration, "
                "subject: \"2026_11_add_index\", reason: \"index for the order search\"}, "
                "result: {approved: ");
            val(g, CL_DECISION, "true");
            put(g, ", approver: \"dba-jane\"}}\n");
            if (!step(g))
                return;
            put(g,
                "  - {tool: run_migration, args: {migration_id: \"2026_11_add_index\"}, "
                "result: {ok: ");
            val(g, CL_RESULT, "true");
            put(g, "}}\n");
        } else if (e % 4 == 1) {
            if (!db_query(g, e) || !step(g))
                return;
            put(g,
                "  - {tool: run_sql, args: {statement: \"UPDATE orders SET status = 'shipped' "
                "WHERE id = %d\", kind: update, has_where: true}, result: {ok: ",
                e);
            val(g, CL_RESULT, "true");
            put(g, ", rows_affected: ");
            val(g, CL_DETAIL, "1");
            put(g, "}}\n");
        } else if (e % 6 == 5) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: insert_records, args: {table: \"order_notes\", rows: %d, "
                "source: user_provided}, result: {ok: ",
                5 + e % 20);
            val(g, CL_RESULT, "true");
            put(g, "}}\n");
        } else {
            if (!step(g))
                return;
            put(g,
                "  - {tool: describe_table, args: {table: \"orders_%d\"}, result: {exists: "
                "true, row_count: ",
                e % 5);
            val(g, CL_DETAIL, "%d", 1000 + e * 13);
            put(g, "}}\n");
            if (!db_query(g, e))
                return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* email                                                               */

/*
 * An assistant preparing a customer summary: searches and reads documents
 * (DLP says no PII, internal), drafts and sends mail to colleagues, shares
 * what it read inside the company, once mails a partner early on, and now
 * and then looks up a customer (PII from then on, so internal mail only).
 */
static void email_plan(gen *g)
{
    int last_doc = -1;
    for (int e = 0;; e++) {
        if (e % 4 == 0) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: search_documents, args: {query: \"quarterly review %d\"}, "
                "result: {count: ",
                e);
            val(g, CL_DETAIL, "%d", 1 + e % 5);
            put(g, "}}\n");
            if (!step(g))
                return;
            put(g,
                "  - {tool: read_document, args: {doc_id: \"docs/review-%d\"}, result: "
                "{title: \"Review %d\", contains_pii: ",
                e,
                e);
            val(g, CL_DECISION, "false");
            put(g, ", classification: ");
            val(g, CL_DECISION, "internal");
            put(g, ", legal_hold: ");
            val(g, CL_RESULT, "false");
            put(g, "}}\n");
            last_doc = e;
        } else if (e == 1) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: send_email, args: {to: \"partner@example.net\", subject: "
                "\"Agenda\", body: \"Agenda for Thursday attached.\"}}\n");
        } else if (e % 7 == 3) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: lookup_customer, args: {customer_id: \"C-%d\"}, result: {name: "
                "\"Dana Smith\", email: \"dana%d@example.com\", phone: \"555-01%02d\"}}\n",
                1000 + e,
                e,
                e % 100);
        } else if (e % 4 == 2 && last_doc >= 0) {
            if (!step(g))
                return;
            put(g,
                "  - {tool: share_document, args: {doc_id: \"docs/review-%d\", with: "
                "\"pm%d@acme.com\", permission: view}}\n",
                last_doc,
                e % 3);
        } else {
            if (!step(g))
                return;
            put(g,
                "  - {tool: draft_email, args: {to: \"team@acme.com\", subject: \"Summary "
                "%d\", body: \"Draft summary.\"}}\n",
                e);
            if (!step(g))
                return;
            put(g,
                "  - {tool: send_email, args: {to: \"lead%d@acme.com\", subject: \"Summary "
                "%d\", body: \"Summary of today's documents.\"}}\n",
                e % 4,
                e);
        }
    }
}

/* ------------------------------------------------------------------ */

static const char *const domain_names[PG__COUNT] = {"refunds", "database", "email"};
static const char *const domain_specs[PG__COUNT] = {
    "support-refunds.yaml", "db-infra.yaml", "email-docs.yaml"};

const char *pg_domain_name(pg_domain d)
{
    return domain_names[d];
}

const char *pg_domain_spec_file(pg_domain d)
{
    return domain_specs[d];
}

const char *pg_domain_spec_id(pg_domain d)
{
    static const char *const ids[PG__COUNT] = {"support-refunds", "db-infra", "email-docs"};
    return ids[d];
}

int pg_domain_parse(const char *s)
{
    for (int d = 0; d < PG__COUNT; d++)
        if (strcmp(s, domain_names[d]) == 0)
            return d;
    return -1;
}

/* One pass of the domain's writer over g. */
static void write_plan(gen *g, pg_domain d, const char *spec_id)
{
    g->out.n = 0;
    g->steps = 0;
    put(g, "spec: %s\nid: bench-%s-%zu\n", spec_id, domain_names[d], g->n_steps);
    /* db-infra leaves env and code_freeze without init: a session starts
     * on staging with no freeze declared, so that a plan can be concrete. */
    if (d == PG_DATABASE)
        put(g, "initial_state: {env: staging, code_freeze: false}\n");
    put(g, "steps:\n");
    if (d == PG_REFUNDS)
        refunds_plan(g);
    else if (d == PG_DATABASE)
        database_plan(g);
    else
        email_plan(g);
}

char *pg_plan_text(pg_domain d, const char *spec_id, size_t n_steps, int unknowns, bool concrete,
                   int *placed)
{
    gen g = {0};
    g.n_steps = n_steps;
    g.counting = true;
    write_plan(&g, d, spec_id);
    /* Choose the unknowns: class by class, evenly spread within a class. */
    bool *chosen = pv_xcalloc(g.n_places + 1, sizeof(bool));
    int left = unknowns;
    for (int c = 0; c < CL__COUNT && left > 0; c++) {
        size_t in_class = 0;
        for (size_t i = 0; i < g.n_places; i++)
            in_class += g.cls[i] == c;
        size_t take = (size_t)left < in_class ? (size_t)left : in_class;
        for (size_t k = 0; k < take; k++) {
            /* the ((k + 1/2) * in_class / take)-th place of class c */
            size_t want = (2 * k + 1) * in_class / (2 * take), seen = 0;
            for (size_t i = 0; i < g.n_places; i++)
                if (g.cls[i] == c && seen++ == want)
                    chosen[i] = true;
        }
        left -= (int)take;
    }
    g.counting = false;
    g.chosen = chosen;
    g.concrete = concrete;
    write_plan(&g, d, spec_id);
    if (placed)
        *placed = g.placed;
    free(chosen);
    free(g.cls);
    return g.out.p;
}

/* ------------------------------------------------------------------ */
/* specs                                                               */

/* The extra state variable j (0-based, after the bundled three): its
 * declaration, and the effect it adds to one tool. */
typedef struct extra_var {
    char name[64];
    const char *decl;
    const char *tool;
    char effect[256];
} extra_var;

static void extra_state(size_t j, extra_var *x)
{
    int t = (int)(j / 6);
    switch (j % 6) {
    case 0: /* dollars refunded in refunds above a tier */
        snprintf(x->name, sizeof x->name, "refunded_over_%d", 25 + 25 * t);
        x->decl = "{type: int, init: 0, min: 0}";
        x->tool = "issue_refund";
        snprintf(x->effect,
                 sizeof x->effect,
                 "%s + (args.amount > %d ? args.amount : 0)",
                 x->name,
                 25 + 25 * t);
        break;
    case 1: /* number of refunds above a tier */
        snprintf(x->name, sizeof x->name, "refunds_over_%d", 25 + 25 * t);
        x->decl = "{type: int, init: 0, min: 0}";
        x->tool = "issue_refund";
        snprintf(
            x->effect, sizeof x->effect, "%s + (args.amount > %d ? 1 : 0)", x->name, 25 + 25 * t);
        break;
    case 2: /* orders looked up that are older than some days */
        snprintf(x->name, sizeof x->name, "orders_older_than_%d", 10 + 10 * t);
        x->decl = "{type: int, init: 0, min: 0}";
        x->tool = "lookup_order";
        snprintf(x->effect,
                 sizeof x->effect,
                 "%s + (result.age_days > %d ? 1 : 0)",
                 x->name,
                 10 + 10 * t);
        break;
    case 3: /* high-value orders seen */
        snprintf(x->name, sizeof x->name, "orders_over_%d", 100 + 100 * t);
        x->decl = "{type: int, init: 0, min: 0}";
        x->tool = "lookup_order";
        snprintf(x->effect,
                 sizeof x->effect,
                 "%s + (result.amount > %d ? 1 : 0)",
                 x->name,
                 100 + 100 * t);
        break;
    case 4: /* a large refund the customer has not been told about yet */
        snprintf(x->name, sizeof x->name, "unannounced_refund_over_%d", 50 + 50 * t);
        x->decl = "{type: bool, init: false}";
        x->tool = "issue_refund";
        snprintf(x->effect, sizeof x->effect, "%s || args.amount > %d", x->name, 50 + 50 * t);
        break;
    default: /* dollars approved by finance above a tier */
        snprintf(x->name, sizeof x->name, "approved_over_%d", 100 * t);
        x->decl = "{type: int, init: 0, min: 0}";
        x->tool = "request_approval";
        snprintf(x->effect,
                 sizeof x->effect,
                 "%s + (result.approved && args.amount > %d ? args.amount : 0)",
                 x->name,
                 100 * t);
        break;
    }
}

/* Invariant k: ten templates, the k/10-th tier of each. */
static void invariant(sb *b, size_t k)
{
    int t = (int)(k / 10);
    switch (k % 10) {
    case 0:
        sb_printf(b,
                  "  - id: refund-over-%d-needs-approval\n    on: issue_refund\n"
                  "    assert: \"args.amount <= %d || earlier(request_approval, "
                  "it.args.order_id == args.order_id && it.args.amount >= args.amount && "
                  "it.result.approved)\"\n    action: escalate\n"
                  "    escalate_to: finance-approvers\n",
                  500 + 50 * t,
                  500 + 50 * t);
        break;
    case 1:
        sb_printf(b,
                  "  - id: refunds-cap-%d\n    always: \"refunded_total <= %d\"\n"
                  "    action: block\n",
                  1000 + 100 * t,
                  1000 + 100 * t);
        break;
    case 2:
        sb_printf(b,
                  "  - id: returns-within-%d-days\n    on: create_return_label\n"
                  "    assert: \"earlier(lookup_order, it.args.order_id == args.order_id && "
                  "it.result.age_days <= %d)\"\n    action: escalate\n"
                  "    escalate_to: returns-team\n",
                  30 + 5 * t,
                  30 + 5 * t);
        break;
    case 3:
        sb_printf(b,
                  "  - id: refund-within-order-amount-plus-%d\n    on: issue_refund\n"
                  "    assert: \"!earlier(lookup_order, it.args.order_id == args.order_id && "
                  "it.result.amount + %d < args.amount)\"\n    action: block\n",
                  10 * t,
                  10 * t);
        break;
    case 4:
        sb_printf(b,
                  "  - id: messages-per-conversation-%d\n    on: send_customer_message\n"
                  "    assert: \"messages_sent < %d\"\n    action: halt\n",
                  1000 + 10 * t,
                  1000 + 10 * t);
        break;
    case 5:
        sb_printf(b,
                  "  - id: refunds-per-conversation-%d\n    on: issue_refund\n"
                  "    assert: \"count(issue_refund) < %d\"\n    action: escalate\n"
                  "    escalate_to: support-leads\n",
                  50 + 5 * t,
                  50 + 5 * t);
        break;
    case 6:
        sb_printf(b,
                  "  - id: no-refund-for-%s-order-%d\n    on: issue_refund\n"
                  "    assert: \"!earlier(lookup_order, it.args.order_id == args.order_id && "
                  "it.result.status == '%s')\"\n    action: block\n",
                  t % 2 ? "processing" : "cancelled",
                  t,
                  t % 2 ? "processing" : "cancelled");
        break;
    case 7:
        sb_printf(b,
                  "  - id: approvals-per-conversation-%d\n    always: \"approvals_granted "
                  "<= %d\"\n    action: escalate\n    escalate_to: finance-approvers\n",
                  20 + t,
                  20 + t);
        break;
    case 8:
        sb_printf(b,
                  "  - id: approval-requests-below-%d\n    on: request_approval\n"
                  "    assert: \"args.amount <= %d\"\n    action: escalate\n"
                  "    escalate_to: finance-managers\n",
                  5000 + 500 * t,
                  5000 + 500 * t);
        break;
    default:
        sb_printf(b,
                  "  - id: cumulative-refunds-over-%d-need-approval\n    on: issue_refund\n"
                  "    assert: \"refunded_total + args.amount <= %d || "
                  "earlier(request_approval, it.args.order_id == args.order_id && "
                  "it.result.approved)\"\n    action: escalate\n"
                  "    escalate_to: finance-approvers\n",
                  800 + 100 * t,
                  800 + 100 * t);
        break;
    }
    sb_printf(b, "    enforcement: planverify Verify gate (generated benchmark rule)\n");
}

char *pg_spec_text(const char *spec_id, size_t n_state, size_t n_inv)
{
    sb b = {0};
    size_t n_extra = n_state > 3 ? n_state - 3 : 0;
    extra_var *x = pv_xcalloc(n_extra + 1, sizeof *x);
    for (size_t j = 0; j < n_extra; j++)
        extra_state(j, &x[j]);
    sb_printf(&b,
              "spec: %s\nversion: \"bench\"\n"
              "limits: {max_steps: 100000, solver_timeout_ms: 60000}\n"
              "state:\n"
              "  refunded_total: {type: int, init: 0, min: 0}\n"
              "  approvals_granted: {type: int, init: 0}\n"
              "  messages_sent: {type: int, init: 0}\n",
              spec_id);
    for (size_t j = 0; j < n_extra; j++)
        sb_printf(&b, "  %s: %s\n", x[j].name, x[j].decl);
    /* The bundled tools, with the extra variables' effects added. */
    static const struct {
        const char *name, *decl, *effects;
    } tools[] = {
        {"lookup_order",
         "    args: {order_id: string}\n"
         "    returns:\n"
         "      amount: {type: int, min: 0}\n"
         "      age_days: {type: int, min: 0}\n"
         "      status: {type: enum, values: [processing, shipped, delivered, cancelled]}\n"
         "      email: string\n",
         NULL},
        {"issue_refund",
         "    irreversible: true\n"
         "    args:\n"
         "      order_id: string\n"
         "      amount: {type: int, min: 1}\n"
         "      reason: {type: string, optional: true}\n"
         "    requires: \"earlier(lookup_order, it.args.order_id == args.order_id)\"\n",
         "      refunded_total: \"refunded_total + args.amount\"\n"},
        {"request_approval",
         "    args: {order_id: string, amount: {type: int, min: 1}}\n"
         "    returns: {approved: bool}\n",
         "      approvals_granted: \"approvals_granted + (result.approved ? 1 : 0)\"\n"},
        {"create_return_label",
         "    args: {order_id: string}\n    returns: {label_url: string}\n",
         NULL},
        {"send_customer_message",
         "    args: {body: string}\n",
         "      messages_sent: \"messages_sent + 1\"\n"},
    };
    sb_printf(&b, "tools:\n");
    for (size_t t = 0; t < sizeof tools / sizeof tools[0]; t++) {
        sb_printf(&b, "  %s:\n%s", tools[t].name, tools[t].decl);
        bool any = tools[t].effects != NULL;
        for (size_t j = 0; j < n_extra; j++)
            any = any || strcmp(x[j].tool, tools[t].name) == 0;
        if (!any)
            continue;
        sb_printf(&b, "    effects:\n%s", tools[t].effects ? tools[t].effects : "");
        for (size_t j = 0; j < n_extra; j++)
            if (strcmp(x[j].tool, tools[t].name) == 0)
                sb_printf(&b, "      %s: \"%s\"\n", x[j].name, x[j].effect);
    }
    sb_printf(&b,
              "scope:\n  handles: [order status, returns, refunds]\n  excludes:\n"
              "    - {id: payment-disputes, tools: [open_dispute, respond_to_chargeback], "
              "escalate_to: billing-team}\n"
              "    - {id: legal-questions, tools: [legal_advice], escalate_to: legal-team}\n"
              "    - {id: account-changes, tools: [close_account, change_account_email], "
              "escalate_to: account-security}\n"
              "invariants:\n");
    for (size_t k = 0; k < (n_inv ? n_inv : 1); k++)
        invariant(&b, k);
    free(x);
    return b.p;
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

/* Print every diagnostic of d to stderr under `what`, and clear d. */
static void print_diags(const char *what, pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *msg = pv_diag_format(&d->items[i]);
        fprintf(stderr, "%s: %s\n", what, msg);
        free(msg);
    }
    pv_diags_clear(d);
}

int pg_load_plan(const pv_spec *spec, const char *what, const char *text, pv_plan **plan,
                 pv_doc **doc)
{
    pv_diags d = {0};
    *plan = NULL;
    int rc = pv_doc_parse(what, text, strlen(text), doc, &d);
    if (rc == PV_OK) {
        rc = pv_plan_from_node(spec, *doc, (*doc)->root, plan, &d);
        if (rc != PV_OK) {
            pv_doc_free(*doc);
            *doc = NULL;
        }
    }
    if (rc != PV_OK)
        print_diags(what, &d);
    pv_diags_clear(&d);
    return rc;
}

int pg_load_spec(const char *what, const char *text, pv_spec **spec)
{
    pv_diags d = {0};
    int rc =
        text ? pv_spec_load(what, text, strlen(text), spec, &d) : pv_spec_load_file(what, spec, &d);
    if (rc != PV_OK)
        print_diags(what, &d);
    pv_diags_clear(&d);
    return rc;
}
