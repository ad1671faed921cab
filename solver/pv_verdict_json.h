/*
 * pv_verdict_json.h - verdicts as JSON (contract section 5), with Jansson.
 */
#ifndef PV_VERDICT_JSON_H
#define PV_VERDICT_JSON_H

#include <jansson.h>

#include "pv_verdict.h"

/* A value as JSON: int, bool, string; an enum as its value's name. */
json_t *pv_value_to_json(const pv_spec *spec, const pv_value *v);

/* The verdict object. file may be NULL; it is added as "file" beside the
 * plan's "id" (contract section 7: one object per line). */
json_t *pv_verdict_to_json(const pv_spec *spec, const pv_verdict *v, const char *file);

#endif
