/*
 * check.c - `planverify check PLAN...` and `planverify test SPEC...`.
 */
#include "cli.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "pv_plan.h"
#include "pv_spec.h"
#include "pv_verdict.h"

#include <jansson.h>

#include "pv_verdict_json.h"
#include <stdlib.h>
#include <string.h>

/* Minimal XML escaping for JUnit attribute and text content. */
static void xml_escaped(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fprintf(out, "&#%d;", *s);
            else
                fputc(*s, out);
        }
    }
}

typedef struct junit_case {
    char *name;
    char *classname;
    char *failure; /* NULL: passed */
    char *error;   /* bad input */
} junit_case;

typedef struct junit {
    junit_case *cases;
    size_t n;
} junit;

static void junit_add(junit *j, const char *name, const char *cls, char *failure, char *error)
{
    j->cases = pv_xrealloc(j->cases, (j->n + 1) * sizeof(junit_case));
    j->cases[j->n++] = (junit_case){pv_xstrdup(name), pv_xstrdup(cls), failure, error};
}

static void junit_print(FILE *out, const junit *j, const char *suite)
{
    size_t failures = 0, errors = 0;
    for (size_t i = 0; i < j->n; i++) {
        failures += j->cases[i].failure != NULL;
        errors += j->cases[i].error != NULL;
    }
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<testsuites>\n  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" "
            "errors=\"%zu\">\n",
            suite,
            j->n,
            failures,
            errors);
    for (size_t i = 0; i < j->n; i++) {
        const junit_case *c = &j->cases[i];
        fprintf(out, "    <testcase name=\"");
        xml_escaped(out, c->name);
        fprintf(out, "\" classname=\"");
        xml_escaped(out, c->classname);
        fprintf(out, "\"");
        if (!c->failure && !c->error) {
            fprintf(out, "/>\n");
            continue;
        }
        fprintf(out, ">\n      <%s message=\"", c->failure ? "failure" : "error");
        const char *body = c->failure ? c->failure : c->error;
        const char *nl = strchr(body, '\n');
        char *first = pv_xstrndup(body, nl ? (size_t)(nl - body) : strlen(body));
        xml_escaped(out, first);
        free(first);
        fprintf(out, "\">");
        xml_escaped(out, body);
        fprintf(out, "</%s>\n    </testcase>\n", c->failure ? "failure" : "error");
    }
    fprintf(out, "  </testsuite>\n</testsuites>\n");
}

static void junit_free(junit *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->cases[i].name);
        free(j->cases[i].classname);
        free(j->cases[i].failure);
        free(j->cases[i].error);
    }
    free(j->cases);
}

/* Render a verdict as text into a new string (for JUnit bodies). */
static char *verdict_text(const pv_spec *spec, const pv_verdict *v, const char *file)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return pv_xstrdup(pv_action_name(v->decision));
    pv_print_verdict_text(mem, spec, v, file);
    fclose(mem);
    return buf;
}

static char *diags_text(const pv_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return pv_xstrdup("bad input");
    pv_cli_print_diags(mem, d, "error");
    fclose(mem);
    return buf;
}

/* Options shared by check and test. */
typedef struct common_opts {
    pv_cli_source src;
    pv_format format;
    int first; /* index of the first positional argument */
} common_opts;

static int parse_opts(int argc, char **argv, const char *verb, const char *usage, common_opts *o)
{
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int taken;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if ((taken = pv_cli_source_option(verb, a, val, &o->src)) != 0) {
            if (taken < 0)
                return -1;
            i += taken - 1;
        } else if (strcmp(a, "--format") == 0 && val) {
            if (pv_format_parse(val, &o->format) != PV_OK) {
                fprintf(stderr,
                        "planverify %s: unknown format '%s' (text, json or junit)\n",
                        verb,
                        val);
                return -1;
            }
            i++;
        } else {
            fprintf(stderr, "planverify %s: unknown option or missing value: '%s'\n", verb, a);
            fputs(usage, stderr);
            return -1;
        }
    }
    if (pv_cli_source_check(verb, &o->src) != 0)
        return -1;
    o->first = i;
    return 0;
}

static const char check_usage[] =
    "usage: planverify check [--spec FILE | --specs DIR] [--format text|json|junit] PLAN...\n"
    "  Verifies each plan file (YAML or JSON) against its spec. With --spec every\n"
    "  plan is checked against FILE; with --specs (default: the bundled specs) the\n"
    "  plan's `spec` field picks the spec.\n"
    "  --timeout-ms N  bound solver time per plan (the spec's limit applies if lower)\n"
    "  --solver-only   send every plan with unknowns to the solver, skipping the\n"
    "                  quick path (bounds and sample runs); same decisions, the\n"
    "                  solver's witnesses\n"
    "exit: 0 every plan allowed, 1 some other decision, 2 bad input\n";

int pv_cli_check(int argc, char **argv)
{
    common_opts o;
    int r = parse_opts(argc, argv, "check", check_usage, &o);
    if (r)
        return r > 0 ? PV_EXIT_OK : PV_EXIT_USAGE;
    if (o.first >= argc) {
        fprintf(stderr, "planverify check: no plan files given\n");
        fputs(check_usage, stderr);
        return PV_EXIT_USAGE;
    }
    pv_specset set = {0};
    pv_diags d = {0};
    int rc = pv_cli_source_load(&o.src, &set, &d);
    if (rc != PV_OK) {
        pv_cli_print_diags(stderr, &d, "error");
        pv_diags_clear(&d);
        pv_specset_free(&set);
        return PV_EXIT_USAGE;
    }
    pv_engine *eng;
    if (pv_engine_new(&eng) != PV_OK) {
        fprintf(stderr, "planverify check: cannot create the Z3 solver context\n");
        pv_specset_free(&set);
        return PV_EXIT_USAGE;
    }
    pv_verify_opts vo = {.timeout_ms = o.src.timeout_ms, .no_quick = o.src.solver_only};
    size_t n_bad = 0, n_allow = 0, n_other = 0;
    size_t counts[PV_ACT_BLOCK + 1] = {0};
    junit j = {0};
    for (int i = o.first; i < argc; i++) {
        const char *file = argv[i];
        pv_doc *doc = NULL;
        pv_plan *plan = NULL;
        pv_verdict *v = NULL;
        const pv_spec *spec = NULL;
        if ((rc = pv_doc_load_file(file, &doc, &d)) == PV_OK) {
            const char *want = pv_plan_doc_spec_id(doc);
            if (o.src.spec_file)
                spec = set.specs[0];
            else if (want && !(spec = pv_specset_find(&set, want)))
                pv_diags_add(&d,
                             file,
                             doc->root ? doc->root->pos : (pv_pos){0, 0},
                             "field spec: no loaded spec has the id '%s'",
                             want);
            else if (!want && set.n == 1)
                spec = set.specs[0];
            else if (!want)
                pv_diags_add(&d,
                             file,
                             (pv_pos){0, 0},
                             "the plan names no spec; add `spec: ID` or pass --spec FILE");
            if (spec)
                rc = pv_plan_from_node(spec, doc, doc->root, &plan, &d);
            else
                rc = PV_EINPUT;
        }
        if (rc == PV_OK) {
            rc = pv_engine_verify(eng, spec, plan, &vo, &v, &d);
        }
        if (rc != PV_OK) {
            n_bad++;
            if (o.format == PV_FMT_JUNIT)
                junit_add(&j, file, "planverify.check", NULL, diags_text(&d));
            else if (o.format == PV_FMT_JSON) {
                /* Every input gets one line, errors included. */
                json_t *e = json_object();
                json_object_set_new(e, "file", json_string(file));
                json_t *errs = json_array();
                for (size_t k = 0; k < d.n; k++) {
                    char *m = pv_diag_format(&d.items[k]);
                    json_array_append_new(errs, json_string(m));
                    free(m);
                }
                json_object_set_new(e, "errors", errs);
                char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", s);
                free(s);
                json_decref(e);
            }
            pv_cli_print_diags(stderr, &d, "error");
        } else {
            counts[v->decision]++;
            if (v->decision == PV_ACT_ALLOW)
                n_allow++;
            else
                n_other++;
            if (o.format == PV_FMT_TEXT)
                pv_print_verdict_text(stdout, spec, v, file);
            else if (o.format == PV_FMT_JSON)
                pv_print_verdict_json(stdout, spec, v, file);
            else
                junit_add(&j,
                          file,
                          spec->id,
                          v->decision == PV_ACT_ALLOW ? NULL : verdict_text(spec, v, file),
                          NULL);
        }
        pv_diags_clear(&d);
        pv_verdict_free(v);
        pv_plan_free(plan);
        pv_doc_free(doc);
    }
    if (o.format == PV_FMT_JUNIT)
        junit_print(stdout, &j, "planverify check");
    junit_free(&j);
    if (o.format == PV_FMT_TEXT)
        pv_print_summary(stdout, counts, n_bad);
    pv_engine_free(eng);
    pv_specset_free(&set);
    return n_bad ? PV_EXIT_USAGE : n_other ? PV_EXIT_FINDINGS : PV_EXIT_OK;
}

/* ------------------------------------------------------------------ */

/* Does verdict v meet expectation e? On a mismatch returns a new string
 * saying what differed. */
static char *compare_expect(const pv_expect *e, const pv_verdict *v)
{
    char *why = NULL;
    if (v->decision != e->decision)
        why = pv_xasprintf("expected decision %s, got %s",
                           pv_action_name(e->decision),
                           pv_action_name(v->decision));
    if (!why && e->has_violations) {
        /* The exact set of rule ids found. */
        char **got = pv_xcalloc(v->n_findings + 1, sizeof(char *));
        size_t n_got = 0;
        for (size_t i = 0; i < v->n_findings; i++) {
            bool seen = false;
            for (size_t k = 0; k < n_got; k++)
                seen |= strcmp(got[k], v->findings[i].rule) == 0;
            if (!seen)
                got[n_got++] = v->findings[i].rule;
        }
        bool same = n_got == e->n_violations;
        for (size_t i = 0; same && i < e->n_violations; i++) {
            bool found = false;
            for (size_t k = 0; k < n_got; k++)
                found |= strcmp(got[k], e->violations[i]) == 0;
            same = found;
        }
        if (!same) {
            char list_e[1024] = "", list_g[1024] = "";
            for (size_t i = 0; i < e->n_violations; i++) {
                strncat(list_e, i ? ", " : "", sizeof list_e - strlen(list_e) - 1);
                strncat(list_e, e->violations[i], sizeof list_e - strlen(list_e) - 1);
            }
            for (size_t i = 0; i < n_got; i++) {
                strncat(list_g, i ? ", " : "", sizeof list_g - strlen(list_g) - 1);
                strncat(list_g, got[i], sizeof list_g - strlen(list_g) - 1);
            }
            why = pv_xasprintf("expected violations [%s], got [%s]", list_e, list_g);
        }
        free(got);
    }
    if (!why && e->has_step) {
        if (v->n_findings == 0)
            why =
                pv_xasprintf("expected the earliest finding at step %d, got no findings", e->step);
        else if (v->findings[0].step != e->step)
            why = pv_xasprintf("expected the earliest finding at step %d, got step %d",
                               e->step,
                               v->findings[0].step);
    }
    return why;
}

static const char test_usage[] =
    "usage: planverify test [--format text|json|junit] SPEC...\n"
    "  Runs each spec's `tests:` (plans with expected verdicts) without a model.\n"
    "exit: 0 all pass, 1 a test failed, 2 a spec does not load\n";

int pv_cli_test(int argc, char **argv)
{
    common_opts o;
    int r = parse_opts(argc, argv, "test", test_usage, &o);
    if (r)
        return r > 0 ? PV_EXIT_OK : PV_EXIT_USAGE;
    if (o.src.spec_file || o.src.specs_dir) {
        fprintf(stderr, "planverify test: name the spec files as arguments\n");
        return PV_EXIT_USAGE;
    }
    if (o.first >= argc) {
        fprintf(stderr, "planverify test: no spec files given\n");
        fputs(test_usage, stderr);
        return PV_EXIT_USAGE;
    }
    pv_engine *eng;
    if (pv_engine_new(&eng) != PV_OK) {
        fprintf(stderr, "planverify test: cannot create the Z3 solver context\n");
        return PV_EXIT_USAGE;
    }
    pv_verify_opts vo = {.timeout_ms = o.src.timeout_ms, .no_quick = o.src.solver_only};
    size_t passed = 0, failed = 0, bad = 0;
    junit j = {0};
    for (int i = o.first; i < argc; i++) {
        pv_diags d = {0};
        pv_spec *spec;
        if (pv_spec_load_file(argv[i], &spec, &d) != PV_OK) {
            pv_cli_print_diags(stderr, &d, "error");
            if (o.format == PV_FMT_JUNIT)
                junit_add(&j, argv[i], "planverify.test", NULL, diags_text(&d));
            pv_diags_clear(&d);
            bad++;
            continue;
        }
        for (size_t t = 0; t < spec->n_tests; t++) {
            const pv_test *test = &spec->tests[t];
            pv_verdict *v = NULL;
            char *why = NULL;
            if (pv_engine_verify(eng, spec, test->plan, &vo, &v, &d) != PV_OK) {
                char *txt = diags_text(&d);
                why = pv_xasprintf("bad input: %s", txt);
                free(txt);
                pv_diags_clear(&d);
            } else {
                why = compare_expect(&test->expect, v);
            }
            if (o.format == PV_FMT_JSON) {
                /* One line per test, with the verdict it got. */
                json_t *line = json_object();
                json_object_set_new(line, "spec", json_string(spec->id));
                json_object_set_new(line, "test", json_string(test->name));
                json_object_set_new(line, "line", json_integer(test->pos.line));
                json_object_set_new(line, "passed", json_boolean(!why));
                if (why)
                    json_object_set_new(line, "reason", json_string(why));
                if (v)
                    json_object_set_new(line, "verdict", pv_verdict_to_json(spec, v, NULL));
                char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", s);
                free(s);
                json_decref(line);
            } else if (o.format == PV_FMT_TEXT) {
                printf("%s  %s: %s\n", why ? "FAIL" : "ok  ", spec->id, test->name);
                if (why) {
                    printf("      %s:%d: %s\n", spec->file, test->pos.line, why);
                    if (v)
                        pv_print_verdict_text(stdout, spec, v, "      verdict");
                }
            } else {
                char *body = NULL;
                if (why && v) {
                    char *vt = verdict_text(spec, v, "verdict");
                    body = pv_xasprintf("%s\n%s", why, vt);
                    free(vt);
                } else if (why)
                    body = pv_xstrdup(why);
                junit_add(&j, test->name, spec->id, body, NULL);
            }
            if (why)
                failed++;
            else
                passed++;
            free(why);
            pv_verdict_free(v);
        }
        pv_spec_free(spec);
    }
    if (o.format == PV_FMT_JUNIT)
        junit_print(stdout, &j, "planverify test");
    junit_free(&j);
    pv_engine_free(eng);
    FILE *summary = o.format == PV_FMT_TEXT ? stdout : stderr;
    fprintf(summary, "%zu passed, %zu failed\n", passed, failed);
    if (bad)
        fprintf(stderr, "%zu spec%s did not load\n", bad, bad == 1 ? "" : "s");
    return bad ? PV_EXIT_USAGE : failed ? PV_EXIT_FINDINGS : PV_EXIT_OK;
}
