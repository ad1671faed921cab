/*
 * expr.c - the expression language of contract section 3: lexer,
 * recursive-descent parser, and the AST helpers (free, copy, to_string).
 * The static type checker lives in expr_check.c.
 *
 * The lexer runs on demand, one token ahead of the parser, so that the
 * first error in reading order is the one reported: a bad escape late in
 * the text does not hide a syntax error before it.
 */
#include "pv_expr.h"
#include "pv_spec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- tokens ------------------------------------------------------------------------------ */

typedef enum tok_kind {
    TK_EOF,
    TK_ERROR, /* the lexer failed; the parser stops */
    TK_INT,
    TK_STR,
    TK_NAME, /* identifier or dotted name */
    TK_TRUE,
    TK_FALSE,
    TK_IN,
    TK_QUESTION,
    TK_COLON,
    TK_IMPLIES,
    TK_OR,
    TK_AND,
    TK_NOT,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_PLUS,
    TK_MINUS,
    TK_STAR,
    TK_SLASH,
    TK_PERCENT,
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_COMMA,
    TK_DOT
} tok_kind;

typedef struct token {
    tok_kind kind;
    uint32_t off; /* first byte */
    uint32_t end; /* one past the last byte */
    uint64_t mag; /* TK_INT: the literal's value, at most 2^63 */
    char *str;    /* TK_STR: the decoded bytes, owned until the parser takes them */
    size_t str_len;
} token;

/* 2^63: the one magnitude that fits int64 only when negated. */
#define MAG_INT64_MIN (UINT64_C(1) << 63)

typedef struct lexer {
    const char *src;
    size_t len;
    size_t pos;
    pv_expr_error err; /* set when a token comes back as TK_ERROR */
} lexer;

typedef struct parser {
    lexer lx;
    token tok;     /* the current (not yet consumed) token */
    token prev;    /* the last consumed token; only kind, off and end are meaningful */
    bool has_prev; /* false until the first token is consumed */
    int nest;      /* recursion depth of the descent, bounded by PV_EXPR_MAX_DEPTH */
    bool failed;   /* err holds the first error; everything after it is ignored */
    bool limit;    /* the error is a depth bound, not a syntax error */
    pv_expr_error *err;
} parser;

/* Functions by name. A path function's first argument is a tool list. */
typedef struct func_info {
    const char *name;
    pv_expr_kind kind;
    int min_args;
    int max_args;
    const char *signature; /* for argument-count messages */
} func_info;

static const func_info FUNCS[] = {
    {"starts_with", PV_E_STARTS_WITH, 2, 2, "starts_with(s, p)"},
    {"ends_with", PV_E_ENDS_WITH, 2, 2, "ends_with(s, p)"},
    {"contains", PV_E_CONTAINS, 2, 2, "contains(s, p)"},
    {"len", PV_E_LEN, 1, 1, "len(s)"},
    {"min", PV_E_MIN, 2, 2, "min(a, b)"},
    {"max", PV_E_MAX, 2, 2, "max(a, b)"},
    {"abs", PV_E_ABS, 1, 1, "abs(a)"},
    {"earlier", PV_E_EARLIER, 1, 2, "earlier(TOOL, cond)"},
    {"count", PV_E_COUNT, 1, 2, "count(TOOL, cond)"},
};
#define N_FUNCS (sizeof FUNCS / sizeof FUNCS[0])

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is not
 * one (overlong forms, surrogates and code points past U+10FFFF included):
 * `len` counts code points, so the bytes must be real UTF-8.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* Append code point cp (not a surrogate, at most U+FFFF here) as UTF-8. */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/*
 * Append s[0..n) as a single-quoted literal that the lexer reads back to
 * the same bytes: backslash, quote and control characters escaped, UTF-8
 * passed through.
 */
static void buf_add_quoted(pv_buf *b, const char *s, size_t n)
{
    pv_buf_add(b, "'");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\':
            pv_buf_add(b, "\\\\");
            break;
        case '\'':
            pv_buf_add(b, "\\'");
            break;
        case '\n':
            pv_buf_add(b, "\\n");
            break;
        case '\t':
            pv_buf_add(b, "\\t");
            break;
        case '\r':
            pv_buf_add(b, "\\r");
            break;
        case '\0':
            pv_buf_add(b, "\\0");
            break;
        default:
            if (c < 0x20 || c == 0x7F)
                pv_buf_addf(b, "\\x%02x", c);
            else
                pv_buf_addn(b, (const char *)&c, 1);
        }
    }
    pv_buf_add(b, "'");
}

/*
 * Internal to the expression module (expr_check.c uses it for messages):
 * s[0..n) as a quoted, escaped literal. Returns a new string.
 */
char *pv__expr_quote(const char *s, size_t n);

char *pv__expr_quote(const char *s, size_t n)
{
    pv_buf b = {0};
    buf_add_quoted(&b, s, n);
    return b.ptr;
}

/* --- errors ------------------------------------------------------------------------------ */

static void set_error(pv_expr_error *err, uint32_t off, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void set_error(pv_expr_error *err, uint32_t off, const char *fmt, va_list ap)
{
    err->off = off;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

/* Record a lexer error; the caller returns TK_ERROR. */
static void lex_fail(lexer *lx, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void lex_fail(lexer *lx, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(&lx->err, (uint32_t)off, fmt, ap);
    va_end(ap);
}

/* Record a parser error unless one is already recorded: the first wins. */
static void parse_fail(parser *p, uint32_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void parse_fail(parser *p, uint32_t off, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    set_error(p->err, off, fmt, ap);
    va_end(ap);
}

/*
 * Copy src[off..end) into buf for a message, cut at 40 bytes (on a UTF-8
 * boundary) with "..." so that one long token cannot crowd out the rest.
 */
static void clip_text(const char *src, size_t off, size_t end, char *buf, size_t size)
{
    size_t n = end - off;
    const size_t max = 40;
    bool cut = false;
    if (n > max) {
        n = max - 3;
        while (n > 0 && ((unsigned char)src[off + n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    if (n + 4 > size)
        n = size - 4;
    memcpy(buf, src + off, n);
    strcpy(buf + n, cut ? "..." : "");
}

/* A token as messages show it: 'text', string 'text', or end of expression. */
static void describe_token(const lexer *lx, const token *t, char *buf, size_t size)
{
    char text[48];
    if (t->kind == TK_EOF) {
        snprintf(buf, size, "end of expression");
        return;
    }
    clip_text(lx->src, t->off, t->end, text, sizeof text);
    if (t->kind == TK_STR)
        snprintf(buf, size, "string %s", text);
    else
        snprintf(buf, size, "'%s'", text);
}

/* --- lexer ------------------------------------------------------------------------------- */

/* Read an integer literal starting at lx->pos. */
static void lex_number(lexer *lx, token *t)
{
    size_t start = lx->pos, i = start;
    uint64_t v = 0;
    bool too_big = false;
    while (i < lx->len && is_digit(lx->src[i])) {
        unsigned d = (unsigned)(lx->src[i] - '0');
        if (!too_big && v > (MAG_INT64_MIN - d) / 10)
            too_big = true;
        else if (!too_big)
            v = v * 10 + d;
        i++;
    }
    char text[48];
    if (i + 1 < lx->len && lx->src[i] == '.' && is_digit(lx->src[i + 1])) {
        size_t e = i + 1;
        while (e < lx->len && is_digit(lx->src[e]))
            e++;
        clip_text(lx->src, start, e, text, sizeof text);
        lex_fail(lx, start, "'%s' is not an integer: only integer numbers are supported", text);
        t->kind = TK_ERROR;
        return;
    }
    if (i < lx->len && is_alpha(lx->src[i])) {
        size_t e = i;
        while (e < lx->len && is_alnum(lx->src[e]))
            e++;
        clip_text(lx->src, start, e, text, sizeof text);
        lex_fail(lx, start, "invalid number '%s': a name cannot start with a digit", text);
        t->kind = TK_ERROR;
        return;
    }
    if (too_big) {
        clip_text(lx->src, start, i, text, sizeof text);
        lex_fail(lx, start, "integer literal %s does not fit in 64 bits", text);
        t->kind = TK_ERROR;
        return;
    }
    t->kind = TK_INT;
    t->mag = v;
    t->end = (uint32_t)i;
    lx->pos = i;
}

/*
 * Read a quoted string starting at lx->pos (the quote), decoding escapes.
 * Errors point at the backslash of a bad escape, at a byte that is not
 * UTF-8, or at the opening quote of an unterminated string.
 */
static void lex_string(lexer *lx, token *t)
{
    const char *s = lx->src;
    size_t start = lx->pos, i = start + 1;
    char quote = s[start];
    pv_buf b = {0};
    pv_buf_add(&b, ""); /* an empty string still gets a buffer */
    for (;;) {
        if (i >= lx->len) {
            lex_fail(lx,
                     start,
                     "unterminated string: no closing %c before the end of the expression",
                     quote);
            goto fail;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)quote) {
            i++;
            break;
        }
        if (c != '\\') {
            size_t n = utf8_seq_len((const unsigned char *)s + i, lx->len - i);
            if (n == 0) {
                lex_fail(lx, i, "invalid UTF-8 byte 0x%02X in string", c);
                goto fail;
            }
            pv_buf_addn(&b, s + i, n);
            i += n;
            continue;
        }
        size_t bs = i;
        if (i + 1 >= lx->len) {
            lex_fail(lx,
                     start,
                     "unterminated string: no closing %c before the end of the expression",
                     quote);
            goto fail;
        }
        unsigned char e = (unsigned char)s[i + 1];
        i += 2;
        switch (e) {
        case '\\':
        case '\'':
        case '"':
            pv_buf_addn(&b, (const char *)&e, 1);
            continue;
        case 'n':
            pv_buf_add(&b, "\n");
            continue;
        case 't':
            pv_buf_add(&b, "\t");
            continue;
        case 'r':
            pv_buf_add(&b, "\r");
            continue;
        case '0':
            pv_buf_addn(&b, "\0", 1);
            continue;
        case 'x':
        case 'u': {
            int digits = e == 'x' ? 2 : 4;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i + (size_t)k < lx->len ? hex_value(s[i + (size_t)k]) : -1;
                if (h < 0) {
                    lex_fail(lx,
                             bs,
                             "escape \\%c needs %d hex digits, as in \\%c%s",
                             e,
                             digits,
                             e,
                             e == 'x' ? "41" : "00e9");
                    goto fail;
                }
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                lex_fail(lx, bs, "escape \\u%.4s is a UTF-16 surrogate, not a character", s + i);
                goto fail;
            }
            i += (size_t)digits;
            /* \xHH is code point U+00HH, as in Python: a string stays UTF-8. */
            char enc[4];
            pv_buf_addn(&b, enc, utf8_encode(cp, enc));
            continue;
        }
        default:
            if (e >= 0x21 && e < 0x7F)
                lex_fail(lx,
                         bs,
                         "unknown escape \\%c in string (known: \\\\ \\' \\\" \\n \\t \\r \\0 "
                         "\\xHH \\uXXXX)",
                         e);
            else
                lex_fail(
                    lx, bs, "unknown escape in string: a backslash followed by byte 0x%02X", e);
            goto fail;
        }
    }
    t->kind = TK_STR;
    t->str = b.ptr;
    t->str_len = b.len;
    t->end = (uint32_t)i;
    lx->pos = i;
    return;
fail:
    free(b.ptr);
    t->kind = TK_ERROR;
}

/* Read a name: identifier segments joined by dots, with no spaces. */
static void lex_name(lexer *lx, token *t)
{
    size_t i = lx->pos;
    for (;;) {
        while (i < lx->len && is_alnum(lx->src[i]))
            i++;
        if (i < lx->len && lx->src[i] == '.') {
            if (i + 1 < lx->len && is_alpha(lx->src[i + 1])) {
                i++;
                continue;
            }
            char text[48], found[48];
            clip_text(lx->src, lx->pos, i + 1, text, sizeof text);
            if (i + 1 >= lx->len)
                snprintf(found, sizeof found, "end of expression");
            else if (lx->src[i + 1] >= 0x21 && lx->src[i + 1] < 0x7F)
                snprintf(found, sizeof found, "'%c'", lx->src[i + 1]);
            else
                snprintf(found, sizeof found, "byte 0x%02X", (unsigned char)lx->src[i + 1]);
            lex_fail(lx, i + 1, "expected a name after '%s', found %s", text, found);
            t->kind = TK_ERROR;
            return;
        }
        break;
    }
    size_t n = i - lx->pos;
    const char *w = lx->src + lx->pos;
    t->kind = TK_NAME;
    if (n == 4 && memcmp(w, "true", 4) == 0)
        t->kind = TK_TRUE;
    else if (n == 5 && memcmp(w, "false", 5) == 0)
        t->kind = TK_FALSE;
    else if (n == 2 && memcmp(w, "in", 2) == 0)
        t->kind = TK_IN;
    t->end = (uint32_t)i;
    lx->pos = i;
}

/*
 * Read the next token into *t. On a lexical error t->kind is TK_ERROR and
 * lx->err says what and where; the lexer does not continue past it.
 */
static void lex(lexer *lx, token *t)
{
    const char *s = lx->src;
    memset(t, 0, sizeof *t);
    while (lx->pos < lx->len) {
        char c = s[lx->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            lx->pos++;
        else
            break;
    }
    size_t i = lx->pos;
    t->off = t->end = (uint32_t)i;
    if (i >= lx->len) {
        t->kind = TK_EOF;
        return;
    }
    unsigned char c = (unsigned char)s[i];
    char c1 = i + 1 < lx->len ? s[i + 1] : '\0';
    if (is_digit(c)) {
        lex_number(lx, t);
        return;
    }
    if (is_alpha(c)) {
        lex_name(lx, t);
        return;
    }
    if (c == '\'' || c == '"') {
        lex_string(lx, t);
        return;
    }
    size_t n = 1;
    switch (c) {
    case '?':
        t->kind = TK_QUESTION;
        break;
    case ':':
        t->kind = TK_COLON;
        break;
    case '=':
        if (c1 == '=') {
            t->kind = TK_EQ, n = 2;
        } else if (c1 == '>') {
            t->kind = TK_IMPLIES, n = 2;
        } else {
            lex_fail(lx, i, "unexpected '='; did you mean '=='?");
            t->kind = TK_ERROR;
            return;
        }
        break;
    case '|':
        if (c1 != '|') {
            lex_fail(lx, i, "unexpected '|'; did you mean '||'?");
            t->kind = TK_ERROR;
            return;
        }
        t->kind = TK_OR, n = 2;
        break;
    case '&':
        if (c1 != '&') {
            lex_fail(lx, i, "unexpected '&'; did you mean '&&'?");
            t->kind = TK_ERROR;
            return;
        }
        t->kind = TK_AND, n = 2;
        break;
    case '!':
        if (c1 == '=')
            t->kind = TK_NE, n = 2;
        else
            t->kind = TK_NOT;
        break;
    case '<':
        if (c1 == '=')
            t->kind = TK_LE, n = 2;
        else
            t->kind = TK_LT;
        break;
    case '>':
        if (c1 == '=')
            t->kind = TK_GE, n = 2;
        else
            t->kind = TK_GT;
        break;
    case '+':
        t->kind = TK_PLUS;
        break;
    case '-':
        t->kind = TK_MINUS;
        break;
    case '*':
        t->kind = TK_STAR;
        break;
    case '/':
        t->kind = TK_SLASH;
        break;
    case '%':
        t->kind = TK_PERCENT;
        break;
    case '(':
        t->kind = TK_LPAREN;
        break;
    case ')':
        t->kind = TK_RPAREN;
        break;
    case '[':
        t->kind = TK_LBRACKET;
        break;
    case ']':
        t->kind = TK_RBRACKET;
        break;
    case ',':
        t->kind = TK_COMMA;
        break;
    case '.':
        t->kind = TK_DOT;
        break;
    default: {
        size_t u = c >= 0x80 ? utf8_seq_len((const unsigned char *)s + i, lx->len - i) : 0;
        if (u > 0)
            lex_fail(lx, i, "unexpected character '%.*s'", (int)u, s + i);
        else if (c >= 0x21 && c < 0x7F)
            lex_fail(lx, i, "unexpected character '%c'", c);
        else
            lex_fail(lx, i, "unexpected byte 0x%02X", c);
        t->kind = TK_ERROR;
        return;
    }
    }
    lx->pos = i + n;
    t->end = (uint32_t)(i + n);
}

/* --- parser helpers ---------------------------------------------------------------------- */

/* Consume the current token and read the next one. */
static void advance(parser *p)
{
    free(p->tok.str);
    p->prev = p->tok;
    p->prev.str = NULL;
    p->has_prev = true;
    lex(&p->lx, &p->tok);
    if (p->tok.kind == TK_ERROR)
        parse_fail(p, p->lx.err.off, "%s", p->lx.err.msg);
}

/* The token after the current one, for hints only (errors are ignored). */
static token peek_next(const parser *p)
{
    lexer copy = p->lx;
    token t;
    lex(&copy, &t);
    free(t.str);
    t.str = NULL;
    return t;
}

static void describe_cur(const parser *p, char *buf, size_t size)
{
    describe_token(&p->lx, &p->tok, buf, size);
}

/* Source text of token t, clipped, without quotes. */
static void token_text(const parser *p, const token *t, char *buf, size_t size)
{
    clip_text(p->lx.src, t->off, t->end, buf, size);
}

/* Enter one level of the descent; false (with an error) past the bound. */
static bool enter(parser *p, uint32_t off)
{
    if (++p->nest > PV_EXPR_MAX_DEPTH) {
        p->limit = !p->failed;
        parse_fail(p,
                   off,
                   "expression nests too deeply: more than %d levels of operators, "
                   "parentheses and calls",
                   PV_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

static void leave(parser *p)
{
    p->nest--;
}

/* Height of an AST; bounded by PV_EXPR_MAX_DEPTH for trees the parser built. */
static int height(const pv_expr *e)
{
    int h = 0;
    for (size_t i = 0; i < e->n_kids; i++) {
        int k = height(e->kids[i]);
        if (k > h)
            h = k;
    }
    return h + 1;
}

static pv_expr *node_new(pv_expr_kind kind, uint32_t off, uint32_t end)
{
    pv_expr *e = pv_xcalloc(1, sizeof *e);
    e->kind = kind;
    e->type = pv_type_make(PV_T_INVALID);
    e->off = off;
    e->end = end;
    return e;
}

/*
 * Give e the kids kids[0..n) (taken over) and enforce the depth bound
 * on the resulting tree: left-associative chains nest too, and every walk
 * over the AST recurses. On error frees e and returns NULL; err_off is
 * where the error points (the operator).
 */
static pv_expr *attach(parser *p, pv_expr *e, pv_expr **kids, size_t n, uint32_t err_off)
{
    e->kids = pv_xcalloc(n ? n : 1, sizeof *e->kids);
    memcpy(e->kids, kids, n * sizeof *kids);
    e->n_kids = n;
    if (height(e) > PV_EXPR_MAX_DEPTH) {
        p->limit = !p->failed;
        parse_fail(p,
                   err_off,
                   "expression nests too deeply: more than %d levels of operators, "
                   "parentheses and calls",
                   PV_EXPR_MAX_DEPTH);
        pv_expr_free(e);
        return NULL;
    }
    return e;
}

/* A binary node over left and right (taken over); NULL if either is NULL. */
static pv_expr *binary(parser *p, pv_expr_kind kind, uint32_t op_off, pv_expr *l, pv_expr *r)
{
    if (!l || !r) {
        pv_expr_free(l);
        pv_expr_free(r);
        return NULL;
    }
    pv_expr *kids[2] = {l, r};
    return attach(p, node_new(kind, l->off, r->end), kids, 2, op_off);
}

static pv_expr *unary(parser *p, pv_expr_kind kind, uint32_t op_off, pv_expr *kid)
{
    if (!kid)
        return NULL;
    return attach(p, node_new(kind, op_off, kid->end), &kid, 1, op_off);
}

/* A growable list of nodes, freed with its contents on error. */
typedef struct node_list {
    pv_expr **items;
    size_t n;
    size_t cap;
} node_list;

static void list_push(node_list *l, pv_expr *e)
{
    pv_grow(&l->items, &l->cap, l->n + 1, sizeof *l->items);
    l->items[l->n++] = e;
}

static void list_free(node_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        pv_expr_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static pv_expr *parse_expr(parser *p);
static pv_expr *parse_implies(parser *p);
static pv_expr *parse_not(parser *p);
static pv_expr *parse_add(parser *p);
static pv_expr *parse_unary(parser *p);

/* --- primary ----------------------------------------------------------------------------- */

/*
 * Report that an operand was expected at the current token. After an
 * operator the message names it; a '!' there gets a hint, since `a == !b`
 * is the usual way to trip over `!` binding looser than comparisons.
 */
static void fail_operand(parser *p)
{
    char found[64], prev[48];
    if (p->failed)
        return;
    if (p->tok.kind == TK_EOF && !p->has_prev) {
        parse_fail(p, 0, "empty expression");
        return;
    }
    describe_cur(p, found, sizeof found);
    if (!p->has_prev) {
        parse_fail(p, p->tok.off, "expected an expression, found %s", found);
        return;
    }
    token_text(p, &p->prev, prev, sizeof prev);
    if (p->tok.kind == TK_NOT) {
        token next = peek_next(p);
        char operand[48] = "...";
        if (next.kind == TK_NAME || next.kind == TK_INT || next.kind == TK_TRUE ||
            next.kind == TK_FALSE)
            token_text(p, &next, operand, sizeof operand);
        parse_fail(p,
                   p->tok.off,
                   "expected an operand after '%s', found '!' (write (!%s): ! binds looser than "
                   "comparisons)",
                   prev,
                   operand);
        return;
    }
    parse_fail(p, p->tok.off, "expected an operand after '%s', found %s", prev, found);
}

static const func_info *find_func(const char *name, size_t n)
{
    for (size_t i = 0; i < N_FUNCS; i++)
        if (strlen(FUNCS[i].name) == n && memcmp(FUNCS[i].name, name, n) == 0)
            return &FUNCS[i];
    return NULL;
}

/*
 * Parse the TOOL argument of a path function: a name, a quoted string or
 * a list of those. Fills the node's u.path; false on error.
 */
static bool parse_tools(parser *p, pv_expr *e, const func_info *f)
{
    char found[64];
    bool list = p->tok.kind == TK_LBRACKET;
    uint32_t open_off = p->tok.off;
    size_t cap = 0;
    if (list)
        advance(p);
    for (;;) {
        if (p->failed)
            return false;
        char *name;
        if (p->tok.kind == TK_NAME) {
            name = pv_xstrndup(p->lx.src + p->tok.off, p->tok.end - p->tok.off);
        } else if (p->tok.kind == TK_STR && p->tok.str_len > 0 &&
                   memchr(p->tok.str, '\0', p->tok.str_len) == NULL) {
            name = p->tok.str;
            p->tok.str = NULL;
        } else {
            describe_cur(p, found, sizeof found);
            if (p->tok.kind == TK_STR)
                parse_fail(p, p->tok.off, "expected a tool name, found %s", found);
            else if (list)
                parse_fail(p, p->tok.off, "expected a tool name in the list, found %s", found);
            else
                parse_fail(p,
                           p->tok.off,
                           "expected a tool name (a name, a quoted string or a list [a, b]) as "
                           "the first argument of %s(), found %s",
                           f->name,
                           found);
            return false;
        }
        for (size_t i = 0; i < e->u.path.n_tools; i++) {
            if (strcmp(e->u.path.tool_names[i], name) == 0) {
                parse_fail(p, p->tok.off, "tool '%s' is listed twice in %s()", name, f->name);
                free(name);
                return false;
            }
        }
        pv_grow(&e->u.path.tool_names, &cap, e->u.path.n_tools + 1, sizeof(char *));
        e->u.path.tool_names[e->u.path.n_tools++] = name;
        advance(p);
        if (!list)
            break;
        if (p->tok.kind == TK_COMMA) {
            advance(p);
            continue;
        }
        if (p->tok.kind == TK_RBRACKET) {
            advance(p);
            break;
        }
        describe_cur(p, found, sizeof found);
        parse_fail(p,
                   p->tok.off,
                   "expected ',' or ']' to close '[' at offset %" PRIu32 ", found %s",
                   open_off,
                   found);
        return false;
    }
    e->u.path.tools = pv_xmalloc(e->u.path.n_tools * sizeof(int));
    for (size_t i = 0; i < e->u.path.n_tools; i++)
        e->u.path.tools[i] = -1;
    return !p->failed;
}

/*
 * Parse a call; the current token is the '(' after the function's name
 * (name_tok). Arguments are full expressions; the count is checked after
 * the closing ')' so that the message can say how many were given.
 */
static pv_expr *parse_call(parser *p, token name_tok)
{
    char found[64], name[48];
    token_text(p, &name_tok, name, sizeof name);
    const func_info *f = find_func(p->lx.src + name_tok.off, name_tok.end - name_tok.off);
    if (!f) {
        const char *cands[N_FUNCS + 1];
        for (size_t i = 0; i < N_FUNCS; i++)
            cands[i] = FUNCS[i].name;
        cands[N_FUNCS] = NULL;
        char *word = pv_xstrndup(p->lx.src + name_tok.off, name_tok.end - name_tok.off);
        const char *s = pv_suggest(word, cands, N_FUNCS);
        free(word);
        if (s)
            parse_fail(p, name_tok.off, "unknown function '%s'; did you mean '%s'?", name, s);
        else
            parse_fail(p,
                       name_tok.off,
                       "unknown function '%s' (functions: starts_with, ends_with, contains, "
                       "len, min, max, abs, earlier, count)",
                       name);
        return NULL;
    }
    uint32_t open_off = p->tok.off;
    advance(p);
    bool path = f->kind == PV_E_EARLIER || f->kind == PV_E_COUNT;
    pv_expr *e = node_new(f->kind, name_tok.off, name_tok.off);
    node_list args = {0};
    int n_args = 0;
    /* `f()` has no arguments; otherwise one follows '(' and each ',' */
    bool more = p->tok.kind != TK_RPAREN;
    if (path && more && !p->failed) {
        if (!parse_tools(p, e, f))
            goto fail;
        n_args = 1;
        more = p->tok.kind == TK_COMMA;
        if (more)
            advance(p);
        else if (p->tok.kind != TK_RPAREN)
            goto bad_separator;
    }
    if (more) {
        for (;;) {
            pv_expr *a = parse_expr(p);
            if (!a)
                goto fail;
            list_push(&args, a);
            n_args++;
            if (p->tok.kind == TK_COMMA) {
                advance(p);
                continue;
            }
            if (p->tok.kind == TK_RPAREN)
                break;
            goto bad_separator;
        }
    }
    if (p->failed)
        goto fail;
    if (n_args < f->min_args || n_args > f->max_args) {
        uint32_t off = p->tok.off;
        if (n_args > f->max_args)
            off = args.items[f->max_args - (path ? 1 : 0)]->off;
        if (f->min_args == f->max_args)
            parse_fail(p,
                       off,
                       "%s takes %d argument%s, found %d",
                       f->signature,
                       f->max_args,
                       f->max_args == 1 ? "" : "s",
                       n_args);
        else
            parse_fail(p,
                       off,
                       "%s takes %d or %d arguments, found %d",
                       f->signature,
                       f->min_args,
                       f->max_args,
                       n_args);
        goto fail;
    }
    e->end = p->tok.end;
    if (path && args.n == 0) {
        /* earlier(t) means "some earlier step called t": the condition is true. */
        pv_expr *t = node_new(PV_E_BOOL, p->tok.off, p->tok.off);
        t->u.b = true;
        list_push(&args, t);
    }
    advance(p);
    e = attach(p, e, args.items, args.n, name_tok.off);
    free(args.items);
    return e;

bad_separator:
    describe_cur(p, found, sizeof found);
    parse_fail(p,
               p->tok.off,
               "expected ',' or ')' to close '%s(' at offset %" PRIu32 ", found %s",
               name,
               open_off,
               found);
fail:
    list_free(&args);
    pv_expr_free(e);
    return NULL;
}

static pv_expr *parse_primary(parser *p)
{
    char found[64], text[48];
    if (p->failed)
        return NULL;
    token t = p->tok;
    pv_expr *e;
    switch (t.kind) {
    case TK_INT:
        if (t.mag > (uint64_t)INT64_MAX) {
            token_text(p, &t, text, sizeof text);
            parse_fail(p, t.off, "integer literal %s does not fit in 64 bits", text);
            return NULL;
        }
        e = node_new(PV_E_INT, t.off, t.end);
        e->u.i = (int64_t)t.mag;
        advance(p);
        return e;
    case TK_STR:
        e = node_new(PV_E_STR, t.off, t.end);
        e->u.s.ptr = p->tok.str;
        e->u.s.len = p->tok.str_len;
        p->tok.str = NULL;
        advance(p);
        return e;
    case TK_TRUE:
    case TK_FALSE:
        e = node_new(PV_E_BOOL, t.off, t.end);
        e->u.b = t.kind == TK_TRUE;
        advance(p);
        return e;
    case TK_NAME:
        advance(p);
        if (p->tok.kind == TK_LPAREN)
            return parse_call(p, t);
        e = node_new(PV_E_NAME, t.off, t.end);
        e->u.name = pv_xstrndup(p->lx.src + t.off, t.end - t.off);
        return e;
    case TK_LPAREN:
        /* parse_expr counts the nesting level */
        advance(p);
        e = parse_expr(p);
        if (!e)
            return NULL;
        if (p->tok.kind != TK_RPAREN) {
            describe_cur(p, found, sizeof found);
            parse_fail(p,
                       p->tok.off,
                       "expected ')' to close '(' at offset %" PRIu32 ", found %s",
                       t.off,
                       found);
            pv_expr_free(e);
            return NULL;
        }
        advance(p);
        return e;
    default:
        fail_operand(p);
        return NULL;
    }
}

/* --- operators, tightest first ----------------------------------------------------------- */

/*
 * unary := '-' unary | primary. A '-' directly before an integer literal
 * makes a negative literal, which is how -9223372036854775808 is written.
 */
static pv_expr *parse_unary(parser *p)
{
    if (p->failed)
        return NULL;
    if (p->tok.kind != TK_MINUS)
        return parse_primary(p);
    token op = p->tok;
    advance(p);
    if (p->tok.kind == TK_INT) {
        pv_expr *e = node_new(PV_E_INT, op.off, p->tok.end);
        e->u.i = p->tok.mag == MAG_INT64_MIN ? INT64_MIN : -(int64_t)p->tok.mag;
        advance(p);
        return e;
    }
    if (!enter(p, op.off))
        return NULL;
    pv_expr *kid = parse_unary(p);
    leave(p);
    return unary(p, PV_E_NEG, op.off, kid);
}

/* mul := unary (('*' | '/' | '%') unary)* */
static pv_expr *parse_mul(parser *p)
{
    pv_expr *left = parse_unary(p);
    while (left && !p->failed) {
        pv_expr_kind k;
        if (p->tok.kind == TK_STAR)
            k = PV_E_MUL;
        else if (p->tok.kind == TK_SLASH)
            k = PV_E_DIV;
        else if (p->tok.kind == TK_PERCENT)
            k = PV_E_MOD;
        else
            break;
        uint32_t off = p->tok.off;
        advance(p);
        left = binary(p, k, off, left, parse_unary(p));
    }
    return left;
}

/* add := mul (('+' | '-') mul)* */
static pv_expr *parse_add(parser *p)
{
    pv_expr *left = parse_mul(p);
    while (left && !p->failed) {
        pv_expr_kind k;
        if (p->tok.kind == TK_PLUS)
            k = PV_E_ADD;
        else if (p->tok.kind == TK_MINUS)
            k = PV_E_SUB;
        else
            break;
        uint32_t off = p->tok.off;
        advance(p);
        left = binary(p, k, off, left, parse_mul(p));
    }
    return left;
}

static bool cmp_kind(tok_kind t, pv_expr_kind *out)
{
    switch (t) {
    case TK_EQ:
        *out = PV_E_EQ;
        return true;
    case TK_NE:
        *out = PV_E_NE;
        return true;
    case TK_LT:
        *out = PV_E_LT;
        return true;
    case TK_LE:
        *out = PV_E_LE;
        return true;
    case TK_GT:
        *out = PV_E_GT;
        return true;
    case TK_GE:
        *out = PV_E_GE;
        return true;
    default:
        return false;
    }
}

/* The list of `x in [v1, v2, ...]`; the current token is 'in'. */
static pv_expr *parse_in(parser *p, pv_expr *left)
{
    char found[64];
    uint32_t in_off = p->tok.off;
    advance(p);
    if (p->failed) {
        pv_expr_free(left);
        return NULL;
    }
    if (p->tok.kind != TK_LBRACKET) {
        describe_cur(p, found, sizeof found);
        parse_fail(p, p->tok.off, "expected '[' after 'in', found %s", found);
        pv_expr_free(left);
        return NULL;
    }
    uint32_t open_off = p->tok.off;
    advance(p);
    node_list items = {0};
    list_push(&items, left);
    if (p->tok.kind == TK_RBRACKET) {
        parse_fail(p, p->tok.off, "expected a value in the list after 'in', found ']'");
        goto fail;
    }
    for (;;) {
        pv_expr *item = parse_expr(p);
        if (!item)
            goto fail;
        list_push(&items, item);
        if (p->tok.kind == TK_COMMA) {
            advance(p);
            continue;
        }
        if (p->tok.kind == TK_RBRACKET)
            break;
        describe_cur(p, found, sizeof found);
        parse_fail(p,
                   p->tok.off,
                   "expected ',' or ']' to close '[' at offset %" PRIu32 ", found %s",
                   open_off,
                   found);
        goto fail;
    }
    pv_expr *e = node_new(PV_E_IN, left->off, p->tok.end);
    advance(p);
    e = attach(p, e, items.items, items.n, in_off);
    free(items.items);
    return e;
fail:
    list_free(&items);
    return NULL;
}

/*
 * cmp := add (cmpop add | 'in' list)?  Comparisons do not chain: a second
 * comparison operator right after one is an error, not `(a < b) < c`.
 */
static pv_expr *parse_cmp(parser *p)
{
    pv_expr *left = parse_add(p);
    if (!left || p->failed)
        return left;
    pv_expr_kind k;
    if (cmp_kind(p->tok.kind, &k)) {
        uint32_t off = p->tok.off;
        advance(p);
        left = binary(p, k, off, left, parse_add(p));
    } else if (p->tok.kind == TK_IN) {
        left = parse_in(p, left);
    } else {
        return left;
    }
    if (left && !p->failed && (cmp_kind(p->tok.kind, &k) || p->tok.kind == TK_IN)) {
        parse_fail(p, p->tok.off, "comparisons do not chain; combine them with &&");
        pv_expr_free(left);
        return NULL;
    }
    return left;
}

/* not := '!' not | cmp   (looser than comparisons, as Python's `not`) */
static pv_expr *parse_not(parser *p)
{
    if (p->failed)
        return NULL;
    if (p->tok.kind != TK_NOT)
        return parse_cmp(p);
    uint32_t off = p->tok.off;
    advance(p);
    if (!enter(p, off))
        return NULL;
    pv_expr *kid = parse_not(p);
    leave(p);
    return unary(p, PV_E_NOT, off, kid);
}

/* and := not ('&&' not)* */
static pv_expr *parse_and(parser *p)
{
    pv_expr *left = parse_not(p);
    while (left && !p->failed && p->tok.kind == TK_AND) {
        uint32_t off = p->tok.off;
        advance(p);
        left = binary(p, PV_E_AND, off, left, parse_not(p));
    }
    return left;
}

/* or := and ('||' and)* */
static pv_expr *parse_or(parser *p)
{
    pv_expr *left = parse_and(p);
    while (left && !p->failed && p->tok.kind == TK_OR) {
        uint32_t off = p->tok.off;
        advance(p);
        left = binary(p, PV_E_OR, off, left, parse_and(p));
    }
    return left;
}

/* implies := or ('=>' implies)?   (right-associative) */
static pv_expr *parse_implies(parser *p)
{
    pv_expr *left = parse_or(p);
    if (!left || p->failed || p->tok.kind != TK_IMPLIES)
        return left;
    uint32_t off = p->tok.off;
    advance(p);
    if (!enter(p, off)) {
        pv_expr_free(left);
        return NULL;
    }
    pv_expr *right = parse_implies(p);
    leave(p);
    return binary(p, PV_E_IMPLIES, off, left, right);
}

/* expr := implies ('?' expr ':' expr)?   (right-associative) */
static pv_expr *parse_expr(parser *p)
{
    char found[64];
    if (p->failed)
        return NULL;
    /* past the bound, point at what opened this level: '(', ',', '?', ... */
    if (!enter(p, p->has_prev ? p->prev.off : p->tok.off))
        return NULL;
    pv_expr *c = parse_implies(p);
    if (!c || p->failed || p->tok.kind != TK_QUESTION) {
        leave(p);
        return c;
    }
    uint32_t q_off = p->tok.off;
    advance(p);
    pv_expr *a = parse_expr(p);
    pv_expr *b = NULL;
    if (a && !p->failed) {
        if (p->tok.kind != TK_COLON) {
            describe_cur(p, found, sizeof found);
            parse_fail(p,
                       p->tok.off,
                       "expected ':' to complete '?' at offset %" PRIu32 ", found %s",
                       q_off,
                       found);
        } else {
            advance(p);
            b = parse_expr(p);
        }
    }
    leave(p);
    if (!a || !b) {
        pv_expr_free(c);
        pv_expr_free(a);
        pv_expr_free(b);
        return NULL;
    }
    pv_expr *kids[3] = {c, a, b};
    return attach(p, node_new(PV_E_COND, c->off, b->end), kids, 3, q_off);
}

/*
 * Parse src[0..len) into an AST (see pv_expr.h). Errors: PV_EINPUT for a
 * syntax error, PV_ELIMIT when the text is longer than PV_EXPR_MAX_LEN or
 * nests deeper than PV_EXPR_MAX_DEPTH; err holds the offset and message.
 */
int pv_expr_parse(const char *src, size_t len, pv_expr **out, pv_expr_error *err)
{
    pv_expr_error scratch;
    if (!err)
        err = &scratch;
    *out = NULL;
    memset(err, 0, sizeof *err);
    if (len > PV_EXPR_MAX_LEN) {
        err->off = PV_EXPR_MAX_LEN;
        snprintf(err->msg,
                 sizeof err->msg,
                 "expression is too long: %zu bytes, the limit is %d",
                 len,
                 PV_EXPR_MAX_LEN);
        return PV_ELIMIT;
    }
    parser p = {0};
    p.lx.src = src ? src : "";
    p.lx.len = src ? len : 0;
    p.err = err;
    lex(&p.lx, &p.tok);
    if (p.tok.kind == TK_ERROR)
        parse_fail(&p, p.lx.err.off, "%s", p.lx.err.msg);
    pv_expr *e = parse_expr(&p);
    if (e && !p.failed && p.tok.kind != TK_EOF) {
        char found[64];
        describe_cur(&p, found, sizeof found);
        const char *w = p.lx.src + p.tok.off;
        size_t n = p.tok.end - p.tok.off;
        const char *hint = "";
        if (p.tok.kind == TK_NAME && n == 3 && memcmp(w, "and", 3) == 0)
            hint = " (write && for 'and')";
        else if (p.tok.kind == TK_NAME && n == 2 && memcmp(w, "or", 2) == 0)
            hint = " (write || for 'or')";
        parse_fail(&p, p.tok.off, "unexpected %s after the end of the expression%s", found, hint);
    }
    free(p.tok.str);
    if (p.failed) {
        pv_expr_free(e);
        return p.limit ? PV_ELIMIT : PV_EINPUT;
    }
    *out = e;
    return PV_OK;
}

/* --- AST helpers ------------------------------------------------------------------------- */

static bool is_ref_kind(pv_expr_kind k)
{
    return k == PV_E_STATE || k == PV_E_ARG || k == PV_E_RESULT || k == PV_E_IT_ARG ||
           k == PV_E_IT_RESULT;
}

/* Free e and everything it owns (NULL is fine). */
void pv_expr_free(pv_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_kids; i++)
        pv_expr_free(e->kids[i]);
    free(e->kids);
    if (e->kind == PV_E_STR)
        free(e->u.s.ptr);
    else if (e->kind == PV_E_NAME)
        free(e->u.name);
    else if (is_ref_kind(e->kind))
        free(e->u.ref.name);
    else if (e->kind == PV_E_EARLIER || e->kind == PV_E_COUNT) {
        for (size_t i = 0; i < e->u.path.n_tools; i++)
            free(e->u.path.tool_names[i]);
        free(e->u.path.tool_names);
        free(e->u.path.tools);
    }
    free(e);
}

/* Deep copy of e (NULL gives NULL); aborts only when memory runs out. */
pv_expr *pv_expr_copy(const pv_expr *e)
{
    if (!e)
        return NULL;
    pv_expr *c = pv_xmalloc(sizeof *c);
    *c = *e;
    if (e->kind == PV_E_STR) {
        c->u.s = pv_str_dup(e->u.s.ptr, e->u.s.len);
    } else if (e->kind == PV_E_NAME) {
        c->u.name = pv_xstrdup(e->u.name);
    } else if (is_ref_kind(e->kind)) {
        c->u.ref.name = pv_xstrdup(e->u.ref.name);
    } else if (e->kind == PV_E_EARLIER || e->kind == PV_E_COUNT) {
        size_t n = e->u.path.n_tools;
        c->u.path.tools = pv_xmalloc((n ? n : 1) * sizeof(int));
        c->u.path.tool_names = pv_xmalloc((n ? n : 1) * sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            c->u.path.tools[i] = e->u.path.tools ? e->u.path.tools[i] : -1;
            c->u.path.tool_names[i] = pv_xstrdup(e->u.path.tool_names[i]);
        }
    }
    c->kids = pv_xcalloc(e->n_kids ? e->n_kids : 1, sizeof *c->kids);
    for (size_t i = 0; i < e->n_kids; i++)
        c->kids[i] = pv_expr_copy(e->kids[i]);
    return c;
}

/* Operator or function spelling; for other kinds a short noun. */
const char *pv_expr_kind_name(pv_expr_kind k)
{
    switch (k) {
    case PV_E_INT:
        return "integer literal";
    case PV_E_BOOL:
        return "bool literal";
    case PV_E_STR:
        return "string literal";
    case PV_E_ENUM:
        return "enum literal";
    case PV_E_NAME:
        return "name";
    case PV_E_STATE:
        return "state variable";
    case PV_E_ARG:
        return "args";
    case PV_E_RESULT:
        return "result";
    case PV_E_IT_ARG:
        return "it.args";
    case PV_E_IT_RESULT:
        return "it.result";
    case PV_E_NOT:
        return "!";
    case PV_E_NEG:
    case PV_E_SUB:
        return "-";
    case PV_E_AND:
        return "&&";
    case PV_E_OR:
        return "||";
    case PV_E_IMPLIES:
        return "=>";
    case PV_E_EQ:
        return "==";
    case PV_E_NE:
        return "!=";
    case PV_E_LT:
        return "<";
    case PV_E_LE:
        return "<=";
    case PV_E_GT:
        return ">";
    case PV_E_GE:
        return ">=";
    case PV_E_ADD:
        return "+";
    case PV_E_MUL:
        return "*";
    case PV_E_DIV:
        return "/";
    case PV_E_MOD:
        return "%";
    case PV_E_COND:
        return "?:";
    case PV_E_IN:
        return "in";
    case PV_E_STARTS_WITH:
        return "starts_with";
    case PV_E_ENDS_WITH:
        return "ends_with";
    case PV_E_CONTAINS:
        return "contains";
    case PV_E_LEN:
        return "len";
    case PV_E_MIN:
        return "min";
    case PV_E_MAX:
        return "max";
    case PV_E_ABS:
        return "abs";
    case PV_E_EARLIER:
        return "earlier";
    case PV_E_COUNT:
        return "count";
    case PV_E__COUNT:
        break;
    }
    return "?";
}

const char *pv_expr_where_name(pv_expr_where w)
{
    switch (w) {
    case PV_W_CALL_RULE:
        return "call rule";
    case PV_W_STATE_RULE:
        return "state rule";
    case PV_W_REQUIRES:
        return "requires";
    case PV_W_ENSURES:
        return "ensures";
    case PV_W_EFFECT:
        return "effect";
    case PV_W_WHEN:
        return "when";
    }
    return "?";
}

/* True when the dotted name is written without quotes in to_string output. */
static bool is_plain_name(const char *s)
{
    if (!is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; s[i]; i++) {
        if (s[i] == '.') {
            if (!is_alpha((unsigned char)s[i + 1]))
                return false;
        } else if (!is_alnum((unsigned char)s[i])) {
            return false;
        }
    }
    /* a keyword as a tool name must stay quoted to read back the same */
    return strcmp(s, "true") != 0 && strcmp(s, "false") != 0 && strcmp(s, "in") != 0;
}

static void render(pv_buf *b, const pv_expr *e, const pv_spec *spec)
{
    switch (e->kind) {
    case PV_E_INT:
        pv_buf_addf(b, "%" PRId64, e->u.i);
        return;
    case PV_E_BOOL:
        pv_buf_add(b, e->u.b ? "true" : "false");
        return;
    case PV_E_STR:
        buf_add_quoted(b, e->u.s.ptr, e->u.s.len);
        return;
    case PV_E_ENUM:
        if (spec && e->type.kind == PV_T_ENUM && e->type.enum_id >= 0 &&
            (size_t)e->type.enum_id < spec->n_enums && e->u.e >= 0 &&
            (size_t)e->u.e < spec->enums[e->type.enum_id].n) {
            const char *v = spec->enums[e->type.enum_id].values[e->u.e];
            buf_add_quoted(b, v, strlen(v));
        } else {
            /* without the spec only the value's index is known */
            pv_buf_addf(b, "'#%d'", e->u.e);
        }
        return;
    case PV_E_NAME:
        pv_buf_add(b, e->u.name);
        return;
    case PV_E_STATE:
        pv_buf_add(b, e->u.ref.name);
        return;
    case PV_E_ARG:
        pv_buf_addf(b, "args.%s", e->u.ref.name);
        return;
    case PV_E_RESULT:
        pv_buf_addf(b, "result.%s", e->u.ref.name);
        return;
    case PV_E_IT_ARG:
        pv_buf_addf(b, "it.args.%s", e->u.ref.name);
        return;
    case PV_E_IT_RESULT:
        pv_buf_addf(b, "it.result.%s", e->u.ref.name);
        return;
    case PV_E_NOT:
    case PV_E_NEG:
        pv_buf_add(b, "(");
        pv_buf_add(b, pv_expr_kind_name(e->kind));
        if (e->kind == PV_E_NEG && e->kids[0]->kind == PV_E_INT) {
            /* "-5" would read back as a literal and "--5" not at all: "(-(5))", "(-(-5))" */
            pv_buf_add(b, "(");
            render(b, e->kids[0], spec);
            pv_buf_add(b, ")");
        } else {
            render(b, e->kids[0], spec);
        }
        pv_buf_add(b, ")");
        return;
    case PV_E_COND:
        pv_buf_add(b, "(");
        render(b, e->kids[0], spec);
        pv_buf_add(b, " ? ");
        render(b, e->kids[1], spec);
        pv_buf_add(b, " : ");
        render(b, e->kids[2], spec);
        pv_buf_add(b, ")");
        return;
    case PV_E_IN:
        pv_buf_add(b, "(");
        render(b, e->kids[0], spec);
        pv_buf_add(b, " in [");
        for (size_t i = 1; i < e->n_kids; i++) {
            if (i > 1)
                pv_buf_add(b, ", ");
            render(b, e->kids[i], spec);
        }
        pv_buf_add(b, "])");
        return;
    case PV_E_STARTS_WITH:
    case PV_E_ENDS_WITH:
    case PV_E_CONTAINS:
    case PV_E_LEN:
    case PV_E_MIN:
    case PV_E_MAX:
    case PV_E_ABS:
        pv_buf_add(b, pv_expr_kind_name(e->kind));
        pv_buf_add(b, "(");
        for (size_t i = 0; i < e->n_kids; i++) {
            if (i > 0)
                pv_buf_add(b, ", ");
            render(b, e->kids[i], spec);
        }
        pv_buf_add(b, ")");
        return;
    case PV_E_EARLIER:
    case PV_E_COUNT:
        pv_buf_add(b, pv_expr_kind_name(e->kind));
        pv_buf_add(b, "(");
        if (e->u.path.n_tools != 1)
            pv_buf_add(b, "[");
        for (size_t i = 0; i < e->u.path.n_tools; i++) {
            const char *t = e->u.path.tool_names[i];
            if (i > 0)
                pv_buf_add(b, ", ");
            if (is_plain_name(t))
                pv_buf_add(b, t);
            else
                buf_add_quoted(b, t, strlen(t));
        }
        if (e->u.path.n_tools != 1)
            pv_buf_add(b, "]");
        for (size_t i = 0; i < e->n_kids; i++) {
            pv_buf_add(b, ", ");
            render(b, e->kids[i], spec);
        }
        pv_buf_add(b, ")");
        return;
    default:
        /* the binary operators */
        pv_buf_add(b, "(");
        render(b, e->kids[0], spec);
        pv_buf_add(b, " ");
        pv_buf_add(b, pv_expr_kind_name(e->kind));
        pv_buf_add(b, " ");
        render(b, e->kids[1], spec);
        pv_buf_add(b, ")");
        return;
    }
}

/*
 * Fully parenthesised text of e; reads back to the same tree. Enum
 * literals need spec for their value text (without it they print as
 * '#index'). Returns a new string.
 */
char *pv_expr_to_string(const pv_expr *e, const pv_spec *spec)
{
    pv_buf b = {0};
    pv_buf_add(&b, ""); /* an empty expression still gets a string */
    if (e)
        render(&b, e, spec);
    return b.ptr;
}

/* True when e contains earlier() or count(). */
bool pv_expr_uses_path(const pv_expr *e)
{
    if (!e)
        return false;
    if (e->kind == PV_E_EARLIER || e->kind == PV_E_COUNT)
        return true;
    for (size_t i = 0; i < e->n_kids; i++)
        if (pv_expr_uses_path(e->kids[i]))
            return true;
    return false;
}
