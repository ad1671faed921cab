/*
 * fuzz_support.c - the embedded spec of the plan and protobuf fuzz targets.
 * It is small but uses every kind of declaration a plan is checked against:
 * every value type, bounds, an enum in state, arguments and results,
 * optional arguments with and without defaults, tools without arguments or
 * results, refs' targets, a scope exclusion and both kinds of rule.
 */
#include "fuzz_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char pv_fuzz_spec_text[] =
    "spec: fuzz-shop\n"
    "version: \"1\"\n"
    "limits: {max_steps: 32, solver_timeout_ms: 200}\n"
    "constants:\n"
    "  cap: 1000\n"
    "state:\n"
    "  total: {type: int, init: 0, min: 0}\n"
    "  mode: {type: enum, values: [open, frozen], init: open}\n"
    "  approved: {type: bool}\n"
    "  last_to: {type: string, init: \"\"}\n"
    "tools:\n"
    "  lookup:\n"
    "    args: {order_id: string}\n"
    "    returns:\n"
    "      amount: {type: int, min: 0, max: 100000}\n"
    "      status: {type: enum, values: [new, shipped, delivered]}\n"
    "      email: string\n"
    "      vip: bool\n"
    "  refund:\n"
    "    irreversible: true\n"
    "    args:\n"
    "      order_id: string\n"
    "      amount: {type: int, min: 1, max: 5000}\n"
    "      reason: {type: string, optional: true}\n"
    "      notify: {type: bool, optional: true, default: false}\n"
    "    requires: \"earlier(lookup, it.args.order_id == args.order_id)\"\n"
    "    effects:\n"
    "      total: \"total + args.amount\"\n"
    "  approve:\n"
    "    args: {order_id: string, amount: {type: int, min: 1}}\n"
    "    returns: {ok: bool, limit: {type: int, min: 0}}\n"
    "    ensures: \"!result.ok || result.limit >= args.amount\"\n"
    "    effects: {approved: \"result.ok\"}\n"
    "  freeze:\n"
    "    args: {}\n"
    "    effects: {mode: \"'frozen'\"}\n"
    "  message:\n"
    "    args:\n"
    "      to: string\n"
    "      body: string\n"
    "      channel: {type: enum, values: [email, chat], optional: true, default: chat}\n"
    "    effects: {last_to: \"args.to\"}\n"
    "scope:\n"
    "  handles: [refunds]\n"
    "  excludes:\n"
    "    - id: disputes\n"
    "      tools: [open_dispute]\n"
    "      escalate_to: billing\n"
    "invariants:\n"
    "  - id: under-cap\n"
    "    always: \"total <= cap\"\n"
    "    action: block\n"
    "  - id: big-needs-approval\n"
    "    on: refund\n"
    "    assert: \"args.amount <= 500 || approved\"\n"
    "    action: escalate\n"
    "    escalate_to: finance\n"
    "  - id: quiet-when-frozen\n"
    "    on: [refund, message]\n"
    "    assert: \"mode != 'frozen' || count(refund) < 3\"\n"
    "    action: halt\n"
    "failure_modes: {unknown_tool: block, missing_argument: clarify}\n";

static pv_spec *loaded;

const pv_spec *pv_fuzz_spec(void)
{
    if (loaded)
        return loaded;
    pv_diags d = {0};
    if (pv_spec_load("fuzz-shop.yaml", pv_fuzz_spec_text, strlen(pv_fuzz_spec_text), &loaded, &d) !=
        PV_OK) {
        fprintf(stderr, "the fuzz targets' embedded spec does not load:\n");
        for (size_t i = 0; i < d.n; i++) {
            char *line = pv_diag_format(&d.items[i]);
            fprintf(stderr, "  %s\n", line);
            free(line);
        }
        pv_diags_clear(&d);
        exit(2);
    }
    pv_diags_clear(&d);
    return loaded;
}
