/*
 * pv_doc.h - a small document tree (maps, sequences, scalars with source
 * positions) that both spec and plan loaders read. It is built from YAML
 * (and JSON, which libyaml also reads) with the YAML 1.2 core schema, with
 * bounds on size, depth and alias expansion, and with duplicate keys
 * rejected. The JSONL reader builds the same tree from Jansson values.
 */
#ifndef PV_DOC_H
#define PV_DOC_H

#include "pv_common.h"

typedef enum pv_node_kind { PV_N_SCALAR, PV_N_SEQ, PV_N_MAP } pv_node_kind;

/* What a scalar resolves to under the YAML 1.2 core schema. */
typedef enum pv_scalar_kind {
    PV_S_STRING,
    PV_S_INT,
    PV_S_BOOL,
    PV_S_NULL,
    PV_S_FLOAT,
    PV_S_BIGINT /* an integer that does not fit in 64 bits */
} pv_scalar_kind;

/* Scalar styles, for mapping offsets inside a scalar to file positions. */
typedef enum pv_scalar_style {
    PV_STYLE_PLAIN,
    PV_STYLE_SINGLE,
    PV_STYLE_DOUBLE,
    PV_STYLE_LITERAL,
    PV_STYLE_FOLDED,
    PV_STYLE_JSON /* from Jansson: no source text */
} pv_scalar_style;

typedef struct pv_node pv_node;

struct pv_node {
    pv_node_kind kind;
    pv_pos pos; /* where the node starts */
    /* scalar */
    pv_scalar_kind skind;
    pv_scalar_style style;
    pv_str str;                /* the scalar's text (decoded) */
    int64_t ival;              /* PV_S_INT */
    bool bval;                 /* PV_S_BOOL */
    size_t src_start, src_end; /* byte range of the scalar in the source */
    /* seq: items[0..n); map: keys[0..n) and items[0..n) */
    pv_node **items;
    pv_node **keys;
    size_t n;
    size_t cap; /* room in keys/items when built by pv_node_*_add; 0: exactly n */
    /* The arena holding this node, its text and its arrays (see
     * pv_node_build_arena), or NULL when they are on the heap. */
    pv_arena *arena;
};

typedef struct pv_doc {
    char *file;   /* name used in diagnostics */
    char *source; /* the whole source text (owned) */
    size_t source_len;
    pv_node *root;   /* NULL for an empty document */
    pv_arena *arena; /* owned: holds nodes built in it (pv_node_build_arena), or NULL */
} pv_doc;

/* Bounds applied when loading. */
#define PV_DOC_MAX_BYTES (4u << 20) /* 4 MiB per file */
#define PV_DOC_MAX_DEPTH 64         /* nesting of maps and sequences */
#define PV_DOC_MAX_NODES 200000     /* nodes after alias expansion */

/*
 * Parse YAML (or JSON) text into a tree. `file` names the source in
 * diagnostics. Takes a copy of the text. On error returns PV_EINPUT or
 * PV_ELIMIT with every problem found in diags, and *out is NULL.
 */
int pv_doc_parse(const char *file, const char *text, size_t len, pv_doc **out, pv_diags *diags);

/* Read and parse a file (bounded by PV_DOC_MAX_BYTES). */
int pv_doc_load_file(const char *path, pv_doc **out, pv_diags *diags);

void pv_doc_free(pv_doc *doc);
void pv_node_free(pv_node *n);

/* The value under key in a map, or NULL. */
const pv_node *pv_node_get(const pv_node *map, const char *key);

/* File position of the character at byte offset `off` of a scalar's decoded
 * text. Exact for single-line plain and quoted scalars and for literal block
 * scalars; otherwise the scalar's start. */
pv_pos pv_node_offset_pos(const pv_doc *doc, const pv_node *scalar, size_t off);

/* "a mapping", "a sequence", "the string \"x\"", "the integer 3", ... for
 * messages. Returns a new string. */
char *pv_node_describe(const pv_node *n);

/*
 * Building trees by hand, for inputs that are not YAML text (protobuf
 * requests, JSON lines): nodes carry no position and JSON style. Keys added
 * to a map take ownership of the value; a duplicate key is not checked here
 * (the sources these come from cannot hold one).
 */
pv_node *pv_node_new_map(void);
pv_node *pv_node_new_seq(void);
pv_node *pv_node_new_str(const char *s, size_t len);
pv_node *pv_node_new_int(int64_t v);
pv_node *pv_node_new_bool(bool v);
pv_node *pv_node_new_null(void);
/* A scalar of the given kind with its text (floats, integers beyond 64 bits). */
pv_node *pv_node_new_scalar(pv_scalar_kind kind, const char *text);
void pv_node_map_add(pv_node *map, const char *key, pv_node *value);
/* The same with the key as key[0..len), which need not end in a NUL. */
void pv_node_map_addn(pv_node *map, const char *key, size_t len, pv_node *value);
void pv_node_seq_add(pv_node *seq, pv_node *item);
/* Replace the value under key (freeing the old one), or add it. */
void pv_node_map_set(pv_node *map, const char *key, pv_node *value);
/* A deep copy (positions and styles kept). */
pv_node *pv_node_copy(const pv_node *n);
/* Structural equality of two trees: same kinds, scalar kinds and text, and
 * maps with the same keys (in any order) and equal values. */
bool pv_node_equal(const pv_node *a, const pv_node *b);
/* Exactly the same tree: kinds, scalar kinds and text, integer and
 * boolean values, and map keys and items in the same order (where
 * pv_node_equal looks keys up). For holding two builders of one tree to
 * each other. */
bool pv_node_same(const pv_node *a, const pv_node *b);
/* A document around a built tree; takes ownership of root. */
pv_doc *pv_doc_from_root(const char *file, pv_node *root);

/*
 * Build nodes (pv_node_new_*, and the keys pv_node_map_add makes) in arena
 * a on this thread until the next call; NULL builds them on the heap.
 * Returns the previous arena. A tree built in an arena is freed by
 * pv_node_free as usual, which then releases only heap nodes within it;
 * the arena itself goes with pv_arena_free (or with the pv_doc that owns
 * it), after the tree.
 */
pv_arena *pv_node_build_arena(pv_arena *a);

#endif
