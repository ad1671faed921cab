/*
 * specset.c - the specs a command works with: one file (--spec), every
 * *.yaml / *.yml of a directory (--specs), or the bundled specs.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "pv_spec.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_spec_file(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int add_spec(pv_specset *set, pv_spec *spec, pv_diags *d)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->specs[i]->id, spec->id) == 0) {
            pv_diags_add(d,
                         spec->file,
                         (pv_pos){0, 0},
                         "spec id '%s' is also the id of %s; ids must be unique",
                         spec->id,
                         set->specs[i]->file);
            pv_spec_free(spec);
            return PV_EINPUT;
        }
    set->specs = pv_xrealloc(set->specs, (set->n + 1) * sizeof(pv_spec *));
    set->specs[set->n++] = spec;
    return PV_OK;
}

int pv_specset_add_file(pv_specset *set, const char *path, pv_diags *d)
{
    pv_spec *spec;
    int rc = pv_spec_load_file(path, &spec, d);
    if (rc != PV_OK)
        return rc;
    return add_spec(set, spec, d);
}

int pv_specset_add_dir(pv_specset *set, const char *dir, pv_diags *d)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        pv_diags_add(d, dir, (pv_pos){0, 0}, "cannot open spec directory: %s", strerror(errno));
        return PV_EIO;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(dh))) {
        if (!is_spec_file(ent->d_name))
            continue;
        names = pv_xrealloc(names, (n + 1) * sizeof(char *));
        names[n++] = pv_xasprintf("%s/%s", dir, ent->d_name);
    }
    closedir(dh);
    /* Sorted, so that errors and listings come out the same every time. */
    if (n > 1)
        qsort(names, n, sizeof(char *), cmp_str);
    int rc = PV_OK;
    for (size_t i = 0; i < n; i++) {
        int r = pv_specset_add_file(set, names[i], d);
        if (r != PV_OK)
            rc = r;
        free(names[i]);
    }
    free(names);
    if (rc == PV_OK && n == 0) {
        pv_diags_add(d, dir, (pv_pos){0, 0}, "no spec files (*.yaml, *.yml) in the directory");
        rc = PV_EINPUT;
    }
    return rc;
}

const pv_spec *pv_specset_find(const pv_specset *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->specs[i]->id, id) == 0)
            return set->specs[i];
    return NULL;
}

void pv_specset_free(pv_specset *set)
{
    for (size_t i = 0; i < set->n; i++)
        pv_spec_free(set->specs[i]);
    free(set->specs);
    set->specs = NULL;
    set->n = 0;
}

const char *pv_bundled_specs_dir(void)
{
    const char *env = getenv("PLANVERIFY_SPECS");
    if (env && env[0])
        return env;
#ifdef PV_BUNDLED_SPECS
    return PV_BUNDLED_SPECS;
#else
    return "specs";
#endif
}

int pv_cli_source_option(const char *verb, const char *a, const char *val, pv_cli_source *s)
{
    if (strcmp(a, "--solver-only") == 0) {
        s->solver_only = true;
        return 1;
    }
    if (!val)
        return 0;
    if (strcmp(a, "--spec") == 0) {
        s->spec_file = val;
        return 2;
    }
    if (strcmp(a, "--specs") == 0) {
        s->specs_dir = val;
        return 2;
    }
    if (strcmp(a, "--timeout-ms") == 0) {
        char *end;
        errno = 0;
        long t = strtol(val, &end, 10);
        if (errno || end == val || *end || t <= 0 || t > 3600000) {
            fprintf(stderr, "planverify %s: --timeout-ms needs a positive number of ms\n", verb);
            return -1;
        }
        s->timeout_ms = (unsigned)t;
        return 2;
    }
    return 0;
}

int pv_cli_source_check(const char *verb, const pv_cli_source *s)
{
    if (s->spec_file && s->specs_dir) {
        fprintf(stderr, "planverify %s: give --spec FILE or --specs DIR, not both\n", verb);
        return -1;
    }
    return 0;
}

int pv_cli_source_load(const pv_cli_source *s, pv_specset *set, pv_diags *d)
{
    if (s->spec_file)
        return pv_specset_add_file(set, s->spec_file, d);
    return pv_specset_add_dir(set, s->specs_dir ? s->specs_dir : pv_bundled_specs_dir(), d);
}
