/*
 * test_doc.c - the document tree: core-schema resolution, positions,
 * duplicate keys, aliases and their bounds, depth and size limits, libyaml
 * errors, tags, JSON input and offsets inside scalars.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_doc.h"

#define FILE_NAME "t.yaml"

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

/* Parse text that must load cleanly; fails the test with the first
 * diagnostic otherwise. */
static pv_doc *parse_ok(const char *text)
{
    pv_diags d = {0};
    pv_doc *doc = NULL;
    int rc = pv_doc_parse(FILE_NAME, text, strlen(text), &doc, &d);
    if (rc != PV_OK || d.n != 0) {
        char *msg = d.n ? pv_diag_format(&d.items[0]) : strdup("(no diagnostic)");
        fail_msg("unexpected failure %d parsing:\n%s\n-> %s", rc, text, msg);
    }
    assert_non_null(doc);
    return doc;
}

/* Parse text that must fail with rc; returns the diagnostics. */
static pv_diags parse_err(const char *text, size_t len, int want_rc)
{
    pv_diags d = {0};
    pv_doc *doc = (pv_doc *)1;
    int rc = pv_doc_parse(FILE_NAME, text, len, &doc, &d);
    assert_int_equal(rc, want_rc);
    assert_null(doc);
    assert_true(d.n > 0);
    return d;
}

/* Diagnostic i formatted as "file:line:col: msg". */
static void assert_diag(const pv_diags *d, size_t i, const char *want)
{
    assert_true(i < d->n);
    char *got = pv_diag_format(&d->items[i]);
    if (strcmp(got, want) != 0)
        fail_msg("diagnostic %zu:\n  got:  %s\n  want: %s", i, got, want);
    free(got);
}

/* Parse text that must fail with one diagnostic equal to want. */
static void assert_single_error(const char *text, int want_rc, const char *want)
{
    pv_diags d = parse_err(text, strlen(text), want_rc);
    assert_int_equal(d.n, 1);
    assert_diag(&d, 0, want);
    pv_diags_clear(&d);
}

/* The root of a one-key document "v: <value>": the value node. */
static const pv_node *value_of(const pv_doc *doc)
{
    const pv_node *v = pv_node_get(doc->root, "v");
    assert_non_null(v);
    return v;
}

/* Parse "v: <text>" and check the scalar's kind and text. */
static void assert_scalar(const char *value, pv_scalar_kind kind, const char *text)
{
    char *src = NULL;
    size_t n = strlen(value) + 4;
    src = malloc(n);
    snprintf(src, n, "v: %s", value);
    pv_doc *doc = parse_ok(src);
    const pv_node *v = value_of(doc);
    assert_int_equal(v->kind, PV_N_SCALAR);
    if (v->skind != kind)
        fail_msg("'%s' resolved to kind %d, want %d", value, v->skind, kind);
    assert_string_equal(v->str.ptr, text);
    pv_doc_free(doc);
    free(src);
}

static int64_t int_of(const char *value)
{
    char src[128];
    snprintf(src, sizeof src, "v: %s", value);
    pv_doc *doc = parse_ok(src);
    const pv_node *v = value_of(doc);
    assert_int_equal(v->skind, PV_S_INT);
    int64_t i = v->ival;
    pv_doc_free(doc);
    return i;
}

static void assert_pos(pv_pos p, int line, int col)
{
    if (p.line != line || p.col != col)
        fail_msg("position %d:%d, want %d:%d", p.line, p.col, line, col);
}

/* pv_node_offset_pos of value "v" in text, at decoded offset off. */
static pv_pos offset_pos_of(const char *text, size_t off)
{
    pv_doc *doc = parse_ok(text);
    pv_pos p = pv_node_offset_pos(doc, value_of(doc), off);
    pv_doc_free(doc);
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* core schema                                                                                */

static void test_resolve_null(void **state)
{
    (void)state;
    assert_scalar("~", PV_S_NULL, "~");
    assert_scalar("null", PV_S_NULL, "null");
    assert_scalar("Null", PV_S_NULL, "Null");
    assert_scalar("NULL", PV_S_NULL, "NULL");
    assert_scalar("", PV_S_NULL, "");
    assert_scalar("nULL", PV_S_STRING, "nULL");
    assert_scalar("none", PV_S_STRING, "none");
}

static void test_resolve_bool(void **state)
{
    (void)state;
    const char *trues[] = {"true", "True", "TRUE"};
    const char *falses[] = {"false", "False", "FALSE"};
    for (size_t i = 0; i < 3; i++) {
        char src[32];
        snprintf(src, sizeof src, "v: %s", trues[i]);
        pv_doc *doc = parse_ok(src);
        assert_int_equal(value_of(doc)->skind, PV_S_BOOL);
        assert_true(value_of(doc)->bval);
        pv_doc_free(doc);
        snprintf(src, sizeof src, "v: %s", falses[i]);
        doc = parse_ok(src);
        assert_int_equal(value_of(doc)->skind, PV_S_BOOL);
        assert_false(value_of(doc)->bval);
        pv_doc_free(doc);
    }
    assert_scalar("tRUE", PV_S_STRING, "tRUE");
}

/* YAML 1.1's booleans are plain strings under the 1.2 core schema. */
static void test_yaml11_booleans_are_strings(void **state)
{
    (void)state;
    const char *words[] = {"yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        assert_scalar(words[i], PV_S_STRING, words[i]);
    /* Even as a key: `on:` is the string "on". */
    pv_doc *doc = parse_ok("on: issue_refund\n");
    const pv_node *v = pv_node_get(doc->root, "on");
    assert_non_null(v);
    assert_string_equal(v->str.ptr, "issue_refund");
    assert_int_equal(doc->root->keys[0]->skind, PV_S_STRING);
    pv_doc_free(doc);
}

static void test_resolve_decimal_int(void **state)
{
    (void)state;
    assert_int_equal(int_of("42"), 42);
    assert_int_equal(int_of("-0"), 0);
    assert_int_equal(int_of("+5"), 5);
    assert_int_equal(int_of("-17"), -17);
    assert_int_equal(int_of("007"), 7);
    assert_int_equal(int_of("9223372036854775807"), INT64_MAX);
    assert_true(int_of("-9223372036854775808") == INT64_MIN);
    assert_scalar("+", PV_S_STRING, "+");
    assert_scalar("-x", PV_S_STRING, "-x");
    assert_scalar("1_000", PV_S_STRING, "1_000");
    assert_scalar("12abc", PV_S_STRING, "12abc");
}

static void test_resolve_octal_hex(void **state)
{
    (void)state;
    assert_int_equal(int_of("0o17"), 15);
    assert_int_equal(int_of("0x1F"), 31);
    assert_int_equal(int_of("0xff"), 255);
    assert_int_equal(int_of("0o0"), 0);
    assert_int_equal(int_of("0x7FFFFFFFFFFFFFFF"), INT64_MAX);
    assert_scalar("0o18", PV_S_STRING, "0o18");
    assert_scalar("0x", PV_S_STRING, "0x");
    assert_scalar("0xG", PV_S_STRING, "0xG");
    assert_scalar("-0x1", PV_S_STRING, "-0x1"); /* the core schema's hex has no sign */
    assert_scalar("0b101", PV_S_STRING, "0b101");
    assert_scalar("0O17", PV_S_STRING, "0O17");
}

static void test_resolve_bigint(void **state)
{
    (void)state;
    assert_scalar("9223372036854775808", PV_S_BIGINT, "9223372036854775808");
    assert_scalar("-9223372036854775809", PV_S_BIGINT, "-9223372036854775809");
    assert_scalar("0x8000000000000000", PV_S_BIGINT, "0x8000000000000000");
    assert_scalar("0o1000000000000000000000", PV_S_BIGINT, "0o1000000000000000000000");
    assert_scalar("123456789012345678901234567890", PV_S_BIGINT, "123456789012345678901234567890");
}

static void test_resolve_float(void **state)
{
    (void)state;
    const char *floats[] = {"1.5",
                            "-1.5",
                            ".5",
                            "1.",
                            "1e3",
                            "1E+3",
                            "-2.5e-3",
                            ".inf",
                            "-.Inf",
                            "+.INF",
                            ".nan",
                            ".NaN",
                            ".NAN",
                            "+1.0"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        assert_scalar(floats[i], PV_S_FLOAT, floats[i]);
    const char *strings[] = {"1.2.3", "e3", "1e", ".", "-.nan", ".infinity", "1.5x", "inf"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        assert_scalar(strings[i], PV_S_STRING, strings[i]);
}

/* No sexagesimal numbers, no timestamps. */
static void test_no_sexagesimal_or_timestamps(void **state)
{
    (void)state;
    assert_scalar("12:30", PV_S_STRING, "12:30");
    assert_scalar("190:20:30", PV_S_STRING, "190:20:30");
    assert_scalar("2026-01-01", PV_S_STRING, "2026-01-01");
    assert_scalar("2026-01-01T10:00:00Z", PV_S_STRING, "2026-01-01T10:00:00Z");
}

static void test_quoted_and_block_scalars_are_strings(void **state)
{
    (void)state;
    assert_scalar("\"123\"", PV_S_STRING, "123");
    assert_scalar("'123'", PV_S_STRING, "123");
    assert_scalar("\"true\"", PV_S_STRING, "true");
    assert_scalar("'null'", PV_S_STRING, "null");
    assert_scalar("\"\"", PV_S_STRING, "");
    assert_scalar("''", PV_S_STRING, "");
    assert_scalar("|\n  123\n", PV_S_STRING, "123\n");
    assert_scalar(">\n  1.5\n", PV_S_STRING, "1.5\n");
}

static void test_scalar_styles_and_source_ranges(void **state)
{
    (void)state;
    const char *src = "a: plain text\n"
                      "b: 'single'\n"
                      "c: \"double\"\n"
                      "d: |\n  lit\n"
                      "e: >\n  fold\n";
    pv_doc *doc = parse_ok(src);
    struct {
        const char *key;
        pv_scalar_style style;
        const char *text;
        const char *raw_prefix;
    } want[] = {
        {"a", PV_STYLE_PLAIN, "plain text", "plain text"},
        {"b", PV_STYLE_SINGLE, "single", "'single'"},
        {"c", PV_STYLE_DOUBLE, "double", "\"double\""},
        {"d", PV_STYLE_LITERAL, "lit\n", "|"},
        {"e", PV_STYLE_FOLDED, "fold\n", ">"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const pv_node *v = pv_node_get(doc->root, want[i].key);
        assert_non_null(v);
        assert_int_equal(v->style, want[i].style);
        assert_string_equal(v->str.ptr, want[i].text);
        size_t plen = strlen(want[i].raw_prefix);
        assert_true(v->src_end >= v->src_start + plen);
        assert_memory_equal(doc->source + v->src_start, want[i].raw_prefix, plen);
    }
    /* Single-line scalars: the range is exactly the scalar's source text. */
    const pv_node *a = pv_node_get(doc->root, "a");
    assert_int_equal(a->src_end - a->src_start, strlen("plain text"));
    const pv_node *c = pv_node_get(doc->root, "c");
    assert_int_equal(c->src_end - c->src_start, strlen("\"double\""));
    pv_doc_free(doc);
}

static void test_double_quoted_nul_is_kept(void **state)
{
    (void)state;
    pv_doc *doc = parse_ok("v: \"a\\0b\"");
    const pv_node *v = value_of(doc);
    assert_int_equal(v->skind, PV_S_STRING);
    assert_int_equal(v->str.len, 3);
    assert_memory_equal(v->str.ptr, "a\0b", 3);
    assert_int_equal(v->str.ptr[3], '\0');
    pv_doc_free(doc);
}

/* ------------------------------------------------------------------------------------------ */
/* structure and positions                                                                    */

static void test_nested_maps_and_seqs_positions(void **state)
{
    (void)state;
    const char *src = "spec: demo\n"             /* line 1 */
                      "tools:\n"                 /* line 2 */
                      "  lookup:\n"              /* line 3 */
                      "    args: {id: string}\n" /* line 4 */
                      "    tags:\n"              /* line 5 */
                      "      - read\n"           /* line 6 */
                      "      - [x, 7]\n";        /* line 7 */
    pv_doc *doc = parse_ok(src);
    const pv_node *root = doc->root;
    assert_int_equal(root->kind, PV_N_MAP);
    assert_int_equal(root->n, 2);
    assert_pos(root->pos, 1, 1);
    assert_pos(root->keys[0]->pos, 1, 1);
    assert_pos(root->items[0]->pos, 1, 7);
    assert_pos(root->keys[1]->pos, 2, 1);

    const pv_node *tools = pv_node_get(root, "tools");
    assert_int_equal(tools->kind, PV_N_MAP);
    assert_pos(tools->pos, 3, 3);
    const pv_node *lookup = pv_node_get(tools, "lookup");
    assert_pos(lookup->pos, 4, 5);

    const pv_node *args = pv_node_get(lookup, "args");
    assert_int_equal(args->kind, PV_N_MAP);
    assert_pos(args->pos, 4, 11);
    assert_pos(args->keys[0]->pos, 4, 12);
    assert_pos(pv_node_get(args, "id")->pos, 4, 16);
    assert_string_equal(pv_node_get(args, "id")->str.ptr, "string");

    const pv_node *tags = pv_node_get(lookup, "tags");
    assert_int_equal(tags->kind, PV_N_SEQ);
    assert_int_equal(tags->n, 2);
    assert_pos(tags->pos, 6, 7);
    assert_pos(tags->items[0]->pos, 6, 9);
    const pv_node *inner = tags->items[1];
    assert_int_equal(inner->kind, PV_N_SEQ);
    assert_pos(inner->pos, 7, 9);
    assert_int_equal(inner->n, 2);
    assert_pos(inner->items[0]->pos, 7, 10);
    assert_pos(inner->items[1]->pos, 7, 13);
    assert_int_equal(inner->items[1]->skind, PV_S_INT);
    assert_int_equal(inner->items[1]->ival, 7);
    assert_null(tags->keys);
    pv_doc_free(doc);
}

static void test_node_get(void **state)
{
    (void)state;
    pv_doc *doc = parse_ok("a: 1\nb: [2]\n\"c\\0d\": 3\n");
    assert_int_equal(pv_node_get(doc->root, "a")->ival, 1);
    assert_int_equal(pv_node_get(doc->root, "b")->kind, PV_N_SEQ);
    assert_null(pv_node_get(doc->root, "z"));
    assert_null(pv_node_get(doc->root, "c")); /* a key holding a NUL is not "c" */
    assert_null(pv_node_get(pv_node_get(doc->root, "b"), "a"));
    assert_null(pv_node_get(NULL, "a"));
    pv_doc_free(doc);
}

static void test_non_ascii_columns_are_bytes(void **state)
{
    (void)state;
    /* "é" is two bytes: columns count bytes, as pv_pos says. */
    pv_doc *doc = parse_ok("\xc3\xa9t\xc3\xa9: [x, y]\nb: z\n");
    const pv_node *v = doc->root->items[0];
    assert_pos(v->pos, 1, 8);
    assert_pos(v->items[1]->pos, 1, 12);
    assert_int_equal(v->items[1]->src_start, 11);
    assert_pos(doc->root->items[1]->pos, 2, 4);
    pv_doc_free(doc);
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    pv_doc *doc = parse_ok("\xef\xbb\xbf"
                           "a: 1\nb: xy\n");
    assert_pos(doc->root->keys[0]->pos, 1, 1);
    const pv_node *b = pv_node_get(doc->root, "b");
    assert_pos(b->pos, 2, 4);
    assert_memory_equal(doc->source + b->src_start, "xy", 2);
    pv_doc_free(doc);
    assert_single_error("\xff\xfe"
                        "a\0:\0",
                        PV_EINPUT,
                        FILE_NAME ":1:1: the text is UTF-16 (it starts with a UTF-16 byte order "
                                  "mark); save it as UTF-8");
}

static void test_empty_documents(void **state)
{
    (void)state;
    const char *empties[] = {"", "# only a comment\n", "---\n", "\n\n"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        pv_doc *doc = parse_ok(empties[i]);
        assert_null(doc->root);
        pv_doc_free(doc);
    }
    /* An explicit null is a value, not an empty document. */
    pv_doc *doc = parse_ok("~\n");
    assert_non_null(doc->root);
    assert_int_equal(doc->root->skind, PV_S_NULL);
    pv_doc_free(doc);
}

static void test_document_keeps_source_and_file(void **state)
{
    (void)state;
    const char text[] = "a: 1\n";
    pv_doc *doc = parse_ok(text);
    assert_string_equal(doc->file, FILE_NAME);
    assert_int_equal(doc->source_len, strlen(text));
    assert_string_equal(doc->source, text);
    assert_true(doc->source != text);
    pv_doc_free(doc);
}

/* ------------------------------------------------------------------------------------------ */
/* duplicate and non-scalar keys                                                              */

static void test_duplicate_key(void **state)
{
    (void)state;
    assert_single_error("spec: a\nlimits:\n    max_steps: 3\n    max_steps: 4\n",
                        PV_EINPUT,
                        FILE_NAME ":4:5: duplicate key 'max_steps' (first at line 3, column 5)");
}

static void test_every_duplicate_reported(void **state)
{
    (void)state;
    const char *src = "a: 1\nb: 2\na: 3\nc: {x: 1, x: 2}\nb: 4\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 3);
    assert_diag(&d, 0, FILE_NAME ":3:1: duplicate key 'a' (first at line 1, column 1)");
    assert_diag(&d, 1, FILE_NAME ":4:11: duplicate key 'x' (first at line 4, column 5)");
    assert_diag(&d, 2, FILE_NAME ":5:1: duplicate key 'b' (first at line 2, column 1)");
    pv_diags_clear(&d);
}

/* Keys compare by decoded text, whatever their style or resolved kind. */
static void test_duplicate_keys_compare_decoded_text(void **state)
{
    (void)state;
    const char *src = "a: 1\n\"a\": 2\n1: x\n'1': y\n\"\\x62\": 3\nb: 4\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 3);
    assert_diag(&d, 0, FILE_NAME ":2:1: duplicate key 'a' (first at line 1, column 1)");
    assert_diag(&d, 1, FILE_NAME ":4:1: duplicate key '1' (first at line 3, column 1)");
    assert_diag(&d, 2, FILE_NAME ":6:1: duplicate key 'b' (first at line 5, column 1)");
    pv_diags_clear(&d);
}

/* A mapping used through an alias is one mapping in the file: its
 * duplicate is reported once, not once per use. */
static void test_duplicate_in_aliased_map_reported_once(void **state)
{
    (void)state;
    const char *src = "a: &m {k: 1, k: 2}\nb: *m\nc: *m\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 1);
    assert_diag(&d, 0, FILE_NAME ":1:14: duplicate key 'k' (first at line 1, column 8)");
    pv_diags_clear(&d);
}

static void test_non_scalar_keys(void **state)
{
    (void)state;
    assert_single_error(
        "? [a, b]\n: 1\n", PV_EINPUT, FILE_NAME ":1:3: mapping keys must be scalars");
    const char *src = "x: {{a: 1}: 2}\ny:\n  ? {b: 1}\n  : 3\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 2);
    assert_diag(&d, 0, FILE_NAME ":1:5: mapping keys must be scalars");
    assert_diag(&d, 1, FILE_NAME ":3:5: mapping keys must be scalars");
    pv_diags_clear(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* aliases                                                                                    */

static void test_alias_expanded(void **state)
{
    (void)state;
    const char *src = "base: &b {type: int, min: 0}\n"
                      "x: *b\n"
                      "name: &n hello\n"
                      "y: [*n, *n]\n";
    pv_doc *doc = parse_ok(src);
    const pv_node *base = pv_node_get(doc->root, "base");
    const pv_node *x = pv_node_get(doc->root, "x");
    assert_int_equal(x->kind, PV_N_MAP);
    assert_true(x != base); /* a copy: the tree owns every node once */
    assert_int_equal(x->n, 2);
    assert_string_equal(pv_node_get(x, "type")->str.ptr, "int");
    assert_int_equal(pv_node_get(x, "min")->skind, PV_S_INT);
    /* An expansion keeps the positions of the anchored original. */
    assert_pos(x->pos, 1, 7);
    const pv_node *y = pv_node_get(doc->root, "y");
    assert_int_equal(y->n, 2);
    assert_string_equal(y->items[0]->str.ptr, "hello");
    assert_string_equal(y->items[1]->str.ptr, "hello");
    assert_true(y->items[0] != y->items[1]);
    /* The anchored scalar's range skips its anchor. */
    const pv_node *name = pv_node_get(doc->root, "name");
    assert_pos(name->pos, 3, 7);
    assert_memory_equal(doc->source + name->src_start, "hello", 5);
    pv_doc_free(doc);
}

static void test_billion_laughs_refused(void **state)
{
    (void)state;
    const char *src = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                      "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    assert_single_error(
        src, PV_ELIMIT, FILE_NAME ": the document expands to more than 200000 nodes (aliases?)");
}

/* Aliases within the bound still expand fully. */
static void test_alias_expansion_within_bound(void **state)
{
    (void)state;
    const char *src = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                      "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    pv_doc *doc = parse_ok(src);
    const pv_node *c = pv_node_get(doc->root, "c");
    assert_int_equal(c->n, 10);
    assert_int_equal(c->items[9]->n, 10);
    assert_int_equal(c->items[9]->items[9]->items[9]->ival, 10);
    pv_doc_free(doc);
}

static void test_self_referential_alias_refused(void **state)
{
    (void)state;
    assert_single_error(
        "&a [1, *a]\n", PV_EINPUT, FILE_NAME ":1:8: alias '*a' refers to a node that contains it");
    assert_single_error("top: &t\n  child:\n    back: *t\n",
                        PV_EINPUT,
                        FILE_NAME ":3:11: alias '*t' refers to a node that contains it");
}

/* libyaml's loader refuses these; the message keeps its words. */
static void test_undefined_and_repeated_anchors(void **state)
{
    (void)state;
    assert_single_error(
        "a: *nope\n", PV_EINPUT, FILE_NAME ":1:4: invalid YAML: found undefined alias");
    assert_single_error("a: &x 1\nb: &x 2\n",
                        PV_EINPUT,
                        FILE_NAME
                        ":2:4: invalid YAML: duplicate anchor (first at line 1, column 4)");
}

/* ------------------------------------------------------------------------------------------ */
/* bounds                                                                                     */

static char *nested_seqs(int depth)
{
    char *s = malloc((size_t)depth * 2 + 8);
    size_t o = 0;
    for (int i = 0; i < depth; i++)
        s[o++] = '[';
    s[o++] = '1';
    for (int i = 0; i < depth; i++)
        s[o++] = ']';
    s[o] = '\0';
    return s;
}

static void test_depth_64_accepted(void **state)
{
    (void)state;
    char *src = nested_seqs(PV_DOC_MAX_DEPTH);
    pv_doc *doc = parse_ok(src);
    const pv_node *n = doc->root;
    for (int i = 1; i < PV_DOC_MAX_DEPTH; i++) {
        assert_int_equal(n->kind, PV_N_SEQ);
        assert_int_equal(n->n, 1);
        n = n->items[0];
    }
    assert_int_equal(n->kind, PV_N_SEQ);
    assert_int_equal(n->items[0]->ival, 1);
    assert_pos(n->items[0]->pos, 1, 65);
    pv_doc_free(doc);
    free(src);
}

static void test_depth_65_refused(void **state)
{
    (void)state;
    char *src = nested_seqs(PV_DOC_MAX_DEPTH + 1);
    assert_single_error(src, PV_ELIMIT, FILE_NAME ":1:65: nesting deeper than 64 levels");
    free(src);
    /* Far deeper input is refused the same way, once. */
    src = nested_seqs(5000);
    assert_single_error(src, PV_ELIMIT, FILE_NAME ":1:65: nesting deeper than 64 levels");
    free(src);
}

/* Maps count as levels too, and a deep alias counts at its point of use. */
static void test_depth_counts_maps_and_aliases(void **state)
{
    (void)state;
    size_t cap = 65 * 8 + 64;
    char *src = malloc(cap);
    size_t o = 0;
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(src + o, cap - o, "{a: ");
    o += (size_t)snprintf(src + o, cap - o, "1");
    for (int i = 0; i < 65; i++)
        src[o++] = '}';
    src[o] = '\0';
    assert_single_error(src, PV_ELIMIT, FILE_NAME ":1:257: nesting deeper than 64 levels");
    free(src);

    /* 40 levels anchored, used 30 levels down: 70 levels in the tree. */
    char *deep = nested_seqs(40);
    char *shallow = nested_seqs(30);
    size_t n = strlen(deep) + strlen(shallow) + 32;
    src = malloc(n);
    /* "a: &d [[..1..]]\nb: [[..*d..]]" */
    shallow[30] = '\0';
    snprintf(src, n, "a: &d %s\nb: %s*d%s\n", deep, shallow, shallow + 31);
    pv_diags d = parse_err(src, strlen(src), PV_ELIMIT);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].msg, "nesting deeper than 64 levels");
    pv_diags_clear(&d);
    free(src);
    free(deep);
    free(shallow);
}

static void test_size_limit(void **state)
{
    (void)state;
    size_t len = PV_DOC_MAX_BYTES + 1;
    char *big = malloc(len + 1);
    memset(big, '#', len);
    big[len] = '\0';
    pv_diags d = parse_err(big, len, PV_ELIMIT);
    assert_int_equal(d.n, 1);
    assert_diag(
        &d, 0, FILE_NAME ": the document is 4194305 bytes, more than the limit of 4194304 bytes");
    pv_diags_clear(&d);

    /* Exactly at the limit is fine. */
    pv_doc *doc = NULL;
    big[len - 1] = '\0';
    assert_int_equal(pv_doc_parse(FILE_NAME, big, len - 1, &doc, &d), PV_OK);
    assert_int_equal(d.n, 0);
    assert_null(doc->root);
    pv_doc_free(doc);
    free(big);
}

static char *flat_seq(size_t items)
{
    char *src = malloc(2 * items + 2);
    size_t o = 0;
    src[o++] = '[';
    for (size_t i = 0; i < items; i++) {
        src[o++] = '1';
        src[o++] = i + 1 < items ? ',' : ']';
    }
    src[o] = '\0';
    return src;
}

/* A flat document with more nodes than the bound is refused before the
 * loader builds it. */
static void test_node_limit_without_aliases(void **state)
{
    (void)state;
    /* The items and the sequence itself: exactly at the bound. */
    char *src = flat_seq(PV_DOC_MAX_NODES - 1);
    pv_doc *doc = parse_ok(src);
    assert_int_equal(doc->root->n, PV_DOC_MAX_NODES - 1);
    pv_doc_free(doc);
    free(src);
    src = flat_seq(PV_DOC_MAX_NODES);
    assert_single_error(
        src, PV_ELIMIT, FILE_NAME ": the document expands to more than 200000 nodes (aliases?)");
    free(src);
}

/* libyaml's loader and parser slow down quadratically with many anchors or
 * directives, so both are bounded. */
static void test_anchor_and_directive_limits(void **state)
{
    (void)state;
    size_t cap = 1100 * 24;
    char *src = malloc(cap);
    size_t o = 0;
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(src + o, cap - o, "- &a%d x\n", i);
    pv_doc *doc = parse_ok(src);
    assert_int_equal(doc->root->n, 1000);
    pv_doc_free(doc);
    snprintf(src + o, cap - o, "- &over x\n");
    assert_single_error(
        src, PV_ELIMIT, FILE_NAME ":1001:3: the document defines more than 1000 anchors");

    o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(src + o, cap - o, "%%TAG !t%d! tag:example.com,2026:\n", i);
    snprintf(src + o, cap - o, "--- !t7!x [1]\n");
    /* Within the bound the directives work: the handle resolves (to a tag
     * we do not support, but that is another matter). */
    assert_single_error(src,
                        PV_EINPUT,
                        FILE_NAME
                        ":101:5: unsupported tag '!<tag:example.com,2026:x>' on a sequence");
    o = 0;
    for (int i = 0; i < 101; i++)
        o += (size_t)snprintf(src + o, cap - o, "%%TAG !t%d! tag:example.com,2026:\n", i);
    snprintf(src + o, cap - o, "--- a\n");
    assert_single_error(
        src, PV_ELIMIT, FILE_NAME ":101:1: the document has more than 100 directives");
    /* '%' lines inside a document (here a quoted scalar's continuation
     * lines) are content, not directives. */
    o = (size_t)snprintf(src, cap, "--- \"a\n");
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(src + o, cap - o, "%%%d\n", i);
    snprintf(src + o, cap - o, "\"\n");
    doc = parse_ok(src);
    assert_int_equal(doc->root->skind, PV_S_STRING);
    assert_memory_equal(doc->root->str.ptr, "a %0 %1 ", 8);
    pv_doc_free(doc);
    free(src);
}

/* ------------------------------------------------------------------------------------------ */
/* libyaml errors and documents                                                               */

static void test_invalid_yaml_message_and_position(void **state)
{
    (void)state;
    assert_single_error("a: 1\nb: 2\nc: d: e\n",
                        PV_EINPUT,
                        FILE_NAME ":3:5: invalid YAML: mapping values are not allowed in this "
                                  "context");
}

static void test_invalid_yaml_with_context(void **state)
{
    (void)state;
    assert_single_error("a: 1\nb\n",
                        PV_EINPUT,
                        FILE_NAME ":3:1: invalid YAML: could not find expected ':' (while "
                                  "scanning a simple key at line 2, column 1)");
    assert_single_error("a: [1, 2\n",
                        PV_EINPUT,
                        FILE_NAME ":2:1: invalid YAML: did not find expected ',' or ']' (while "
                                  "parsing a flow sequence at line 1, column 4)");
}

static void test_invalid_encoding(void **state)
{
    (void)state;
    assert_single_error("a: 1\nb: \xff\n",
                        PV_EINPUT,
                        FILE_NAME ":2:4: invalid YAML: invalid leading UTF-8 octet (byte 0xFF)");
    assert_single_error("a: x\x07y\n",
                        PV_EINPUT,
                        FILE_NAME ":1:5: invalid YAML: control characters are not allowed "
                                  "(U+0007)");
}

static void test_second_document_refused(void **state)
{
    (void)state;
    assert_single_error("a: 1\n---\nb: 2\n",
                        PV_EINPUT,
                        FILE_NAME ":2:1: a file holds one document; found a second at line 2");
    assert_single_error("a: 1\n...\n\n--- b: 2\n",
                        PV_EINPUT,
                        FILE_NAME ":4:1: a file holds one document; found a second at line 4");
    /* Markers around a single document are fine. */
    pv_doc *doc = parse_ok("---\na: 1\n...\n");
    assert_int_equal(pv_node_get(doc->root, "a")->ival, 1);
    pv_doc_free(doc);
}

/* ------------------------------------------------------------------------------------------ */
/* tags                                                                                       */

static void test_tags_force_resolution(void **state)
{
    (void)state;
    assert_scalar("!!str 42", PV_S_STRING, "42");
    assert_scalar("!!str true", PV_S_STRING, "true");
    assert_scalar("!!str", PV_S_STRING, "");
    assert_scalar("! 42", PV_S_STRING, "42"); /* the non-specific tag: not plain, so a string */
    assert_scalar("!!int \"42\"", PV_S_INT, "42");
    assert_scalar("!!int 0x10", PV_S_INT, "0x10");
    assert_scalar("!!int 99999999999999999999", PV_S_BIGINT, "99999999999999999999");
    assert_scalar("!!bool 'true'", PV_S_BOOL, "true");
    assert_scalar("!!null ''", PV_S_NULL, "");
    assert_scalar("!!float 1", PV_S_FLOAT, "1");
    assert_scalar("!!float \".inf\"", PV_S_FLOAT, ".inf");
    assert_scalar("!<tag:yaml.org,2002:int> 7", PV_S_INT, "7");

    pv_doc *doc = parse_ok("m: !!map {a: 1}\ns: !!seq [1]\nv: &x !!int 5\n");
    assert_int_equal(pv_node_get(doc->root, "m")->kind, PV_N_MAP);
    assert_int_equal(pv_node_get(doc->root, "s")->kind, PV_N_SEQ);
    assert_int_equal(value_of(doc)->ival, 5);
    pv_doc_free(doc);
}

static void test_tag_mismatch_errors(void **state)
{
    (void)state;
    const char *src = "a: !!int abc\nb: !!bool yes\nc: !!null x\nd: !!float 1.2.3\ne: !!int 1.5\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 5);
    assert_diag(&d, 0, FILE_NAME ":1:4: !!int tag on 'abc', which is not an integer");
    assert_diag(&d, 1, FILE_NAME ":2:4: !!bool tag on 'yes', which is not a boolean");
    assert_diag(&d, 2, FILE_NAME ":3:4: !!null tag on 'x', which is not null");
    assert_diag(&d, 3, FILE_NAME ":4:4: !!float tag on '1.2.3', which is not a number");
    assert_diag(&d, 4, FILE_NAME ":5:4: !!int tag on '1.5', which is not an integer");
    pv_diags_clear(&d);
}

static void test_unsupported_tags(void **state)
{
    (void)state;
    const char *src = "a: !foo x\nb: !!binary aGk=\nc: !!set {x: ~}\nd: !!str [1]\n"
                      "e: !<tag:example.com,2026:x> y\n";
    pv_diags d = parse_err(src, strlen(src), PV_EINPUT);
    assert_int_equal(d.n, 5);
    assert_diag(&d, 0, FILE_NAME ":1:4: unsupported tag '!foo'");
    assert_diag(&d, 1, FILE_NAME ":2:4: unsupported tag '!!binary'");
    assert_diag(&d, 2, FILE_NAME ":3:4: unsupported tag '!!set' on a mapping");
    assert_diag(&d, 3, FILE_NAME ":4:4: unsupported tag '!!str' on a sequence");
    assert_diag(&d, 4, FILE_NAME ":5:4: unsupported tag '!<tag:example.com,2026:x>'");
    pv_diags_clear(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON                                                                                       */

static void test_json_input(void **state)
{
    (void)state;
    const char *src = "{\"spec\": \"demo\", \"n\": 123, \"s\": \"123\", \"ok\": true,\n"
                      " \"none\": null, \"f\": -1.5e3, \"list\": [1, \"two\", false]}";
    pv_doc *doc = parse_ok(src);
    const pv_node *root = doc->root;
    assert_int_equal(root->kind, PV_N_MAP);
    assert_int_equal(root->n, 7);
    assert_int_equal(pv_node_get(root, "n")->skind, PV_S_INT);
    assert_int_equal(pv_node_get(root, "n")->ival, 123);
    assert_int_equal(pv_node_get(root, "s")->skind, PV_S_STRING);
    assert_string_equal(pv_node_get(root, "s")->str.ptr, "123");
    assert_int_equal(pv_node_get(root, "ok")->skind, PV_S_BOOL);
    assert_int_equal(pv_node_get(root, "none")->skind, PV_S_NULL);
    assert_int_equal(pv_node_get(root, "f")->skind, PV_S_FLOAT);
    const pv_node *list = pv_node_get(root, "list");
    assert_int_equal(list->n, 3);
    assert_int_equal(list->items[1]->skind, PV_S_STRING);
    assert_int_equal(list->items[2]->skind, PV_S_BOOL);
    assert_pos(pv_node_get(root, "n")->pos, 1, 23);
    assert_pos(root->keys[4]->pos, 2, 2);
    assert_pos(list->items[1]->pos, 2, 41);
    pv_doc_free(doc);
}

static void test_json_compact_tabs_and_duplicates(void **state)
{
    (void)state;
    pv_doc *doc = parse_ok("{\n\t\"a\":1,\n\t\"b\":[\"x\",{\"c\":\"\\u00e9\"}]\n}\n");
    assert_int_equal(pv_node_get(doc->root, "a")->ival, 1);
    const pv_node *b = pv_node_get(doc->root, "b");
    assert_string_equal(pv_node_get(b->items[1], "c")->str.ptr, "\xc3\xa9");
    assert_pos(b->pos, 3, 6);
    pv_doc_free(doc);
    assert_single_error("{\"a\": 1, \"a\": 2}",
                        PV_EINPUT,
                        FILE_NAME ":1:10: duplicate key 'a' (first at line 1, column 2)");
}

/* ------------------------------------------------------------------------------------------ */
/* offsets inside scalars                                                                     */

static void test_offset_plain(void **state)
{
    (void)state;
    assert_pos(offset_pos_of("v: hello world\n", 0), 1, 4);
    assert_pos(offset_pos_of("v: hello world\n", 6), 1, 10);
    assert_pos(offset_pos_of("x: 1\nv:    args.amount > 5\n", 5), 2, 12);
    /* Multi-byte text: the offset is in bytes, and so is the column. */
    assert_pos(offset_pos_of("v: h\xc3\xa9llo\n", 3), 1, 7);
    /* In a flow sequence. */
    pv_doc *doc = parse_ok("v: [a, bcd]\n");
    assert_pos(pv_node_offset_pos(doc, value_of(doc)->items[1], 2), 1, 10);
    pv_doc_free(doc);
}

static void test_offset_single_quoted(void **state)
{
    (void)state;
    const char *src = "v: 'it''s x'\n"; /* decoded: it's x */
    assert_pos(offset_pos_of(src, 0), 1, 5);
    assert_pos(offset_pos_of(src, 2), 1, 7);
    assert_pos(offset_pos_of(src, 3), 1, 9);
    assert_pos(offset_pos_of(src, 5), 1, 11);
}

static void test_offset_double_quoted_escapes(void **state)
{
    (void)state;
    /* raw:     "a\tb\u00e9c\\d"  decoded: a TAB b e9(2 bytes) c \ d */
    const char *src = "v: \"a\\tb\\u00e9c\\\\d\"\n";
    pv_doc *doc = parse_ok(src);
    assert_int_equal(value_of(doc)->str.len, 8);
    pv_doc_free(doc);
    assert_pos(offset_pos_of(src, 0), 1, 5);
    assert_pos(offset_pos_of(src, 1), 1, 6);
    assert_pos(offset_pos_of(src, 2), 1, 8);
    assert_pos(offset_pos_of(src, 3), 1, 9);
    assert_pos(offset_pos_of(src, 4), 1, 9); /* inside the escaped character: its escape */
    assert_pos(offset_pos_of(src, 5), 1, 15);
    assert_pos(offset_pos_of(src, 6), 1, 16);
    assert_pos(offset_pos_of(src, 7), 1, 18);
    assert_pos(offset_pos_of("v: \"\\x41\\\"B\"\n", 2), 1, 11);
}

static void test_offset_literal_block(void **state)
{
    (void)state;
    const char *src = "x: 1\nv: |\n  first\n  second line\n";
    assert_pos(offset_pos_of(src, 0), 3, 3);
    assert_pos(offset_pos_of(src, 2), 3, 5);
    assert_pos(offset_pos_of(src, 6), 4, 3);
    assert_pos(offset_pos_of(src, 13), 4, 10);
    /* Explicit indentation: the extra spaces are content. */
    assert_pos(offset_pos_of("v: |2\n    x\n", 2), 2, 5);
    /* A comment on the indicator line and a blank content line. */
    const char *src2 = "v: |-  # note\n    a\n\n    b\n";
    pv_doc *doc = parse_ok(src2);
    assert_string_equal(value_of(doc)->str.ptr, "a\n\nb");
    pv_doc_free(doc);
    assert_pos(offset_pos_of(src2, 3), 4, 5);
    /* CR LF line ends. */
    assert_pos(offset_pos_of("v: |\r\n  ab\r\n  cd\r\n", 3), 3, 3);
    assert_pos(offset_pos_of("v: 'ab'\r\nw: x\r\n", 1), 1, 6);
}

static void test_offset_fallbacks(void **state)
{
    (void)state;
    /* Folded, multi-line plain, multi-line quoted: the scalar's own start. */
    assert_pos(offset_pos_of("v: >\n  a\n  b\n", 2), 1, 4);
    assert_pos(offset_pos_of("v: a\n  b\n", 2), 1, 4);
    assert_pos(offset_pos_of("v: 'a\n  b'\n", 2), 1, 4);
    assert_pos(offset_pos_of("v: \"a\\\n  b\"\n", 1), 1, 4);
    /* Offsets past the end point at the end. */
    assert_pos(offset_pos_of("v: abc\n", 99), 1, 7);
    /* A tree with no source text. */
    pv_node n = {.kind = PV_N_SCALAR, .pos = {5, 6}, .style = PV_STYLE_JSON};
    assert_pos(pv_node_offset_pos(NULL, &n, 3), 5, 6);
}

static void test_offset_after_anchor_and_tag(void **state)
{
    (void)state;
    assert_pos(offset_pos_of("v: &x !!str abc\n", 1), 1, 14);
    assert_pos(offset_pos_of("v: !!str 'q''r'\n", 2), 1, 14);
    /* JSON strings are double-quoted scalars. */
    assert_pos(offset_pos_of("{\"v\": \"a\\nbc\"}", 3), 1, 12);
}

/* ------------------------------------------------------------------------------------------ */
/* describe, load_file                                                                        */

static void assert_describe(const char *value, const char *want)
{
    char src[256];
    snprintf(src, sizeof src, "v: %s", value);
    pv_doc *doc = parse_ok(src);
    char *got = pv_node_describe(value_of(doc));
    assert_string_equal(got, want);
    free(got);
    pv_doc_free(doc);
}

static void test_describe(void **state)
{
    (void)state;
    assert_describe("{a: 1}", "a mapping");
    assert_describe("[1]", "a sequence");
    assert_describe("abc", "the string 'abc'");
    assert_describe("\"a\\nb\"", "the string 'a\\nb'");
    assert_describe("42", "the integer 42");
    assert_describe("-0x1", "the string '-0x1'");
    assert_describe("9223372036854775808", "the integer 9223372036854775808");
    assert_describe("true", "true");
    assert_describe("False", "false");
    assert_describe("~", "null");
    assert_describe("1.5", "the number 1.5");
    assert_describe("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                    "the string 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...'");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/pv_test_doc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "spec: demo\nsteps: [1, 2]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    pv_diags d = {0};
    pv_doc *doc = NULL;
    assert_int_equal(pv_doc_load_file(path, &doc, &d), PV_OK);
    assert_int_equal(d.n, 0);
    assert_string_equal(doc->file, path);
    assert_string_equal(pv_node_get(doc->root, "spec")->str.ptr, "demo");
    pv_doc_free(doc);

    /* Parse errors name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a: 1\na: 2\n", 10), 10);
    close(fd);
    assert_int_equal(pv_doc_load_file(path, &doc, &d), PV_EINPUT);
    assert_null(doc);
    char want[128];
    snprintf(want, sizeof want, "%s:2:1: duplicate key 'a' (first at line 1, column 1)", path);
    assert_diag(&d, 0, want);
    pv_diags_clear(&d);
    unlink(path);

    /* A missing file: one diagnostic, no position, with the system's reason. */
    doc = (pv_doc *)1;
    assert_int_equal(pv_doc_load_file(path, &doc, &d), PV_EIO);
    assert_null(doc);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].pos.line, 0);
    char *msg = pv_diag_format(&d.items[0]);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "cannot read"));
    assert_non_null(strstr(msg, strerror(ENOENT)));
    free(msg);
    pv_diags_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_null),
        cmocka_unit_test(test_resolve_bool),
        cmocka_unit_test(test_yaml11_booleans_are_strings),
        cmocka_unit_test(test_resolve_decimal_int),
        cmocka_unit_test(test_resolve_octal_hex),
        cmocka_unit_test(test_resolve_bigint),
        cmocka_unit_test(test_resolve_float),
        cmocka_unit_test(test_no_sexagesimal_or_timestamps),
        cmocka_unit_test(test_quoted_and_block_scalars_are_strings),
        cmocka_unit_test(test_scalar_styles_and_source_ranges),
        cmocka_unit_test(test_double_quoted_nul_is_kept),
        cmocka_unit_test(test_nested_maps_and_seqs_positions),
        cmocka_unit_test(test_node_get),
        cmocka_unit_test(test_non_ascii_columns_are_bytes),
        cmocka_unit_test(test_byte_order_mark),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_document_keeps_source_and_file),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_every_duplicate_reported),
        cmocka_unit_test(test_duplicate_keys_compare_decoded_text),
        cmocka_unit_test(test_duplicate_in_aliased_map_reported_once),
        cmocka_unit_test(test_non_scalar_keys),
        cmocka_unit_test(test_alias_expanded),
        cmocka_unit_test(test_billion_laughs_refused),
        cmocka_unit_test(test_alias_expansion_within_bound),
        cmocka_unit_test(test_self_referential_alias_refused),
        cmocka_unit_test(test_undefined_and_repeated_anchors),
        cmocka_unit_test(test_depth_64_accepted),
        cmocka_unit_test(test_depth_65_refused),
        cmocka_unit_test(test_depth_counts_maps_and_aliases),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_node_limit_without_aliases),
        cmocka_unit_test(test_anchor_and_directive_limits),
        cmocka_unit_test(test_invalid_yaml_message_and_position),
        cmocka_unit_test(test_invalid_yaml_with_context),
        cmocka_unit_test(test_invalid_encoding),
        cmocka_unit_test(test_second_document_refused),
        cmocka_unit_test(test_tags_force_resolution),
        cmocka_unit_test(test_tag_mismatch_errors),
        cmocka_unit_test(test_unsupported_tags),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_json_compact_tabs_and_duplicates),
        cmocka_unit_test(test_offset_plain),
        cmocka_unit_test(test_offset_single_quoted),
        cmocka_unit_test(test_offset_double_quoted_escapes),
        cmocka_unit_test(test_offset_literal_block),
        cmocka_unit_test(test_offset_fallbacks),
        cmocka_unit_test(test_offset_after_anchor_and_tag),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
