/*
 * import.c - OpenAI chat conversations and MCP JSON-RPC logs as plan
 * documents (see import.h for the formats and the reading of results).
 *
 * The importers only reshape: every check of the values (types, bounds,
 * enum sets, argument names, `ensures`) is the plan loader's, so a trace
 * gets exactly the errors a hand-written plan with the same steps would.
 */
#include "import.h"
#include "pv_doc_json.h"
#include "pv_plan.h"
#include "pv_spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoding flags for JSON found inside a trace (tool arguments, results). */
#define INNER_JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* At most this many undeclared result paths are named in one note. */
#define MAX_NAMED_PATHS 20

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void add_note(char ***notes, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append a formatted note to a growable list of strings. */
static void add_note(char ***notes, size_t *n, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = pv_xmalloc(len > 0 ? (size_t)len + 1 : 1);
    if (len < 0 || vsnprintf(s, (size_t)len + 1, fmt, again) < 0)
        s[0] = '\0';
    va_end(again);
    *notes = pv_xrealloc(*notes, (*n + 1) * sizeof(char *));
    (*notes)[(*n)++] = s;
}

static void free_notes(char **notes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(notes[i]);
    free(notes);
}

void pv_import_clear(pv_import *imp)
{
    pv_doc_free(imp->doc);
    free(imp->id);
    free(imp->error);
    free_notes(imp->notes, imp->n_notes);
    memset(imp, 0, sizeof *imp);
}

/* "an array", "null", "the number 12.5", ... for notes; a new string. */
static char *describe_json(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return pv_xstrdup("an object");
    case JSON_ARRAY:
        return pv_xstrdup("an array");
    case JSON_STRING:
        return pv_xstrdup("a string");
    case JSON_INTEGER:
        return pv_xasprintf("the integer %lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return pv_xasprintf("the number %.17g", json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return pv_xstrdup("a boolean");
    default:
        return pv_xstrdup("null");
    }
}

/* A JSON value in compact form, for messages; a new string. */
static char *compact_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    return s ? s : pv_xstrdup("?");
}

/* The id of a trace as text: a string as is, an integer in decimal. */
static char *id_text(const json_t *id)
{
    if (json_is_string(id))
        return pv_xstrdup(json_string_value(id));
    if (json_is_integer(id))
        return pv_xasprintf("%lld", (long long)json_integer_value(id));
    return NULL;
}

/* "step 3 (call_x)" or "step 3". */
static char *step_label(size_t i, const char *id)
{
    return id ? pv_xasprintf("step %zu (%s)", i, id) : pv_xasprintf("step %zu", i);
}

const pv_spec *pv_import_pick_spec(const pv_specset *set, const pv_spec *forced,
                                   const json_t *named, const char *what, char **error)
{
    *error = NULL;
    if (named && !json_is_string(named)) {
        char *d = describe_json(named);
        *error = pv_xasprintf("field spec: expected a spec id, found %s", d);
        free(d);
        return NULL;
    }
    const char *want = named ? json_string_value(named) : NULL;
    if (forced) {
        if (want && strcmp(want, forced->id) != 0) {
            *error = pv_xasprintf("field spec: the %s is for spec '%s', but it is checked "
                                  "against '%s'",
                                  what,
                                  want,
                                  forced->id);
            return NULL;
        }
        return forced;
    }
    if (want) {
        const pv_spec *s = pv_specset_find(set, want);
        if (!s)
            *error = pv_xasprintf("field spec: no loaded spec has the id '%s'", want);
        return s;
    }
    if (set->n == 1)
        return set->specs[0];
    *error = pv_xasprintf("the %s names no spec; add a \"spec\" member or pass --spec FILE", what);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* results                                                             */

/* The state of mapping one result object onto a tool's returns. */
typedef struct rmap {
    const pv_tool *tool;
    const char *label;
    const json_t **val; /* [n_returns]: the value chosen for each field */
    char **path;        /* [n_returns]: where it came from */
    pv_buf undeclared;  /* paths the tool does not declare */
    size_t n_undeclared;
    char ***notes;
    size_t *n_notes;
} rmap;

/* Walk an object, matching every path (dots read as underscores) against
 * the tool's declared result fields. */
static void rmap_walk(rmap *m, const json_t *obj, const char *prefix)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char *path = prefix ? pv_xasprintf("%s.%s", prefix, key) : pv_xstrdup(key);
        char *name = pv_xstrdup(path);
        for (char *p = name; *p; p++)
            if (*p == '.')
                *p = '_';
        int f = pv_tool_return(m->tool, name);
        bool scalar = json_is_string(v) || json_is_integer(v) || json_is_boolean(v);
        if (f >= 0 && scalar) {
            if (!m->val[f]) {
                m->val[f] = v;
                m->path[f] = pv_xstrdup(path);
            } else {
                /* The exact top-level key wins over a dotted path. */
                bool take = strchr(m->path[f], '.') && !strchr(path, '.');
                const char *kept = take ? path : m->path[f];
                add_note(m->notes,
                         m->n_notes,
                         "%s, field result.%s: given both as '%s' and as '%s'; '%s' is used",
                         m->label,
                         name,
                         m->path[f],
                         path,
                         kept);
                if (take) {
                    m->val[f] = v;
                    free(m->path[f]);
                    m->path[f] = pv_xstrdup(path);
                }
            }
        } else if (f >= 0) {
            char *d = describe_json(v);
            char *at = strcmp(name, path) ? pv_xasprintf(" (at %s)", path) : pv_xstrdup("");
            add_note(m->notes,
                     m->n_notes,
                     "%s, field result.%s%s: %s is not an integer, string or boolean; ignored, "
                     "so the field stays unknown",
                     m->label,
                     name,
                     at,
                     d);
            free(at);
            free(d);
        }
        if (json_is_object(v) && json_object_size(v) > 0) {
            rmap_walk(m, v, path);
        } else if (f < 0) {
            if (m->n_undeclared < MAX_NAMED_PATHS) {
                if (m->n_undeclared)
                    pv_buf_add(&m->undeclared, ", ");
                pv_buf_add(&m->undeclared, path);
            }
            m->n_undeclared++;
        }
        free(name);
        free(path);
    }
}

/*
 * The result map of a call to `tool` from the object `obj`, with notes on
 * everything left out. Returns NULL when no declared field was found (the
 * result is then absent, that is unknown).
 */
static pv_node *map_result(const pv_tool *tool, const char *label, const json_t *obj, char ***notes,
                           size_t *n_notes)
{
    rmap m = {0};
    m.tool = tool;
    m.label = label;
    m.val = pv_xcalloc(tool->n_returns + 1, sizeof(json_t *));
    m.path = pv_xcalloc(tool->n_returns + 1, sizeof(char *));
    m.notes = notes;
    m.n_notes = n_notes;
    rmap_walk(&m, obj, NULL);
    if (m.n_undeclared) {
        char more[64] = "";
        if (m.n_undeclared > MAX_NAMED_PATHS)
            snprintf(more, sizeof more, " and %zu more", m.n_undeclared - MAX_NAMED_PATHS);
        add_note(notes,
                 n_notes,
                 "%s: result fields that %s does not declare, ignored: %s%s",
                 label,
                 tool->name,
                 m.undeclared.ptr,
                 more);
    }
    pv_node *res = NULL;
    for (size_t f = 0; f < tool->n_returns; f++) {
        if (!m.val[f])
            continue;
        if (!res)
            res = pv_node_new_map();
        pv_node_map_add(res, tool->returns[f].name, pv_node_from_json(m.val[f]));
    }
    for (size_t f = 0; f < tool->n_returns; f++)
        free(m.path[f]);
    free(m.path);
    free(m.val);
    free(m.undeclared.ptr);
    return res;
}

/*
 * A result given as text (an OpenAI tool message, an MCP text item): JSON
 * object text maps to fields (*out; NULL when none is declared), other JSON
 * gives none, with a note. Returns false, with *out NULL and no note, when
 * the text is not JSON: the callers differ in what plain text means.
 */
static bool map_result_text(const pv_tool *tool, const char *label, const char *text, size_t len,
                            char ***notes, size_t *n_notes, pv_node **out)
{
    *out = NULL;
    json_error_t err;
    json_t *j = json_loadb(text, len, INNER_JSON_FLAGS, &err);
    if (!j)
        return false;
    if (json_is_object(j)) {
        *out = map_result(tool, label, j, notes, n_notes);
    } else {
        char *d = describe_json(j);
        add_note(notes,
                 n_notes,
                 "%s: the result is %s, not a JSON object; no result fields, so the result "
                 "stays unknown",
                 label,
                 d);
        free(d);
    }
    json_decref(j);
    return true;
}

/* {NAME: {unknown: true}} for every argument the tool declares. */
static pv_node *unknown_args(const pv_tool *tool)
{
    pv_node *args = pv_node_new_map();
    for (size_t a = 0; tool && a < tool->n_args; a++) {
        pv_node *u = pv_node_new_map();
        pv_node_map_add(u, "unknown", pv_node_new_bool(true));
        pv_node_map_add(args, tool->args[a].name, u);
    }
    return args;
}

/* A step map {id?, tool, args, result?}; takes ownership of args and result. */
static pv_node *new_step(const char *id, const char *tool, pv_node *args, pv_node *result)
{
    pv_node *st = pv_node_new_map();
    if (id)
        pv_node_map_add(st, "id", pv_node_new_str(id, strlen(id)));
    pv_node_map_add(st, "tool", pv_node_new_str(tool, strlen(tool)));
    pv_node_map_add(st, "args", args);
    if (result)
        pv_node_map_add(st, "result", result);
    return st;
}

/* The step id a call id gives: the id itself when it is a valid step id
 * not used by an earlier step, else none. */
static const char *derive_step_id(const char *call_id, char **used, size_t n_used)
{
    if (!call_id || !pv_step_id_valid(call_id, strlen(call_id)))
        return NULL;
    for (size_t i = 0; i < n_used; i++)
        if (used[i] && strcmp(used[i], call_id) == 0)
            return NULL;
    return call_id;
}

/* ------------------------------------------------------------------ */
/* openai-chat                                                         */

typedef struct oa_call {
    const char *call_id; /* NULL for a legacy function_call */
    const char *name;
    const json_t *arguments; /* the `arguments` member, borrowed; may be NULL */
    const json_t *content;   /* the answering message's content, borrowed */
    bool answered;
    bool legacy;
} oa_call;

/* Arguments of an OpenAI tool call as a plan node. The API sends them as
 * JSON text; a logger may have stored them parsed. Text that does not parse
 * makes every declared argument unknown (whatever the model meant, the
 * verdict then covers it). */
static pv_node *oa_args(const oa_call *c, const pv_tool *tool, const char *label, pv_import *out)
{
    const json_t *a = c->arguments;
    if (!a || json_is_null(a))
        return pv_node_new_map();
    if (!json_is_string(a))
        return pv_node_from_json(a);
    const char *s = json_string_value(a);
    size_t len = json_string_length(a);
    size_t k = 0;
    while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r'))
        k++;
    if (k == len)
        return pv_node_new_map();
    json_error_t err;
    json_t *j = json_loadb(s, len, INNER_JSON_FLAGS, &err);
    if (!j) {
        add_note(&out->notes,
                 &out->n_notes,
                 "%s, field args: the arguments are not valid JSON (%s); every argument of "
                 "%s is taken as unknown",
                 label,
                 err.text,
                 c->name);
        return unknown_args(tool);
    }
    pv_node *n = pv_node_from_json(j);
    json_decref(j);
    return n;
}

/* The result of an answered OpenAI call, from its tool message's content:
 * a string, or a list of content parts whose text parts are joined. */
static pv_node *oa_result(const oa_call *c, const pv_tool *tool, const char *label, pv_import *out)
{
    const json_t *content = c->content;
    pv_buf joined = {0};
    const char *text;
    size_t len;
    if (json_is_string(content)) {
        text = json_string_value(content);
        len = json_string_length(content);
    } else if (json_is_array(content)) {
        size_t i;
        const json_t *part;
        json_array_foreach(content, i, part)
        {
            const json_t *t = json_object_get(part, "text");
            if (json_is_string(t))
                pv_buf_add(&joined, json_string_value(t));
        }
        if (!joined.ptr) {
            add_note(&out->notes,
                     &out->n_notes,
                     "%s: the tool message has no text content; the result stays unknown",
                     label);
            return NULL;
        }
        text = joined.ptr;
        len = joined.len;
    } else {
        char *d = content ? describe_json(content) : pv_xstrdup("missing");
        add_note(&out->notes,
                 &out->n_notes,
                 "%s: the tool message cannot be read (its content is %s); the result stays "
                 "unknown",
                 label,
                 d);
        free(d);
        return NULL;
    }
    pv_node *res;
    if (!map_result_text(tool, label, text, len, &out->notes, &out->n_notes, &res))
        add_note(&out->notes,
                 &out->n_notes,
                 "%s: the result is plain text, not JSON; no result fields, so the result stays "
                 "unknown",
                 label);
    free(joined.ptr);
    return res;
}

/* Collect the calls of a conversation and pair them with the messages
 * that answer them. Unusable messages are skipped with a note. */
static oa_call *oa_collect(const json_t *messages, size_t *n_out, pv_import *out)
{
    oa_call *calls = NULL;
    size_t n = 0;
    size_t mi;
    const json_t *msg;
    json_array_foreach(messages, mi, msg)
    {
        if (!json_is_object(msg)) {
            add_note(&out->notes, &out->n_notes, "message %zu is not an object; ignored", mi);
            continue;
        }
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (!role) {
            add_note(&out->notes, &out->n_notes, "message %zu has no role; ignored", mi);
            continue;
        }
        if (strcmp(role, "assistant") == 0) {
            const json_t *tcs = json_object_get(msg, "tool_calls");
            size_t ti;
            const json_t *tc;
            json_array_foreach(tcs, ti, tc)
            {
                const json_t *type = json_object_get(tc, "type");
                const json_t *fn = json_object_get(tc, "function");
                const char *name = json_string_value(json_object_get(fn, "name"));
                if (type &&
                    !(json_is_string(type) && strcmp(json_string_value(type), "function") == 0)) {
                    char *d = json_is_string(type) ? pv_xasprintf("'%s'", json_string_value(type))
                                                   : describe_json(type);
                    add_note(&out->notes,
                             &out->n_notes,
                             "message %zu, tool call %zu: type %s is not a function call; "
                             "ignored",
                             mi,
                             ti,
                             d);
                    free(d);
                    continue;
                }
                if (!name || !name[0]) {
                    add_note(&out->notes,
                             &out->n_notes,
                             "message %zu, tool call %zu: no function name; ignored",
                             mi,
                             ti);
                    continue;
                }
                calls = pv_xrealloc(calls, (n + 1) * sizeof *calls);
                calls[n++] = (oa_call){json_string_value(json_object_get(tc, "id")),
                                       name,
                                       json_object_get(fn, "arguments"),
                                       NULL,
                                       false,
                                       false};
            }
            const json_t *fc = json_object_get(msg, "function_call");
            const char *fname = json_string_value(json_object_get(fc, "name"));
            if (fname && fname[0]) {
                calls = pv_xrealloc(calls, (n + 1) * sizeof *calls);
                calls[n++] =
                    (oa_call){NULL, fname, json_object_get(fc, "arguments"), NULL, false, true};
            }
        } else if (strcmp(role, "tool") == 0) {
            const char *cid = json_string_value(json_object_get(msg, "tool_call_id"));
            if (!cid) {
                add_note(&out->notes,
                         &out->n_notes,
                         "message %zu: a tool message without tool_call_id; ignored",
                         mi);
                continue;
            }
            size_t k = 0;
            while (k < n &&
                   (calls[k].answered || !calls[k].call_id || strcmp(calls[k].call_id, cid) != 0))
                k++;
            if (k == n) {
                add_note(&out->notes,
                         &out->n_notes,
                         "message %zu: a tool message for tool_call_id '%s', which no earlier "
                         "unanswered tool call has; ignored",
                         mi,
                         cid);
                continue;
            }
            calls[k].answered = true;
            calls[k].content = json_object_get(msg, "content");
        } else if (strcmp(role, "function") == 0) {
            /* The legacy API: answers the latest unanswered function_call. */
            size_t k = n;
            while (k > 0 && (calls[k - 1].answered || !calls[k - 1].legacy))
                k--;
            if (k == 0) {
                add_note(&out->notes,
                         &out->n_notes,
                         "message %zu: a function message that answers no function_call; "
                         "ignored",
                         mi);
                continue;
            }
            calls[k - 1].answered = true;
            calls[k - 1].content = json_object_get(msg, "content");
        }
    }
    *n_out = n;
    return calls;
}

void pv_import_openai(const pv_specset *set, const pv_spec *forced, const json_t *conv,
                      pv_import *out)
{
    memset(out, 0, sizeof *out);
    const json_t *messages = conv, *named = NULL, *id = NULL, *initial = NULL;
    if (json_is_object(conv)) {
        messages = json_object_get(conv, "messages");
        named = json_object_get(conv, "spec");
        id = json_object_get(conv, "id");
        initial = json_object_get(conv, "initial_state");
        out->id = id_text(id);
        if (!messages) {
            out->error = pv_xstrdup("a conversation needs \"messages\" (or is a bare array of "
                                    "messages)");
            return;
        }
        if (!json_is_array(messages)) {
            char *d = describe_json(messages);
            out->error = pv_xasprintf("field messages: expected an array of messages, found %s", d);
            free(d);
            return;
        }
    } else if (!json_is_array(conv)) {
        char *d = describe_json(conv);
        out->error = pv_xasprintf("a conversation is an object with \"messages\" or an array of "
                                  "messages, found %s",
                                  d);
        free(d);
        return;
    }
    const pv_spec *spec = pv_import_pick_spec(set, forced, named, "conversation", &out->error);
    if (!spec)
        return;
    out->spec = spec;

    size_t n = 0;
    oa_call *calls = oa_collect(messages, &n, out);
    pv_node *steps = pv_node_new_seq();
    char **used = pv_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const oa_call *c = &calls[i];
        const char *sid = derive_step_id(c->call_id, used, i);
        used[i] = (char *)sid;
        char *label = step_label(i, sid);
        int t = pv_spec_tool(spec, c->name);
        const pv_tool *tool = t >= 0 ? &spec->tools[t] : NULL;
        pv_node *args = oa_args(c, tool, label, out);
        pv_node *result = NULL;
        /* A tool that declares no result fields has nothing to map. */
        if (tool && tool->n_returns && c->answered)
            result = oa_result(c, tool, label, out);
        else if (tool && tool->n_returns)
            add_note(&out->notes,
                     &out->n_notes,
                     "%s: no tool message answers this call; the result stays unknown",
                     label);
        pv_node_seq_add(steps, new_step(sid, c->name, args, result));
        free(label);
    }
    free(used);
    free(calls);

    pv_node *root = pv_node_new_map();
    if (id)
        pv_node_map_add(root, "id", pv_node_from_json(id));
    if (initial)
        pv_node_map_add(root, "initial_state", pv_node_from_json(initial));
    pv_node_map_add(root, "steps", steps);
    out->doc = pv_doc_from_root("<conversation>", root);
}

/* ------------------------------------------------------------------ */
/* mcp-jsonrpc                                                         */

typedef struct mcp_call {
    size_t line;
    char *req_id;  /* the request id, compact JSON */
    char *step_id; /* the request id when it is a string and a valid step id */
    char *tool;
    json_t *args;   /* params.arguments (a reference), may be NULL */
    json_t *result; /* the response's result (a reference), when answered */
    char *error;    /* the response's error, as text, when answered with one */
    bool answered;
} mcp_call;

typedef struct mcp_pending {
    char *req_id;
    long call; /* index into calls, or -1 for a request that is not tools/call */
} mcp_pending;

typedef struct mcp_session {
    char *key;   /* compact JSON of the session id; "" for the default session */
    json_t *sid; /* the session id as given; JSON null for the default session */
    size_t first_line;
    char *spec; /* the spec named by the session's lines */
    size_t spec_line;
    char *spec_conflict; /* the first disagreement between lines, or NULL */
    mcp_call *calls;
    size_t n_calls;
    mcp_pending *pending;
    size_t n_pending;
    char **notes; /* about lines, not steps */
    size_t n_notes;
} mcp_session;

struct pv_mcp_log {
    mcp_session *sessions;
    size_t n, cap;
    size_t *slots; /* open addressing over session keys: index + 1, 0 empty */
    size_t n_slots;
};

pv_mcp_log *pv_mcp_log_new(void)
{
    return pv_xcalloc(1, sizeof(pv_mcp_log));
}

/* Free a session's tool calls, pending requests and notes (its id, first
 * line and spec stay, for the output line). */
static void mcp_session_release(mcp_session *s)
{
    for (size_t i = 0; i < s->n_calls; i++) {
        mcp_call *c = &s->calls[i];
        free(c->req_id);
        free(c->step_id);
        free(c->tool);
        json_decref(c->args);
        json_decref(c->result);
        free(c->error);
    }
    free(s->calls);
    s->calls = NULL;
    s->n_calls = 0;
    for (size_t i = 0; i < s->n_pending; i++)
        free(s->pending[i].req_id);
    free(s->pending);
    s->pending = NULL;
    s->n_pending = 0;
    free_notes(s->notes, s->n_notes);
    s->notes = NULL;
    s->n_notes = 0;
}

void pv_mcp_log_free(pv_mcp_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->n; i++) {
        mcp_session *s = &log->sessions[i];
        mcp_session_release(s);
        free(s->key);
        json_decref(s->sid);
        free(s->spec);
        free(s->spec_conflict);
    }
    free(log->sessions);
    free(log->slots);
    free(log);
}

size_t pv_mcp_log_sessions(const pv_mcp_log *log)
{
    return log->n;
}

size_t pv_mcp_session_line(const pv_mcp_log *log, size_t session)
{
    return log->sessions[session].first_line;
}

const json_t *pv_mcp_session_id(const pv_mcp_log *log, size_t session)
{
    return log->sessions[session].sid;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Double the hash table of session keys. */
static void mcp_rehash(pv_mcp_log *log)
{
    size_t n = log->n_slots ? log->n_slots * 2 : 64;
    size_t *slots = pv_xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < log->n; i++) {
        size_t h = (size_t)hash_str(log->sessions[i].key) & (n - 1);
        while (slots[h])
            h = (h + 1) & (n - 1);
        slots[h] = i + 1;
    }
    free(log->slots);
    log->slots = slots;
    log->n_slots = n;
}

/* The session with this id (NULL: the default session), created on first
 * use with `line` as its first line. */
static size_t mcp_session_get(pv_mcp_log *log, const json_t *sid, size_t line, bool *is_new)
{
    char *key = sid && !json_is_null(sid) ? compact_json(sid) : pv_xstrdup("");
    if ((log->n + 1) * 2 > log->n_slots)
        mcp_rehash(log);
    size_t h = (size_t)hash_str(key) & (log->n_slots - 1);
    while (log->slots[h]) {
        size_t i = log->slots[h] - 1;
        if (strcmp(log->sessions[i].key, key) == 0) {
            free(key);
            *is_new = false;
            return i;
        }
        h = (h + 1) & (log->n_slots - 1);
    }
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 16;
        log->sessions = pv_xrealloc(log->sessions, log->cap * sizeof(mcp_session));
    }
    mcp_session *s = &log->sessions[log->n];
    memset(s, 0, sizeof *s);
    s->key = key;
    s->sid = sid && !json_is_null(sid) ? json_incref((json_t *)sid) : json_null();
    s->first_line = line;
    log->slots[h] = ++log->n;
    *is_new = true;
    return log->n - 1;
}

typedef enum mcp_kind {
    MCP_INVALID,
    MCP_TOOL_CALL,  /* a tools/call request */
    MCP_OTHER_CALL, /* another request: its response is skipped */
    MCP_NOTIFICATION,
    MCP_RESPONSE
} mcp_kind;

/* What a JSON-RPC message is; for MCP_INVALID, *why says why. */
static mcp_kind mcp_classify(const json_t *m, const char **why)
{
    *why = NULL;
    if (!json_is_object(m)) {
        *why = "not an object";
        return MCP_INVALID;
    }
    const json_t *method = json_object_get(m, "method");
    const json_t *id = json_object_get(m, "id");
    if (method) {
        if (!json_is_string(method)) {
            *why = "\"method\" is not a string";
            return MCP_INVALID;
        }
        if (!id || json_is_null(id))
            return MCP_NOTIFICATION;
        return strcmp(json_string_value(method), "tools/call") == 0 ? MCP_TOOL_CALL
                                                                    : MCP_OTHER_CALL;
    }
    if (json_object_get(m, "result") || json_object_get(m, "error")) {
        /* A response with a null id answers a request that could not be
         * read; no call can be matched to it. */
        return id && !json_is_null(id) ? MCP_RESPONSE : MCP_NOTIFICATION;
    }
    *why = "no \"method\", \"result\" or \"error\"";
    return MCP_INVALID;
}

static void mcp_add_pending(mcp_session *s, const char *req_id, long call)
{
    s->pending = pv_xrealloc(s->pending, (s->n_pending + 1) * sizeof(mcp_pending));
    s->pending[s->n_pending++] = (mcp_pending){pv_xstrdup(req_id), call};
}

/* "the call failed (JSON-RPC error -32602: Unknown tool)" style text. */
static char *mcp_error_text(const json_t *err)
{
    const json_t *code = json_object_get(err, "code");
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (json_is_integer(code) && msg)
        return pv_xasprintf(
            "JSON-RPC error %lld: %.200s", (long long)json_integer_value(code), msg);
    if (msg)
        return pv_xasprintf("JSON-RPC error: %.200s", msg);
    char *c = compact_json(err);
    char *s = pv_xasprintf("JSON-RPC error %.200s", c);
    free(c);
    return s;
}

/* Apply one message of a session (line `line`). */
static void mcp_apply(mcp_session *s, size_t line, const json_t *m, mcp_kind kind)
{
    if (kind == MCP_NOTIFICATION)
        return;
    char *req_id = compact_json(json_object_get(m, "id"));
    if (kind == MCP_OTHER_CALL) {
        mcp_add_pending(s, req_id, -1);
    } else if (kind == MCP_TOOL_CALL) {
        const json_t *params = json_object_get(m, "params");
        const char *name = json_string_value(json_object_get(params, "name"));
        if (!name || !name[0]) {
            add_note(&s->notes,
                     &s->n_notes,
                     "line %zu: a tools/call request without a tool name in params.name; "
                     "ignored",
                     line);
            mcp_add_pending(s, req_id, -1);
        } else {
            s->calls = pv_xrealloc(s->calls, (s->n_calls + 1) * sizeof(mcp_call));
            mcp_call *c = &s->calls[s->n_calls];
            memset(c, 0, sizeof *c);
            c->line = line;
            c->req_id = pv_xstrdup(req_id);
            const char *sid = json_string_value(json_object_get(m, "id"));
            c->step_id = sid && pv_step_id_valid(sid, strlen(sid)) ? pv_xstrdup(sid) : NULL;
            c->tool = pv_xstrdup(name);
            const json_t *args = json_object_get(params, "arguments");
            c->args = args ? json_incref((json_t *)args) : NULL;
            mcp_add_pending(s, req_id, (long)s->n_calls);
            s->n_calls++;
        }
    } else {
        /* A response: the latest pending request with its id. */
        size_t k = s->n_pending;
        while (k > 0 && strcmp(s->pending[k - 1].req_id, req_id) != 0)
            k--;
        if (k == 0) {
            add_note(&s->notes,
                     &s->n_notes,
                     "line %zu: a response to id %s, which no pending request of this session "
                     "has; ignored",
                     line,
                     req_id);
        } else {
            long ci = s->pending[k - 1].call;
            free(s->pending[k - 1].req_id);
            memmove(&s->pending[k - 1], &s->pending[k], (s->n_pending - k) * sizeof(mcp_pending));
            s->n_pending--;
            if (ci >= 0) {
                mcp_call *c = &s->calls[ci];
                c->answered = true;
                const json_t *err = json_object_get(m, "error");
                if (err)
                    c->error = mcp_error_text(err);
                else
                    c->result = json_incref(json_object_get(m, "result"));
            }
        }
    }
    free(req_id);
}

int pv_mcp_log_add(pv_mcp_log *log, size_t line, const json_t *value, size_t *session, bool *is_new,
                   char **error)
{
    *error = NULL;
    *is_new = false;
    const json_t *msg = value, *sid = NULL, *spec = NULL;
    if (json_is_object(value)) {
        const json_t *wrapped = json_object_get(value, "message");
        if (wrapped && !json_object_get(value, "jsonrpc") && !json_object_get(value, "method"))
            msg = wrapped;
        sid = json_object_get(value, "session");
        if (!sid)
            sid = json_object_get(value, "sessionId");
        spec = json_object_get(value, "spec");
    }
    /* Validate before the line can open a session. */
    const char *why = NULL;
    mcp_kind kind = MCP_INVALID;
    if (json_is_array(msg)) {
        if (json_array_size(msg) == 0)
            why = "an empty batch";
    } else {
        kind = mcp_classify(msg, &why);
    }
    if (why) {
        *error = pv_xasprintf("not a JSON-RPC message (%s)", why);
        return PV_EINPUT;
    }
    if (spec && !json_is_string(spec)) {
        char *d = describe_json(spec);
        *error = pv_xasprintf("field spec: expected a spec id, found %s", d);
        free(d);
        return PV_EINPUT;
    }
    *session = mcp_session_get(log, sid, line, is_new);
    mcp_session *s = &log->sessions[*session];
    if (spec) {
        const char *want = json_string_value(spec);
        if (!s->spec) {
            s->spec = pv_xstrdup(want);
            s->spec_line = line;
        } else if (strcmp(s->spec, want) != 0 && !s->spec_conflict) {
            s->spec_conflict = pv_xasprintf("the session's lines name different specs: '%s' "
                                            "(line %zu) and '%s' (line %zu)",
                                            s->spec,
                                            s->spec_line,
                                            want,
                                            line);
        }
    }
    if (!json_is_array(msg)) {
        mcp_apply(s, line, msg, kind);
        return PV_OK;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(msg, i, item)
    {
        mcp_kind k = mcp_classify(item, &why);
        if (k == MCP_INVALID)
            add_note(&s->notes,
                     &s->n_notes,
                     "line %zu, batch item %zu: not a JSON-RPC message (%s); ignored",
                     line,
                     i,
                     why);
        else
            mcp_apply(s, line, item, k);
    }
    return PV_OK;
}

/* The result of an answered tools/call, from its response. */
static pv_node *mcp_result(const mcp_call *c, const pv_tool *tool, const char *label,
                           pv_import *out)
{
    char ***notes = &out->notes;
    size_t *n_notes = &out->n_notes;
    if (c->error) {
        add_note(
            notes, n_notes, "%s: the call failed (%s); the result stays unknown", label, c->error);
        return NULL;
    }
    const json_t *r = c->result;
    if (!json_is_object(r)) {
        char *d = describe_json(r);
        add_note(notes,
                 n_notes,
                 "%s: the response's result is %s, not an object; the result stays unknown",
                 label,
                 d);
        free(d);
        return NULL;
    }
    const json_t *content = json_object_get(r, "content");
    if (json_is_true(json_object_get(r, "isError"))) {
        const char *text = NULL;
        size_t i;
        const json_t *item;
        json_array_foreach(content, i, item)
        {
            if (!text)
                text = json_string_value(json_object_get(item, "text"));
        }
        if (text)
            add_note(notes,
                     n_notes,
                     "%s: the call failed (isError: %.100s%s); the result stays unknown",
                     label,
                     text,
                     strlen(text) > 100 ? "..." : "");
        else
            add_note(
                notes, n_notes, "%s: the call failed (isError); the result stays unknown", label);
        return NULL;
    }
    /* A tool that declares no result fields has nothing to map. */
    if (tool->n_returns == 0)
        return NULL;
    const json_t *structured = json_object_get(r, "structuredContent");
    if (json_is_object(structured))
        return map_result(tool, label, structured, notes, n_notes);
    /* The first text item that is JSON decides; plain text gives nothing. */
    size_t i;
    const json_t *item;
    bool any_text = false;
    json_array_foreach(content, i, item)
    {
        const json_t *t = json_object_get(item, "text");
        if (!json_is_string(t))
            continue;
        any_text = true;
        pv_node *res;
        if (map_result_text(
                tool, label, json_string_value(t), json_string_length(t), notes, n_notes, &res))
            return res;
    }
    if (any_text)
        add_note(notes,
                 n_notes,
                 "%s: the result is plain text, not JSON; no result fields, so the result stays "
                 "unknown",
                 label);
    else
        add_note(notes,
                 n_notes,
                 "%s: the result has no text content; no result fields, so the result stays "
                 "unknown",
                 label);
    return NULL;
}

void pv_mcp_session_import(pv_mcp_log *log, size_t session, const pv_specset *set,
                           const pv_spec *forced, pv_import *out)
{
    memset(out, 0, sizeof *out);
    mcp_session *s = &log->sessions[session];
    const pv_spec *spec = NULL;
    if (s->spec_conflict) {
        out->error = pv_xstrdup(s->spec_conflict);
    } else {
        json_t *named = s->spec ? json_string(s->spec) : NULL;
        spec = pv_import_pick_spec(set, forced, named, "session", &out->error);
        json_decref(named);
    }
    if (spec) {
        out->spec = spec;
        pv_node *steps = pv_node_new_seq();
        char **used = pv_xcalloc(s->n_calls + 1, sizeof(char *));
        for (size_t i = 0; i < s->n_calls; i++) {
            const mcp_call *c = &s->calls[i];
            const char *sid = derive_step_id(c->step_id, used, i);
            used[i] = (char *)sid;
            char *label = step_label(i, sid);
            int t = pv_spec_tool(spec, c->tool);
            const pv_tool *tool = t >= 0 ? &spec->tools[t] : NULL;
            pv_node *args = c->args ? pv_node_from_json(c->args) : pv_node_new_map();
            pv_node *result = NULL;
            if (tool && c->answered)
                result = mcp_result(c, tool, label, out);
            else if (tool && tool->n_returns)
                add_note(&out->notes,
                         &out->n_notes,
                         "%s: no response to request id %s (line %zu); the result stays unknown",
                         label,
                         c->req_id,
                         c->line);
            pv_node_seq_add(steps, new_step(sid, c->tool, args, result));
            free(label);
        }
        free(used);
        pv_node *root = pv_node_new_map();
        pv_node_map_add(root, "steps", steps);
        out->doc = pv_doc_from_root("<session>", root);
    }
    for (size_t i = 0; i < s->n_notes; i++)
        add_note(&out->notes, &out->n_notes, "%s", s->notes[i]);
    mcp_session_release(s);
}
