/*
 * import.h - traces in other formats turned into plan documents, so that
 * `planverify audit --from ...` verifies them with the same plan loader and
 * engine as plans written by hand.
 *
 *  openai-chat:  one conversation per JSON line (Chat Completions messages);
 *                each assistant tool call is a step, its `tool` message the
 *                result.
 *  mcp-jsonrpc:  one JSON-RPC 2.0 message per line, grouped by session;
 *                each `tools/call` request is a step, its response the result.
 *
 * Results become the spec's `returns` fields by name (nested objects by
 * dotted path, dots read as underscores). What cannot be used is dropped
 * with a note, and a dropped field is unknown to the engine, which is the
 * conservative reading: the verdict then holds for every value it could
 * have had.
 */
#ifndef PV_IMPORT_H
#define PV_IMPORT_H

#include <jansson.h>

#include "cli.h"
#include "pv_doc.h"

/* `planverify audit` (audit.c). */
int pv_cli_audit(int argc, char **argv);

/* One trace turned into a plan document, or the reason it could not be. */
typedef struct pv_import {
    pv_doc *doc;                /* the plan {id?, initial_state?, steps}; NULL on error */
    const struct pv_spec *spec; /* the spec the plan is checked against */
    char *id;                   /* the trace's id as text, for error lines; may be NULL */
    char *error;                /* why there is no plan; NULL when doc is set */
    char **notes;               /* what was dropped or assumed, in step order */
    size_t n_notes;
} pv_import;

/* Release what an import owns and zero it. */
void pv_import_clear(pv_import *imp);

/*
 * Pick the spec for a trace. `named` is the trace's `spec` member (NULL when
 * absent). With a forced spec (--spec FILE) that spec is used, and a named
 * spec must be it. Otherwise the named spec must be loaded, and a trace that
 * names none is accepted only when the set holds exactly one spec. `what`
 * names the trace in messages ("plan", "conversation", "session"). Returns
 * the spec, or NULL with *error set to a new message.
 */
const struct pv_spec *pv_import_pick_spec(const pv_specset *set, const struct pv_spec *forced,
                                          const json_t *named, const char *what, char **error);

/*
 * openai-chat: `conv` is one parsed line, either {"messages": [...], "id"?,
 * "spec"?, "initial_state"?} or a bare array of messages. Fills *out with a
 * plan document or an error; notes are filled in both cases. Never fails
 * otherwise (returns nothing: check out->doc).
 */
void pv_import_openai(const pv_specset *set, const struct pv_spec *forced, const json_t *conv,
                      pv_import *out);

/*
 * mcp-jsonrpc: a log read line by line. Lines are grouped by session (a
 * wrapper {"session": S, "spec"?: ID, "message": M}, or a message carrying a
 * top-level "session" or "sessionId"; lines with neither belong to one
 * default session). Requests and responses are paired by id within a
 * session while reading, so only tool calls and their results are kept
 * until the end of the input; the steps of a session are known only then.
 */
typedef struct pv_mcp_log pv_mcp_log;

pv_mcp_log *pv_mcp_log_new(void);
void pv_mcp_log_free(pv_mcp_log *log);

/*
 * Add input line `line` (1-based), already parsed. On success returns PV_OK
 * and sets *session to the line's session index and *is_new when the line
 * opened that session. A line that is not a JSON-RPC message (nor a wrapper
 * around one) returns PV_EINPUT with *error set to a new message; it
 * belongs to no session.
 */
int pv_mcp_log_add(pv_mcp_log *log, size_t line, const json_t *value, size_t *session, bool *is_new,
                   char **error);

size_t pv_mcp_log_sessions(const pv_mcp_log *log);
/* The session's first line and its id as given (JSON null for the default
 * session); the value is borrowed from the log. */
size_t pv_mcp_session_line(const pv_mcp_log *log, size_t session);
const json_t *pv_mcp_session_id(const pv_mcp_log *log, size_t session);

/*
 * Build session `session`'s plan into *out and release the session's tool
 * calls. Different sessions may be imported concurrently from different
 * threads once every line has been added; one session only once.
 */
void pv_mcp_session_import(pv_mcp_log *log, size_t session, const pv_specset *set,
                           const struct pv_spec *forced, pv_import *out);

#endif
