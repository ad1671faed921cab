/*
 * verdict_json.c - the one converter from pv_verdict to JSON.
 */
#include "pv_verdict_json.h"

json_t *pv_value_to_json(const pv_spec *spec, const pv_value *v)
{
    switch (v->type.kind) {
    case PV_T_INT:
        return json_integer((json_int_t)v->u.i);
    case PV_T_BOOL:
        return json_boolean(v->u.b);
    case PV_T_STRING:
        return json_stringn_nocheck(v->u.s.ptr, v->u.s.len);
    case PV_T_ENUM:
        if (spec && v->type.enum_id >= 0 && (size_t)v->type.enum_id < spec->n_enums &&
            v->u.e >= 0 && (size_t)v->u.e < spec->enums[v->type.enum_id].n)
            return json_string(spec->enums[v->type.enum_id].values[v->u.e]);
        return json_null();
    default:
        return json_null();
    }
}

static json_t *finding_to_json(const pv_spec *spec, const pv_finding *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "rule", json_string(f->rule));
    json_object_set_new(o, "kind", json_string(pv_finding_kind_name(f->kind)));
    json_object_set_new(o, "step", json_integer(f->step));
    json_object_set_new(o, "tool", f->tool ? json_string(f->tool) : json_null());
    json_object_set_new(o, "action", json_string(pv_action_name(f->action)));
    if (f->escalate_to)
        json_object_set_new(o, "escalate_to", json_string(f->escalate_to));
    json_object_set_new(o, "certain", json_boolean(f->certain));
    json_t *chain = json_array();
    for (size_t i = 0; i < f->n_chain; i++)
        json_array_append_new(chain, json_integer(f->chain[i]));
    json_object_set_new(o, "chain", chain);
    json_t *w = json_object();
    for (size_t i = 0; i < f->n_witness; i++)
        json_object_set_new(w, f->witness[i].key, pv_value_to_json(spec, &f->witness[i].value));
    json_object_set_new(o, "witness", w);
    json_object_set_new(o, "message", json_string(f->message ? f->message : ""));
    return o;
}

json_t *pv_verdict_to_json(const pv_spec *spec, const pv_verdict *v, const char *file)
{
    json_t *o = json_object();
    if (v->plan_id)
        json_object_set_new(o, "id", json_string(v->plan_id));
    if (file)
        json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "decision", json_string(pv_action_name(v->decision)));
    json_object_set_new(o, "safe_prefix", json_integer(v->safe_prefix));
    json_object_set_new(o, "spec", json_string(v->spec_id));
    json_object_set_new(o, "spec_version", json_string(v->spec_version));
    json_object_set_new(o, "spec_digest", json_string(v->spec_digest));
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n_findings; i++)
        json_array_append_new(arr, finding_to_json(spec, &v->findings[i]));
    json_object_set_new(o, "violations", arr);
    return o;
}
