/*
 * common.c - diagnostics, allocation, strings and small utilities shared by
 * every module.
 */
#define _POSIX_C_SOURCE 200809L
#include "pv_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void pv__oom(size_t n)
{
    fprintf(stderr, "planverify: out of memory allocating %zu bytes\n", n);
    abort();
}

void *pv_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        pv__oom(n);
    return p;
}

void *pv_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        pv__oom(n * size);
    return p;
}

void *pv_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        pv__oom(n);
    return q;
}

char *pv_xstrdup(const char *s)
{
    return pv_xstrndup(s, strlen(s));
}

char *pv_xstrndup(const char *s, size_t n)
{
    char *p = pv_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

__attribute__((format(printf, 1, 0))) static char *pv__vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *p = pv_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *pv_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = pv__vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* Doubles the capacity until it fits `need`, so appends are amortised O(1). */
void pv_grow(void *items_ptr, size_t *cap, size_t need, size_t elem)
{
    void **items = items_ptr;
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    *items = pv_xrealloc(*items, c * elem);
    *cap = c;
}

void pv_diags_add(pv_diags *d, const char *file, pv_pos pos, const char *fmt, ...)
{
    pv_grow(&d->items, &d->cap, d->n + 1, sizeof(pv_diag));
    va_list ap;
    va_start(ap, fmt);
    pv_diag *it = &d->items[d->n++];
    it->file = file ? pv_xstrdup(file) : NULL;
    it->pos = pos;
    it->msg = pv__vasprintf(fmt, ap);
    va_end(ap);
}

void pv_diags_clear(pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    d->items = NULL;
    d->n = d->cap = 0;
}

char *pv_diag_format(const pv_diag *d)
{
    if (d->file && d->pos.line > 0)
        return pv_xasprintf("%s:%d:%d: %s", d->file, d->pos.line, d->pos.col, d->msg);
    if (d->file)
        return pv_xasprintf("%s: %s", d->file, d->msg);
    if (d->pos.line > 0)
        return pv_xasprintf("%d:%d: %s", d->pos.line, d->pos.col, d->msg);
    return pv_xstrdup(d->msg);
}

void pv_buf_addn(pv_buf *b, const char *s, size_t n)
{
    pv_grow(&b->ptr, &b->cap, b->len + n + 1, 1);
    memcpy(b->ptr + b->len, s, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void pv_buf_add(pv_buf *b, const char *s)
{
    pv_buf_addn(b, s, strlen(s));
}

/* Formats straight into the buffer, so a %c of NUL is kept like any byte. */
void pv_buf_addf(pv_buf *b, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t len = n > 0 ? (size_t)n : 0;
    pv_grow(&b->ptr, &b->cap, b->len + len + 1, 1);
    if (len == 0 || vsnprintf(b->ptr + b->len, len + 1, fmt, again) < 0)
        len = 0;
    va_end(again);
    b->len += len;
    b->ptr[b->len] = '\0';
}

bool pv_value_eq(const pv_value *a, const pv_value *b)
{
    switch (a->type.kind) {
    case PV_T_INT:
        return a->u.i == b->u.i;
    case PV_T_BOOL:
        return a->u.b == b->u.b;
    case PV_T_STRING:
        return pv_str_eq(a->u.s, b->u.s);
    case PV_T_ENUM:
        return a->u.e == b->u.e;
    default:
        return false;
    }
}

bool pv_smt_divmod(int64_t a, int64_t b, int64_t *q, int64_t *r)
{
    if (b == 0 || (a == INT64_MIN && b == -1))
        return false;
    int64_t qq = a / b, rr = a % b;
    if (rr < 0) {
        /* C truncates toward zero; step the quotient so the remainder is
         * in [0, |b|) */
        if (b > 0) {
            qq -= 1;
            rr += b;
        } else {
            qq += 1;
            rr -= b;
        }
    }
    *q = qq;
    *r = rr;
    return true;
}

size_t pv_utf8_len(const pv_str *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++)
        n += ((unsigned char)s->ptr[i] & 0xC0) != 0x80;
    return n;
}

#define ARENA_CHUNK 8192
#define ARENA_ALIGN 16

void *pv_arena_calloc(pv_arena *a, size_t n)
{
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (!a->chunk || n > a->size - a->used) {
        size_t size = !a->chunk && a->first_size > ARENA_CHUNK ? a->first_size : ARENA_CHUNK;
        if (n + ARENA_ALIGN > size)
            size = n + ARENA_ALIGN;
        char *c = pv_xmalloc(size);
        *(char **)c = a->chunk;
        a->chunk = c;
        a->size = size;
        a->used = ARENA_ALIGN;
        a->total += size;
    }
    void *p = a->chunk + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *pv_arena_strndup(pv_arena *a, const char *s, size_t len)
{
    char *p = pv_arena_calloc(a, len + 1);
    memcpy(p, s, len);
    return p;
}

void pv_arena_free(pv_arena *a)
{
    while (a->chunk) {
        char *prev = *(char **)a->chunk;
        free(a->chunk);
        a->chunk = prev;
    }
    a->used = a->size = a->total = 0;
}

pv_str pv_str_dup(const char *p, size_t len)
{
    pv_str s = {pv_xstrndup(p, len), len};
    return s;
}

void pv_str_free(pv_str *s)
{
    free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

bool pv_str_eq(pv_str a, pv_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

bool pv_type_eq(pv_type a, pv_type b)
{
    if (a.kind != b.kind)
        return false;
    return a.kind != PV_T_ENUM || a.enum_id == b.enum_id;
}

const char *pv_type_kind_name(pv_type_kind k)
{
    switch (k) {
    case PV_T_INT:
        return "int";
    case PV_T_BOOL:
        return "bool";
    case PV_T_STRING:
        return "string";
    case PV_T_ENUM:
        return "enum";
    default:
        return "invalid";
    }
}

void pv_value_free(pv_value *v)
{
    if (v->type.kind == PV_T_STRING)
        pv_str_free(&v->u.s);
}

pv_value pv_value_copy(const pv_value *v)
{
    pv_value c = *v;
    if (v->type.kind == PV_T_STRING)
        c.u.s = pv_str_dup(v->u.s.ptr, v->u.s.len);
    return c;
}

size_t pv_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = pv_xmalloc((lb + 1) * sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

/* A suggestion is offered when at most a third of the word (and at least
 * one character) would have to change: close enough to be a typo, far
 * enough to avoid suggesting unrelated names. Failing that, a candidate that
 * shares the word's first three characters and is a prefix of it, or it of
 * the candidate (`arguments` for `args`, `integer` for `int`), is offered
 * when it is the only such candidate. */
const char *pv_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    const char *prefix = NULL;
    size_t n_prefix = 0;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = pv_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
        size_t cl = strlen(candidates[i]);
        size_t common = 0;
        while (common < len && common < cl && word[common] == candidates[i][common])
            common++;
        if (common >= 3 && (common == cl || common == len || common + 1 >= cl)) {
            prefix = candidates[i];
            n_prefix++;
        }
    }
    if (best)
        return best;
    return n_prefix == 1 ? prefix : NULL;
}

uint32_t pv_utf8_beyond_range(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        /* Only four-byte sequences reach past U+FFFF. */
        if (p[i] >= 0xF0 && p[i] < 0xF8 && i + 3 < len) {
            uint32_t cp = ((uint32_t)(p[i] & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3F) << 12) |
                          ((uint32_t)(p[i + 2] & 0x3F) << 6) | (uint32_t)(p[i + 3] & 0x3F);
            if (cp > PV_MAX_CODE_POINT)
                return cp;
            i += 3;
        }
    }
    return 0;
}

int pv_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, pv_diags *diags)
{
    *out = NULL;
    *out_len = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        pv_diags_add(diags, path, (pv_pos){0, 0}, "cannot read: %s", strerror(errno));
        return PV_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        pv_diags_add(diags, path, (pv_pos){0, 0}, "cannot read: is a directory");
        if (f != stdin)
            fclose(f);
        return PV_EIO;
    }
    size_t cap = 4096, len = 0;
    char *buf = pv_xmalloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap > max_bytes)
                break;
            cap *= 2;
            buf = pv_xrealloc(buf, cap + 1);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int rc = PV_OK;
    if (ferror(f)) {
        pv_diags_add(diags, path, (pv_pos){0, 0}, "cannot read: %s", strerror(errno));
        rc = PV_EIO;
    } else if (len > max_bytes) {
        pv_diags_add(
            diags, path, (pv_pos){0, 0}, "file is larger than the limit of %zu bytes", max_bytes);
        rc = PV_ELIMIT;
    }
    if (f != stdin)
        fclose(f);
    if (rc != PV_OK) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return PV_OK;
}
