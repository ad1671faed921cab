/*
 * fuzz_expr.c - libFuzzer target for the expression parser: the input is
 * an expression's text, given to pv_expr_parse. A tree that parses is
 * rendered with pv_expr_to_string, whose contract is that the text reads
 * back to the same tree; the target checks that the rendering parses again
 * and renders to the same text (a fixed point), and aborts when it does
 * not, so that the fuzzer reports the input.
 */
#include "pv_expr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken round trip: say what and where, then abort for libFuzzer. */
static void round_trip_fails(const char *first, const char *second, const pv_expr_error *err)
{
    fprintf(stderr, "pv_expr_to_string does not read back:\n  rendered: %s\n", first);
    if (second)
        fprintf(stderr, "  rendered again: %s\n", second);
    else
        fprintf(stderr, "  parse error at %u: %s\n", (unsigned)err->off, err->msg);
    abort();
}

static void check_round_trip(const pv_expr *e)
{
    char *first = pv_expr_to_string(e, NULL);
    pv_expr *again = NULL;
    pv_expr_error err;
    int rc = pv_expr_parse(first, strlen(first), &again, &err);
    /* Full parenthesisation makes the text longer and deeper than the
     * input: past the parser's bounds it may not read back, by design. */
    if (rc == PV_ELIMIT) {
        free(first);
        return;
    }
    if (rc != PV_OK)
        round_trip_fails(first, NULL, &err);
    char *second = pv_expr_to_string(again, NULL);
    if (strcmp(first, second) != 0)
        round_trip_fails(first, second, &err);
    free(second);
    pv_expr_free(again);
    free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_expr *e = NULL;
    pv_expr_error err;
    if (pv_expr_parse((const char *)data, size, &e, &err) != PV_OK)
        return 0;
    check_round_trip(e);
    pv_expr *copy = pv_expr_copy(e);
    pv_expr_free(e);
    free(pv_expr_to_string(copy, NULL));
    (void)pv_expr_uses_path(copy);
    pv_expr_free(copy);
    return 0;
}
