/*
 * test_spec.c - the spec loader: a valid spec loads into exactly the
 * expected structure; broken specs produce exactly the expected messages at
 * exactly the expected positions, all of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_plan.h"
#include "support/diags.h"
#include "pv_spec.h"

static const char valid_spec[] =
    "spec: support-refunds\n"
    "version: \"2026.11.1\"\n"
    "description: Support agent.\n"
    "limits: {max_steps: 64, solver_timeout_ms: 250}\n"
    "constants:\n"
    "  max_refund: 500\n"
    "  company_domain: acme.com\n"
    "state:\n"
    "  refunded_total: {type: int, init: 0, min: 0}\n"
    "  approvals:      {type: int, init: 0}\n"
    "  pii_in_context: {type: bool, init: false}\n"
    "  env:            {type: enum, values: [staging, production]}\n"
    "tools:\n"
    "  lookup_order:\n"
    "    description: Read an order.\n"
    "    args:    {order_id: string}\n"
    "    returns: {amount: int, age_days: int, email: string}\n"
    "    ensures: \"result.amount >= 0 && result.age_days >= 0\"\n"
    "  issue_refund:\n"
    "    irreversible: true\n"
    "    args:    {order_id: string, amount: {type: int, min: 1}}\n"
    "    requires: \"args.amount <= 5000\"\n"
    "    effects:\n"
    "      refunded_total: \"refunded_total + args.amount\"\n"
    "  request_approval:\n"
    "    args: {reason: string, target: {type: enum, values: [production, staging], optional: "
    "true, default: staging}}\n"
    "    effects: {approvals: \"approvals + 1\"}\n"
    "scope:\n"
    "  handles: [order status, returns under 30 days]\n"
    "  excludes:\n"
    "    - id: payment-disputes\n"
    "      tools: [open_dispute]\n"
    "      escalate_to: billing-team\n"
    "    - id: big-lookups\n"
    "      tools: lookup_order\n"
    "      when: \"starts_with(args.order_id, 'VIP')\"\n"
    "      escalate_to: vip-desk\n"
    "invariants:\n"
    "  - id: refund-over-500-needs-approval\n"
    "    on: issue_refund\n"
    "    assert: \"args.amount <= max_refund || approvals > 0\"\n"
    "    action: escalate\n"
    "    escalate_to: finance-approvers\n"
    "    enforcement: planverify Verify gate\n"
    "  - id: refunds-per-plan-cap\n"
    "    always: \"refunded_total <= 1000\"\n"
    "    action: block\n"
    "  - id: order-ids\n"
    "    on: [lookup_order, issue_refund]\n"
    "    assert: \"len(args.order_id) > 0\"\n"
    "    action: clarify\n"
    "failure_modes:\n"
    "  unknown_tool: {action: escalate, escalate_to: platform-team}\n"
    "  precondition: block\n"
    "tests:\n"
    "  - name: small refund\n"
    "    initial_state: {refunded_total: 0}\n"
    "    plan:\n"
    "      - {id: look, tool: lookup_order, args: {order_id: A1}, result: {amount: 40}}\n"
    "      - {tool: issue_refund, args: {order_id: A1, amount: {ref: look.amount}}}\n"
    "    expect: {decision: allow}\n"
    "  - name: split refunds\n"
    "    plan:\n"
    "      - {tool: issue_refund, args: {order_id: A1, amount: 450}}\n"
    "    expect: {decision: block, violations: [refunds-per-plan-cap, order-ids], step: 2}\n";

static pv_spec *load_ok(const char *text)
{
    pv_diags d = {0};
    pv_spec *s = NULL;
    int rc = pv_spec_load("t.yaml", text, strlen(text), &s, &d);
    for (size_t i = 0; i < d.n; i++) {
        char *m = pv_diag_format(&d.items[i]);
        fprintf(stderr, "unexpected: %s\n", m);
        free(m);
    }
    assert_int_equal(rc, PV_OK);
    assert_int_equal(d.n, 0);
    assert_non_null(s);
    pv_diags_clear(&d);
    return s;
}

static void test_valid_structure(void **state)
{
    (void)state;
    pv_spec *s = load_ok(valid_spec);
    assert_string_equal(s->id, "support-refunds");
    assert_string_equal(s->version, "2026.11.1");
    assert_string_equal(s->description, "Support agent.");
    assert_int_equal(s->max_steps, 64);
    assert_int_equal(s->solver_timeout_ms, 250);
    assert_int_equal(strlen(s->digest), 7 + 64);
    assert_memory_equal(s->digest, "sha256:", 7);

    assert_int_equal(s->n_constants, 2);
    assert_string_equal(s->constants[0].name, "max_refund");
    assert_int_equal(s->constants[0].value.type.kind, PV_T_INT);
    assert_int_equal(s->constants[0].value.u.i, 500);
    assert_string_equal(s->constants[1].value.u.s.ptr, "acme.com");

    assert_int_equal(s->n_state, 4);
    assert_string_equal(s->state[0].name, "refunded_total");
    assert_int_equal(s->state[0].type.kind, PV_T_INT);
    assert_true(s->state[0].has_init);
    assert_int_equal(s->state[0].init.u.i, 0);
    assert_true(s->state[0].has_min);
    assert_int_equal(s->state[0].min, 0);
    assert_false(s->state[0].has_max);
    assert_int_equal(s->state[2].type.kind, PV_T_BOOL);
    assert_false(s->state[2].init.u.b);
    assert_int_equal(s->state[3].type.kind, PV_T_ENUM);
    assert_false(s->state[3].has_init);
    /* one enum: [production, staging] declared twice in different orders */
    assert_int_equal(s->n_enums, 1);
    assert_int_equal(s->enums[0].n, 2);
    assert_string_equal(s->enums[0].values[0], "production");
    assert_string_equal(s->enums[0].values[1], "staging");
    assert_int_equal(s->state[3].pos.line, 12);
    assert_int_equal(s->state[3].pos.col, 3);

    assert_int_equal(s->n_tools, 3);
    const pv_tool *lk = &s->tools[0], *rf = &s->tools[1], *ap = &s->tools[2];
    assert_string_equal(lk->name, "lookup_order");
    assert_false(lk->irreversible);
    assert_int_equal(lk->n_args, 1);
    assert_int_equal(lk->n_returns, 3);
    assert_string_equal(lk->returns[2].name, "email");
    assert_int_equal(lk->returns[2].type.kind, PV_T_STRING);
    assert_non_null(lk->ensures);
    assert_null(lk->requires);
    assert_string_equal(lk->ensures_src, "result.amount >= 0 && result.age_days >= 0");
    assert_true(rf->irreversible);
    assert_int_equal(rf->n_args, 2);
    assert_true(rf->args[1].has_min);
    assert_int_equal(rf->args[1].min, 1);
    assert_int_equal(rf->n_effects, 1);
    assert_int_equal(rf->effects[0].var, 0);
    assert_string_equal(rf->effects[0].src, "refunded_total + args.amount");
    assert_int_equal(ap->args[1].type.kind, PV_T_ENUM);
    assert_int_equal(ap->args[1].type.enum_id, 0);
    assert_true(ap->args[1].optional);
    assert_true(ap->args[1].has_default);
    assert_int_equal(ap->args[1].dflt.u.e, 1); /* staging */
    assert_int_equal(ap->effects[0].var, 1);

    assert_int_equal(s->n_handles, 2);
    assert_string_equal(s->handles[1], "returns under 30 days");
    assert_int_equal(s->n_excludes, 2);
    assert_string_equal(s->excludes[0].id, "payment-disputes");
    assert_int_equal(s->excludes[0].n_tools, 1);
    assert_string_equal(s->excludes[0].tools[0], "open_dispute");
    assert_int_equal(s->excludes[0].tool_index[0], -1);
    assert_null(s->excludes[0].when);
    assert_string_equal(s->excludes[0].escalate_to, "billing-team");
    assert_int_equal(s->excludes[1].tool_index[0], 0);
    assert_non_null(s->excludes[1].when);

    assert_int_equal(s->n_invariants, 3);
    const pv_invariant *r0 = &s->invariants[0], *r1 = &s->invariants[1], *r2 = &s->invariants[2];
    assert_string_equal(r0->id, "refund-over-500-needs-approval");
    assert_int_equal(r0->kind, PV_RULE_CALL);
    assert_int_equal(r0->n_on, 1);
    assert_int_equal(r0->on_tools[0], 1);
    assert_int_equal(r0->action, PV_ACT_ESCALATE);
    assert_string_equal(r0->escalate_to, "finance-approvers");
    assert_string_equal(r0->enforcement, "planverify Verify gate");
    assert_int_equal(r1->kind, PV_RULE_STATE);
    assert_int_equal(r1->action, PV_ACT_BLOCK);
    assert_null(r1->escalate_to);
    assert_null(r1->enforcement);
    assert_string_equal(r1->cond_src, "refunded_total <= 1000");
    assert_int_equal(r2->n_on, 2);
    assert_int_equal(r2->action, PV_ACT_CLARIFY);

    assert_int_equal(s->failure_modes[PV_FAIL_UNKNOWN_TOOL].action, PV_ACT_ESCALATE);
    assert_string_equal(s->failure_modes[PV_FAIL_UNKNOWN_TOOL].escalate_to, "platform-team");
    assert_int_equal(s->failure_modes[PV_FAIL_PRECONDITION].action, PV_ACT_BLOCK);
    assert_int_equal(s->failure_modes[PV_FAIL_MISSING_ARGUMENT].action, PV_ACT_CLARIFY);
    assert_false(s->failure_modes[PV_FAIL_MISSING_ARGUMENT].given);
    assert_int_equal(s->failure_modes[PV_FAIL_SOLVER_UNKNOWN].action, PV_ACT_HALT);
    assert_int_equal(s->failure_modes[PV_FAIL_BUDGET_EXCEEDED].action, PV_ACT_HALT);

    assert_int_equal(s->n_tests, 2);
    const pv_test *t0 = &s->tests[0], *t1 = &s->tests[1];
    assert_string_equal(t0->name, "small refund");
    assert_int_equal(t0->expect.decision, PV_ACT_ALLOW);
    assert_false(t0->expect.has_violations);
    assert_false(t0->expect.has_step);
    assert_int_equal(t0->plan->n_steps, 2);
    assert_string_equal(t0->plan->steps[0].id, "look");
    assert_int_equal(t0->plan->steps[0].tool, 0);
    assert_true(t0->plan->steps[0].has_result);
    assert_int_equal(t0->plan->steps[0].result[0].kind, PV_PV_LITERAL);
    assert_int_equal(t0->plan->steps[0].result[0].lit.u.i, 40);
    assert_int_equal(t0->plan->steps[0].result[1].kind, PV_PV_ABSENT);
    assert_int_equal(t0->plan->steps[1].args[1].kind, PV_PV_REF);
    assert_int_equal(t0->plan->steps[1].args[1].ref_step, 0);
    assert_int_equal(t0->plan->steps[1].args[1].ref_field, 0);
    assert_int_equal(t0->plan->initial[0].kind, PV_PV_LITERAL);
    assert_int_equal(t0->plan->initial[1].kind, PV_PV_ABSENT);
    assert_int_equal(t1->expect.decision, PV_ACT_BLOCK);
    assert_true(t1->expect.has_violations);
    assert_int_equal(t1->expect.n_violations, 2);
    assert_string_equal(t1->expect.violations[0], "order-ids"); /* sorted */
    assert_string_equal(t1->expect.violations[1], "refunds-per-plan-cap");
    assert_true(t1->expect.has_step);
    assert_int_equal(t1->expect.step, 2);
    pv_spec_free(s);
}

static void test_digest_is_sha256_of_source(void **state)
{
    (void)state;
    pv_spec *s = load_ok("spec: a\nversion: '1'\ntools: {t: {}}\n");
    /* printf 'spec: a\nversion: '"'"'1'"'"'\ntools: {t: {}}\n' | sha256sum */
    assert_string_equal(s->digest,
                        "sha256:c17e6d8a84834778e412560334b87dc94351129dbde0d364a4e032c91f5ca8a8");
    pv_spec_free(s);
}

static void test_defaults(void **state)
{
    (void)state;
    pv_spec *s = load_ok("spec: a\nversion: v1\ntools:\n  ping:\n");
    assert_int_equal(s->max_steps, PV_DEFAULT_MAX_STEPS);
    assert_int_equal(s->solver_timeout_ms, PV_DEFAULT_SOLVER_TIMEOUT_MS);
    assert_int_equal(s->n_tools, 1);
    assert_int_equal(s->tools[0].n_args, 0);
    assert_int_equal(s->failure_modes[PV_FAIL_UNKNOWN_TOOL].action, PV_ACT_BLOCK);
    assert_int_equal(s->failure_modes[PV_FAIL_MISSING_ARGUMENT].action, PV_ACT_CLARIFY);
    assert_int_equal(s->failure_modes[PV_FAIL_PRECONDITION].action, PV_ACT_HALT);
    assert_int_equal(s->n_invariants, 0);
    pv_spec_free(s);
}

/* ------------------------------------------------------------------ */
/* broken specs                                                        */

typedef struct broken_case {
    const char *name;
    const char *yaml;
    const char *errors[4]; /* "line:col: message", all of them, in order */
} broken_case;

#define HEAD "spec: s\nversion: v1\n"

static const broken_case broken[] = {
    {"misspelled top-level key",
     HEAD "tools: {t: {}}\ninvariant:\n  - id: x\n",
     {"4:1: unknown key 'invariant' in the spec; did you mean 'invariants'?"}},
    {"unknown top-level key without suggestion",
     HEAD "tools: {t: {}}\nzebra: 1\n",
     {"4:1: unknown key 'zebra' in the spec; expected one of: spec, version, description, limits, "
      "state, constants, tools, scope, invariants, failure_modes, tests"}},
    {"missing spec id",
     "version: v1\ntools: {t: {}}\n",
     {"1:1: missing required key 'spec' (the spec's id)"}},
    {"bad spec id",
     "spec: Support\nversion: v1\ntools: {t: {}}\n",
     {"1:7: invalid spec id 'Support': expected ^[a-z][a-z0-9_-]{0,63}$"}},
    {"missing version and tools",
     "spec: s\n",
     {"1:1: missing required key 'version'",
      "1:1: missing required key 'tools' (the tools the agent may call)"}},
    {"numeric version",
     "spec: s\nversion: 1.10\ntools: {t: {}}\n",
     {"2:10: version must be a string, found the number 1.10 (quote it: \"1.10\")"}},
    {"duplicate key",
     HEAD "tools: {t: {}}\nversion: v2\n",
     {"4:1: duplicate key 'version' (first at line 2, column 1)"}},
    {"misspelled tool key",
     HEAD "tools:\n  t:\n    arguments: {x: int}\n",
     {"5:5: unknown key 'arguments' in tool 't'; did you mean 'args'?"}},
    {"unknown type",
     HEAD "tools:\n  t:\n    args: {x: integer}\n",
     {"5:15: unknown type 'integer'; did you mean 'int'?"}},
    {"enum without values",
     HEAD "state:\n  env: {type: enum}\ntools: {t: {}}\n",
     {"4:15: state variable 'env': an enum needs 'values'"}},
    {"enum short form",
     HEAD "state:\n  env: enum\ntools: {t: {}}\n",
     {"4:8: state variable 'env': an enum needs its values: {type: enum, values: [a, b]}"}},
    {"duplicate enum value",
     HEAD "state:\n  env: {type: enum, values: [a, b, a]}\ntools: {t: {}}\n",
     {"4:36: duplicate enum value 'a'"}},
    {"init outside enum",
     HEAD
     "state:\n  env: {type: enum, values: [staging, production], init: prod}\ntools: {t: {}}\n",
     {"4:58: state variable 'env': init 'prod' is not a value of enum [production, staging]; "
      "did you mean 'production'?"}},
    {"init of the wrong type",
     HEAD "state:\n  n: {type: int, init: 'zero'}\ntools: {t: {}}\n",
     {"4:24: state variable 'n': init expected an int, found the string 'zero'"}},
    {"init below min",
     HEAD "state:\n  n: {type: int, init: -1, min: 0}\ntools: {t: {}}\n",
     {"4:24: state variable 'n': init -1 is below the minimum 0 of 'n'"}},
    {"min above max",
     HEAD "state:\n  n: {type: int, min: 5, max: 1}\ntools: {t: {}}\n",
     {"4:23: state variable 'n': min 5 is greater than max 1"}},
    {"min on a string",
     HEAD "tools:\n  t:\n    args: {s: {type: string, min: 1}}\n",
     {"5:35: argument 's': 'min' and 'max' are only allowed with type int"}},
    {"init on an argument",
     HEAD "tools:\n  t:\n    args: {n: {type: int, init: 1}}\n",
     {"5:33: argument 'n': 'init' is only allowed on state variables"}},
    {"optional on state",
     HEAD "state:\n  n: {type: int, optional: true}\ntools: {t: {}}\n",
     {"4:28: state variable 'n': 'optional' is only allowed on tool arguments"}},
    {"reserved name",
     HEAD "state:\n  args: int\ntools: {t: {}}\n",
     {"4:3: 'args' is a reserved word and cannot name a state variable"}},
    {"constant clashes with state",
     HEAD "constants: {cap: 5}\nstate:\n  cap: int\ntools: {t: {}}\n",
     {"3:13: constant 'cap' has the name of a state variable"}},
    {"effect on undeclared state",
     HEAD "state:\n  total: int\ntools:\n  t:\n    effects: {totl: \"total + 1\"}\n",
     {"7:15: effect of tool 't' assigns 'totl', which is not a state variable; did you mean "
      "'total'?"}},
    {"effect of the wrong type",
     HEAD "state:\n  total: int\ntools:\n  t:\n    effects: {total: \"true\"}\n",
     {"7:23: effect on 'total' of tool 't': the value of an effect must have its state "
      "variable's type, int; found bool"}},
    {"expression syntax error at its column",
     HEAD "state:\n  total: int\ninvariants:\n  - id: cap\n    always: \"total <= \"\n"
          "    action: block\ntools: {t: {}}\n",
     {"7:23: invariant 'cap': expected an operand after '<=', found end of expression"}},
    {"unknown name in an expression",
     HEAD "state:\n  total: int\ninvariants:\n  - id: cap\n    always: \"totl <= 5\"\n"
          "    action: block\ntools: {t: {}}\n",
     {"7:14: invariant 'cap': unknown name 'totl'; did you mean 'total'?"}},
    {"args in a state rule",
     HEAD "invariants:\n  - id: cap\n    always: \"args.x > 0\"\n    action: block\n"
          "tools: {t: {args: {x: int}}}\n",
     {"5:14: invariant 'cap': args.x is not available in a state rule (always:), which sees "
      "only the state"}},
    {"escalate without escalate_to",
     HEAD "invariants:\n  - id: r\n    on: t\n    assert: \"true\"\n    action: escalate\n"
          "tools: {t: {}}\n",
     {"7:13: invariant 'r': action escalate needs escalate_to (who handles it)"}},
    {"escalate_to with block",
     HEAD "invariants:\n  - id: r\n    on: t\n    assert: \"true\"\n    action: block\n"
          "    escalate_to: ops\ntools: {t: {}}\n",
     {"8:18: invariant 'r': escalate_to is only used with action: escalate (action is block)"}},
    {"unknown action",
     HEAD "invariants:\n  - id: r\n    on: t\n    assert: \"true\"\n    action: blok\n"
          "tools: {t: {}}\n",
     {"7:13: invariant 'r': unknown action 'blok'; did you mean 'block'?"}},
    {"allow is not a rule action",
     HEAD "invariants:\n  - id: r\n    always: \"true\"\n    action: allow\ntools: {t: {}}\n",
     {"6:13: invariant 'r': 'allow' is not an action for a rule; expected block, escalate, "
      "clarify or halt"}},
    {"on names an undeclared tool",
     HEAD "invariants:\n  - id: r\n    on: [delete_user]\n    assert: \"true\"\n    action: block\n"
          "tools: {refund_order: {}}\n",
     {"5:10: on names 'delete_user', which is not a declared tool"}},
    {"on with a typo",
     HEAD "invariants:\n  - id: r\n    on: isue_refund\n    assert: \"true\"\n    action: block\n"
          "tools: {issue_refund: {}}\n",
     {"5:9: on names 'isue_refund', which is not a declared tool; did you mean 'issue_refund'?"}},
    {"assert without on",
     HEAD "invariants:\n  - id: r\n    assert: \"true\"\n    action: block\ntools: {t: {}}\n",
     {"5:13: invariant 'r': 'assert' needs 'on', the tools it guards (or use 'always' for a "
      "rule over the state)"}},
    {"both always and assert",
     HEAD "invariants:\n  - id: r\n    on: t\n    assert: \"true\"\n    always: \"true\"\n"
          "    action: block\ntools: {t: {}}\n",
     {"7:13: invariant 'r': give either 'on' with 'assert' (a call rule) or 'always' (a state "
      "rule), not both"}},
    {"duplicate invariant id",
     HEAD "invariants:\n  - {id: r, always: \"true\", action: block}\n"
          "  - {id: r, always: \"false\", action: halt}\ntools: {t: {}}\n",
     {"5:10: duplicate id 'r' (first at line 4, column 10)"}},
    {"exclusion id clashes with an invariant",
     HEAD "invariants:\n  - {id: r, always: \"true\", action: block}\n"
          "scope:\n  excludes:\n    - {id: r, tools: [x], escalate_to: ops}\ntools: {t: {}}\n",
     {"7:12: duplicate id 'r' (first at line 4, column 10)"}},
    {"exclusion without escalate_to",
     HEAD "scope:\n  excludes:\n    - id: legal\n      tools: [legal_advice]\ntools: {t: {}}\n",
     {"5:7: exclusion 'legal': missing 'escalate_to': every exclusion names who handles it"}},
    {"reserved rule id",
     HEAD "invariants:\n  - {id: unknown_tool, always: \"true\", action: block}\ntools: {t: {}}\n",
     {"4:10: id 'unknown_tool' is reserved for the failure mode of that name"}},
    {"tool named twice in on",
     HEAD "invariants:\n  - {id: r, on: [t, t], assert: \"true\", action: block}\ntools: {t: {}}\n",
     {"4:21: on names tool 't' twice"}},
    {"unknown failure mode",
     HEAD "failure_modes:\n  unknown_tools: block\ntools: {t: {}}\n",
     {"4:3: unknown key 'unknown_tools' in failure_modes; did you mean 'unknown_tool'?"}},
    {"short-form escalate failure mode",
     HEAD "failure_modes:\n  precondition: escalate\ntools: {t: {}}\n",
     {"4:17: failure mode 'precondition': action escalate needs escalate_to (who handles it)"}},
    {"test expecting an unknown rule",
     HEAD "invariants:\n  - {id: cap, always: \"true\", action: block}\ntools: {t: {}}\n"
          "tests:\n  - name: x\n    plan: [{tool: t}]\n    expect: {decision: block, violations: "
          "[capp]}\n",
     {"9:44: test 'x': 'capp' is not a rule id or failure mode; did you mean 'cap'?"}},
    {"test with a bad decision",
     HEAD "tools: {t: {}}\ntests:\n  - name: x\n    plan: []\n    expect: {decision: deny}\n",
     {"7:24: test 'x': decision must be allow, clarify, escalate, halt or block, found the "
      "string 'deny'"}},
    {"test plan with an unknown argument",
     HEAD "tools: {t: {args: {amount: int}}}\ntests:\n  - name: x\n    plan:\n"
          "      - {tool: t, args: {amont: 5}}\n    expect: {decision: allow}\n",
     {"7:26: step 0: unknown argument 'amont' of tool 't'; did you mean 'amount'?"}},
    {"errors in several sections are all reported",
     HEAD "state:\n  n: {type: int, init: x}\ntools:\n  t:\n    requires: \"n +\"\n"
          "invariants:\n  - {id: r, always: \"m > 0\", action: stop}\n",
     {"4:24: state variable 'n': init expected an int, found the string 'x'",
      "7:19: requires of tool 't': expected an operand after '+', found end of expression",
      "9:38: invariant 'r': unknown action 'stop'; expected block, escalate, clarify or halt",
      "9:22: invariant 'r': unknown name 'm'"}},
    {"invalid YAML",
     HEAD "tools: {t: {}\n",
     {"4:1: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at "
      "line 3, column 8)"}},
    {"empty document",
     "",
     {"1:1: the spec is empty; expected a mapping with at least 'spec', 'version' and 'tools'"}},
    {"a list instead of a mapping",
     "- spec: s\n",
     {"1:1: a spec must be a mapping, found a sequence"}},
};

/* One cmocka test per broken spec, so each case passes or fails by name. */
static void test_broken(void **state)
{
    const broken_case *bc = *state;
    pv_diags d = {0};
    pv_spec *s = NULL;
    int rc = pv_spec_load("t.yaml", bc->yaml, strlen(bc->yaml), &s, &d);
    bool ok = pvt_expect_diags(bc->name, rc, rc != PV_OK && s == NULL, &d, bc->errors, 4);
    pv_spec_free(s);
    pv_diags_clear(&d);
    assert_true(ok);
}

static void test_file_errors(void **state)
{
    (void)state;
    pv_diags d = {0};
    pv_spec *s = NULL;
    assert_int_equal(pv_spec_load_file("/nonexistent/spec.yaml", &s, &d), PV_EIO);
    assert_null(s);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].file, "/nonexistent/spec.yaml");
    assert_string_equal(d.items[0].msg, "cannot read: No such file or directory");
    pv_diags_clear(&d);
}

static void test_enum_structural_sharing(void **state)
{
    (void)state;
    pv_spec *s = load_ok("spec: a\nversion: v\nstate:\n"
                         "  a: {type: enum, values: [x, y]}\n"
                         "  b: {type: enum, values: [y, x]}\n"
                         "  c: {type: enum, values: [x, y, z]}\n"
                         "tools:\n  t:\n    effects: {a: b}\n");
    assert_int_equal(s->n_enums, 2);
    assert_int_equal(s->state[0].type.enum_id, s->state[1].type.enum_id);
    assert_int_not_equal(s->state[0].type.enum_id, s->state[2].type.enum_id);
    pv_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_valid_structure),
        cmocka_unit_test(test_digest_is_sha256_of_source),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_enum_structural_sharing),
    };
    size_t n_fixed = sizeof fixed / sizeof fixed[0];
    size_t n_broken = sizeof broken / sizeof broken[0];
    struct CMUnitTest *tests = calloc(n_fixed + n_broken, sizeof *tests);
    memcpy(tests, fixed, sizeof fixed);
    for (size_t i = 0; i < n_broken; i++) {
        tests[n_fixed + i].name = broken[i].name;
        tests[n_fixed + i].test_func = test_broken;
        tests[n_fixed + i].initial_state = (void *)&broken[i];
    }
    int rc = _cmocka_run_group_tests("spec", tests, n_fixed + n_broken, NULL, NULL);
    free(tests);
    return rc;
}
