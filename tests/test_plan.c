/*
 * test_plan.c - the plan loader: valid YAML and JSON plans load into the
 * exact expected structure; each kind of bad input is an error naming the
 * step (index and id) and the field, at the right position.
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
#include "pv_plan.h"
#include "support/diags.h"
#include "pv_spec.h"

static const char spec_text[] =
    "spec: shop\n"
    "version: v1\n"
    "state:\n"
    "  total: {type: int, init: 0, min: 0}\n"
    "  env: {type: enum, values: [staging, production]}\n"
    "  frozen: bool\n"
    "tools:\n"
    "  lookup_order:\n"
    "    args: {order_id: string}\n"
    "    returns: {amount: {type: int, min: 0, max: 100000}, email: string, region: {type: enum, "
    "values: [eu, us]}}\n"
    "  issue_refund:\n"
    "    args:\n"
    "      order_id: string\n"
    "      amount: {type: int, min: 1, max: 5000}\n"
    "      note: {type: string, optional: true}\n"
    "      region: {type: enum, values: [us, eu], optional: true, default: eu}\n"
    "    effects: {total: \"total + args.amount\"}\n"
    "  notify:\n"
    "    args: {urgent: bool, to: string}\n";

static pv_spec *spec;

static int setup(void **state)
{
    (void)state;
    pv_diags d = {0};
    int rc = pv_spec_load("shop.yaml", spec_text, strlen(spec_text), &spec, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
    pv_diags_clear(&d);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    pv_spec_free(spec);
    return 0;
}

/* Load a plan document; returns the return code, fills *out and diags. */
static int load(const char *text, pv_plan **out, pv_diags *d)
{
    pv_doc *doc = NULL;
    *out = NULL;
    int rc = pv_doc_parse("plan.yaml", text, strlen(text), &doc, d);
    if (rc != PV_OK)
        return rc;
    rc = pv_plan_from_node(spec, doc, doc->root, out, d);
    pv_doc_free(doc);
    return rc;
}

static void test_valid_yaml(void **state)
{
    (void)state;
    const char *text = "spec: shop\n"
                       "id: run-8841\n"
                       "initial_state: {total: 250, env: production}\n"
                       "steps:\n"
                       "  - id: look\n"
                       "    tool: lookup_order\n"
                       "    args: {order_id: A17}\n"
                       "    result: {amount: 700}\n"
                       "  - tool: issue_refund\n"
                       "    args:\n"
                       "      order_id: A17\n"
                       "      amount: {ref: look.amount}\n"
                       "      region: {ref: 0.region}\n"
                       "  - tool: notify\n"
                       "    args: {to: ops@acme.com, urgent: {unknown: true}}\n"
                       "  - tool: drop_table\n"
                       "    args: {name: users}\n";
    pv_diags d = {0};
    pv_plan *p;
    assert_int_equal(load(text, &p, &d), PV_OK);
    assert_int_equal(d.n, 0);
    assert_string_equal(p->spec_id, "shop");
    assert_string_equal(p->id, "run-8841");
    assert_int_equal(p->n_initial, 3);
    assert_int_equal(p->initial[0].kind, PV_PV_LITERAL);
    assert_int_equal(p->initial[0].lit.u.i, 250);
    assert_int_equal(p->initial[1].kind, PV_PV_LITERAL);
    assert_int_equal(p->initial[1].lit.type.kind, PV_T_ENUM);
    assert_int_equal(p->initial[1].lit.u.e, 0); /* production sorts first */
    assert_int_equal(p->initial[2].kind, PV_PV_ABSENT);
    assert_int_equal(p->n_steps, 4);

    const pv_step *s0 = &p->steps[0];
    assert_string_equal(s0->id, "look");
    assert_int_equal(s0->tool, 0);
    assert_int_equal(s0->args[0].kind, PV_PV_LITERAL);
    assert_string_equal(s0->args[0].lit.u.s.ptr, "A17");
    assert_true(s0->has_result);
    assert_int_equal(s0->result[0].kind, PV_PV_LITERAL);
    assert_int_equal(s0->result[0].lit.u.i, 700);
    assert_int_equal(s0->result[1].kind, PV_PV_ABSENT);

    const pv_step *s1 = &p->steps[1];
    assert_null(s1->id);
    assert_int_equal(s1->tool, 1);
    assert_false(s1->has_result);
    assert_int_equal(s1->args[1].kind, PV_PV_REF);
    assert_int_equal(s1->args[1].ref_step, 0);
    assert_int_equal(s1->args[1].ref_field, 0);
    assert_int_equal(s1->args[1].pos.line, 12);
    assert_int_equal(s1->args[2].kind, PV_PV_ABSENT); /* optional note */
    assert_int_equal(s1->args[3].kind, PV_PV_REF);    /* enum [eu, us] both ways round */
    assert_int_equal(s1->args[3].ref_field, 2);

    const pv_step *s2 = &p->steps[2];
    assert_int_equal(s2->args[0].kind, PV_PV_UNKNOWN);
    assert_int_equal(s2->args[1].kind, PV_PV_LITERAL);

    const pv_step *s3 = &p->steps[3];
    assert_int_equal(s3->tool, -1);
    assert_string_equal(s3->tool_name, "drop_table");
    assert_null(s3->args);

    char *label = pv_step_label(p, 0);
    assert_string_equal(label, "step 0 (look)");
    free(label);
    label = pv_step_label(p, 1);
    assert_string_equal(label, "step 1");
    free(label);
    pv_plan_free(p);
    pv_diags_clear(&d);
}

static void test_valid_json(void **state)
{
    (void)state;
    const char *text = "{\"spec\": \"shop\", \"steps\": [\n"
                       "  {\"id\": \"l\", \"tool\": \"lookup_order\", \"args\": {\"order_id\": "
                       "\"123\"}},\n"
                       "  {\"tool\": \"issue_refund\", \"args\": {\"order_id\": \"123\", "
                       "\"amount\": {\"ref\": \"l.amount\"}}}\n"
                       "]}\n";
    pv_diags d = {0};
    pv_plan *p;
    assert_int_equal(load(text, &p, &d), PV_OK);
    assert_int_equal(p->n_steps, 2);
    /* "123" quoted is a string in JSON, as the argument's type wants */
    assert_int_equal(p->steps[0].args[0].lit.type.kind, PV_T_STRING);
    assert_string_equal(p->steps[0].args[0].lit.u.s.ptr, "123");
    assert_int_equal(p->steps[1].args[1].kind, PV_PV_REF);
    assert_null(p->id);
    pv_plan_free(p);
    pv_diags_clear(&d);
}

typedef struct bad_case {
    const char *name;
    const char *yaml;
    const char *errors[3];
} bad_case;

#define PLAN "spec: shop\nsteps:\n"

static const bad_case bad[] = {
    {"unknown argument",
     PLAN "  - {id: r, tool: issue_refund, args: {order_id: A, amount: 5, "
          "amout: 5}}\n",
     {"3:64: step 0 (r): unknown argument 'amout' of tool 'issue_refund'; did you mean "
      "'amount'?"}},
    {"wrong type",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: ten}}\n",
     {"3:54: step 0, field args.amount: expected an int, found the string 'ten'"}},
    {"unquoted number for a string",
     PLAN "  - {tool: lookup_order, args: {order_id: 12345}}\n",
     {"3:43: step 0, field args.order_id: expected a string, found the integer 12345 (quote "
      "it: \"12345\")"}},
    {"literal above the maximum",
     PLAN "  - {id: big, tool: issue_refund, args: {order_id: A, amount: 6000}}\n",
     {"3:63: step 0 (big), field args.amount: 6000 is above the maximum 5000 of 'amount'"}},
    {"literal below the minimum",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: 0}}\n",
     {"3:54: step 0, field args.amount: 0 is below the minimum 1 of 'amount'"}},
    {"literal outside the enum",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: 1, region: asia}}\n",
     {"3:65: step 0, field args.region: 'asia' is not a value of enum [eu, us]"}},
    {"ref to a later step",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: {ref: look.amount}}}\n"
          "  - {id: look, tool: lookup_order, args: {order_id: A}}\n",
     {"3:60: step 0, field args.amount: ref 'look.amount' points to step 1 (look), which is "
      "not before this step"}},
    {"ref to itself by index",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: {ref: 0.amount}}}\n",
     {"3:60: step 0, field args.amount: ref '0.amount' points to step 0, which is not before "
      "this step"}},
    {"ref to a missing field",
     PLAN "  - {id: look, tool: lookup_order, args: {order_id: A}}\n"
          "  - {tool: issue_refund, args: {order_id: A, amount: {ref: look.total}}}\n",
     {"4:60: step 1, field args.amount: ref 'look.total': tool 'lookup_order' returns no field "
      "'total'"}},
    {"ref of the wrong type",
     PLAN "  - {id: look, tool: lookup_order, args: {order_id: A}}\n"
          "  - {tool: issue_refund, args: {order_id: A, amount: {ref: look.email}}}\n",
     {"4:60: step 1, field args.amount: ref 'look.email' is string, but the argument is int"}},
    {"ref to an unknown step",
     PLAN "  - {id: look, tool: lookup_order, args: {order_id: A}}\n"
          "  - {tool: issue_refund, args: {order_id: A, amount: {ref: "
          "lok.amount}}}\n",
     {"4:60: step 1, field args.amount: ref 'lok.amount' names no earlier step 'lok'; did you "
      "mean 'look'?"}},
    {"ref without a field",
     PLAN "  - {id: look, tool: lookup_order, args: {order_id: A}}\n"
          "  - {tool: issue_refund, args: {order_id: A, amount: {ref: "
          "look}}}\n",
     {"4:60: step 1, field args.amount: ref 'look' must have the form STEP.FIELD (a step id or "
      "index, a dot, a result field)"}},
    {"ref to an undeclared tool's step",
     PLAN "  - {id: x, tool: mystery}\n"
          "  - {tool: issue_refund, args: {order_id: A, "
          "amount: {ref: x.amount}}}\n",
     {"4:60: step 1, field args.amount: ref 'x.amount': step 0 calls 'mystery', which is not a "
      "declared tool, so its result has no fields"}},
    {"duplicate step ids",
     PLAN "  - {id: a, tool: notify, args: {urgent: true, to: x}}\n"
          "  - {id: a, tool: notify, args: {urgent: true, to: y}}\n",
     {"4:10: step 1, field id: duplicate step id 'a' (also step 0)"}},
    {"bad step id",
     PLAN "  - {id: 1st, tool: notify, args: {urgent: true, to: x}}\n",
     {"3:10: step 0, field id: expected an identifier matching ^[A-Za-z_][A-Za-z0-9_-]*$, found "
      "the string '1st'"}},
    {"initial_state for an undeclared variable",
     "spec: shop\ninitial_state: {totl: 5}\nsteps: []\n",
     {"2:17: initial_state: unknown state variable 'totl' of the spec; did you mean 'total'?"}},
    {"initial_state below min",
     "spec: shop\ninitial_state: {total: -5}\nsteps: []\n",
     {"2:24: initial_state.total: -5 is below the minimum 0 of 'total'"}},
    {"ref in initial_state",
     "spec: shop\ninitial_state: {total: {ref: 0.amount}}\nsteps: []\n",
     {"2:24: initial_state.total: refs are allowed only in step arguments"}},
    {"missing tool",
     PLAN "  - {args: {order_id: A}}\n",
     {"3:5: step 0: missing required field 'tool'"}},
    {"unknown step key",
     PLAN "  - {tool: notify, arg: {urgent: true}}\n",
     {"3:20: unknown key 'arg' in step 0; did you mean 'args'?"}},
    {"result field unknown",
     PLAN "  - {tool: lookup_order, args: {order_id: A}, result: {amont: 3}}\n",
     {"3:56: step 0: unknown result field 'amont' of tool 'lookup_order'; did you mean "
      "'amount'?"}},
    {"result outside its bounds",
     PLAN "  - {tool: lookup_order, args: {order_id: A}, result: {amount: -3}}\n",
     {"3:64: step 0, field result.amount: -3 is below the minimum 0 of 'amount'"}},
    {"float value",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: 1.5}}\n",
     {"3:54: step 0, field args.amount: expected a string, integer, boolean, {ref: STEP.FIELD} "
      "or {unknown: true}, found the number 1.5"}},
    {"null value",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: null}}\n",
     {"3:54: step 0, field args.amount: expected a string, integer, boolean, {ref: STEP.FIELD} "
      "or {unknown: true}, found null"}},
    {"list value",
     PLAN "  - {tool: issue_refund, args: {order_id: [A], amount: 1}}\n",
     {"3:43: step 0, field args.order_id: expected a string, integer, boolean, {ref: "
      "STEP.FIELD} or {unknown: true}, found a sequence"}},
    {"unknown: false",
     PLAN "  - {tool: issue_refund, args: {order_id: A, amount: {unknown: "
          "false}}}\n",
     {"3:64: step 0, field args.amount: {unknown: ...} takes only true"}},
    {"values of an undeclared tool are still checked",
     PLAN "  - {tool: drop_table, args: {name: 1.5}}\n",
     {"3:37: step 0, field args.name: expected a string, integer, boolean, {ref: STEP.FIELD} or "
      "{unknown: true}, found the number 1.5"}},
    {"plan for another spec",
     "spec: billing\nsteps: []\n",
     {"1:7: field spec: the plan is for spec 'billing', but it is checked against 'shop'"}},
    {"steps missing", "spec: shop\n", {"1:1: missing required field 'steps'"}},
    {"steps not a list",
     "spec: shop\nsteps: {tool: notify}\n",
     {"2:8: steps must be a list of steps, found a mapping"}},
    {"several errors in several steps",
     PLAN "  - {tool: issue_refund, args: {order_id: 5, amount: 0}}\n"
          "  - {tool: notify, args: {urgent: yes, to: x}}\n",
     {"3:43: step 0, field args.order_id: expected a string, found the integer 5 (quote it: "
      "\"5\")",
      "3:54: step 0, field args.amount: 0 is below the minimum 1 of 'amount'",
      "4:35: step 1, field args.urgent: expected a bool, found the string 'yes'"}},
};

static void test_bad(void **state)
{
    const bad_case *bc = *state;
    pv_diags d = {0};
    pv_plan *p = NULL;
    int rc = load(bc->yaml, &p, &d);
    bool ok = pvt_expect_diags(bc->name, rc, rc == PV_EINPUT && p == NULL, &d, bc->errors, 3);
    pv_plan_free(p);
    pv_diags_clear(&d);
    assert_true(ok);
}

static void test_doc_spec_id(void **state)
{
    (void)state;
    pv_diags d = {0};
    pv_doc *doc;
    const char *t = "spec: shop\nsteps: []\n";
    assert_int_equal(pv_doc_parse("p", t, strlen(t), &doc, &d), PV_OK);
    assert_string_equal(pv_plan_doc_spec_id(doc), "shop");
    pv_doc_free(doc);
    t = "steps: []\n";
    assert_int_equal(pv_doc_parse("p", t, strlen(t), &doc, &d), PV_OK);
    assert_null(pv_plan_doc_spec_id(doc));
    pv_doc_free(doc);
}

static void test_repeated_key_keeps_last(void **state)
{
    (void)state;
    /* A protobuf request's map may repeat a key (YAML and JSON documents
     * may not): the loader keeps the last value, as protobuf maps do, and
     * frees the one before (the fuzzer found it leaking). */
    pv_node *args = pv_node_new_map();
    pv_node_map_add(args, "order_id", pv_node_new_str("A1", 2));
    pv_node_map_add(args, "amount", pv_node_new_int(5));
    pv_node_map_add(args, "note", pv_node_new_str("first", 5));
    pv_node_map_add(args, "note", pv_node_new_str("second", 6));
    pv_node *step = pv_node_new_map();
    pv_node_map_add(step, "tool", pv_node_new_str("issue_refund", 12));
    pv_node_map_add(step, "args", args);
    pv_node *steps = pv_node_new_seq();
    pv_node_seq_add(steps, step);
    pv_node *root = pv_node_new_map();
    pv_node_map_add(root, "steps", steps);
    pv_doc *doc = pv_doc_from_root("request", root);
    pv_diags d = {0};
    pv_plan *plan = NULL;
    assert_int_equal(pv_plan_from_node(spec, doc, doc->root, &plan, &d), PV_OK);
    assert_int_equal(d.n, 0);
    const pv_tool *tool = &spec->tools[plan->steps[0].tool];
    const pv_pval *note = &plan->steps[0].args[pv_tool_arg(tool, "note")];
    assert_int_equal(note->kind, PV_PV_LITERAL);
    assert_int_equal(note->lit.u.s.len, 6);
    assert_memory_equal(note->lit.u.s.ptr, "second", 6);
    pv_plan_free(plan);
    pv_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_valid_yaml),
        cmocka_unit_test(test_valid_json),
        cmocka_unit_test(test_doc_spec_id),
        cmocka_unit_test(test_repeated_key_keeps_last),
    };
    size_t n_fixed = sizeof fixed / sizeof fixed[0];
    size_t n_bad = sizeof bad / sizeof bad[0];
    struct CMUnitTest *tests = calloc(n_fixed + n_bad, sizeof *tests);
    memcpy(tests, fixed, sizeof fixed);
    for (size_t i = 0; i < n_bad; i++) {
        tests[n_fixed + i].name = bad[i].name;
        tests[n_fixed + i].test_func = test_bad;
        tests[n_fixed + i].initial_state = (void *)&bad[i];
    }
    int rc = _cmocka_run_group_tests("plan", tests, n_fixed + n_bad, setup, teardown);
    free(tests);
    return rc;
}
