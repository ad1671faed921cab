/*
 * test_common.c - the shared utilities: string buffers, did-you-mean
 * suggestions, the character-range check, diagnostics formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_common.h"

static void test_buf(void **state)
{
    (void)state;
    pv_buf b = {0};
    pv_buf_add(&b, "");
    assert_non_null(b.ptr);
    assert_string_equal(b.ptr, "");
    assert_int_equal(b.len, 0);
    pv_buf_add(&b, "abc");
    pv_buf_addn(&b, "\0x", 2); /* a NUL byte is kept */
    pv_buf_addf(&b, "%d-%s%c", 42, "z", '\0');
    assert_int_equal(b.len, 3 + 2 + 5);
    assert_memory_equal(b.ptr, "abc\0x42-z\0", 10);
    assert_int_equal(b.ptr[b.len], '\0');
    for (int i = 0; i < 1000; i++)
        pv_buf_addf(&b, "%03d", i);
    assert_int_equal(b.len, 10 + 3000);
    assert_memory_equal(b.ptr + b.len - 6, "998999", 6);
    free(b.ptr);
}

static void test_suggest(void **state)
{
    (void)state;
    const char *const keys[] = {"invariants", "tools", "state", "scope", "args", "int"};
    assert_string_equal(pv_suggest("invariant", keys, 6), "invariants");
    assert_string_equal(pv_suggest("tols", keys, 6), "tools");
    assert_string_equal(pv_suggest("arguments", keys, 6), "args"); /* by prefix */
    assert_string_equal(pv_suggest("integer", keys, 6), "int");
    assert_null(pv_suggest("zebra", keys, 6));
    assert_null(pv_suggest("x", keys, 0));
    assert_int_equal(pv_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(pv_edit_distance("", "abc"), 3);
    assert_int_equal(pv_edit_distance("same", "same"), 0);
}

static void test_code_point_range(void **state)
{
    (void)state;
    assert_int_equal(pv_utf8_beyond_range("plain", 5), 0);
    assert_int_equal(pv_utf8_beyond_range("\xf0\x9f\x98\x80", 4), 0); /* U+1F600 */
    assert_int_equal(pv_utf8_beyond_range("\xf0\xaf\xbf\xbf", 4), 0); /* U+2FFFF */
    assert_int_equal(pv_utf8_beyond_range("a\xf0\xb0\x80\x80", 5), 0x30000);
    assert_int_equal(pv_utf8_beyond_range("\xf4\x8f\xbf\xbf", 4), 0x10FFFF);
}

static void test_diag_format(void **state)
{
    (void)state;
    pv_diags d = {0};
    pv_diags_add(&d, "f.yaml", (pv_pos){3, 7}, "bad %s", "thing");
    pv_diags_add(&d, "f.yaml", (pv_pos){0, 0}, "no position");
    pv_diags_add(&d, NULL, (pv_pos){0, 0}, "bare");
    char *a = pv_diag_format(&d.items[0]), *b = pv_diag_format(&d.items[1]),
         *c = pv_diag_format(&d.items[2]);
    assert_string_equal(a, "f.yaml:3:7: bad thing");
    assert_string_equal(b, "f.yaml: no position");
    assert_string_equal(c, "bare");
    free(a);
    free(b);
    free(c);
    pv_diags_clear(&d);
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_code_point_range),
        cmocka_unit_test(test_diag_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
