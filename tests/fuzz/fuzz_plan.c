/*
 * fuzz_plan.c - libFuzzer target for the plan loader: the input is a plan
 * file's text (YAML or JSON), parsed by pv_doc_parse and validated by
 * pv_plan_from_node against a fixed spec embedded in fuzz_support.c. A
 * document whose root is a sequence also goes through pv_plan_from_steps,
 * the path a spec test's bare step list takes.
 */
#include "fuzz_support.h"
#include "pv_doc.h"
#include "pv_plan.h"

#include <stdint.h>
#include <stdlib.h>

static void format_diags(pv_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(pv_diag_format(&d->items[i]));
    pv_diags_clear(d);
}

static void label_steps(const pv_plan *plan)
{
    for (size_t i = 0; i < plan->n_steps; i++)
        free(pv_step_label(plan, i));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pv_fuzz_spec();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pv_spec *spec = pv_fuzz_spec();
    pv_doc *doc = NULL;
    pv_diags d = {0};
    if (pv_doc_parse("fuzz-plan.yaml", (const char *)data, size, &doc, &d) != PV_OK) {
        format_diags(&d);
        return 0;
    }
    (void)pv_plan_doc_spec_id(doc);
    pv_plan *plan = NULL;
    if (pv_plan_from_node(spec, doc, doc->root, &plan, &d) == PV_OK)
        label_steps(plan);
    pv_plan_free(plan);
    format_diags(&d);
    if (doc->root && doc->root->kind == PV_N_SEQ) {
        plan = NULL;
        if (pv_plan_from_steps(spec, doc, NULL, doc->root, &plan, &d) == PV_OK)
            label_steps(plan);
        pv_plan_free(plan);
        format_diags(&d);
    }
    pv_doc_free(doc);
    return 0;
}
