/*
 * audit.c - `planverify audit TRACES.jsonl|-`: verify historical paths, one
 * JSON line each, in parallel, with one output line per input line in input
 * order and a summary on stderr.
 *
 * Threads: a producer reads the input and hands out jobs; N workers, each
 * with its own engine (a Z3 context is not thread-safe), parse, import, load
 * and verify; the main thread writes results in input order, keeps the
 * statistics and draws the progress line.
 *
 * Reproducibility: a Z3 context keeps state from earlier verifications
 * (recycled term ids order the arguments of sums and conjunctions), which
 * can change a witness's values. So a worker does not take lines one by one
 * but claims a chunk of AUDIT_CHUNK consecutive lines and verifies them in
 * order on an engine created fresh for the chunk (about 1 ms, spread over 64
 * plans): every plan then sees the same engine history whatever --jobs is
 * and however the threads are scheduled, and the output is the same from
 * run to run. Jobs live in a ring of `window`
 * slots indexed by sequence number, so at most `window` lines are in flight
 * (read but not yet written) and memory stays bounded however long the
 * input is; the producer also stops while the text it has handed out
 * exceeds a byte budget. The one exception is --from mcp-jsonrpc, whose
 * sessions are complete only at the end of the input: there the tool calls
 * (not the whole lines) are kept until then, and sessions are verified
 * after the last line.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "import.h"
#include "pv_doc_json.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"
#include "pv_verdict_json.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A longer line is a malformed line (and is not held in memory). */
#define AUDIT_MAX_LINE ((size_t)16 << 20)
/* Consecutive lines verified on one fresh engine (see worker_main). */
#define AUDIT_CHUNK 64
/* Lines in flight per worker: 4 chunks. */
#define AUDIT_WINDOW_PER_JOB (4 * AUDIT_CHUNK)
/* Text handed out but not yet written, beyond which the reader waits. */
#define AUDIT_MAX_BYTES_IN_FLIGHT ((size_t)256 << 20)
#define AUDIT_MAX_JOBS 256
#define AUDIT_PROGRESS_MS 200
#define AUDIT_TOP 5
#define AUDIT_READ_CHUNK ((size_t)1 << 20)
/* Any JSON value is read (a scalar line is then the wrong shape, not invalid
 * JSON); duplicate keys make a line malformed. */
#define LINE_JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

typedef enum audit_from { FROM_PLANS, FROM_OPENAI, FROM_MCP } audit_from;

typedef struct audit_opts {
    pv_cli_source src;
    audit_from from;
    unsigned jobs;
    const char *input; /* a path, or "-" */
} audit_opts;

typedef enum job_kind {
    JOB_LINE,    /* an input line: a plan or a conversation */
    JOB_SESSION, /* an MCP session, after the whole log was read */
    JOB_ERROR    /* an error found while reading (an MCP line) */
} job_kind;

/* One unit of work and, once a worker is done with it, its output. */
typedef struct job {
    job_kind kind;
    size_t seq;
    size_t line;    /* 1-based; for a session its first line */
    char *text;     /* JOB_LINE: the line, NUL-terminated, freed once parsed */
    size_t len;     /* JOB_LINE: its length (held in the byte budget until written) */
    bool too_long;  /* JOB_LINE: longer than AUDIT_MAX_LINE, text not kept */
    size_t session; /* JOB_SESSION */
    char *error;    /* JOB_ERROR: the message */
    bool done;      /* set by the worker, under the lock */
    char *out;      /* the output line, without the newline */
    int decision;   /* a pv_action, or -1 for an error line */
    bool malformed; /* the error line is about the line itself, not the plan */
    double ms;      /* time spent on it */
    char *id;       /* the plan's id, when known */
    char **rules;   /* "rule (spec)" of every rule broken, each once */
    size_t n_rules;
} job;

typedef struct rule_count {
    char *name;
    size_t n;
} rule_count;

typedef struct slow_plan {
    double ms;
    size_t line;
    char *id;
} slow_plan;

typedef struct audit {
    audit_opts o;
    pv_specset set;
    const pv_spec *forced; /* --spec */
    pv_verify_opts vo;
    int fd;
    pv_mcp_log *mcp;

    pthread_mutex_t mu;
    pthread_cond_t can_put;  /* the reader waits for room in the window */
    pthread_cond_t has_work; /* workers wait for jobs */
    pthread_cond_t has_done; /* the writer waits for the next job in order */
    job **ring;
    size_t window;
    size_t n_in;         /* jobs handed out */
    size_t next_chunk;   /* the first chunk no worker has claimed */
    size_t n_out;        /* jobs written */
    bool engine_failure; /* a worker could not create an engine */
    size_t bytes_in_flight;
    bool input_done;
    char *read_error; /* why reading stopped early, or NULL */

    atomic_size_t total;      /* jobs expected (0: not known yet) */
    atomic_size_t lines_read; /* for the progress line while an MCP log is read */
    atomic_bool reading_log;  /* an MCP log is being read: no jobs yet */

    /* Written by the main thread only. */
    bool progress;
    struct timespec started, last_progress;
    size_t decisions[PV_ACT_BLOCK + 1];
    size_t n_malformed, n_bad;
    rule_count *rules;
    size_t n_rule_names;
    slow_plan slowest[AUDIT_TOP];
    size_t n_slowest;
} audit;

/* ------------------------------------------------------------------ */
/* options                                                             */

static const char audit_usage[] =
    "usage: planverify audit [--spec FILE | --specs DIR] [--from FORMAT] [--jobs N]\n"
    "                        [--timeout-ms N] [--solver-only] TRACES.jsonl|-\n"
    "  Verifies historical paths, one JSON document per line (`-` reads stdin),\n"
    "  in parallel. Prints one JSON line per input line, in input order: the\n"
    "  verdict with \"line\" and the plan's \"id\", or {\"line\", \"id\", \"error\"}\n"
    "  for a line that is malformed or bad input. A summary goes to stderr.\n"
    "  --spec FILE      check every trace against FILE\n"
    "  --specs DIR      the trace's `spec` picks one of DIR's specs (default: the\n"
    "                   bundled specs)\n"
    "  --from FORMAT    plans (default: contract plans), openai-chat (one\n"
    "                   conversation per line), mcp-jsonrpc (one JSON-RPC message\n"
    "                   per line; one output line per session)\n"
    "  --jobs N         worker threads (default: the number of online CPUs)\n"
    "  --timeout-ms N   bound solver time per plan (the spec's limit applies if lower)\n"
    "  --solver-only    send every plan with unknowns to the solver (no quick path)\n"
    "exit: 0 every plan allowed; 1 some other decision, or a line that is malformed\n"
    "      or bad input; 2 bad options, specs that do not load, unreadable input\n";

/* Parse a positive integer option value in [1, max]; -1 when it is not. */
static long parse_count(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return -1;
    return v;
}

/*
 * Fill o from the command line. Returns 0 to run, 1 when --help was
 * printed, -1 after printing a usage error.
 */
static int parse_opts(int argc, char **argv, audit_opts *o)
{
    memset(o, 0, sizeof *o);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cpus < 1 ? 1 : cpus > AUDIT_MAX_JOBS ? AUDIT_MAX_JOBS : (unsigned)cpus;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int taken;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(audit_usage, stdout);
            return 1;
        } else if ((taken = pv_cli_source_option("audit", a, val, &o->src)) != 0) {
            if (taken < 0)
                return -1;
            i += taken - 1;
        } else if (strcmp(a, "--from") == 0 && val) {
            if (strcmp(val, "plans") == 0)
                o->from = FROM_PLANS;
            else if (strcmp(val, "openai-chat") == 0)
                o->from = FROM_OPENAI;
            else if (strcmp(val, "mcp-jsonrpc") == 0)
                o->from = FROM_MCP;
            else {
                fprintf(stderr,
                        "planverify audit: unknown trace format '%s' (plans, openai-chat or "
                        "mcp-jsonrpc)\n",
                        val);
                return -1;
            }
            i++;
        } else if (strcmp(a, "--jobs") == 0 && val) {
            long n = parse_count(val, AUDIT_MAX_JOBS);
            if (n < 0) {
                fprintf(stderr,
                        "planverify audit: --jobs needs a number from 1 to %d\n",
                        AUDIT_MAX_JOBS);
                return -1;
            }
            o->jobs = (unsigned)n;
            i++;
        } else {
            fprintf(stderr, "planverify audit: unknown option or missing value: '%s'\n", a);
            fputs(audit_usage, stderr);
            return -1;
        }
    }
    if (pv_cli_source_check("audit", &o->src) != 0)
        return -1;
    if (i >= argc) {
        fprintf(stderr, "planverify audit: no trace file given (use - for stdin)\n");
        fputs(audit_usage, stderr);
        return -1;
    }
    if (i + 1 < argc) {
        fprintf(stderr, "planverify audit: one trace file at a time, got %d\n", argc - i);
        return -1;
    }
    o->input = argv[i];
    return 0;
}

/* ------------------------------------------------------------------ */
/* reading lines                                                       */

typedef struct line_reader {
    int fd;
    char *buf;
    size_t start, end;
    bool eof;
} line_reader;

/*
 * The next line of the input, without its "\n" (and a "\r" before it).
 * Returns 1 with *line a new NUL-terminated string and *len its length (or,
 * for a line longer than AUDIT_MAX_LINE, *too_long set and *line NULL: the
 * rest of it is skipped, never held), 0 at the end of the input, -1 on a
 * read error (errno set). A last line without a newline is a line.
 */
static int reader_next(line_reader *r, char **line, size_t *len, bool *too_long)
{
    char *acc = NULL;
    size_t n = 0, cap = 0;
    bool any = false;
    *too_long = false;
    for (;;) {
        if (r->start == r->end && !r->eof) {
            ssize_t got;
            do
                got = read(r->fd, r->buf, AUDIT_READ_CHUNK);
            while (got < 0 && errno == EINTR);
            if (got < 0) {
                free(acc);
                return -1;
            }
            r->start = 0;
            r->end = (size_t)got;
            r->eof = got == 0;
        }
        if (r->start == r->end) {
            if (!any) {
                free(acc);
                return 0;
            }
            break; /* a last line without a newline */
        }
        any = true;
        char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = memchr(p, '\n', avail);
        size_t seg = nl ? (size_t)(nl - p) : avail;
        if (!*too_long && n + seg > AUDIT_MAX_LINE) {
            *too_long = true;
            free(acc);
            acc = NULL;
            n = cap = 0;
        }
        if (!*too_long) {
            if (n + seg + 1 > cap) {
                cap = n + seg + 1 < 256 ? 256 : (n + seg + 1) * 2;
                if (cap > AUDIT_MAX_LINE + 1)
                    cap = AUDIT_MAX_LINE + 1;
                acc = pv_xrealloc(acc, cap);
            }
            memcpy(acc + n, p, seg);
            n += seg;
        }
        r->start += seg + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (*too_long) {
        *line = NULL;
        *len = 0;
        return 1;
    }
    if (!acc)
        acc = pv_xmalloc(1);
    if (n > 0 && acc[n - 1] == '\r')
        n--;
    acc[n] = '\0';
    *line = acc;
    *len = n;
    return 1;
}

/* Count the lines of a regular file, for the progress line's total.
 * Runs beside the audit; stores the count into a->total when done. */
static void *count_lines_main(void *arg)
{
    audit *a = arg;
    int fd = open(a->o.input, O_RDONLY);
    if (fd < 0)
        return NULL;
    char *buf = pv_xmalloc(AUDIT_READ_CHUNK);
    size_t lines = 0;
    char last = '\n';
    ssize_t got;
    while ((got = read(fd, buf, AUDIT_READ_CHUNK)) > 0 || (got < 0 && errno == EINTR)) {
        for (char *p = buf, *end = buf + (got > 0 ? got : 0); p < end; p++) {
            p = memchr(p, '\n', (size_t)(end - p));
            if (!p)
                break;
            lines++;
        }
        if (got > 0)
            last = buf[got - 1];
    }
    if (got == 0 && last != '\n')
        lines++;
    free(buf);
    close(fd);
    if (got == 0 && atomic_load(&a->total) == 0)
        atomic_store(&a->total, lines);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the pipeline                                                        */

/* Hand a job to the workers; waits while the window or the byte budget is
 * full. */
static void put_job(audit *a, job *j)
{
    pthread_mutex_lock(&a->mu);
    while (a->n_in - a->n_out >= a->window ||
           (a->n_in > a->n_out && a->bytes_in_flight + j->len > AUDIT_MAX_BYTES_IN_FLIGHT))
        pthread_cond_wait(&a->can_put, &a->mu);
    j->seq = a->n_in;
    a->ring[a->n_in % a->window] = j;
    a->n_in++;
    a->bytes_in_flight += j->len;
    /* Workers wait for different jobs: wake them all. */
    pthread_cond_broadcast(&a->has_work);
    pthread_mutex_unlock(&a->mu);
}

/* The reader is done (read_error: why it stopped early, or NULL, owned by
 * the audit from now on); wakes every waiting thread. */
static void input_finished(audit *a, char *read_error)
{
    pthread_mutex_lock(&a->mu);
    a->input_done = true;
    a->read_error = read_error;
    pthread_cond_broadcast(&a->has_work);
    pthread_cond_broadcast(&a->has_done);
    pthread_mutex_unlock(&a->mu);
}

static job *new_job(job_kind kind, size_t line)
{
    job *j = pv_xcalloc(1, sizeof *j);
    j->kind = kind;
    j->line = line;
    j->decision = -1;
    return j;
}

static void job_free(job *j)
{
    free(j->text);
    free(j->error);
    free(j->out);
    free(j->id);
    for (size_t i = 0; i < j->n_rules; i++)
        free(j->rules[i]);
    free(j->rules);
    free(j);
}

/* An MCP log: read it whole, grouping lines by session, then hand out one
 * job per session and per unusable line, in order of their first line. */
static char *read_mcp(audit *a, line_reader *r)
{
    job **units = NULL;
    size_t n_units = 0, cap_units = 0;
    char *read_error = NULL;
    for (size_t lineno = 1;; lineno++) {
        char *text;
        size_t len;
        bool too_long;
        int got = reader_next(r, &text, &len, &too_long);
        if (got < 0)
            read_error = pv_xasprintf("cannot read the traces: %s", strerror(errno));
        if (got <= 0)
            break;
        atomic_store(&a->lines_read, lineno);
        job *u = NULL;
        size_t k = 0;
        while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r'))
            k++;
        json_error_t err;
        json_t *value = NULL;
        if (too_long) {
            u = new_job(JOB_ERROR, lineno);
            u->error = pv_xstrdup("the line is longer than 16 MiB");
            u->malformed = true;
        } else if (k == len) {
            u = new_job(JOB_ERROR, lineno);
            u->error = pv_xstrdup("empty line");
            u->malformed = true;
        } else if (!(value = json_loadb(text, len, LINE_JSON_FLAGS, &err))) {
            u = new_job(JOB_ERROR, lineno);
            u->error = pv_xasprintf("invalid JSON at column %d: %s", err.column, err.text);
            u->malformed = true;
        } else {
            size_t session;
            bool is_new;
            char *why;
            if (pv_mcp_log_add(a->mcp, lineno, value, &session, &is_new, &why) != PV_OK) {
                u = new_job(JOB_ERROR, lineno);
                u->error = why;
            } else if (is_new) {
                u = new_job(JOB_SESSION, lineno);
                u->session = session;
            }
            json_decref(value);
        }
        free(text);
        if (u) {
            if (n_units == cap_units) {
                cap_units = cap_units ? cap_units * 2 : 64;
                units = pv_xrealloc(units, cap_units * sizeof(job *));
            }
            units[n_units++] = u;
        }
    }
    atomic_store(&a->total, n_units);
    atomic_store(&a->reading_log, false);
    for (size_t i = 0; i < n_units; i++)
        put_job(a, units[i]);
    free(units);
    return read_error;
}

/* The reader thread: every input line (or MCP unit) becomes a job. */
static void *reader_main(void *arg)
{
    audit *a = arg;
    line_reader r = {a->fd, pv_xmalloc(AUDIT_READ_CHUNK), 0, 0, false};
    char *read_error = NULL;
    if (a->o.from == FROM_MCP) {
        read_error = read_mcp(a, &r);
    } else {
        for (size_t lineno = 1;; lineno++) {
            char *text;
            size_t len;
            bool too_long;
            int got = reader_next(&r, &text, &len, &too_long);
            if (got < 0)
                read_error = pv_xasprintf("cannot read the traces: %s", strerror(errno));
            if (got <= 0)
                break;
            job *j = new_job(JOB_LINE, lineno);
            j->text = text;
            j->len = len;
            j->too_long = too_long;
            put_job(a, j);
        }
    }
    free(r.buf);
    input_finished(a, read_error);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* one job                                                             */

/* The trace's id as text (a string as is, an integer in decimal). */
static char *json_id_text(const json_t *v)
{
    const json_t *id = json_object_get(v, "id");
    if (json_is_string(id))
        return pv_xstrdup(json_string_value(id));
    if (json_is_integer(id))
        return pv_xasprintf("%lld", (long long)json_integer_value(id));
    return NULL;
}

/* Every diagnostic's message (they carry no useful position for JSON
 * input: the output line's "line" says where), joined by "; ". */
static char *join_diags(const pv_diags *d)
{
    size_t len = 1;
    for (size_t k = 0; k < d->n; k++)
        len += strlen(d->items[k].msg) + 2;
    char *s = pv_xmalloc(len);
    s[0] = '\0';
    for (size_t k = 0; k < d->n; k++) {
        if (k)
            strcat(s, "; ");
        strcat(s, d->items[k].msg);
    }
    if (d->n == 0) {
        free(s);
        s = pv_xstrdup("bad input");
    }
    return s;
}

/* Record the rules a verdict breaks, each once, as "rule (spec)". */
static void collect_rules(job *j, const pv_verdict *v)
{
    for (size_t i = 0; i < v->n_findings; i++) {
        char *name = pv_xasprintf("%s (%s)", v->findings[i].rule, v->spec_id);
        bool seen = false;
        for (size_t k = 0; k < j->n_rules && !seen; k++)
            seen = strcmp(j->rules[k], name) == 0;
        if (seen) {
            free(name);
            continue;
        }
        j->rules = pv_xrealloc(j->rules, (j->n_rules + 1) * sizeof(char *));
        j->rules[j->n_rules++] = name;
    }
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Turn a job into its output line: parse, import, load against the spec,
 * verify with this worker's engine. Every failure becomes an error line;
 * nothing here stops the run.
 */
static void run_job(audit *a, pv_engine *eng, job *j)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *out = json_object();
    json_object_set_new(out, "line", json_integer((json_int_t)j->line));
    pv_import imp = {0};
    bool imported = a->o.from != FROM_PLANS;
    pv_doc *doc = NULL; /* plans mode */
    const pv_spec *spec = NULL;
    char *error = NULL;

    if (j->kind == JOB_ERROR) {
        error = j->error;
        j->error = NULL;
    } else if (j->kind == JOB_SESSION) {
        json_object_set(out, "session", (json_t *)pv_mcp_session_id(a->mcp, j->session));
        pv_mcp_session_import(a->mcp, j->session, &a->set, a->forced, &imp);
    } else if (j->too_long) {
        error = pv_xstrdup("the line is longer than 16 MiB");
        j->malformed = true;
    } else {
        size_t k = 0;
        while (k < j->len && (j->text[k] == ' ' || j->text[k] == '\t' || j->text[k] == '\r'))
            k++;
        json_error_t err;
        json_t *value = NULL;
        if (k == j->len) {
            error = pv_xstrdup("empty line");
            j->malformed = true;
        } else if (!(value = json_loadb(j->text, j->len, LINE_JSON_FLAGS, &err))) {
            error = pv_xasprintf("invalid JSON at column %d: %s", err.column, err.text);
            j->malformed = true;
        } else if (a->o.from == FROM_OPENAI) {
            pv_import_openai(&a->set, a->forced, value, &imp);
        } else if (!json_is_object(value)) {
            const char *what = json_is_array(value)    ? "an array"
                               : json_is_string(value) ? "a string"
                               : json_is_number(value) ? "a number"
                               : json_is_null(value)   ? "null"
                                                       : "a boolean";
            error = pv_xasprintf("a plan is a JSON object with \"steps\", found %s", what);
        } else {
            j->id = json_id_text(value);
            spec = pv_import_pick_spec(
                &a->set, a->forced, json_object_get(value, "spec"), "plan", &error);
            if (spec)
                doc = pv_doc_from_root("<plan>", pv_node_from_json(value));
        }
        json_decref(value);
        free(j->text);
        j->text = NULL;
    }
    if (imported && !j->id && imp.id)
        j->id = pv_xstrdup(imp.id);
    if (imp.doc) {
        doc = imp.doc;
        imp.doc = NULL;
        spec = imp.spec;
    } else if (imp.error && !error) {
        error = pv_xstrdup(imp.error);
    }

    pv_verdict *v = NULL;
    if (doc) {
        pv_diags d = {0};
        pv_plan *plan = NULL;
        int rc = pv_plan_from_node(spec, doc, doc->root, &plan, &d);
        if (rc == PV_OK)
            rc = pv_engine_verify(eng, spec, plan, &a->vo, &v, &d);
        if (rc != PV_OK)
            error = join_diags(&d);
        if (plan && plan->id && !j->id)
            j->id = pv_xstrdup(plan->id);
        pv_diags_clear(&d);
        pv_plan_free(plan);
        pv_doc_free(doc);
    }
    if (v) {
        json_t *vj = pv_verdict_to_json(spec, v, NULL);
        const char *key;
        json_t *val;
        json_object_foreach(vj, key, val) json_object_set(out, key, val);
        json_decref(vj);
        j->decision = (int)v->decision;
        collect_rules(j, v);
        pv_verdict_free(v);
    } else {
        if (j->id)
            json_object_set_new(out, "id", json_string(j->id));
        json_object_set_new(out, "error", json_string(error ? error : "bad input"));
    }
    if (imported) {
        json_t *notes = json_array();
        for (size_t i = 0; i < imp.n_notes; i++)
            json_array_append_new(notes, json_string(imp.notes[i]));
        json_object_set_new(out, "notes", notes);
    }
    j->out = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!j->out) /* only when a string is not UTF-8, which Jansson's reader rules out */
        j->out = pv_xasprintf("{\"line\":%zu,\"error\":\"cannot encode the output\"}", j->line);
    json_decref(out);
    free(error);
    pv_import_clear(&imp);
    j->ms = ms_since(&t0);
}

typedef struct worker {
    audit *a;
    pv_engine *eng; /* fresh: not used since it was created */
    bool fresh;
    pthread_t thread;
} worker;

/* The next job of a chunk, once read; NULL when the input ended before. */
static job *wait_for_job(audit *a, size_t seq)
{
    pthread_mutex_lock(&a->mu);
    while (seq >= a->n_in && !a->input_done)
        pthread_cond_wait(&a->has_work, &a->mu);
    job *j = seq < a->n_in ? a->ring[seq % a->window] : NULL;
    pthread_mutex_unlock(&a->mu);
    return j;
}

/*
 * A worker: claim the next chunk of AUDIT_CHUNK jobs, verify them in order
 * on a fresh engine, repeat until the input is done. Chunks are claimed in
 * input order, so the job the writer waits for always belongs to a claimed
 * chunk or to the next one, and the window (several chunks per worker)
 * keeps every worker busy.
 */
static void *worker_main(void *arg)
{
    worker *w = arg;
    audit *a = w->a;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        while (a->next_chunk * AUDIT_CHUNK >= a->n_in && !a->input_done)
            pthread_cond_wait(&a->has_work, &a->mu);
        if (a->next_chunk * AUDIT_CHUNK >= a->n_in) {
            pthread_mutex_unlock(&a->mu);
            return NULL;
        }
        size_t first = a->next_chunk++ * AUDIT_CHUNK;
        pthread_mutex_unlock(&a->mu);

        if (!w->fresh) {
            pv_engine_free(w->eng);
            w->eng = NULL;
            if (pv_engine_new(&w->eng) != PV_OK) {
                w->eng = NULL;
                pthread_mutex_lock(&a->mu);
                a->engine_failure = true;
                pthread_mutex_unlock(&a->mu);
            }
        }
        w->fresh = false;
        for (size_t seq = first; seq < first + AUDIT_CHUNK; seq++) {
            job *j = wait_for_job(a, seq);
            if (!j)
                break;
            if (w->eng) {
                run_job(a, w->eng, j);
            } else {
                j->out = pv_xasprintf("{\"line\":%zu,\"error\":\"internal error: cannot "
                                      "create the Z3 solver context\"}",
                                      j->line);
                free(j->text);
                j->text = NULL;
            }
            pthread_mutex_lock(&a->mu);
            j->done = true;
            if (j->seq == a->n_out)
                pthread_cond_signal(&a->has_done);
            pthread_mutex_unlock(&a->mu);
        }
    }
}

/* ------------------------------------------------------------------ */
/* statistics, progress, summary (main thread)                         */

/* Add a written job to the statistics: its decision or kind of error, the
 * rules it broke, and its time if it is among the slowest verified plans. */
static void account(audit *a, const job *j)
{
    if (j->decision >= 0)
        a->decisions[j->decision]++;
    else if (j->malformed)
        a->n_malformed++;
    else
        a->n_bad++;
    for (size_t i = 0; i < j->n_rules; i++) {
        size_t k = 0;
        while (k < a->n_rule_names && strcmp(a->rules[k].name, j->rules[i]) != 0)
            k++;
        if (k == a->n_rule_names) {
            a->rules = pv_xrealloc(a->rules, (k + 1) * sizeof(rule_count));
            a->rules[k] = (rule_count){pv_xstrdup(j->rules[i]), 0};
            a->n_rule_names++;
        }
        a->rules[k].n++;
    }
    if (j->decision < 0)
        return;
    /* Keep the slowest verified plans, slowest first. */
    size_t pos = a->n_slowest;
    while (pos > 0 && a->slowest[pos - 1].ms < j->ms)
        pos--;
    if (pos >= AUDIT_TOP)
        return;
    if (a->n_slowest == AUDIT_TOP)
        free(a->slowest[AUDIT_TOP - 1].id);
    else
        a->n_slowest++;
    memmove(&a->slowest[pos + 1], &a->slowest[pos], (a->n_slowest - 1 - pos) * sizeof(slow_plan));
    a->slowest[pos] = (slow_plan){j->ms, j->line, j->id ? pv_xstrdup(j->id) : NULL};
}

static void format_duration(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

/* Redraw the progress line when it is due (every AUDIT_PROGRESS_MS). */
static void progress(audit *a, bool force)
{
    if (!a->progress)
        return;
    if (!force && ms_since(&a->last_progress) < AUDIT_PROGRESS_MS)
        return;
    clock_gettime(CLOCK_MONOTONIC, &a->last_progress);
    double secs = ms_since(&a->started) / 1e3;
    size_t done = a->n_out, total = atomic_load(&a->total);
    if (atomic_load(&a->reading_log)) {
        fprintf(stderr,
                "\r\033[Kaudit: reading the log, %zu lines",
                (size_t)atomic_load(&a->lines_read));
        fflush(stderr);
        return;
    }
    double rate = secs > 0 ? (double)done / secs : 0;
    char eta[32] = "?";
    if (total && rate > 0 && total >= done)
        format_duration(eta, sizeof eta, (double)(total - done) / rate);
    if (total)
        fprintf(stderr,
                "\r\033[Kaudit: %zu/%zu (%.0f%%)  %.1f plans/s  ETA %s",
                done,
                total,
                total >= done ? 100.0 * (double)done / (double)total : 100.0,
                rate,
                eta);
    else
        fprintf(stderr, "\r\033[Kaudit: %zu  %.1f plans/s", done, rate);
    fflush(stderr);
}

static int cmp_rule_count(const void *x, const void *y)
{
    const rule_count *a = x, *b = y;
    if (a->n != b->n)
        return a->n < b->n ? 1 : -1;
    return strcmp(a->name, b->name);
}

/* The summary on stderr (clearing the progress line first): totals and
 * rate, decisions, malformed lines and bad input, top rules, slowest plans. */
static void print_summary(audit *a)
{
    if (a->progress)
        fputs("\r\033[K", stderr);
    double secs = ms_since(&a->started) / 1e3;
    size_t verdicts = 0;
    for (int d = PV_ACT_ALLOW; d <= PV_ACT_BLOCK; d++)
        verdicts += a->decisions[d];
    size_t total = verdicts + a->n_malformed + a->n_bad;
    if (a->o.from == FROM_MCP)
        fprintf(stderr,
                "audit: %zu result%s from %zu lines",
                total,
                total == 1 ? "" : "s",
                (size_t)atomic_load(&a->lines_read));
    else
        fprintf(stderr, "audit: %zu line%s", total, total == 1 ? "" : "s");
    fprintf(stderr,
            " in %.2f s (%.1f plans/s, %u job%s)\n",
            secs,
            secs > 0 ? (double)total / secs : 0.0,
            a->o.jobs,
            a->o.jobs == 1 ? "" : "s");
    fprintf(stderr, "  decisions:");
    for (int d = PV_ACT_BLOCK; d >= PV_ACT_ALLOW; d--)
        fprintf(stderr,
                " %s %zu%s",
                pv_action_name((pv_action)d),
                a->decisions[d],
                d > PV_ACT_ALLOW ? "," : "\n");
    fprintf(stderr,
            "  malformed or bad input: %zu (%zu malformed line%s, %zu bad input)\n",
            a->n_malformed + a->n_bad,
            a->n_malformed,
            a->n_malformed == 1 ? "" : "s",
            a->n_bad);
    if (a->n_rule_names) {
        qsort(a->rules, a->n_rule_names, sizeof(rule_count), cmp_rule_count);
        fprintf(stderr, "  rules broken most often (plans):\n");
        for (size_t i = 0; i < a->n_rule_names && i < AUDIT_TOP; i++)
            fprintf(stderr, "    %8zu  %s\n", a->rules[i].n, a->rules[i].name);
    }
    if (a->n_slowest) {
        fprintf(stderr, "  slowest plans:\n");
        for (size_t i = 0; i < a->n_slowest; i++)
            fprintf(stderr,
                    "    %8.1f ms  line %zu%s%s\n",
                    a->slowest[i].ms,
                    a->slowest[i].line,
                    a->slowest[i].id ? "  id " : "",
                    a->slowest[i].id ? a->slowest[i].id : "");
    }
}

/*
 * Write finished jobs in input order until the input is done and every job
 * is written. Between jobs, redraws the progress line; flushes stdout
 * whenever it has to wait, so a reader of a pipe sees results promptly.
 */
static void write_results(audit *a)
{
    bool dirty = false;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        job *j = a->n_out < a->n_in ? a->ring[a->n_out % a->window] : NULL;
        if (j && j->done) {
            a->ring[a->n_out % a->window] = NULL;
            a->n_out++;
            a->bytes_in_flight -= j->len;
            pthread_cond_signal(&a->can_put);
            pthread_mutex_unlock(&a->mu);
            fputs(j->out, stdout);
            fputc('\n', stdout);
            dirty = true;
            account(a, j);
            job_free(j);
            progress(a, false);
            pthread_mutex_lock(&a->mu);
            continue;
        }
        if (a->input_done && a->n_out == a->n_in)
            break;
        if (dirty) {
            pthread_mutex_unlock(&a->mu);
            fflush(stdout);
            dirty = false;
            pthread_mutex_lock(&a->mu);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += AUDIT_PROGRESS_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->has_done, &a->mu, &until);
        pthread_mutex_unlock(&a->mu);
        progress(a, false);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* the verb                                                            */

static void audit_free(audit *a)
{
    for (size_t i = 0; i < a->n_rule_names; i++)
        free(a->rules[i].name);
    free(a->rules);
    for (size_t i = 0; i < a->n_slowest; i++)
        free(a->slowest[i].id);
    free(a->ring);
    free(a->read_error);
    pv_mcp_log_free(a->mcp);
    pv_specset_free(&a->set);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->can_put);
    pthread_cond_destroy(&a->has_work);
    pthread_cond_destroy(&a->has_done);
}

/* Open the input; returns the descriptor or -1 after printing why. Sets
 * *regular for a regular file (whose lines can be counted ahead). */
static int open_input(const char *path, bool *regular)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "planverify audit: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "planverify audit: '%s' is a directory, not a trace file\n", path);
        if (fd != STDIN_FILENO)
            close(fd);
        return -1;
    }
    *regular = fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    return fd;
}

/*
 * The verb. Loads the specs and opens the input (exit 2 when either fails),
 * creates one engine per job, runs the reader, the workers and the writer,
 * then prints the summary. Exit 0 when every line got an `allow` verdict, 1
 * when a verdict is not `allow` or a line is malformed or bad input, 2 when
 * the input could not be read to its end or the output not written.
 */
int pv_cli_audit(int argc, char **argv)
{
    audit A;
    memset(&A, 0, sizeof A);
    audit *a = &A;
    int r = parse_opts(argc, argv, &a->o);
    if (r)
        return r > 0 ? PV_EXIT_OK : PV_EXIT_USAGE;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->can_put, NULL);
    pthread_cond_init(&a->has_work, NULL);
    pthread_cond_init(&a->has_done, NULL);

    pv_diags d = {0};
    int rc = pv_cli_source_load(&a->o.src, &a->set, &d);
    if (rc != PV_OK) {
        pv_cli_print_diags(stderr, &d, "error");
        pv_diags_clear(&d);
        audit_free(a);
        return PV_EXIT_USAGE;
    }
    a->forced = a->o.src.spec_file ? a->set.specs[0] : NULL;
    a->vo.timeout_ms = a->o.src.timeout_ms;
    a->vo.no_quick = a->o.src.solver_only;
    bool regular = false;
    a->fd = open_input(a->o.input, &regular);
    if (a->fd < 0) {
        audit_free(a);
        return PV_EXIT_USAGE;
    }
    if (a->o.from == FROM_MCP) {
        a->mcp = pv_mcp_log_new();
        atomic_store(&a->reading_log, true);
    }

    /* Engines first: a machine that cannot create them runs nothing. */
    worker *workers = pv_xcalloc(a->o.jobs, sizeof(worker));
    for (unsigned i = 0; i < a->o.jobs; i++) {
        workers[i].a = a;
        workers[i].fresh = true;
        if (pv_engine_new(&workers[i].eng) != PV_OK) {
            fprintf(stderr, "planverify audit: cannot create the Z3 solver context\n");
            for (unsigned k = 0; k < i; k++)
                pv_engine_free(workers[k].eng);
            free(workers);
            if (a->fd != STDIN_FILENO)
                close(a->fd);
            audit_free(a);
            return PV_EXIT_USAGE;
        }
    }
    /* Jansson seeds its hash function on first use; do it before threads. */
    json_object_seed(0);
    a->window = (size_t)a->o.jobs * AUDIT_WINDOW_PER_JOB;
    a->ring = pv_xcalloc(a->window, sizeof(job *));
    a->progress = isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &a->started);
    a->last_progress = a->started;

    pthread_t counter, reader;
    bool counting = a->progress && regular && a->o.from != FROM_MCP;
    if (counting)
        pthread_create(&counter, NULL, count_lines_main, a);
    for (unsigned i = 0; i < a->o.jobs; i++)
        pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    pthread_create(&reader, NULL, reader_main, a);

    write_results(a);

    pthread_join(reader, NULL);
    for (unsigned i = 0; i < a->o.jobs; i++) {
        pthread_join(workers[i].thread, NULL);
        pv_engine_free(workers[i].eng);
    }
    free(workers);
    if (counting)
        pthread_join(counter, NULL);
    if (a->fd != STDIN_FILENO)
        close(a->fd);

    print_summary(a);
    int exit_code = PV_EXIT_OK;
    if (a->read_error) {
        fprintf(stderr, "planverify audit: %s\n", a->read_error);
        exit_code = PV_EXIT_USAGE;
    } else if (a->engine_failure) {
        fprintf(stderr, "planverify audit: cannot create a Z3 solver context\n");
        exit_code = PV_EXIT_USAGE;
    } else if (ferror(stdout)) {
        fprintf(stderr, "planverify audit: cannot write the results\n");
        exit_code = PV_EXIT_USAGE;
    } else if (a->n_malformed || a->n_bad) {
        exit_code = PV_EXIT_FINDINGS;
    } else {
        for (int dd = PV_ACT_CLARIFY; dd <= PV_ACT_BLOCK; dd++)
            if (a->decisions[dd])
                exit_code = PV_EXIT_FINDINGS;
    }
    audit_free(a);
    return exit_code;
}
