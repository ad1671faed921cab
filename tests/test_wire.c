/*
 * test_wire.c - the server's direct VerifyRequest decoder (server/wire.c)
 * against protobuf-c followed by pv_proto_request_to_doc, the path it
 * short-cuts. Whatever the direct decoder accepts must give exactly the
 * tree the other path gives (same keys in the same order, same scalars);
 * whatever it declines goes to protobuf-c, so declining is always safe,
 * but it must not decline the requests clients actually send.
 *
 * Requests: every example plan and random plans over every bundled spec
 * (with unknowns, refs, absent results), encoded by protobuf-c; then
 * random corruptions of those encodings (bytes flipped, inserted, cut,
 * fields repeated); then hand-made encodings of the cases the decoder
 * leaves to protobuf-c. PV_WIRE_PLANS and PV_WIRE_SEED run it longer or
 * differently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>

#include "../server/proto_conv.h"
#include "../server/wire.h"
#include "pv_doc.h"
#include "pv_engine.h"
#include "support/plangen.h"

#define DEFAULT_PLANS 400
#define DEFAULT_SEED 0x3172e5u
#define MUTATIONS_PER_PLAN 40
#define BUDGET ((size_t)64 << 20)

typedef struct counts {
    size_t accepted, declined, both_refused, corrupted_accepted;
} counts;

/*
 * Decode buf both ways. When the direct decoder accepts, protobuf-c must
 * accept too and give the same tree and spec/version/digest. Returns
 * whether the direct decoder accepted.
 */
static bool compare(const uint8_t *buf, size_t len, counts *c, const char *what)
{
    pv_wire_request wr;
    bool fast = pv_wire_request_to_doc(buf, len, BUDGET, &wr);
    Planverify__V1__VerifyRequest *req = planverify__v1__verify_request__unpack(NULL, len, buf);
    if (!fast) {
        c->declined++;
        c->both_refused += req == NULL;
        if (req)
            planverify__v1__verify_request__free_unpacked(req, NULL);
        return false;
    }
    c->accepted++;
    if (!req) {
        fprintf(stderr, "%s: the direct decoder accepted what protobuf-c refuses\n", what);
        pv_doc_free(wr.doc);
        fail();
    }
    pv_doc *ref = pv_proto_request_to_doc(req);
    bool same = pv_node_same(wr.doc->root, ref->root) && strcmp(wr.spec, req->spec) == 0 &&
                strcmp(wr.version, req->version) == 0 && strcmp(wr.digest, req->digest) == 0;
    if (!same)
        fprintf(stderr, "%s: the two decoders give different requests\n", what);
    pv_doc_free(ref);
    pv_doc_free(wr.doc);
    planverify__v1__verify_request__free_unpacked(req, NULL);
    assert_true(same);
    return true;
}

/* A plan file's text as protobuf-c encodes it; NULL when it does not
 * convert (the plan is malformed in a way the client refuses). */
static uint8_t *encode_plan(const char *name, const char *text, size_t *len)
{
    pv_doc *doc = NULL;
    pv_diags d = {0};
    uint8_t *out = NULL;
    if (pv_doc_parse(name, text, strlen(text), &doc, &d) == PV_OK) {
        Planverify__V1__VerifyRequest *req = NULL;
        if (pv_proto_request_from_doc(doc, &req, &d) == PV_OK) {
            /* pins, so that every field is exercised */
            free(req->version);
            req->version = strdup("2026.11.1");
            *len = planverify__v1__verify_request__get_packed_size(req);
            out = malloc(*len + 1);
            planverify__v1__verify_request__pack(req, out);
        }
        pv_proto_request_free(req);
    }
    pv_diags_clear(&d);
    pv_doc_free(doc);
    return out;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A corrupted copy of buf[0..len) in out (room for 2 * len + 16). */
static size_t mutate(uint64_t *rng, const uint8_t *buf, size_t len, uint8_t *out)
{
    memcpy(out, buf, len);
    size_t at = len ? next(rng) % len : 0;
    switch (next(rng) % 5) {
    case 0: /* flip a byte */
        if (len)
            out[at] ^= (uint8_t)(1u << (next(rng) % 8));
        return len;
    case 1: /* cut */
        return at;
    case 2: /* insert a byte */
        memmove(out + at + 1, out + at, len - at);
        out[at] = (uint8_t)next(rng);
        return len + 1;
    case 3: { /* repeat a span (a field seen twice) */
        size_t n = len - at < 16 ? len - at : 1 + next(rng) % 16;
        memcpy(out + len, buf + at, n);
        return len + n;
    }
    default: /* a random byte in place */
        if (len)
            out[at] = (uint8_t)next(rng);
        return len;
    }
}

static void check_encoding(const char *what, const uint8_t *buf, size_t len, uint64_t *rng,
                           counts *plain, counts *corrupt)
{
    /* What clients send must take the direct path. */
    assert_true(compare(buf, len, plain, what));
    uint8_t *m = malloc(2 * len + 16);
    for (int k = 0; k < MUTATIONS_PER_PLAN; k++) {
        size_t mlen = mutate(rng, buf, len, m);
        if (compare(m, mlen, corrupt, what))
            corrupt->corrupted_accepted++;
    }
    free(m);
}

static void test_examples_and_random_plans(void **state)
{
    (void)state;
    const char *src = pvt_source_dir();
    counts plain = {0}, corrupt = {0};
    uint64_t rng = pvt_seed_mix(pvt_env_u64("PV_WIRE_SEED", DEFAULT_SEED));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/specs/examples", src);
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *de;
    size_t examples = 0;
    while ((de = readdir(dp))) {
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".yaml") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char *text = calloc(1, 1 << 20);
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        fclose(f);
        text[n] = '\0';
        size_t len;
        uint8_t *buf = encode_plan(path, text, &len);
        free(text);
        if (!buf)
            continue;
        check_encoding(de->d_name, buf, len, &rng, &plain, &corrupt);
        free(buf);
        examples++;
    }
    closedir(dp);
    assert_true(examples >= 5);

    pvt_spec_set set = {0};
    assert_int_equal(pvt_spec_set_load(&set, src), 0);
    size_t plans = (size_t)pvt_env_u64("PV_WIRE_PLANS", DEFAULT_PLANS), random_encoded = 0;
    uint64_t seed = pvt_env_u64("PV_WIRE_SEED", DEFAULT_SEED);
    for (size_t i = 0; i < plans; i++) {
        pvt_spec_entry *e = &set.specs[i % set.n_specs];
        pvt_rng r = {pvt_seed_mix(seed + i)};
        char id[64];
        snprintf(id, sizeof id, "wire-%zu", i);
        char *text = pvt_plan_generate(&r, e->spec, &e->pools, i % 2 == 0, id);
        /* the generator writes plan files without `spec:` for some specs;
         * name it so the request is complete */
        size_t tl = strlen(text) + strlen(e->spec->id) + 16;
        char *full = malloc(tl);
        snprintf(full, tl, "spec: %s\n%s", e->spec->id, text);
        size_t len;
        uint8_t *buf = encode_plan(id, strstr(text, "spec:") ? text : full, &len);
        free(full);
        free(text);
        if (!buf)
            continue;
        char what[128];
        snprintf(what, sizeof what, "plan %zu of seed %" PRIu64 " (%s)", i, seed, e->name);
        check_encoding(what, buf, len, &rng, &plain, &corrupt);
        free(buf);
        random_encoded++;
    }
    pvt_spec_set_free(&set);
    fprintf(stderr,
            "test_wire: %zu examples and %zu random plans, all on the direct path; %zu "
            "corruptions: %zu decoded directly (equal to protobuf-c), %zu left to protobuf-c "
            "(%zu of which it refuses too)\n",
            examples,
            random_encoded,
            corrupt.accepted + corrupt.declined,
            corrupt.accepted,
            corrupt.declined,
            corrupt.both_refused);
    assert_true(random_encoded > plans / 2);
    assert_int_equal(plain.declined, 0);
}

/* Hand-made encodings: key bytes are (field << 3) | wire type. */
static void test_declines_what_protobuf_c_interprets(void **state)
{
    (void)state;
    counts c = {0};
    /* spec "s", a step with tool "t" and args {a: Value{int_value 1,
     * bool_value true}}: two members of the oneof (protobuf-c keeps the
     * last) */
    static const uint8_t oneof_twice[] = {0x0a,
                                          0x01,
                                          's',
                                          0x32,
                                          0x0e,
                                          0x12,
                                          0x01,
                                          't',
                                          0x1a,
                                          0x09,
                                          0x0a,
                                          0x01,
                                          'a',
                                          0x12,
                                          0x04,
                                          0x08,
                                          0x01,
                                          0x10,
                                          0x01};
    /* an unknown field 9 (varint) at the top */
    static const uint8_t unknown_field[] = {0x0a, 0x01, 's', 0x48, 0x05};
    /* bool_value 2 */
    static const uint8_t bool_two[] = {0x0a,
                                       0x01,
                                       's',
                                       0x32,
                                       0x0c,
                                       0x12,
                                       0x01,
                                       't',
                                       0x1a,
                                       0x07,
                                       0x0a,
                                       0x01,
                                       'a',
                                       0x12,
                                       0x02,
                                       0x10,
                                       0x02};
    /* spec given twice */
    static const uint8_t spec_twice[] = {0x0a, 0x01, 's', 0x0a, 0x01, 'u'};
    assert_false(compare(oneof_twice, sizeof oneof_twice, &c, "oneof twice"));
    assert_false(compare(unknown_field, sizeof unknown_field, &c, "unknown field"));
    assert_false(compare(bool_two, sizeof bool_two, &c, "bool 2"));
    assert_false(compare(spec_twice, sizeof spec_twice, &c, "spec twice"));
    /* each of those protobuf-c decodes (the server then answers from its
     * decoding): declining them loses nothing */
    assert_int_equal(c.both_refused, 0);
    assert_int_equal(c.declined, 4);
}

static void test_exact_trees(void **state)
{
    (void)state;
    counts c = {0};
    /* empty: no spec, an empty step list */
    pv_wire_request wr;
    assert_true(pv_wire_request_to_doc((const uint8_t *)"", 0, BUDGET, &wr));
    assert_string_equal(wr.spec, "");
    assert_int_equal(wr.doc->root->n, 1);
    assert_string_equal(wr.doc->root->keys[0]->str.ptr, "steps");
    assert_int_equal(wr.doc->root->items[0]->n, 0);
    pv_doc_free(wr.doc);
    /* a string with a NUL byte is cut there, as protobuf-c's C string is */
    static const uint8_t nul[] = {0x0a, 0x03, 's', 0, 'x', 0x32, 0x03, 0x12, 0x01, 't'};
    assert_true(compare(nul, sizeof nul, &c, "nul"));
    assert_true(pv_wire_request_to_doc(nul, sizeof nul, BUDGET, &wr));
    assert_string_equal(wr.spec, "s");
    const pv_node *steps = pv_node_get(wr.doc->root, "steps");
    assert_non_null(steps);
    assert_int_equal(steps->n, 1);
    const pv_node *st = steps->items[0];
    /* tool and an empty args map; no id, no result */
    assert_int_equal(st->n, 2);
    assert_string_equal(st->keys[0]->str.ptr, "tool");
    assert_string_equal(st->items[0]->str.ptr, "t");
    assert_string_equal(st->keys[1]->str.ptr, "args");
    assert_int_equal(st->items[1]->n, 0);
    pv_doc_free(wr.doc);
    /* int -5 (ten-byte varint), ref, unknown, has_result with no fields */
    static const uint8_t vals[] = {0x0a, 0x01, 's',  0x32, 0x2c, 0x12, 0x01, 't',  0x1a, 0x10,
                                   0x0a, 0x01, 'n',  0x12, 0x0b, 0x08, 0xfb, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a, 0x0a, 0x0a, 0x01,
                                   'r',  0x12, 0x05, 0x22, 0x03, 'a',  '.',  'b',  0x1a, 0x07,
                                   0x0a, 0x01, 'u',  0x12, 0x02, 0x28, 0x01, 0x28, 0x01};
    assert_true(compare(vals, sizeof vals, &c, "values"));
    assert_true(pv_wire_request_to_doc(vals, sizeof vals, BUDGET, &wr));
    st = pv_node_get(wr.doc->root, "steps")->items[0];
    const pv_node *args = pv_node_get(st, "args");
    assert_int_equal(args->n, 3);
    assert_int_equal(args->items[0]->skind, PV_S_INT);
    assert_int_equal(args->items[0]->ival, -5);
    assert_string_equal(args->items[0]->str.ptr, "-5");
    assert_string_equal(pv_node_get(args->items[1], "ref")->str.ptr, "a.b");
    assert_true(pv_node_get(args->items[2], "unknown")->bval);
    const pv_node *res = pv_node_get(st, "result");
    assert_non_null(res);
    assert_int_equal(res->n, 0);
    pv_doc_free(wr.doc);
    /* over a tiny budget: declined, for protobuf-c to judge */
    assert_false(pv_wire_request_to_doc(vals, sizeof vals, 64, &wr));
}

/* The direct Verdict encoder against protobuf-c packing
 * pv_verdict_to_proto's message: the same bytes, for the verdicts of
 * random plans over every spec (findings of every kind, witnesses with
 * every value type, empty and absent fields) and for Verdict.executed. */
static void test_verdict_bytes(void **state)
{
    (void)state;
    pvt_spec_set set = {0};
    assert_int_equal(pvt_spec_set_load(&set, pvt_source_dir()), 0);
    pv_engine *eng = NULL;
    assert_int_equal(pv_engine_new(&eng), PV_OK);
    uint64_t seed = pvt_env_u64("PV_WIRE_SEED", DEFAULT_SEED);
    size_t compared = 0, with_witness = 0;
    for (size_t i = 0; i < 240; i++) {
        pvt_spec_entry *e = &set.specs[i % set.n_specs];
        pvt_rng r = {pvt_seed_mix(seed + 7919 * i)};
        char id[64];
        snprintf(id, sizeof id, "verdict-%zu", i);
        char *text = pvt_plan_generate(&r, e->spec, &e->pools, i % 3 != 0, id);
        pv_diags d = {0};
        pv_doc *doc = NULL;
        pv_plan *plan = NULL;
        pv_verdict *v = NULL;
        if (pv_doc_parse(id, text, strlen(text), &doc, &d) == PV_OK &&
            pv_plan_from_node(e->spec, doc, doc->root, &plan, &d) == PV_OK &&
            pv_engine_verify(eng, e->spec, plan, NULL, &v, &d) == PV_OK) {
            for (int32_t executed = 0; executed <= 3; executed += 3) {
                Planverify__V1__Verdict *p = pv_verdict_to_proto(e->spec, v);
                p->executed = executed;
                size_t len = planverify__v1__verdict__get_packed_size(p);
                uint8_t *want = malloc(len + 1);
                planverify__v1__verdict__pack(p, want);
                pv_buf got = {0};
                pv_wire_verdict(e->spec, v, executed, &got);
                if (got.len != len || memcmp(got.ptr, want, len) != 0)
                    fprintf(stderr,
                            "test_wire: %s (%s, seed %" PRIu64 "): %zu bytes encoded, protobuf-c "
                            "packs %zu\n",
                            id,
                            e->name,
                            seed,
                            got.len,
                            len);
                assert_int_equal(got.len, len);
                assert_memory_equal(got.ptr, want, len);
                free(got.ptr);
                free(want);
                pv_proto_verdict_free(p);
            }
            compared++;
            for (size_t k = 0; k < v->n_findings; k++)
                with_witness += v->findings[k].n_witness > 0;
        }
        pv_verdict_free(v);
        pv_plan_free(plan);
        pv_doc_free(doc);
        pv_diags_clear(&d);
        free(text);
    }
    fprintf(stderr,
            "test_wire: %zu verdicts encoded as protobuf-c packs them (%zu findings with "
            "witnesses)\n",
            compared,
            with_witness);
    assert_true(compared > 150);
    assert_true(with_witness > 50);
    pv_engine_free(eng);
    pvt_spec_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_trees),
        cmocka_unit_test(test_declines_what_protobuf_c_interprets),
        cmocka_unit_test(test_examples_and_random_plans),
        cmocka_unit_test(test_verdict_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
