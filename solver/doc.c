/*
 * doc.c - the document tree: YAML (or JSON) text to pv_node, with the YAML
 * 1.2 core schema, bounded size, depth and alias expansion, and duplicate
 * keys rejected.
 *
 * libyaml's document API (yaml_parser_load) does the parsing. It drops three
 * things this module needs, so a second, event-level pass over the same text
 * recovers them: whether a node was written with an explicit tag (the loader
 * gives untagged scalars the same "!!str" tag as tagged ones), whether an
 * alias points at a node that encloses it, and whether a second document
 * follows. The loader numbers nodes in event order, so the k-th node event of
 * the first document is node k.
 *
 * libyaml marks count characters, not bytes; the source map below turns them
 * into byte offsets, so positions and src_start/src_end are in bytes.
 */
#include "pv_doc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CORE_TAG "tag:yaml.org,2002:"
#define CORE_TAG_LEN (sizeof(CORE_TAG) - 1)

/* Characters between source-map checkpoints: bounds a mark conversion to a
 * short forward walk while keeping the table at 1/64 of the text. */
#define SRCMAP_STEP 64

/* Directives (%YAML, %TAG) allowed before a document. libyaml compares
 * each new directive with every earlier one, so thousands of them cost
 * seconds; real files have one or two. */
#define MAX_DIRECTIVES 100

/* Anchors a document may define. libyaml's loader looks each alias up
 * among all anchors, linearly; this keeps that under a second at the node
 * bound, and no hand-written spec comes near it. */
#define MAX_ANCHORS 1000

/* Longest text shown when quoting a scalar in a message. */
#define QUOTE_MAX 40

/* ------------------------------------------------------------------------------------------ */
/* A string-keyed hash table (anchor names)                                                   */

typedef struct strtab_slot {
    const char *key; /* NULL: empty slot */
    size_t len;
    size_t val;
} strtab_slot;

typedef struct strtab {
    strtab_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
    bool owns_keys;
} strtab;

/* FNV-1a with linear probing at half load. The table only holds anchor
 * names, which are few (MAX_ANCHORS), so crafted collisions cannot cost
 * much. */
static uint64_t hash_bytes(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void strtab_free(strtab *t)
{
    if (t->owns_keys) {
        for (size_t i = 0; i < t->cap; i++)
            free((char *)t->slots[i].key);
    }
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static strtab_slot *strtab_slot_for(strtab_slot *slots, size_t cap, const char *key, size_t len)
{
    size_t i = (size_t)hash_bytes(key, len) & (cap - 1);
    while (slots[i].key && !(slots[i].len == len && memcmp(slots[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/*
 * Look key up. When present, store its value in *found and return true;
 * when absent, add it with val and return false. The table keeps the key
 * pointer (and frees it at the end when owns_keys), so the caller must keep
 * it alive.
 */
static bool strtab_find_or_add(strtab *t, const char *key, size_t len, size_t val, size_t *found)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        strtab_slot *slots = pv_xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < t->cap; i++) {
            if (t->slots[i].key)
                *strtab_slot_for(slots, cap, t->slots[i].key, t->slots[i].len) = t->slots[i];
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    strtab_slot *s = strtab_slot_for(t->slots, t->cap, key, len);
    if (s->key) {
        *found = s->val;
        return true;
    }
    s->key = key;
    s->len = len;
    s->val = val;
    t->n++;
    return false;
}

/* Look key up without adding it. */
static bool strtab_get(const strtab *t, const char *key, size_t len, size_t *found)
{
    if (t->cap == 0)
        return false;
    strtab_slot *s = strtab_slot_for(t->slots, t->cap, key, len);
    if (!s->key)
        return false;
    *found = s->val;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Source map: libyaml character indexes to byte offsets                                      */

typedef struct srcmap {
    const char *text; /* the text libyaml read (after any byte order mark) */
    size_t len;
    bool ascii;  /* then a character index is a byte offset */
    size_t *cps; /* cps[k]: byte offset of character k * SRCMAP_STEP */
    size_t ncps;
} srcmap;

static void srcmap_init(srcmap *m, const char *text, size_t len)
{
    memset(m, 0, sizeof *m);
    m->text = text;
    m->len = len;
    m->ascii = true;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] & 0x80) {
            m->ascii = false;
            break;
        }
    }
    if (m->ascii)
        return;
    size_t chars = 0, cap = 0;
    for (size_t i = 0; i < len; i++) {
        /* UTF-8 continuation bytes do not start a character. libyaml's
         * reader has already refused invalid UTF-8 by the time we map. */
        if (((unsigned char)text[i] & 0xC0) == 0x80)
            continue;
        if (chars % SRCMAP_STEP == 0) {
            pv_grow(&m->cps, &cap, m->ncps + 1, sizeof *m->cps);
            m->cps[m->ncps++] = i;
        }
        chars++;
    }
}

static void srcmap_free(srcmap *m)
{
    free(m->cps);
    m->cps = NULL;
}

/* Byte offset (in the map's text) of character `ch`; the text's end when ch
 * lies past it. */
static size_t srcmap_byte(const srcmap *m, size_t ch)
{
    if (m->ascii)
        return ch < m->len ? ch : m->len;
    if (m->ncps == 0)
        return 0;
    size_t k = ch / SRCMAP_STEP;
    if (k >= m->ncps)
        k = m->ncps - 1;
    size_t b = m->cps[k];
    for (size_t left = ch - k * SRCMAP_STEP; left > 0 && b < m->len; left--) {
        b++;
        while (b < m->len && ((unsigned char)m->text[b] & 0xC0) == 0x80)
            b++;
    }
    return b;
}

/* ------------------------------------------------------------------------------------------ */
/* Positions                                                                                  */

/* Width of the line break starting at s[i] (CR LF, CR, LF, NEL, LS, PS: the
 * breaks libyaml counts), or 0. */
static size_t break_width(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '\r')
        return i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
    if (c == '\n')
        return 1;
    if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85)
        return 2;
    if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
        return 3;
    return 0;
}

/*
 * Position of byte `off` of src, counting from byte `start` (past a byte
 * order mark, which libyaml does not count either). Walks the text from the
 * start, so it is for error paths, not for every node.
 */
static pv_pos pos_of_byte(const char *src, size_t len, size_t start, size_t off)
{
    if (off > len)
        off = len;
    int line = 1;
    size_t line_start = start;
    for (size_t i = start; i < off;) {
        size_t w = break_width(src, len, i);
        if (w) {
            i += w;
            line++;
            line_start = i;
        } else {
            i++;
        }
    }
    return (pv_pos){line, (int)(off - line_start) + 1};
}

/* ------------------------------------------------------------------------------------------ */
/* The loader's state                                                                         */

/* What the event pass learns about each libyaml node, and conversion flags. */
typedef struct ynode_info {
    unsigned tagged : 1;  /* an explicit tag was written */
    unsigned props : 1;   /* an anchor or tag precedes the node's content */
    unsigned open : 1;    /* event pass: inside this collection now */
    unsigned visited : 1; /* converted once: its own problems are reported */
    unsigned on_path : 1; /* conversion: an ancestor of the current node */
} ynode_info;

typedef struct loader {
    const char *file;
    pv_diags *diags;
    pv_doc *doc;
    /* Bytes of a leading UTF-8 byte order mark: libyaml reads it as the
     * encoding mark and starts counting characters after it. */
    size_t bom;
    srcmap map;
    yaml_document_t ydoc;
    size_t nynodes;
    ynode_info *info; /* indexed by libyaml node id (1-based) */
    size_t info_cap;
    bool syntax_error; /* reported by the event pass */
    size_t nodes;      /* pv_nodes made so far, aliases expanded */
    bool cycle_reported;
    bool stopped; /* a bound was hit: stop converting */
    int rc;
} loader;

static void fail(loader *ld, int rc)
{
    /* A bound is the worse outcome: it says the input was cut short. */
    if (ld->rc == PV_OK || rc == PV_ELIMIT)
        ld->rc = rc;
}

#define NODES_FMT "the document expands to more than %d nodes (aliases?)"
#define DEPTH_FMT "nesting deeper than %d levels"

static void hit_limit(loader *ld, pv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A bound was hit: report it (once: everything stops here) and stop. */
static void hit_limit(loader *ld, pv_pos pos, const char *fmt, ...)
{
    char msg[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pv_diags_add(ld->diags, ld->file, pos, "%s", msg);
    ld->stopped = true;
    fail(ld, PV_ELIMIT);
}

/* Byte offset in doc->source of a libyaml mark. */
static size_t mark_byte(const loader *ld, yaml_mark_t m)
{
    return ld->bom + srcmap_byte(&ld->map, m.index);
}

/* File position of a libyaml mark: 0-based line and character column become
 * 1-based line and byte column. */
static pv_pos mark_pos(const loader *ld, yaml_mark_t m)
{
    pv_pos p = {(int)m.line + 1, (int)m.column + 1};
    if (!ld->map.ascii && m.column <= m.index) {
        size_t at = srcmap_byte(&ld->map, m.index);
        size_t line_start = srcmap_byte(&ld->map, m.index - m.column);
        p.col = (int)(at - line_start) + 1;
    }
    return p;
}

/*
 * "'text'" for messages: control bytes escaped, long text cut at QUOTE_MAX
 * bytes (on a character boundary) with "...". Returns a new string.
 */
static char *quote_text(const char *s, size_t len)
{
    size_t n = len;
    bool cut = false;
    if (n > QUOTE_MAX) {
        n = QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    char *out = pv_xmalloc(n * 4 + 8);
    size_t o = 0;
    out[o++] = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)sprintf(out + o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

/* A tag as the user would write it: "!!int" for the core schema's tags,
 * "!foo" for local ones, "!<uri>" for the rest. Returns a new string. */
static char *tag_display(const char *tag)
{
    if (strncmp(tag, CORE_TAG, CORE_TAG_LEN) == 0)
        return pv_xasprintf("!!%s", tag + CORE_TAG_LEN);
    if (tag[0] == '!')
        return pv_xstrdup(tag);
    return pv_xasprintf("!<%s>", tag);
}

/* The core schema's name for a tag ("int" for tag:yaml.org,2002:int), or NULL
 * for any other tag. */
static const char *core_tag_name(const char *tag)
{
    if (tag && strncmp(tag, CORE_TAG, CORE_TAG_LEN) == 0)
        return tag + CORE_TAG_LEN;
    return NULL;
}

/*
 * Turn a libyaml error into one diagnostic. Reader errors (bad encoding,
 * control characters) carry a byte offset; the others carry marks, and a
 * context (what was being parsed, and where it started) that we append.
 * Allocation failure inside libyaml aborts, as pv_xmalloc does.
 */
static void report_yaml_error(loader *ld, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fputs("planverify: out of memory while parsing YAML\n", stderr);
        abort();
    }
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        pv_pos pos = pos_of_byte(ld->doc->source, ld->doc->source_len, ld->bom, p->problem_offset);
        if (p->problem_value < 0)
            pv_diags_add(ld->diags, ld->file, pos, "invalid YAML: %s", problem);
        else if (strstr(problem, "octet"))
            pv_diags_add(ld->diags,
                         ld->file,
                         pos,
                         "invalid YAML: %s (byte 0x%02X)",
                         problem,
                         (unsigned)p->problem_value);
        else
            pv_diags_add(ld->diags,
                         ld->file,
                         pos,
                         "invalid YAML: %s (U+%04X)",
                         problem,
                         (unsigned)p->problem_value);
        fail(ld, PV_EINPUT);
        return;
    }
    pv_pos pos = mark_pos(ld, p->problem_mark);
    if (p->context) {
        pv_pos cpos = mark_pos(ld, p->context_mark);
        /* libyaml words this one as a context/problem pair that reads
         * badly when joined ("second occurrence (found duplicate anchor;
         * first occurrence ...)"). */
        if (strcmp(problem, "second occurrence") == 0)
            pv_diags_add(ld->diags,
                         ld->file,
                         pos,
                         "invalid YAML: duplicate anchor (first at line %d, column %d)",
                         cpos.line,
                         cpos.col);
        else
            pv_diags_add(ld->diags,
                         ld->file,
                         pos,
                         "invalid YAML: %s (%s at line %d, column %d)",
                         problem,
                         p->context,
                         cpos.line,
                         cpos.col);
    } else {
        pv_diags_add(ld->diags, ld->file, pos, "invalid YAML: %s", problem);
    }
    fail(ld, PV_EINPUT);
}

/* ------------------------------------------------------------------------------------------ */
/* The event pass                                                                             */

/* Info for node id, growing the table as the event pass meets new nodes. */
static ynode_info *info_at(loader *ld, size_t id)
{
    if (id >= ld->info_cap) {
        size_t old = ld->info_cap;
        pv_grow(&ld->info, &ld->info_cap, id + 1, sizeof *ld->info);
        memset(ld->info + old, 0, (ld->info_cap - old) * sizeof *ld->info);
    }
    return &ld->info[id];
}

/* Record a node event's properties; false when it breaks the anchor bound. */
static bool note_node(loader *ld, size_t id, const yaml_event_t *ev, const yaml_char_t *anchor,
                      const yaml_char_t *tag, strtab *anchors)
{
    ynode_info *info = info_at(ld, id);
    info->tagged = tag != NULL;
    info->props = tag != NULL || anchor != NULL;
    if (!anchor)
        return true;
    if (anchors->n >= MAX_ANCHORS) {
        hit_limit(ld,
                  mark_pos(ld, ev->start_mark),
                  "the document defines more than %d anchors",
                  MAX_ANCHORS);
        return false;
    }
    size_t alen = strlen((const char *)anchor);
    char *copy = pv_xstrndup((const char *)anchor, alen);
    size_t old;
    /* A repeated anchor is the loader's error to report; keep the first. */
    if (strtab_find_or_add(anchors, copy, alen, id, &old))
        free(copy);
    return true;
}

/* True when the line at s[i] starts with the marker ("---" or "...")
 * followed by a blank, a line break or the end. */
static bool line_is_marker(const char *s, size_t len, size_t i, const char *marker)
{
    if (len - i < 3 || memcmp(s + i, marker, 3) != 0)
        return false;
    return len - i == 3 || s[i + 3] == ' ' || s[i + 3] == '\t' || s[i + 3] == '\n' ||
           s[i + 3] == '\r';
}

/*
 * Bound the directives before libyaml reads them (see MAX_DIRECTIVES).
 * Directives are lines starting with '%' where a document may begin: at
 * the start of the text or after a "..." line, up to a "---" line or the
 * first content line. '%' lines inside a document (a quoted scalar's
 * continuation lines, say) are content and do not count. Reports PV_ELIMIT
 * at the first one over.
 */
static void check_directives(loader *ld)
{
    const char *s = ld->doc->source;
    size_t len = ld->doc->source_len;
    bool preamble = true;
    int count = 0, line = 1;
    for (size_t i = ld->bom; i < len; line++) {
        if (line_is_marker(s, len, i, "...")) {
            preamble = true;
        } else if (line_is_marker(s, len, i, "---")) {
            preamble = false;
        } else if (preamble && s[i] == '%') {
            if (++count > MAX_DIRECTIVES) {
                hit_limit(ld,
                          (pv_pos){line, 1},
                          "the document has more than %d directives",
                          MAX_DIRECTIVES);
                return;
            }
        } else if (s[i] != '#' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            preamble = false;
        }
        while (i < len && s[i] != '\n' && s[i] != '\r')
            i++;
        i += i + 1 < len && s[i] == '\r' && s[i + 1] == '\n' ? 2 : 1;
    }
}

/*
 * First pass: walk the text's events before libyaml's loader sees it.
 * - Bounds, checked here because the loader is slow past them: libyaml's
 *   scanner rescans every open flow level at each token and its loader
 *   looks anchors up linearly, so deep nesting or many anchors would cost
 *   quadratic time before any check of ours could run. Nesting deeper than
 *   PV_DOC_MAX_DEPTH, more than PV_DOC_MAX_NODES nodes and aliases in the
 *   text, or more than MAX_ANCHORS anchors stop the pass (PV_ELIMIT).
 * - Syntax errors in the first document (reported once, and the caller
 *   then skips the loader).
 * - What the loader drops: explicit tags and properties per node, into
 *   ld->info; aliases that refer to an enclosing node (a cycle), reported
 *   at the alias; a second document, reported at its start.
 */
static void scan_events(loader *ld)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fputs("planverify: out of memory while parsing YAML\n", stderr);
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)ld->doc->source, ld->doc->source_len);
    strtab anchors = {.owns_keys = true};
    size_t *stack = NULL, depth = 0, stack_cap = 0;
    size_t next_id = 0, counted = 0;
    int docs = 0;
    bool done = false;
    while (!done && !ld->stopped) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            report_yaml_error(ld, &p);
            ld->syntax_error = true;
            break;
        }
        const yaml_char_t *anchor = NULL, *tag = NULL;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                pv_pos pos = mark_pos(ld, ev.start_mark);
                pv_diags_add(ld->diags,
                             ld->file,
                             pos,
                             "a file holds one document; found a second at line %d",
                             pos.line);
                fail(ld, PV_EINPUT);
                done = true;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_ALIAS_EVENT:
            /* Every node and alias becomes at least one pv_node. */
            if (++counted > PV_DOC_MAX_NODES) {
                hit_limit(ld, (pv_pos){0, 0}, NODES_FMT, PV_DOC_MAX_NODES);
                break;
            }
            if (ev.type == YAML_ALIAS_EVENT) {
                const char *name = (const char *)ev.data.alias.anchor;
                size_t id;
                if (strtab_get(&anchors, name, strlen(name), &id) && info_at(ld, id)->open) {
                    pv_diags_add(ld->diags,
                                 ld->file,
                                 mark_pos(ld, ev.start_mark),
                                 "alias '*%s' refers to a node that contains it",
                                 name);
                    ld->cycle_reported = true;
                    fail(ld, PV_EINPUT);
                }
                break;
            }
            if (ev.type == YAML_SCALAR_EVENT) {
                anchor = ev.data.scalar.anchor;
                tag = ev.data.scalar.tag;
            } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
                anchor = ev.data.sequence_start.anchor;
                tag = ev.data.sequence_start.tag;
            } else {
                anchor = ev.data.mapping_start.anchor;
                tag = ev.data.mapping_start.tag;
            }
            if (!note_node(ld, ++next_id, &ev, anchor, tag, &anchors))
                break;
            if (ev.type == YAML_SCALAR_EVENT)
                break;
            if (depth + 1 > PV_DOC_MAX_DEPTH) {
                hit_limit(ld, mark_pos(ld, ev.start_mark), DEPTH_FMT, PV_DOC_MAX_DEPTH);
                break;
            }
            pv_grow(&stack, &stack_cap, depth + 1, sizeof *stack);
            stack[depth++] = next_id;
            info_at(ld, next_id)->open = 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                info_at(ld, stack[--depth])->open = 0;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    free(stack);
    strtab_free(&anchors);
    yaml_parser_delete(&p);
}

/* ------------------------------------------------------------------------------------------ */
/* Core schema                                                                                */

static bool text_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool is_core_null(const char *s, size_t len)
{
    return len == 0 || text_is(s, len, "null") || text_is(s, len, "Null") ||
           text_is(s, len, "NULL") || text_is(s, len, "~");
}

/* 1 true, 0 false, -1 not a boolean. */
static int core_bool(const char *s, size_t len)
{
    if (text_is(s, len, "true") || text_is(s, len, "True") || text_is(s, len, "TRUE"))
        return 1;
    if (text_is(s, len, "false") || text_is(s, len, "False") || text_is(s, len, "FALSE"))
        return 0;
    return -1;
}

static int digit_value(char c, unsigned base)
{
    int v = -1;
    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v >= 0 && (unsigned)v < base ? v : -1;
}

/*
 * Parse a core-schema integer: [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+.
 * Returns PV_S_INT with *out set, PV_S_BIGINT when it is an integer outside
 * int64 (not an error here: the consumer decides), or PV_S_STRING when the
 * text is not an integer at all.
 */
static pv_scalar_kind parse_core_int(const char *s, size_t len, int64_t *out)
{
    unsigned base = 10;
    size_t i = 0;
    bool neg = false;
    if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        i = 2;
    } else if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return PV_S_STRING;
    uint64_t mag = 0;
    bool big = false;
    for (; i < len; i++) {
        int d = digit_value(s[i], base);
        if (d < 0)
            return PV_S_STRING;
        if (mag > (UINT64_MAX - (uint64_t)d) / base)
            big = true;
        else
            mag = mag * base + (uint64_t)d;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (big || mag > limit)
        return PV_S_BIGINT;
    if (neg)
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    else
        *out = (int64_t)mag;
    return PV_S_INT;
}

static size_t skip_digits(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?\.(inf|Inf|INF)
 * and \.(nan|NaN|NAN): the core schema's floats. */
static bool is_core_float(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    const char *rest = s + i;
    size_t rlen = len - i;
    if (text_is(rest, rlen, ".inf") || text_is(rest, rlen, ".Inf") || text_is(rest, rlen, ".INF"))
        return true;
    if (i == 0 && (text_is(s, len, ".nan") || text_is(s, len, ".NaN") || text_is(s, len, ".NAN")))
        return true;
    if (i < len && s[i] == '.') {
        size_t j = skip_digits(s, len, i + 1);
        if (j == i + 1)
            return false;
        i = j;
    } else {
        size_t j = skip_digits(s, len, i);
        if (j == i)
            return false;
        i = j;
        if (i < len && s[i] == '.')
            i = skip_digits(s, len, i + 1);
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t j = skip_digits(s, len, i);
        if (j == i)
            return false;
        i = j;
    }
    return i == len;
}

/* Resolve a plain, untagged scalar with the core schema. */
static void resolve_plain(pv_node *n)
{
    const char *s = n->str.ptr;
    size_t len = n->str.len;
    int b;
    if (is_core_null(s, len)) {
        n->skind = PV_S_NULL;
    } else if ((b = core_bool(s, len)) >= 0) {
        n->skind = PV_S_BOOL;
        n->bval = b == 1;
    } else if ((n->skind = parse_core_int(s, len, &n->ival)) != PV_S_STRING) {
        /* skind set by the parse */
    } else if (is_core_float(s, len)) {
        n->skind = PV_S_FLOAT;
    } else {
        n->skind = PV_S_STRING;
    }
}

/*
 * Resolve a scalar that carries an explicit tag: !!str forces a string; the
 * core schema's other scalar tags force their kind and are an error (when
 * report) if the text does not fit; any other tag is an error. On error the
 * node stays a string.
 */
static void resolve_tagged(loader *ld, pv_node *n, const char *tag, bool report)
{
    const char *name = core_tag_name(tag);
    const char *s = n->str.ptr;
    size_t len = n->str.len;
    const char *want = NULL;
    n->skind = PV_S_STRING;
    if (name && strcmp(name, "str") == 0) {
        return;
    } else if (name && strcmp(name, "int") == 0) {
        n->skind = parse_core_int(s, len, &n->ival);
        if (n->skind == PV_S_STRING)
            want = "an integer";
    } else if (name && strcmp(name, "bool") == 0) {
        int b = core_bool(s, len);
        if (b >= 0) {
            n->skind = PV_S_BOOL;
            n->bval = b == 1;
        } else {
            want = "a boolean";
        }
    } else if (name && strcmp(name, "null") == 0) {
        if (is_core_null(s, len))
            n->skind = PV_S_NULL;
        else
            want = "null";
    } else if (name && strcmp(name, "float") == 0) {
        if (is_core_float(s, len))
            n->skind = PV_S_FLOAT;
        else
            want = "a number";
    } else {
        if (report) {
            char *shown = tag_display(tag);
            pv_diags_add(ld->diags, ld->file, n->pos, "unsupported tag '%s'", shown);
            free(shown);
            fail(ld, PV_EINPUT);
        }
        return;
    }
    if (want && report) {
        char *q = quote_text(s, len);
        pv_diags_add(ld->diags, ld->file, n->pos, "!!%s tag on %s, which is not %s", name, q, want);
        free(q);
        fail(ld, PV_EINPUT);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Conversion                                                                                 */

static pv_scalar_style style_of(yaml_scalar_style_t s)
{
    switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        return PV_STYLE_SINGLE;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        return PV_STYLE_DOUBLE;
    case YAML_LITERAL_SCALAR_STYLE:
        return PV_STYLE_LITERAL;
    case YAML_FOLDED_SCALAR_STYLE:
        return PV_STYLE_FOLDED;
    default:
        return PV_STYLE_PLAIN;
    }
}

/*
 * Byte offset where a scalar's own text starts, past its anchor and tag.
 * libyaml's node mark starts at the properties; a scalar's src range is
 * meant to cover only the scalar, so skip them (anchors, tags, the blanks
 * and comments between them), never past the scalar's end.
 */
static size_t skip_properties(const char *src, size_t start, size_t end)
{
    size_t i = start, w;
    bool line_start = false;
    while (i < end) {
        char c = src[i];
        if ((w = break_width(src, end, i)) != 0) {
            i += w;
            line_start = true;
            continue;
        }
        if (c == ' ' || c == '\t') {
            i++;
        } else if (line_start && end - i >= 3 && memcmp(src + i, "\xEF\xBB\xBF", 3) == 0) {
            i += 3; /* libyaml skips a byte order mark at a line's start */
        } else if (c == '#') {
            while (i < end && !break_width(src, end, i))
                i++;
        } else if (c == '!' && i + 1 < end && src[i + 1] == '<') {
            while (i < end && src[i] != '>')
                i++;
            if (i < end)
                i++;
        } else if (c == '&') {
            /* libyaml's anchor names are [0-9A-Za-z_-]; the scalar may
             * follow at once ("&a:b" anchors the scalar ":b"). */
            i++;
            while (i < end && (isalnum((unsigned char)src[i]) || src[i] == '_' || src[i] == '-'))
                i++;
        } else if (c == '!') {
            /* A tag runs to a blank (libyaml insists on one after it). */
            while (i < end && src[i] != ' ' && src[i] != '\t' && !break_width(src, end, i))
                i++;
        } else {
            break;
        }
        line_start = false;
    }
    return i;
}

static pv_node *convert(loader *ld, int id, int depth);

/* Count a new node against PV_DOC_MAX_NODES; false (reported once, and
 * conversion stops) when over. */
static bool count_node(loader *ld)
{
    if (++ld->nodes <= PV_DOC_MAX_NODES)
        return true;
    hit_limit(ld, (pv_pos){0, 0}, NODES_FMT, PV_DOC_MAX_NODES);
    return false;
}

static pv_node *convert_scalar(loader *ld, const yaml_node_t *yn, ynode_info *info, bool first)
{
    pv_node *n = pv_xcalloc(1, sizeof *n);
    n->kind = PV_N_SCALAR;
    n->pos = mark_pos(ld, yn->start_mark);
    n->str = pv_str_dup((const char *)yn->data.scalar.value, yn->data.scalar.length);
    n->style = style_of(yn->data.scalar.style);
    n->src_end = mark_byte(ld, yn->end_mark);
    n->src_start = mark_byte(ld, yn->start_mark);
    if (info->props)
        n->src_start = skip_properties(ld->doc->source, n->src_start, n->src_end);
    if (info->tagged)
        resolve_tagged(ld, n, (const char *)yn->tag, first);
    else if (n->style == PV_STYLE_PLAIN)
        resolve_plain(n);
    else
        n->skind = PV_S_STRING;
    return n;
}

/*
 * A child of a collection, or NULL when it must be left out: a reference
 * back to an enclosing node (reported by the event pass; reported here only
 * if that pass somehow missed it), or a stop.
 */
static pv_node *convert_child(loader *ld, const pv_node *parent, int id, int depth)
{
    if (id >= 1 && (size_t)id <= ld->nynodes && ld->info[id].on_path) {
        if (!ld->cycle_reported) {
            pv_diags_add(
                ld->diags, ld->file, parent->pos, "an alias refers to a node that contains it");
            ld->cycle_reported = true;
            fail(ld, PV_EINPUT);
        }
        return NULL;
    }
    return convert(ld, id, depth);
}

/* Check a collection's explicit tag: only !!seq on sequences and !!map on
 * mappings mean anything to us. */
static void check_collection_tag(loader *ld, const yaml_node_t *yn, const pv_node *n,
                                 const char *want, const char *what)
{
    const char *name = core_tag_name((const char *)yn->tag);
    if (name && strcmp(name, want) == 0)
        return;
    char *shown = tag_display((const char *)yn->tag);
    pv_diags_add(ld->diags, ld->file, n->pos, "unsupported tag '%s' on %s", shown, what);
    free(shown);
    fail(ld, PV_EINPUT);
}

static void convert_seq(loader *ld, const yaml_node_t *yn, pv_node *n, int depth)
{
    size_t count = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
    n->items = pv_xcalloc(count, sizeof *n->items);
    for (size_t i = 0; i < count && !ld->stopped; i++) {
        pv_node *c = convert_child(ld, n, yn->data.sequence.items.start[i], depth + 1);
        if (c)
            n->items[n->n++] = c;
    }
}

typedef struct key_ref {
    const char *text;
    size_t len;
    size_t index; /* the pair's index in its mapping */
} key_ref;

/* Order by text, then by position, so equal keys sit together with the
 * earliest first. */
static int key_ref_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    int c = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * For each pair of a mapping, the index of the first pair with the same key
 * text (decoded), or SIZE_MAX when its key is the first of its text or not a
 * scalar. Sorting rather than hashing keeps crafted keys from making this
 * quadratic. Returns a new array of count entries.
 */
static size_t *find_duplicate_keys(loader *ld, const yaml_node_t *yn, size_t count)
{
    size_t *first = pv_xmalloc((count ? count : 1) * sizeof *first);
    key_ref *refs = pv_xmalloc((count ? count : 1) * sizeof *refs);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        first[i] = SIZE_MAX;
        const yaml_node_t *k =
            yaml_document_get_node(&ld->ydoc, yn->data.mapping.pairs.start[i].key);
        if (k && k->type == YAML_SCALAR_NODE)
            refs[n++] = (key_ref){(const char *)k->data.scalar.value, k->data.scalar.length, i};
    }
    qsort(refs, n, sizeof *refs, key_ref_cmp);
    for (size_t i = 1; i < n; i++) {
        const key_ref *prev = &refs[i - 1];
        if (prev->len == refs[i].len && memcmp(prev->text, refs[i].text, prev->len) == 0)
            first[refs[i].index] =
                first[prev->index] != SIZE_MAX ? first[prev->index] : prev->index;
    }
    free(refs);
    return first;
}

/*
 * Convert a mapping's pairs. Keys must be scalars; duplicates (by decoded
 * text) are reported at the later key, each one, in document order, but
 * only on the node's first conversion so that an aliased mapping does not
 * repeat them.
 */
static void convert_map(loader *ld, const yaml_node_t *yn, pv_node *n, int depth, bool first)
{
    size_t count = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
    n->keys = pv_xcalloc(count, sizeof *n->keys);
    n->items = pv_xcalloc(count, sizeof *n->items);
    size_t *dup_of = first ? find_duplicate_keys(ld, yn, count) : NULL;
    for (size_t i = 0; i < count && !ld->stopped; i++) {
        const yaml_node_pair_t *pair = &yn->data.mapping.pairs.start[i];
        const yaml_node_t *ykey = yaml_document_get_node(&ld->ydoc, pair->key);
        pv_node *key = NULL;
        if (ykey && ykey->type == YAML_SCALAR_NODE) {
            key = convert_child(ld, n, pair->key, depth + 1);
        } else if (ykey && first) {
            pv_diags_add(ld->diags,
                         ld->file,
                         mark_pos(ld, ykey->start_mark),
                         "mapping keys must be scalars");
            fail(ld, PV_EINPUT);
        }
        if (key && dup_of && dup_of[i] != SIZE_MAX) {
            const yaml_node_t *k0 =
                yaml_document_get_node(&ld->ydoc, yn->data.mapping.pairs.start[dup_of[i]].key);
            pv_pos p0 = mark_pos(ld, k0->start_mark);
            char *q = quote_text(key->str.ptr, key->str.len);
            pv_diags_add(ld->diags,
                         ld->file,
                         key->pos,
                         "duplicate key %s (first at line %d, column %d)",
                         q,
                         p0.line,
                         p0.col);
            free(q);
            fail(ld, PV_EINPUT);
        }
        pv_node *val = ld->stopped ? NULL : convert_child(ld, n, pair->value, depth + 1);
        n->keys[i] = key;
        n->items[i] = val;
        n->n = i + 1;
    }
    free(dup_of);
    /* Drop pairs that lost their key or value. That happens only after an
     * error, so the tree is about to be freed anyway, but keep it
     * well-formed for pv_node_free. */
    size_t w = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys[i] && n->items[i]) {
            n->keys[w] = n->keys[i];
            n->items[w++] = n->items[i];
        } else {
            pv_node_free(n->keys[i]);
            pv_node_free(n->items[i]);
        }
    }
    n->n = w;
}

/*
 * Convert libyaml node `id` (depth = collections enclosing it) into a new
 * pv_node, expanding aliases: a node shared through aliases is copied at
 * each use. Problems go to ld; returns NULL once a bound stops conversion.
 */
static pv_node *convert(loader *ld, int id, int depth)
{
    const yaml_node_t *yn = yaml_document_get_node(&ld->ydoc, id);
    if (!yn || ld->stopped || !count_node(ld))
        return NULL;
    ynode_info *info = &ld->info[id];
    bool first = !info->visited;
    info->visited = 1;
    if (yn->type == YAML_SCALAR_NODE)
        return convert_scalar(ld, yn, info, first);

    pv_node *n = pv_xcalloc(1, sizeof *n);
    n->kind = yn->type == YAML_SEQUENCE_NODE ? PV_N_SEQ : PV_N_MAP;
    n->pos = mark_pos(ld, yn->start_mark);
    n->src_start = mark_byte(ld, yn->start_mark);
    n->src_end = mark_byte(ld, yn->end_mark);
    if (depth + 1 > PV_DOC_MAX_DEPTH) {
        hit_limit(ld, n->pos, DEPTH_FMT, PV_DOC_MAX_DEPTH);
        pv_node_free(n);
        return NULL;
    }
    if (info->tagged && first) {
        if (n->kind == PV_N_SEQ)
            check_collection_tag(ld, yn, n, "seq", "a sequence");
        else
            check_collection_tag(ld, yn, n, "map", "a mapping");
    }
    info->on_path = 1;
    if (n->kind == PV_N_SEQ)
        convert_seq(ld, yn, n, depth);
    else
        convert_map(ld, yn, n, depth, first);
    info->on_path = 0;
    if (ld->stopped) {
        pv_node_free(n);
        return NULL;
    }
    return n;
}

/*
 * Second pass: libyaml's loader builds the first document (its errors left
 * are the composer's: undefined or repeated anchors), then the tree is
 * converted into doc->root.
 */
static void load_and_convert(loader *ld)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fputs("planverify: out of memory while parsing YAML\n", stderr);
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)ld->doc->source, ld->doc->source_len);
    bool loaded = yaml_parser_load(&p, &ld->ydoc) != 0;
    if (!loaded)
        report_yaml_error(ld, &p);
    yaml_parser_delete(&p);
    if (!loaded)
        return;
    ld->nynodes = (size_t)(ld->ydoc.nodes.top - ld->ydoc.nodes.start);
    /* Both passes read the same text, so they see the same nodes; should
     * they ever disagree, the extra nodes just carry no tag information. */
    info_at(ld, ld->nynodes);
    const yaml_node_t *root = yaml_document_get_root_node(&ld->ydoc);
    /* "---" with nothing after it is an empty document too, not a null. */
    bool empty =
        !root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
                  root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ld->info[1].props);
    if (!empty)
        ld->doc->root = convert(ld, 1, 0);
    yaml_document_delete(&ld->ydoc);
}

/* ------------------------------------------------------------------------------------------ */
/* Public functions                                                                           */

/*
 * Parse text into a document. The document keeps a copy of the text. On
 * error returns PV_EINPUT (or PV_ELIMIT when a bound was hit, which wins),
 * every problem found is in diags, and *out is NULL.
 */
int pv_doc_parse(const char *file, const char *text, size_t len, pv_doc **out, pv_diags *diags)
{
    *out = NULL;
    pv_diags scratch = {0};
    if (!diags)
        diags = &scratch;
    if (len > PV_DOC_MAX_BYTES) {
        pv_diags_add(diags,
                     file,
                     (pv_pos){0, 0},
                     "the document is %zu bytes, more than the limit of %u bytes",
                     len,
                     PV_DOC_MAX_BYTES);
        pv_diags_clear(&scratch);
        return PV_ELIMIT;
    }
    pv_doc *doc = pv_xcalloc(1, sizeof *doc);
    doc->file = file ? pv_xstrdup(file) : NULL;
    doc->source = pv_xmalloc(len + 1);
    if (len)
        memcpy(doc->source, text, len);
    doc->source[len] = '\0';
    doc->source_len = len;

    loader ld = {.file = file, .diags = diags, .doc = doc, .rc = PV_OK};
    const unsigned char *u = (const unsigned char *)doc->source;
    if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE))) {
        /* libyaml would read UTF-16, but every offset and column here is
         * a UTF-8 byte offset; one encoding keeps them honest. */
        pv_diags_add(diags,
                     file,
                     (pv_pos){1, 1},
                     "the text is UTF-16 (it starts with a UTF-16 byte order mark); "
                     "save it as UTF-8");
        pv_doc_free(doc);
        pv_diags_clear(&scratch);
        return PV_EINPUT;
    }
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        ld.bom = 3;
    srcmap_init(&ld.map, doc->source + ld.bom, len - ld.bom);

    check_directives(&ld);
    if (!ld.stopped)
        scan_events(&ld);
    if (!ld.stopped && !ld.syntax_error)
        load_and_convert(&ld);
    free(ld.info);
    srcmap_free(&ld.map);
    pv_diags_clear(&scratch);
    if (ld.rc != PV_OK) {
        pv_doc_free(doc);
        return ld.rc;
    }
    *out = doc;
    return PV_OK;
}

/*
 * Read and parse a file. Read errors come from pv_read_file (PV_EIO, or
 * PV_ELIMIT past PV_DOC_MAX_BYTES) with its diagnostic; parse errors as
 * pv_doc_parse. *out is NULL on any error.
 */
int pv_doc_load_file(const char *path, pv_doc **out, pv_diags *diags)
{
    *out = NULL;
    pv_diags scratch = {0};
    if (!diags)
        diags = &scratch;
    char *text = NULL;
    size_t len = 0;
    int rc = pv_read_file(path, PV_DOC_MAX_BYTES, &text, &len, diags);
    if (rc == PV_OK)
        rc = pv_doc_parse(path, text, len, out, diags);
    free(text);
    pv_diags_clear(&scratch);
    return rc;
}

void pv_node_free(pv_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            pv_node_free(n->keys[i]);
        if (n->items)
            pv_node_free(n->items[i]);
    }
    if (n->arena)
        return; /* its memory goes with the arena (heap nodes under it went above) */
    free(n->keys);
    free(n->items);
    pv_str_free(&n->str);
    free(n);
}

void pv_doc_free(pv_doc *doc)
{
    if (!doc)
        return;
    pv_node_free(doc->root);
    if (doc->arena) {
        pv_arena_free(doc->arena);
        free(doc->arena);
    }
    free(doc->file);
    free(doc->source);
    free(doc);
}

/* The value under `key` in a map, comparing decoded key text; NULL when map
 * is NULL, not a mapping, or has no such key. Linear: maps in specs and
 * plans are small, and the loader has already refused duplicates. */
const pv_node *pv_node_get(const pv_node *map, const char *key)
{
    if (!map || map->kind != PV_N_MAP || !key)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const pv_node *k = map->keys[i];
        if (k && k->str.len == len && memcmp(k->str.ptr, key, len) == 0)
            return map->items[i];
    }
    return NULL;
}

/*
 * A short description of a node for messages: "a mapping", "a sequence",
 * "the string 'abc'" (cut after about 40 bytes), "the integer 42", "true",
 * "false", "null", "the number 1.5". Returns a new string.
 */
char *pv_node_describe(const pv_node *n)
{
    if (!n)
        return pv_xstrdup("nothing");
    if (n->kind == PV_N_MAP)
        return pv_xstrdup("a mapping");
    if (n->kind == PV_N_SEQ)
        return pv_xstrdup("a sequence");
    switch (n->skind) {
    case PV_S_INT:
        return pv_xasprintf("the integer %" PRId64, n->ival);
    case PV_S_BIGINT:
        return pv_xasprintf("the integer %s", n->str.ptr);
    case PV_S_BOOL:
        return pv_xstrdup(n->bval ? "true" : "false");
    case PV_S_NULL:
        return pv_xstrdup("null");
    case PV_S_FLOAT:
        return pv_xasprintf("the number %s", n->str.ptr);
    default: {
        char *q = quote_text(n->str.ptr ? n->str.ptr : "", n->str.len);
        char *d = pv_xasprintf("the string %s", q);
        free(q);
        return d;
    }
    }
}

/* True when src[start, end) holds a line break. */
static bool spans_lines(const char *src, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++) {
        if (break_width(src, end, i))
            return true;
    }
    return false;
}

static int hex_run(const char *s, size_t len, size_t i, size_t count, unsigned *value)
{
    unsigned v = 0;
    for (size_t k = 0; k < count; k++) {
        if (i + k >= len)
            return -1;
        int d = digit_value(s[i + k], 16);
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *value = v;
    return 0;
}

static size_t utf8_width(unsigned cp)
{
    return cp <= 0x7F ? 1 : cp <= 0x7FF ? 2 : cp <= 0xFFFF ? 3 : 4;
}

/*
 * Walk a single-line double-quoted scalar's raw text from `r` (just past the
 * opening quote) to the raw offset holding decoded byte `off`, decoding
 * escapes as libyaml does. Returns false when the text is not what we
 * expect (the caller then falls back to the scalar's start).
 */
static bool walk_double(const char *src, size_t end, size_t *r, size_t off)
{
    size_t d = 0;
    while (*r < end && src[*r] != '"') {
        size_t raw = 1, dec = 1;
        if (src[*r] == '\\') {
            if (*r + 1 >= end)
                return false;
            unsigned cp;
            switch (src[*r + 1]) {
            case 'N':
            case '_':
                raw = 2, dec = 2;
                break;
            case 'L':
            case 'P':
                raw = 2, dec = 3;
                break;
            case 'x':
                if (hex_run(src, end, *r + 2, 2, &cp))
                    return false;
                raw = 4, dec = utf8_width(cp);
                break;
            case 'u':
                if (hex_run(src, end, *r + 2, 4, &cp))
                    return false;
                raw = 6, dec = utf8_width(cp);
                break;
            case 'U':
                if (hex_run(src, end, *r + 2, 8, &cp))
                    return false;
                raw = 10, dec = utf8_width(cp);
                break;
            default:
                raw = 2, dec = 1;
                break;
            }
        }
        if (d + dec > off)
            return true; /* off lies inside this character: point at its start */
        d += dec;
        *r += raw;
    }
    return d >= off;
}

/* Bytes of UTF-8 byte order mark at the start of the document's source. */
static size_t doc_bom(const pv_doc *doc)
{
    const unsigned char *u = (const unsigned char *)doc->source;
    return doc->source_len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF ? 3 : 0;
}

/*
 * Literal block scalar: decoded line k is the k-th line after the indicator
 * line, indented by the block's indentation. The indentation is taken from
 * the raw line itself (its length minus the decoded line's), which also
 * covers explicit indentation indicators. Returns false when the raw line
 * does not end with the decoded text (trailing lines, unusual breaks).
 */
static bool walk_literal(const pv_doc *doc, const pv_node *sc, size_t off, pv_pos *out)
{
    const char *src = doc->source;
    size_t len = doc->source_len;
    size_t line = 0, line_off = 0;
    for (size_t i = 0; i < off; i++) {
        if (sc->str.ptr[i] == '\n') {
            line++;
            line_off = i + 1;
        }
    }
    size_t dec_end = line_off;
    while (dec_end < sc->str.len && sc->str.ptr[dec_end] != '\n')
        dec_end++;
    size_t dec_len = dec_end - line_off;

    /* Skip the indicator line, then `line` content lines. */
    size_t r = sc->src_start, w = 0;
    for (size_t k = 0; k <= line; k++) {
        while (r < len && !(w = break_width(src, len, r)))
            r++;
        if (r >= len)
            return false;
        r += w;
    }
    size_t raw_start = r;
    while (r < len && !break_width(src, len, r))
        r++;
    size_t raw_len = r - raw_start;
    if (raw_len < dec_len ||
        memcmp(src + raw_start + raw_len - dec_len, sc->str.ptr + line_off, dec_len) != 0)
        return false;
    pv_pos head = pos_of_byte(src, len, doc_bom(doc), sc->src_start);
    out->line = head.line + (int)line + 1;
    out->col = (int)(raw_len - dec_len + (off - line_off)) + 1;
    return true;
}

/*
 * File position of byte `off` of a scalar's decoded text (off past the end
 * means the end). Exact for single-line plain, single- and double-quoted
 * scalars and for literal block scalars; anything else (folded, multi-line,
 * no source text) gets the scalar's own position.
 */
pv_pos pv_node_offset_pos(const pv_doc *doc, const pv_node *scalar, size_t off)
{
    if (!scalar)
        return (pv_pos){0, 0};
    if (!doc || !doc->source || scalar->kind != PV_N_SCALAR || scalar->style == PV_STYLE_JSON ||
        scalar->src_start > scalar->src_end || scalar->src_end > doc->source_len)
        return scalar->pos;
    if (off > scalar->str.len)
        off = scalar->str.len;
    const char *src = doc->source;
    size_t start = scalar->src_start, end = scalar->src_end;
    size_t r = start;
    switch (scalar->style) {
    case PV_STYLE_PLAIN:
        if (spans_lines(src, start, end) || start + off > end)
            return scalar->pos;
        r = start + off;
        break;
    case PV_STYLE_SINGLE: {
        if (spans_lines(src, start, end) || src[start] != '\'')
            return scalar->pos;
        r = start + 1;
        /* '' is one quote in the decoded text. */
        for (size_t d = 0; d < off && r < end; d++)
            r += src[r] == '\'' && r + 1 < end && src[r + 1] == '\'' ? 2 : 1;
        break;
    }
    case PV_STYLE_DOUBLE:
        if (spans_lines(src, start, end) || src[start] != '"')
            return scalar->pos;
        r = start + 1;
        if (!walk_double(src, end, &r, off))
            return scalar->pos;
        break;
    case PV_STYLE_LITERAL: {
        pv_pos p;
        if (src[start] == '|' && walk_literal(doc, scalar, off, &p))
            return p;
        return scalar->pos;
    }
    default:
        return scalar->pos;
    }
    size_t bom = doc_bom(doc);
    pv_pos head = pos_of_byte(src, doc->source_len, bom, start);
    return (pv_pos){head.line, head.col + (int)(r - start)};
}
