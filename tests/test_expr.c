/*
 * test_expr.c - the expression parser (contract section 3): precedence and
 * associativity of every operator through the fully parenthesised
 * rendering, every function, literals and string escapes, node offsets,
 * the depth and length bounds, and every syntax error with its exact
 * message and offset.
 *
 * The tables run row by row; a failing row prints its source and what came
 * out, and every row is tried before the test fails, so one run shows all
 * the differences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_expr.h"
#include "pv_spec.h"

static pv_expr *parse_ok(const char *src)
{
    pv_expr *e = NULL;
    pv_expr_error err;
    int rc = pv_expr_parse(src, strlen(src), &e, &err);
    if (rc != PV_OK)
        fail_msg("parsing \"%s\" failed at %u: %s", src, err.off, err.msg);
    assert_non_null(e);
    return e;
}

/* --- successful parses, as rendered --------------------------------------------------- */

typedef struct render_case {
    const char *src;
    const char *want;
} render_case;

static const render_case RENDER_CASES[] = {
    /* literals and names */
    {"1", "1"},
    {"007", "7"},
    {"-1", "-1"},
    {"9223372036854775807", "9223372036854775807"},
    {"-9223372036854775808", "-9223372036854775808"},
    {"true", "true"},
    {"false", "false"},
    {"'abc'", "'abc'"},
    {"\"abc\"", "'abc'"},
    {"''", "''"},
    {"\"it's\"", "'it\\'s'"},
    {"'say \"hi\"'", "'say \"hi\"'"},
    {"'\\\\ \\' \\\" \\n \\t \\r \\0'", "'\\\\ \\' \" \\n \\t \\r \\0'"},
    {"'\\x41\\u00e9\\u20AC'", "'A\xc3\xa9\xe2\x82\xac'"},
    {"'\\x01\\x7f'", "'\\x01\\x7f'"},
    {"'caf\xc3\xa9'", "'caf\xc3\xa9'"},
    {"a", "a"},
    {"_x9", "_x9"},
    {"args.amount", "args.amount"},
    {"it.result.refundable", "it.result.refundable"},
    {"refunded_total", "refunded_total"},
    {"((a))", "a"},
    {" \t\na\r\n+\f\vb ", "(a + b)"},
    /* arithmetic */
    {"a + b * 2 < 10", "((a + (b * 2)) < 10)"},
    {"a - b - c", "((a - b) - c)"},
    {"a - (b - c)", "(a - (b - c))"},
    {"a + b - c", "((a + b) - c)"},
    {"a * b / c % d", "(((a * b) / c) % d)"},
    {"a + b * c - d / e", "((a + (b * c)) - (d / e))"},
    {"(a + b) * c", "((a + b) * c)"},
    {"-a * b", "((-a) * b)"},
    {"- -a", "(-(-a))"},
    {"--5", "(-(-5))"},
    {"-(5)", "(-(5))"},
    {"a - -5", "(a - -5)"},
    {"a-1", "(a - 1)"},
    {"-2 * x", "(-2 * x)"},
    /* boolean operators */
    {"!a == b", "(!(a == b))"},
    {"!a && b", "((!a) && b)"},
    {"!!a", "(!(!a))"},
    {"!(a + 1 > b)", "(!((a + 1) > b))"},
    {"a || b && c", "(a || (b && c))"},
    {"a && b || c", "((a && b) || c)"},
    {"a || b || c", "((a || b) || c)"},
    {"a && b && c", "((a && b) && c)"},
    {"a => b => c", "(a => (b => c))"},
    {"a || b => c && d", "((a || b) => (c && d))"},
    {"(a => b) => c", "((a => b) => c)"},
    /* conditional */
    {"c ? x : y", "(c ? x : y)"},
    {"a ? b : c ? d : e", "(a ? b : (c ? d : e))"},
    {"a ? b ? c : d : e", "(a ? (b ? c : d) : e)"},
    {"a => b ? c : d", "((a => b) ? c : d)"},
    {"x % 2 == 0 ? 'even' : 'odd'", "(((x % 2) == 0) ? 'even' : 'odd')"},
    {"c ? a || b : !d", "(c ? (a || b) : (!d))"},
    /* comparisons */
    {"a == b", "(a == b)"},
    {"a != b", "(a != b)"},
    {"a < b", "(a < b)"},
    {"a <= b", "(a <= b)"},
    {"a > b", "(a > b)"},
    {"a >= b", "(a >= b)"},
    {"a==b", "(a == b)"},
    {"(a == b) == c", "((a == b) == c)"},
    {"a == 'x' || b", "((a == 'x') || b)"},
    {"x in [1, 2]", "(x in [1, 2])"},
    {"x in ['a']", "(x in ['a'])"},
    {"x + 1 in [a, b * 2]", "((x + 1) in [a, (b * 2)])"},
    {"!x in [1]", "(!(x in [1]))"},
    {"x in [c ? 1 : 2, 3]", "(x in [(c ? 1 : 2), 3])"},
    {"x in [!a, b || c]", "(x in [(!a), (b || c)])"},
    /* functions */
    {"starts_with(s, 'p')", "starts_with(s, 'p')"},
    {"ends_with(s, \"p\")", "ends_with(s, 'p')"},
    {"contains(args.to, '@')", "contains(args.to, '@')"},
    {"len(s) > 0", "(len(s) > 0)"},
    {"min(a, b)", "min(a, b)"},
    {"max(min(a, 1), -2)", "max(min(a, 1), -2)"},
    {"abs(a - b)", "abs((a - b))"},
    {"len( s )+1", "(len(s) + 1)"},
    /* path functions */
    {"earlier(lookup_order)", "earlier(lookup_order, true)"},
    {"earlier(get_reservation, it.args.id == args.id && it.result.refundable)",
     "earlier(get_reservation, ((it.args.id == args.id) && it.result.refundable))"},
    {"count([a, b], it.args.x == args.x)", "count([a, b], (it.args.x == args.x))"},
    {"count('send-email') < 3", "(count('send-email', true) < 3)"},
    {"earlier([a, 'b.c'])", "earlier([a, b.c], true)"},
    {"earlier(['true'])", "earlier('true', true)"},
    {"earlier(fs.read, true)", "earlier(fs.read, true)"},
    {"count([\"x y\", z], false) * 2", "(count(['x y', z], false) * 2)"},
};

static void test_render_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof RENDER_CASES / sizeof RENDER_CASES[0]; i++) {
        const render_case *rc = &RENDER_CASES[i];
        pv_expr *e = NULL;
        pv_expr_error err;
        if (pv_expr_parse(rc->src, strlen(rc->src), &e, &err) != PV_OK) {
            print_error("row %zu: \"%s\" failed at %u: %s\n", i, rc->src, err.off, err.msg);
            failures++;
            continue;
        }
        char *got = pv_expr_to_string(e, NULL);
        if (strcmp(got, rc->want) != 0) {
            print_error("row %zu: \"%s\" renders \"%s\", want \"%s\"\n", i, rc->src, got, rc->want);
            failures++;
        }
        /* the rendering reads back to the same rendering */
        pv_expr *again = NULL;
        if (pv_expr_parse(got, strlen(got), &again, &err) != PV_OK) {
            print_error("row %zu: rendering \"%s\" does not parse: %s\n", i, got, err.msg);
            failures++;
        } else {
            char *got2 = pv_expr_to_string(again, NULL);
            if (strcmp(got2, got) != 0) {
                print_error("row %zu: \"%s\" re-renders as \"%s\"\n", i, got, got2);
                failures++;
            }
            free(got2);
        }
        free(got);
        pv_expr_free(again);
        pv_expr_free(e);
    }
    assert_int_equal(failures, 0);
}

/* --- syntax errors ---------------------------------------------------------------------- */

typedef struct error_case {
    const char *src;
    uint32_t off;
    const char *msg;
} error_case;

static const error_case ERROR_CASES[] = {
    {"", 0, "empty expression"},
    {"  \n ", 0, "empty expression"},
    {"(a", 2, "expected ')' to close '(' at offset 0, found end of expression"},
    {"(a + (b)", 8, "expected ')' to close '(' at offset 0, found end of expression"},
    {"x * (a + (b - 1)", 16, "expected ')' to close '(' at offset 4, found end of expression"},
    {"(a b)", 3, "expected ')' to close '(' at offset 0, found 'b'"},
    {"a)", 1, "unexpected ')' after the end of the expression"},
    {"a b", 2, "unexpected 'b' after the end of the expression"},
    {"a 'b'", 2, "unexpected string 'b' after the end of the expression"},
    {"a and b", 2, "unexpected 'and' after the end of the expression (write && for 'and')"},
    {"a or b", 2, "unexpected 'or' after the end of the expression (write || for 'or')"},
    {"true(1)", 4, "unexpected '(' after the end of the expression"},
    {"a ==", 4, "expected an operand after '==', found end of expression"},
    {"a +", 3, "expected an operand after '+', found end of expression"},
    {"a && ", 5, "expected an operand after '&&', found end of expression"},
    {"a == !b",
     5,
     "expected an operand after '==', found '!' (write (!b): ! binds looser than comparisons)"},
    {"a < !5",
     4,
     "expected an operand after '<', found '!' (write (!5): ! binds looser than comparisons)"},
    {"a + !(b)",
     4,
     "expected an operand after '+', found '!' (write (!...): ! binds looser than comparisons)"},
    {"()", 1, "expected an operand after '(', found ')'"},
    {")", 0, "expected an expression, found ')'"},
    {"* a", 0, "expected an expression, found '*'"},
    {".5", 0, "expected an expression, found '.'"},
    {"a < b < c", 6, "comparisons do not chain; combine them with &&"},
    {"a == b != c", 7, "comparisons do not chain; combine them with &&"},
    {"0 <= x <= 9", 7, "comparisons do not chain; combine them with &&"},
    {"x in [1] in [2]", 9, "comparisons do not chain; combine them with &&"},
    {"a < b in [true]", 6, "comparisons do not chain; combine them with &&"},
    {"9223372036854775808", 0, "integer literal 9223372036854775808 does not fit in 64 bits"},
    {"-(9223372036854775808)", 2, "integer literal 9223372036854775808 does not fit in 64 bits"},
    {"1 + 99999999999999999999", 4, "integer literal 99999999999999999999 does not fit in 64 bits"},
    {"-99999999999999999999", 1, "integer literal 99999999999999999999 does not fit in 64 bits"},
    {"1.5", 0, "'1.5' is not an integer: only integer numbers are supported"},
    {"12ab", 0, "invalid number '12ab': a name cannot start with a digit"},
    {"'abc", 0, "unterminated string: no closing ' before the end of the expression"},
    {"x == \"abc", 5, "unterminated string: no closing \" before the end of the expression"},
    {"'abc\\", 0, "unterminated string: no closing ' before the end of the expression"},
    {"'abc\"", 0, "unterminated string: no closing ' before the end of the expression"},
    {"'a\\q'",
     2,
     "unknown escape \\q in string (known: \\\\ \\' \\\" \\n \\t \\r \\0 \\xHH \\uXXXX)"},
    {"'\\U0001F600'",
     1,
     "unknown escape \\U in string (known: \\\\ \\' \\\" \\n \\t \\r \\0 \\xHH \\uXXXX)"},
    {"'\\\xc3\xa9'", 1, "unknown escape in string: a backslash followed by byte 0xC3"},
    {"'\\x4'", 1, "escape \\x needs 2 hex digits, as in \\x41"},
    {"'\\xg1'", 1, "escape \\x needs 2 hex digits, as in \\x41"},
    {"'\\u12'", 1, "escape \\u needs 4 hex digits, as in \\u00e9"},
    {"'ab\\udfff'", 3, "escape \\udfff is a UTF-16 surrogate, not a character"},
    {"'\\uD800'", 1, "escape \\uD800 is a UTF-16 surrogate, not a character"},
    {"'ab\xff'", 3, "invalid UTF-8 byte 0xFF in string"},
    {"'\xc0\xaf'", 1, "invalid UTF-8 byte 0xC0 in string"},
    {"'a\\q' + (",
     2,
     "unknown escape \\q in string (known: \\\\ \\' \\\" \\n \\t \\r \\0 \\xHH \\uXXXX)"},
    {"( + 'a\\q'", 2, "expected an operand after '(', found '+'"},
    {"a = b", 2, "unexpected '='; did you mean '=='?"},
    {"a & b", 2, "unexpected '&'; did you mean '&&'?"},
    {"a | b", 2, "unexpected '|'; did you mean '||'?"},
    {"a @ b", 2, "unexpected character '@'"},
    {"a\x01", 1, "unexpected byte 0x01"},
    {"\xc3\xa9t\xc3\xa9", 0, "unexpected character '\xc3\xa9'"},
    {"args.", 5, "expected a name after 'args.', found end of expression"},
    {"args.1", 5, "expected a name after 'args.', found '1'"},
    {"it..x", 3, "expected a name after 'it.', found '.'"},
    {"a ? b", 5, "expected ':' to complete '?' at offset 2, found end of expression"},
    {"a ? b c", 6, "expected ':' to complete '?' at offset 2, found 'c'"},
    {"a ? b :", 7, "expected an operand after ':', found end of expression"},
    {"x in 1", 5, "expected '[' after 'in', found '1'"},
    {"x in", 4, "expected '[' after 'in', found end of expression"},
    {"x in []", 6, "expected a value in the list after 'in', found ']'"},
    {"x in [1, 2", 10, "expected ',' or ']' to close '[' at offset 5, found end of expression"},
    {"x in [1 2]", 8, "expected ',' or ']' to close '[' at offset 5, found '2'"},
    {"x in [1,]", 8, "expected an operand after ',', found ']'"},
    {"strts_with(a, b)", 0, "unknown function 'strts_with'; did you mean 'starts_with'?"},
    {"contans(a, b)", 0, "unknown function 'contans'; did you mean 'contains'?"},
    {"args.x(1)",
     0,
     "unknown function 'args.x' (functions: starts_with, ends_with, contains, len, "
     "min, max, abs, earlier, count)"},
    {"len()", 4, "len(s) takes 1 argument, found 0"},
    {"len(a, b)", 7, "len(s) takes 1 argument, found 2"},
    {"abs(1, 2, 3)", 7, "abs(a) takes 1 argument, found 3"},
    {"starts_with(a)", 13, "starts_with(s, p) takes 2 arguments, found 1"},
    {"ends_with()", 10, "ends_with(s, p) takes 2 arguments, found 0"},
    {"contains(a, b, c)", 15, "contains(s, p) takes 2 arguments, found 3"},
    {"min(1, 2, 3)", 10, "min(a, b) takes 2 arguments, found 3"},
    {"max(1)", 5, "max(a, b) takes 2 arguments, found 1"},
    {"len(a b)", 6, "expected ',' or ')' to close 'len(' at offset 3, found 'b'"},
    {"min(1, 2", 8, "expected ',' or ')' to close 'min(' at offset 3, found end of expression"},
    {"len(a,)", 6, "expected an operand after ',', found ')'"},
    {"earlier()", 8, "earlier(TOOL, cond) takes 1 or 2 arguments, found 0"},
    {"count(t, a, b)", 12, "count(TOOL, cond) takes 1 or 2 arguments, found 3"},
    {"earlier(1)",
     8,
     "expected a tool name (a name, a quoted string or a list [a, b]) as the first argument of "
     "earlier(), found '1'"},
    {"count(true, x)",
     6,
     "expected a tool name (a name, a quoted string or a list [a, b]) as the first argument of "
     "count(), found 'true'"},
    {"earlier([])", 9, "expected a tool name in the list, found ']'"},
    {"earlier([a, 1])", 12, "expected a tool name in the list, found '1'"},
    {"earlier([a, a])", 12, "tool 'a' is listed twice in earlier()"},
    {"count([a, 'a'])", 10, "tool 'a' is listed twice in count()"},
    {"earlier([a b])", 11, "expected ',' or ']' to close '[' at offset 8, found 'b'"},
    {"earlier('')", 8, "expected a tool name, found string ''"},
    {"earlier(t x)", 10, "expected ',' or ')' to close 'earlier(' at offset 7, found 'x'"},
    {"earlier(t, )", 11, "expected an operand after ',', found ')'"},
    {"earlier(t, a b)", 13, "expected ',' or ')' to close 'earlier(' at offset 7, found 'b'"},
    {"a 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'",
     2,
     "unexpected string 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb... after the end of the expression"},
};

static void test_error_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof ERROR_CASES / sizeof ERROR_CASES[0]; i++) {
        const error_case *ec = &ERROR_CASES[i];
        pv_expr *e = (pv_expr *)&failures; /* must be reset to NULL */
        pv_expr_error err;
        int rc = pv_expr_parse(ec->src, strlen(ec->src), &e, &err);
        if (rc != PV_EINPUT) {
            char *got = e && rc == PV_OK ? pv_expr_to_string(e, NULL) : NULL;
            print_error("row %zu: \"%s\" returned %d (%s)\n", i, ec->src, rc, got ? got : "");
            free(got);
            if (rc == PV_OK)
                pv_expr_free(e);
            failures++;
            continue;
        }
        if (e != NULL) {
            print_error("row %zu: \"%s\": *out not NULL on error\n", i, ec->src);
            failures++;
        }
        if (err.off != ec->off || strcmp(err.msg, ec->msg) != 0) {
            print_error("row %zu: \"%s\"\n   got  %u: %s\n   want %u: %s\n",
                        i,
                        ec->src,
                        err.off,
                        err.msg,
                        ec->off,
                        ec->msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* --- trees ------------------------------------------------------------------------------ */

static void test_int_literals(void **state)
{
    (void)state;
    pv_expr *e = parse_ok("-9223372036854775808");
    assert_int_equal(e->kind, PV_E_INT);
    assert_true(e->u.i == INT64_MIN);
    assert_int_equal(e->off, 0);
    assert_int_equal(e->end, 20);
    pv_expr_free(e);

    e = parse_ok("9223372036854775807");
    assert_int_equal(e->kind, PV_E_INT);
    assert_true(e->u.i == INT64_MAX);
    pv_expr_free(e);

    /* a minus before a literal makes a negative literal, not a negation */
    e = parse_ok("- 42");
    assert_int_equal(e->kind, PV_E_INT);
    assert_true(e->u.i == -42);
    assert_int_equal(e->n_kids, 0);
    pv_expr_free(e);

    e = parse_ok("-x");
    assert_int_equal(e->kind, PV_E_NEG);
    assert_int_equal(e->n_kids, 1);
    assert_int_equal(e->kids[0]->kind, PV_E_NAME);
    pv_expr_free(e);

    e = parse_ok("0");
    assert_int_equal(e->kind, PV_E_INT);
    assert_true(e->u.i == 0);
    assert_int_equal(e->type.kind, PV_T_INVALID);
    assert_false(e->is_const);
    pv_expr_free(e);
}

static void want_string(const char *src, const char *bytes, size_t len)
{
    pv_expr *e = parse_ok(src);
    assert_int_equal(e->kind, PV_E_STR);
    assert_int_equal(e->u.s.len, len);
    assert_memory_equal(e->u.s.ptr, bytes, len);
    assert_int_equal(e->u.s.ptr[len], '\0');
    pv_expr_free(e);
}

static void test_string_escapes(void **state)
{
    (void)state;
    want_string("''", "", 0);
    want_string("\"\"", "", 0);
    want_string("'a\\0b'", "a\0b", 3);
    want_string("'\\\\'", "\\", 1);
    want_string("'\\''", "'", 1);
    want_string("\"\\\"\"", "\"", 1);
    want_string("'\\\"'", "\"", 1);
    want_string("\"'\"", "'", 1);
    want_string("'\\n\\t\\r'", "\n\t\r", 3);
    want_string("'\\x41\\x7a'", "Az", 2);
    /* \xHH is the code point U+00HH, so the string stays UTF-8 */
    want_string("'\\xff'", "\xc3\xbf", 2);
    want_string("'\\x00'", "\0", 1);
    want_string("'\\u0041'", "A", 1);
    want_string("'\\u00E9'", "\xc3\xa9", 2);
    want_string("'\\u20ac'", "\xe2\x82\xac", 3);
    want_string("'\\uffff'", "\xef\xbf\xbf", 3);
    want_string("'\\u0000'", "\0", 1);
    /* \0 is not octal: a digit after it is a digit */
    want_string("'\\012'",
                "\0"
                "12",
                3);
    /* raw UTF-8 and a raw newline pass through */
    want_string("'\xf0\x9f\x98\x80'", "\xf0\x9f\x98\x80", 4);
    want_string("'a\nb'", "a\nb", 3);
}

static void test_offsets(void **state)
{
    (void)state;
    pv_expr *e = parse_ok("  a + bb * 3 ");
    assert_int_equal(e->kind, PV_E_ADD);
    assert_int_equal(e->off, 2);
    assert_int_equal(e->end, 12);
    assert_int_equal(e->kids[0]->off, 2);
    assert_int_equal(e->kids[0]->end, 3);
    assert_int_equal(e->kids[1]->kind, PV_E_MUL);
    assert_int_equal(e->kids[1]->off, 6);
    assert_int_equal(e->kids[1]->end, 12);
    assert_int_equal(e->kids[1]->kids[0]->off, 6);
    assert_int_equal(e->kids[1]->kids[0]->end, 8);
    pv_expr_free(e);

    e = parse_ok("!(x)");
    assert_int_equal(e->kind, PV_E_NOT);
    assert_int_equal(e->off, 0);
    assert_int_equal(e->end, 3);
    assert_int_equal(e->kids[0]->off, 2);
    pv_expr_free(e);

    e = parse_ok("len('ab') in [1, 2]");
    assert_int_equal(e->kind, PV_E_IN);
    assert_int_equal(e->n_kids, 3);
    assert_int_equal(e->off, 0);
    assert_int_equal(e->end, 19);
    assert_int_equal(e->kids[0]->kind, PV_E_LEN);
    assert_int_equal(e->kids[0]->end, 9);
    assert_int_equal(e->kids[0]->kids[0]->off, 4);
    assert_int_equal(e->kids[0]->kids[0]->end, 8);
    assert_int_equal(e->kids[2]->off, 17);
    pv_expr_free(e);

    e = parse_ok("c ? 1 : 22");
    assert_int_equal(e->kind, PV_E_COND);
    assert_int_equal(e->n_kids, 3);
    assert_int_equal(e->end, 10);
    assert_int_equal(e->kids[2]->off, 8);
    pv_expr_free(e);
}

static void test_names(void **state)
{
    (void)state;
    pv_expr *e = parse_ok("it.args.order_id");
    assert_int_equal(e->kind, PV_E_NAME);
    assert_string_equal(e->u.name, "it.args.order_id");
    pv_expr_free(e);

    /* keywords only as whole names */
    e = parse_ok("args.in || trueish || inx");
    assert_int_equal(e->kind, PV_E_OR);
    assert_string_equal(e->kids[0]->kids[0]->u.name, "args.in");
    assert_string_equal(e->kids[0]->kids[1]->u.name, "trueish");
    assert_string_equal(e->kids[1]->u.name, "inx");
    pv_expr_free(e);
}

static void test_functions(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        pv_expr_kind kind;
        size_t n_kids;
    } cases[] = {
        {"starts_with(a, b)", PV_E_STARTS_WITH, 2},
        {"ends_with(a, b)", PV_E_ENDS_WITH, 2},
        {"contains(a, b)", PV_E_CONTAINS, 2},
        {"len(a)", PV_E_LEN, 1},
        {"min(a, b)", PV_E_MIN, 2},
        {"max(a, b)", PV_E_MAX, 2},
        {"abs(a)", PV_E_ABS, 1},
        {"earlier(t, a)", PV_E_EARLIER, 1},
        {"count(t, a)", PV_E_COUNT, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pv_expr *e = parse_ok(cases[i].src);
        assert_int_equal(e->kind, cases[i].kind);
        assert_int_equal(e->n_kids, cases[i].n_kids);
        assert_int_equal(e->off, 0);
        assert_int_equal(e->end, strlen(cases[i].src));
        /* the function's spelling is its kind's name */
        assert_memory_equal(
            cases[i].src, pv_expr_kind_name(e->kind), strlen(pv_expr_kind_name(e->kind)));
        pv_expr_free(e);
    }
}

static void test_path_functions(void **state)
{
    (void)state;
    pv_expr *e = parse_ok("earlier([lookup_order, 'send-mail'], it.args.id == args.id)");
    assert_int_equal(e->kind, PV_E_EARLIER);
    assert_int_equal(e->u.path.n_tools, 2);
    assert_string_equal(e->u.path.tool_names[0], "lookup_order");
    assert_string_equal(e->u.path.tool_names[1], "send-mail");
    assert_non_null(e->u.path.tools);
    assert_int_equal(e->u.path.tools[0], -1);
    assert_int_equal(e->u.path.tools[1], -1);
    assert_int_equal(e->n_kids, 1);
    assert_int_equal(e->kids[0]->kind, PV_E_EQ);
    assert_true(pv_expr_uses_path(e));
    pv_expr_free(e);

    /* without a condition, the condition is true */
    e = parse_ok("count(t)");
    assert_int_equal(e->kind, PV_E_COUNT);
    assert_int_equal(e->u.path.n_tools, 1);
    assert_string_equal(e->u.path.tool_names[0], "t");
    assert_int_equal(e->n_kids, 1);
    assert_int_equal(e->kids[0]->kind, PV_E_BOOL);
    assert_true(e->kids[0]->u.b);
    assert_int_equal(e->end, 8);
    pv_expr_free(e);

    e = parse_ok("a + 1 > count(t) || x");
    assert_true(pv_expr_uses_path(e));
    pv_expr_free(e);
    e = parse_ok("a + 1 > len(t) || x");
    assert_false(pv_expr_uses_path(e));
    pv_expr_free(e);
    assert_false(pv_expr_uses_path(NULL));
}

static void test_copy(void **state)
{
    (void)state;
    const char *src = "earlier([a, b], it.args.x == 'q\\0r') ? min(x, -3) : len(\"s\") in [1, y]";
    pv_expr *e = parse_ok(src);
    pv_expr *c = pv_expr_copy(e);
    assert_non_null(c);
    assert_ptr_not_equal(c, e);
    char *s1 = pv_expr_to_string(e, NULL);
    char *s2 = pv_expr_to_string(c, NULL);
    assert_string_equal(s1, s2);
    assert_string_equal(s1,
                        "(earlier([a, b], (it.args.x == 'q\\0r')) ? min(x, -3) : (len('s') in "
                        "[1, y]))");
    /* deep: the copy owns its own strings and kids */
    pv_expr *path = c->kids[0];
    assert_ptr_not_equal(path->u.path.tool_names, e->kids[0]->u.path.tool_names);
    assert_ptr_not_equal(path->u.path.tool_names[0], e->kids[0]->u.path.tool_names[0]);
    pv_expr *str = path->kids[0]->kids[1];
    assert_int_equal(str->kind, PV_E_STR);
    assert_int_equal(str->u.s.len, 3);
    assert_ptr_not_equal(str->u.s.ptr, e->kids[0]->kids[0]->kids[1]->u.s.ptr);
    pv_expr_free(e);
    char *s3 = pv_expr_to_string(c, NULL);
    assert_string_equal(s3, s1);
    free(s1);
    free(s2);
    free(s3);
    pv_expr_free(c);
    assert_null(pv_expr_copy(NULL));
    pv_expr_free(NULL);
}

static void test_enum_rendering(void **state)
{
    (void)state;
    pv_spec spec;
    memset(&spec, 0, sizeof spec);
    const char *vals[] = {"staging", "production"};
    int id = pv_spec_intern_enum(&spec, vals, 2);
    pv_expr *e = parse_ok("'production'");
    free(e->u.s.ptr);
    e->kind = PV_E_ENUM;
    e->type = (pv_type){PV_T_ENUM, id};
    e->u.e = pv_enum_value(&spec, id, "production", 10);
    char *s = pv_expr_to_string(e, &spec);
    assert_string_equal(s, "'production'");
    free(s);
    /* without the spec, only the index is known */
    s = pv_expr_to_string(e, NULL);
    char want[16];
    snprintf(want, sizeof want, "'#%d'", e->u.e);
    assert_string_equal(s, want);
    free(s);
    pv_expr_free(e);
    for (size_t i = 0; i < spec.n_enums; i++) {
        for (size_t j = 0; j < spec.enums[i].n; j++)
            free(spec.enums[i].values[j]);
        free(spec.enums[i].values);
    }
    free(spec.enums);
}

/* --- bounds ----------------------------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t len = strlen(head) + strlen(unit) * n + strlen(tail);
    char *s = malloc(len + 1);
    assert_non_null(s);
    strcpy(s, head);
    for (size_t i = 0; i < n; i++)
        strcat(s, unit);
    strcat(s, tail);
    return s;
}

static void expect_depth(const char *src, int want_rc, uint32_t want_off)
{
    pv_expr *e = NULL;
    pv_expr_error err;
    int rc = pv_expr_parse(src, strlen(src), &e, &err);
    if (rc != want_rc)
        fail_msg("\"%.40s...\" returned %d, want %d (%s)", src, rc, want_rc, err.msg);
    if (rc == PV_OK) {
        pv_expr_free(e);
        return;
    }
    assert_null(e);
    assert_int_equal(err.off, want_off);
    assert_string_equal(err.msg,
                        "expression nests too deeply: more than 64 levels of operators, "
                        "parentheses and calls");
}

static void test_depth_bound(void **state)
{
    (void)state;
    /* 63 parentheses: 64 levels with the whole expression */
    char *open = repeat("", "(", 63, "a");
    char *s = repeat(open, ")", 63, "");
    expect_depth(s, PV_OK, 0);
    free(open);
    free(s);
    open = repeat("", "(", 64, "a");
    s = repeat(open, ")", 64, "");
    expect_depth(s, PV_ELIMIT, 63);
    free(open);
    free(s);

    s = repeat("", "!", 63, "a");
    expect_depth(s, PV_OK, 0);
    free(s);
    s = repeat("", "!", 64, "a");
    expect_depth(s, PV_ELIMIT, 63);
    free(s);

    s = repeat("", "-", 64, "a");
    expect_depth(s, PV_ELIMIT, 63);
    free(s);

    /* a left-associative chain nests too: 63 additions are 64 levels */
    s = repeat("a", "+a", 63, "");
    expect_depth(s, PV_OK, 0);
    free(s);
    s = repeat("a", "+a", 64, "");
    expect_depth(s, PV_ELIMIT, 127);
    free(s);

    s = repeat("", "a => ", 64, "a");
    expect_depth(s, PV_ELIMIT, 317);
    free(s);

    s = repeat("", "abs(", 64, "1");
    char *t = repeat(s, ")", 64, "");
    expect_depth(t, PV_ELIMIT, 255);
    free(s);
    free(t);
}

static void test_length_bound(void **state)
{
    (void)state;
    size_t n = PV_EXPR_MAX_LEN;
    char *s = malloc(n + 2);
    assert_non_null(s);
    /* "1+1+...+1" of exactly the limit parses: a flat chain of sums
     * nests too deeply, so use a long string literal instead */
    s[0] = '\'';
    memset(s + 1, 'x', n - 2);
    s[n - 1] = '\'';
    s[n] = '\0';
    pv_expr *e = NULL;
    pv_expr_error err;
    assert_int_equal(pv_expr_parse(s, n, &e, &err), PV_OK);
    assert_int_equal(e->u.s.len, n - 2);
    pv_expr_free(e);

    s[n - 1] = 'x';
    s[n] = '\'';
    s[n + 1] = '\0';
    e = (pv_expr *)s;
    assert_int_equal(pv_expr_parse(s, n + 1, &e, &err), PV_ELIMIT);
    assert_null(e);
    assert_int_equal(err.off, PV_EXPR_MAX_LEN);
    assert_string_equal(err.msg, "expression is too long: 8193 bytes, the limit is 8192");
    free(s);
}

static void test_length_is_explicit(void **state)
{
    (void)state;
    /* the text is src[0..len): what follows is not read */
    const char *src = "a + b)))";
    pv_expr *e = NULL;
    pv_expr_error err;
    assert_int_equal(pv_expr_parse(src, 5, &e, &err), PV_OK);
    char *s = pv_expr_to_string(e, NULL);
    assert_string_equal(s, "(a + b)");
    free(s);
    pv_expr_free(e);

    /* an embedded NUL outside a string is just a bad byte */
    assert_int_equal(pv_expr_parse("a\0b", 3, &e, &err), PV_EINPUT);
    assert_int_equal(err.off, 1);
    assert_string_equal(err.msg, "unexpected byte 0x00");

    /* err may be NULL */
    assert_int_equal(pv_expr_parse("(", 1, &e, NULL), PV_EINPUT);
    assert_null(e);
    assert_int_equal(pv_expr_parse(NULL, 0, &e, &err), PV_EINPUT);
    assert_string_equal(err.msg, "empty expression");
}

static void test_names_of_kinds(void **state)
{
    (void)state;
    assert_string_equal(pv_expr_kind_name(PV_E_AND), "&&");
    assert_string_equal(pv_expr_kind_name(PV_E_OR), "||");
    assert_string_equal(pv_expr_kind_name(PV_E_IMPLIES), "=>");
    assert_string_equal(pv_expr_kind_name(PV_E_NOT), "!");
    assert_string_equal(pv_expr_kind_name(PV_E_NEG), "-");
    assert_string_equal(pv_expr_kind_name(PV_E_SUB), "-");
    assert_string_equal(pv_expr_kind_name(PV_E_MOD), "%");
    assert_string_equal(pv_expr_kind_name(PV_E_GE), ">=");
    assert_string_equal(pv_expr_kind_name(PV_E_COND), "?:");
    assert_string_equal(pv_expr_kind_name(PV_E_IN), "in");
    assert_string_equal(pv_expr_kind_name(PV_E_STARTS_WITH), "starts_with");
    assert_string_equal(pv_expr_kind_name(PV_E_COUNT), "count");
    assert_string_equal(pv_expr_kind_name(PV_E_INT), "integer literal");
    for (int k = 0; k < PV_E__COUNT; k++)
        assert_string_not_equal(pv_expr_kind_name((pv_expr_kind)k), "?");

    assert_string_equal(pv_expr_where_name(PV_W_CALL_RULE), "call rule");
    assert_string_equal(pv_expr_where_name(PV_W_STATE_RULE), "state rule");
    assert_string_equal(pv_expr_where_name(PV_W_REQUIRES), "requires");
    assert_string_equal(pv_expr_where_name(PV_W_ENSURES), "ensures");
    assert_string_equal(pv_expr_where_name(PV_W_EFFECT), "effect");
    assert_string_equal(pv_expr_where_name(PV_W_WHEN), "when");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_table),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_int_literals),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_path_functions),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_enum_rendering),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_length_is_explicit),
        cmocka_unit_test(test_names_of_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
