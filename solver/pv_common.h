/*
 * pv_common.h - types shared by every module of libplanverify: source
 * positions, value types, values, diagnostics and allocation helpers.
 */
#ifndef PV_COMMON_H
#define PV_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes. Functions return 0 on success and one of these on failure;
 * details go into a pv_diags list passed by the caller. */
enum {
    PV_OK = 0,
    PV_EINPUT = -1, /* the input is malformed or does not validate */
    PV_EIO = -2,    /* a file could not be read */
    PV_ELIMIT = -3, /* the input exceeds a size, depth or count bound */
    PV_ENOTFOUND = -4,
    PV_ENOTCONCRETE = -5 /* a value is unknown: the concrete evaluator cannot decide */
};

/* A position in a source file: 1-based line and column (in bytes). Line 0
 * means "no position". */
typedef struct pv_pos {
    int line;
    int col;
} pv_pos;

typedef enum pv_type_kind {
    PV_T_INVALID = 0,
    PV_T_INT,
    PV_T_BOOL,
    PV_T_STRING,
    PV_T_ENUM
} pv_type_kind;

/* A type. Enums are structural: every distinct set of values is interned
 * once per spec (pv_spec.enums), so two enum types are equal exactly when
 * their enum_id is equal. */
typedef struct pv_type {
    pv_type_kind kind;
    int enum_id; /* index into pv_spec.enums when kind == PV_T_ENUM, else -1 */
} pv_type;

/* An owned string that may contain NUL bytes (escapes allow "\0"). The
 * buffer is always NUL-terminated as well, for printing. */
typedef struct pv_str {
    char *ptr;
    size_t len;
} pv_str;

/* A concrete value. Enum values are stored as the index of the value in
 * the (sorted) value list of their enum. */
typedef struct pv_value {
    pv_type type;
    union {
        int64_t i;
        bool b;
        pv_str s;
        int e;
    } u;
} pv_value;

/* One diagnostic: "file:line:col: message". file may be NULL. */
typedef struct pv_diag {
    char *file;
    pv_pos pos;
    char *msg;
} pv_diag;

/* A growable list of diagnostics. A zeroed struct is an empty list. */
typedef struct pv_diags {
    pv_diag *items;
    size_t n;
    size_t cap;
} pv_diags;

/* Append a formatted diagnostic. Never fails (allocation failure aborts). */
void pv_diags_add(pv_diags *d, const char *file, pv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Free every diagnostic and reset the list to empty. */
void pv_diags_clear(pv_diags *d);
/* Format diagnostic i as "file:line:col: msg" into a new string. */
char *pv_diag_format(const pv_diag *d);

/* Allocation that aborts the process with a message when memory runs out.
 * The library does not try to continue after an allocation failure: the
 * bounds on input sizes make one a sign of a broken machine, not of input. */
void *pv_xmalloc(size_t n);
void *pv_xcalloc(size_t n, size_t size);
void *pv_xrealloc(void *p, size_t n);
char *pv_xstrdup(const char *s);
char *pv_xstrndup(const char *s, size_t n);
char *pv_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grow *items (of elem size) so that it can hold at least need elements. */
void pv_grow(void *items_ptr, size_t *cap, size_t need, size_t elem);

/* A growable string. A zeroed struct is empty, with ptr NULL; after any
 * add, even of nothing, ptr is non-NULL and NUL-terminated (len does not
 * count the NUL). The caller frees ptr. Never fails (allocation failure
 * aborts). */
typedef struct pv_buf {
    char *ptr;
    size_t len, cap;
} pv_buf;

/* Append the NUL-terminated string s. */
void pv_buf_add(pv_buf *b, const char *s);
/* Append s[0..n), which may contain NUL bytes. */
void pv_buf_addn(pv_buf *b, const char *s, size_t n);
/* Append printf-formatted text. */
void pv_buf_addf(pv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * An arena: allocations that live and die together (one request's
 * document tree, one verification's scratch) come from a few chunks and
 * are released at once, instead of one malloc and free each. A zeroed
 * struct is an empty arena. Allocation failure aborts, as pv_xmalloc.
 */
typedef struct pv_arena {
    char *chunk; /* the newest chunk; each starts with a pointer to the previous */
    size_t used, size;
    size_t total;      /* bytes of all chunks */
    size_t first_size; /* size of the first chunk, when larger than the default */
} pv_arena;

/* n zeroed bytes, aligned for any object. */
void *pv_arena_calloc(pv_arena *a, size_t n);
/* A NUL-terminated copy of s[0..len). */
char *pv_arena_strndup(pv_arena *a, const char *s, size_t len);
/* Release every allocation; the arena is then empty and reusable. */
void pv_arena_free(pv_arena *a);

pv_str pv_str_dup(const char *p, size_t len);
void pv_str_free(pv_str *s);
bool pv_str_eq(pv_str a, pv_str b);

/* Type helpers. */
static inline pv_type pv_type_make(pv_type_kind k)
{
    return (pv_type){k, -1};
}
static inline pv_type pv_type_enum(int id)
{
    return (pv_type){PV_T_ENUM, id};
}
bool pv_type_eq(pv_type a, pv_type b);
const char *pv_type_kind_name(pv_type_kind k);

/* Whether two values of the same type kind are equal. */
bool pv_value_eq(const pv_value *a, const pv_value *b);

/* Release what a value owns (strings). */
void pv_value_free(pv_value *v);
pv_value pv_value_copy(const pv_value *v);

/* Levenshtein distance, for did-you-mean suggestions. */
size_t pv_edit_distance(const char *a, const char *b);
/* Of the NULL-terminated candidates, the closest to word when close enough
 * to be a likely misspelling, else NULL. */
const char *pv_suggest(const char *word, const char *const *candidates, size_t n);

/* SMT-LIB integer division: q = a div b, r = a mod b with 0 <= r < |b|
 * (-7 div 2 == -4, -7 mod 2 == 1, 7 div -2 == -3). False when b is 0 or
 * the quotient leaves 64 bits (INT64_MIN div -1). */
bool pv_smt_divmod(int64_t a, int64_t b, int64_t *q, int64_t *r);

/* Code points of UTF-8 text (bytes that do not continue a sequence). */
size_t pv_utf8_len(const pv_str *s);

/* The solver represents characters up to U+2FFFF; strings are refused
 * beyond that rather than silently changed. */
#define PV_MAX_CODE_POINT 0x2FFFFu
/* The first code point of UTF-8 text s[0..len) above PV_MAX_CODE_POINT, or
 * 0 when there is none. */
uint32_t pv_utf8_beyond_range(const char *s, size_t len);

/* Read a whole file, refusing files larger than max_bytes. Returns PV_OK,
 * PV_EIO (with errno-based message in diags) or PV_ELIMIT. */
int pv_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len, pv_diags *diags);

#endif
