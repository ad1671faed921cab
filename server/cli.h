/*
 * cli.h - the command-line verbs of the planverify binary.
 */
#ifndef PV_CLI_H
#define PV_CLI_H

#include <stdio.h>

#include "pv_common.h"

#define PV_VERSION "0.1.0"

/* Exit codes shared by the verbs (contract section 7). */
enum {
    PV_EXIT_OK = 0,       /* all allow / all pass / clean */
    PV_EXIT_FINDINGS = 1, /* a non-allow decision, a failed test, a lint finding */
    PV_EXIT_USAGE = 2     /* bad input: unreadable or invalid files, bad options */
};

struct pv_spec;
struct pv_verdict;

int pv_cli_lint(int argc, char **argv);
int pv_cli_serve(int argc, char **argv);
int pv_cli_verify(int argc, char **argv);
int pv_cli_audit(int argc, char **argv);
int pv_cli_check(int argc, char **argv);
int pv_cli_test(int argc, char **argv);

/* A set of loaded specs with unique ids. A zeroed struct is empty. */
typedef struct pv_specset {
    struct pv_spec **specs;
    size_t n;
} pv_specset;

int pv_specset_add_file(pv_specset *set, const char *path, pv_diags *d);
/* Every *.yaml and *.yml in dir, in name order; an empty directory is an
 * error. All files are tried; the first error code is returned. */
int pv_specset_add_dir(pv_specset *set, const char *dir, pv_diags *d);
const struct pv_spec *pv_specset_find(const pv_specset *set, const char *id);
void pv_specset_free(pv_specset *set);
/* $PLANVERIFY_SPECS, else the specs/ directory this binary was built from. */
const char *pv_bundled_specs_dir(void);

/* The options every verifying command (check, test, audit) takes: which
 * specs (--spec FILE or --specs DIR, the bundled ones by default) and how to
 * verify (--timeout-ms N, --solver-only). A zeroed struct is the defaults. */
typedef struct pv_cli_source {
    const char *spec_file;
    const char *specs_dir;
    unsigned timeout_ms;
    bool solver_only; /* no quick path (pv_quick.h) */
} pv_cli_source;

/* If argument a (val: the one after it, or NULL) is one of those options,
 * take it: returns 1 for a flag, 2 when val was its value, -1 after
 * printing why the value is bad; 0 when a is some other option. */
int pv_cli_source_option(const char *verb, const char *a, const char *val, pv_cli_source *s);
/* After the options: -1, after saying why, when --spec and --specs were
 * both given; else 0. */
int pv_cli_source_check(const char *verb, const pv_cli_source *s);
/* Load the specs the options name into set. */
int pv_cli_source_load(const pv_cli_source *s, pv_specset *set, pv_diags *d);

/* Output formats shared by check, verify and audit. */
typedef enum pv_format { PV_FMT_TEXT, PV_FMT_JSON, PV_FMT_JUNIT } pv_format;
int pv_format_parse(const char *s, pv_format *out);

/* A verdict for people: a header line, one line per finding, witnesses. */
void pv_print_verdict_text(FILE *out, const struct pv_spec *spec, const struct pv_verdict *v,
                           const char *file);
/* "5 plans: 2 block, 3 allow, 1 bad input", counts indexed by pv_action. */
void pv_print_summary(FILE *out, const size_t counts[5], size_t n_bad);
/* One JSON object on one line. */
void pv_print_verdict_json(FILE *out, const struct pv_spec *spec, const struct pv_verdict *v,
                           const char *file);

/* Print every diagnostic as "file:line:col: error: message" to out. */
void pv_cli_print_diags(FILE *out, const pv_diags *d, const char *severity);

#endif
