/*
 * diags.c - comparing a loader's diagnostics with the exact expected ones,
 * for the table-driven loader tests.
 */
#include "support/diags.h"

#include <stdio.h>
#include <string.h>

bool pvt_expect_diags(const char *name, int rc, bool other_ok, const pv_diags *d,
                      const char *const *want, size_t max_want)
{
    size_t n = 0;
    while (n < max_want && want[n])
        n++;
    bool ok = other_ok && d->n == n;
    for (size_t i = 0; ok && i < n; i++) {
        char got[1200];
        snprintf(got,
                 sizeof got,
                 "%d:%d: %s",
                 d->items[i].pos.line,
                 d->items[i].pos.col,
                 d->items[i].msg);
        ok = strcmp(got, want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "case '%s': rc=%d, %zu diagnostics (want %zu):\n", name, rc, d->n, n);
        for (size_t i = 0; i < d->n; i++)
            fprintf(stderr,
                    "   got:  %d:%d: %s\n",
                    d->items[i].pos.line,
                    d->items[i].pos.col,
                    d->items[i].msg);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "   want: %s\n", want[i]);
    }
    return ok;
}
