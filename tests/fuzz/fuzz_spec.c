/*
 * fuzz_spec.c - libFuzzer target for the spec loader: the input is a spec
 * file's text, given to pv_spec_load (YAML parsing, the document tree, every
 * section's validation, expression parsing and checking, and the plans of
 * the spec's own tests). Whatever it loads is rendered back through
 * pv_expr_to_string, and every diagnostic is formatted, then all is freed.
 */
#include "pv_spec.h"

#include <stdint.h>
#include <stdlib.h>

/* Render one checked expression with the spec (enum literals by name). */
static void render(const pv_expr *e, const pv_spec *spec)
{
    if (e)
        free(pv_expr_to_string(e, spec));
}

static void render_all(const pv_spec *spec)
{
    for (size_t i = 0; i < spec->n_tools; i++) {
        const pv_tool *t = &spec->tools[i];
        render(t->requires, spec);
        render(t->ensures, spec);
        for (size_t j = 0; j < t->n_effects; j++)
            render(t->effects[j].expr, spec);
    }
    for (size_t i = 0; i < spec->n_invariants; i++)
        render(spec->invariants[i].cond, spec);
    for (size_t i = 0; i < spec->n_excludes; i++)
        render(spec->excludes[i].when, spec);
    for (size_t i = 0; i < spec->n_state; i++) {
        free(pv_type_describe(spec, spec->state[i].type));
        if (spec->state[i].has_init)
            free(pv_value_describe(spec, &spec->state[i].init));
    }
}

static void format_diags(pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(pv_diag_format(&d->items[i]));
    pv_diags_clear(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_spec *spec = NULL;
    pv_diags d = {0};
    if (pv_spec_load("fuzz.yaml", (const char *)data, size, &spec, &d) == PV_OK)
        render_all(spec);
    pv_spec_free(spec);
    format_diags(&d);
    return 0;
}
