/*
 * pv_internal.h - helpers shared between the library's loaders; not part of
 * the public interface.
 */
#ifndef PV_INTERNAL_H
#define PV_INTERNAL_H

#include "pv_doc.h"
#include "pv_spec.h"

/*
 * Convert a scalar node to a value of type t (enum strings checked against
 * the enum's values). On failure returns PV_EINPUT and sets *msg to a new
 * string saying what was expected and what was found.
 */
int pv__value_from_node(const pv_spec *spec, const pv_node *n, pv_type t, pv_value *out,
                        char **msg);

/* Check a value against a variable's declared min/max. On failure returns
 * PV_EINPUT with *msg set to a new string ("600 is above the maximum 500"). */
int pv__value_check_bounds(const pv_var *var, const pv_value *v, char **msg);

/* The keys of a map that are not in allowed[0..n): one diagnostic each,
 * with a did-you-mean. `what` names the map ("a tool", "the spec"). Returns
 * the number of unknown keys. */
int pv__check_keys(const pv_doc *doc, const pv_node *map, const char *const *allowed, size_t n,
                   const char *what, pv_diags *diags);

/* True when s matches ^[A-Za-z_][A-Za-z0-9_]*$ (usable in expressions). */
bool pv__is_ident(const char *s, size_t len);

#endif
