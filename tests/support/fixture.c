/*
 * fixture.c - the randomised tests' group fixture and the fixed cases'
 * loaders; see fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_doc.h"
#include "support/fixture.h"

void pvt_assert_hard_then_small(const pv_verdict *v)
{
    assert_int_equal(v->decision, PV_ACT_BLOCK);
    assert_int_equal(v->n_findings, 2);
    assert_string_equal(v->findings[0].rule, "r");
    assert_false(v->findings[0].certain);
    assert_string_equal(v->findings[1].rule, "small");
    assert_false(v->findings[1].certain);
    assert_string_equal(v->findings[1].escalate_to, "ops");
}

int pvt_fixture_teardown(void **state)
{
    pvt_fixture *fx = *state;
    if (!fx)
        return 0;
    pvt_spec_set_free(&fx->set);
    pv_engine_free(fx->eng);
    free(fx);
    return 0;
}

int pvt_fixture_setup(void **state)
{
    pvt_fixture *fx = calloc(1, sizeof *fx);
    *state = fx;
    if (!fx)
        return -1;
    int rc = pvt_spec_set_load(&fx->set, pvt_source_dir());
    if (rc == 0 && pv_engine_new(&fx->eng) != PV_OK)
        rc = -1;
    if (rc != 0) {
        pvt_fixture_teardown(state);
        *state = NULL;
    }
    return rc;
}

pv_spec *pvt_spec_from_text(const char *name, const char *text)
{
    pv_diags d = {0};
    pv_spec *spec = NULL;
    int rc = pv_spec_load(name, text, strlen(text), &spec, &d);
    pvt_print_diags("spec", &d);
    pv_diags_clear(&d);
    assert_int_equal(rc, PV_OK);
    return spec;
}

pv_spec *pvt_spec_from_source(const char *path)
{
    char full[4096];
    pv_diags d = {0};
    pv_spec *spec = NULL;
    snprintf(full, sizeof full, "%s/%s", pvt_source_dir(), path);
    int rc = pv_spec_load_file(full, &spec, &d);
    pvt_print_diags(full, &d);
    pv_diags_clear(&d);
    assert_int_equal(rc, PV_OK);
    return spec;
}

pv_plan *pvt_plan_from_text(const pv_spec *spec, const char *text)
{
    pv_diags d = {0};
    pv_doc *doc = NULL;
    pv_plan *plan = NULL;
    int rc = pv_doc_parse("fixed.yaml", text, strlen(text), &doc, &d);
    if (rc == PV_OK)
        rc = pv_plan_from_node(spec, doc, doc->root, &plan, &d);
    pvt_print_diags("fixed plan", &d);
    pv_diags_clear(&d);
    pv_doc_free(doc);
    assert_int_equal(rc, PV_OK);
    return plan;
}
