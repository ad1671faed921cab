/*
 * plangen.h - realistic plans and specs for the benchmarks, generated from
 * a few parameters so that one axis can be varied while the rest stays put.
 *
 * Plans are plan files (YAML text), loaded with the library's own loaders,
 * as a client's plan would be. Three domains follow the bundled specs:
 *
 *   refunds   support-refunds: order lookups, replies, return labels, small
 *             refunds, one refund above the approval threshold with its
 *             approval
 *   database  db-infra: connect to production, read the change calendar,
 *             inspect tables, reads, UPDATEs with a WHERE, loads of
 *             user-provided rows, one reviewed migration
 *   email     email-docs: searches, document reads, internal mail and
 *             drafts, one early mail to a partner, customer lookups,
 *             internal shares
 *
 * Unknowns are single values written {unknown: true}: first the values a
 * plan most often cannot know in advance (a refund amount the agent has not
 * chosen, an approval not yet answered, the change calendar, a document's
 * DLP result), then other results (amounts, ages, success flags), spread
 * evenly over the plan. Every other result field is given, so a plan with
 * no unknowns is fully concrete.
 */
#ifndef PLANGEN_H
#define PLANGEN_H

#include "pv_doc.h"
#include "pv_plan.h"
#include "pv_spec.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum pg_domain { PG_REFUNDS = 0, PG_DATABASE, PG_EMAIL, PG__COUNT } pg_domain;

/* "refunds", "database", "email". */
const char *pg_domain_name(pg_domain d);
/* The bundled spec file of a domain, relative to the specs directory. */
const char *pg_domain_spec_file(pg_domain d);
/* The id of that spec. */
const char *pg_domain_spec_id(pg_domain d);
/* The domain named s, or -1. */
int pg_domain_parse(const char *s);

/*
 * The YAML text of a plan of n_steps steps (n_steps >= 1) of domain d for
 * the spec spec_id, with up to `unknowns` unknown values. With concrete set,
 * the same plan with each of those values replaced by the value it has at
 * run time (the plan a call-by-call checker sees). *placed (may be NULL)
 * gets the number of unknowns placed, less than asked when the plan has
 * fewer places for one. Returns a new string.
 */
char *pg_plan_text(pg_domain d, const char *spec_id, size_t n_steps, int unknowns, bool concrete,
                   int *placed);

/*
 * The YAML text of a support-refunds spec (id spec_id) with n_state state
 * variables (at least 3: the bundled spec's three, then refund tiers,
 * counters and flags kept up to date by the tools' effects) and n_inv
 * invariants (at least 1: call and state rules of the kinds a support team
 * writes, cycling through ten templates with rising thresholds). The tools
 * and scope are the bundled spec's; refunds plans run against it. Returns
 * a new string.
 */
char *pg_spec_text(const char *spec_id, size_t n_state, size_t n_inv);

/*
 * Load plan text against spec. Returns PV_OK with *plan and *doc set (free
 * the plan before the document), or an error with the diagnostics printed
 * to stderr under `what`.
 */
int pg_load_plan(const pv_spec *spec, const char *what, const char *text, pv_plan **plan,
                 pv_doc **doc);

/* Load spec text, or a spec file when text is NULL; errors to stderr. */
int pg_load_spec(const char *what, const char *text, pv_spec **spec);

#endif
