/*
 * test_sha256.c - SHA-256 against the FIPS 180-2/NIST example vectors and
 * against digests computed with coreutils' sha256sum for inputs whose
 * lengths sit on the padding boundaries (55, 56, 63, 64, 65 bytes), where a
 * padding bug would show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pv_sha256.h"

static void check_hex(const void *data, size_t len, const char *expected)
{
    char hex[PV_SHA256_HEX_SIZE];
    memset(hex, 'x', sizeof hex);
    pv_sha256_hex(data, len, hex);
    assert_int_equal(hex[64], '\0');
    assert_string_equal(hex, expected);
}

static void check_str(const char *s, const char *expected)
{
    check_hex(s, strlen(s), expected);
}

/* "abcd...zabcd...": byte i is 'a' + i % 26. */
static char *alphabet_run(size_t len)
{
    char *p = malloc(len + 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)('a' + i % 26);
    p[len] = '\0';
    return p;
}

/* Bytes that cover all 256 values, including those with the top bit set. */
static uint8_t *binary_run(size_t len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 31 + 7) & 0xff);
    return p;
}

static void test_empty(void **state)
{
    (void)state;
    const char *want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    check_str("", want);
    check_hex(NULL, 0, want);
}

static void test_abc(void **state)
{
    (void)state;
    check_str("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_448_bits(void **state)
{
    (void)state;
    check_str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **state)
{
    (void)state;
    check_str("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
              "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    (void)state;
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'a', n);
    check_hex(buf, n, want);

    /* The same message fed in uneven pieces must give the same digest. */
    pv_sha256_ctx ctx;
    uint8_t digest[PV_SHA256_DIGEST_SIZE];
    char hex[PV_SHA256_HEX_SIZE];
    pv_sha256_init(&ctx);
    size_t done = 0, piece = 1;
    while (done < n) {
        size_t take = piece < n - done ? piece : n - done;
        pv_sha256_update(&ctx, buf + done, take);
        done += take;
        piece = piece * 7 % 997 + 1;
    }
    pv_sha256_final(&ctx, digest);
    pv_sha256_to_hex(digest, hex);
    assert_string_equal(hex, want);
    free(buf);
}

/* Digests from: python3 -c "print(end=''.join(chr(97+i%26) for i in range(N)))" | sha256sum */
static void test_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {55, "595615dbe4f0f407ae397d08b4c2cb870cb9b0e11937416f950c5160acf9c005"},
        {56, "784f623b787495078e93ff28a25b581df0584055a7e71d8cd90c454716b92f51"},
        {63, "5ca3e1ef5207490eac01a795e5cc94d59582a5118bf9534665c8668d87aa647c"},
        {64, "2fcd5a0d60e4c941381fcc4e00a4bf8be422c3ddfafb93c809e8d1e2bfffae8e"},
        {65, "1b3cd1877ab2f2f19f7be001722554f336cb799df0329de0bb4c118dc6abc06d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *msg = alphabet_run(cases[i].len);
        check_hex(msg, cases[i].len, cases[i].hex);
        free(msg);
    }
}

/* Digest from: bytes (i*31+7) & 0xff for i < 1000, through sha256sum. */
static void test_binary_bytes(void **state)
{
    (void)state;
    uint8_t *msg = binary_run(1000);
    check_hex(msg, 1000, "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179");
    free(msg);
}

/* Splitting a message at any point, including into empty pieces, must not
 * change its digest. */
static void test_incremental_matches_one_shot(void **state)
{
    (void)state;
    const size_t n = 200;
    uint8_t *msg = binary_run(n);
    uint8_t want[PV_SHA256_DIGEST_SIZE], got[PV_SHA256_DIGEST_SIZE];
    pv_sha256(msg, n, want);

    for (size_t a = 0; a <= n; a++) {
        size_t b = a + (n - a) / 2;
        pv_sha256_ctx ctx;
        pv_sha256_init(&ctx);
        pv_sha256_update(&ctx, msg, a);
        pv_sha256_update(&ctx, NULL, 0);
        pv_sha256_update(&ctx, msg + a, b - a);
        pv_sha256_update(&ctx, msg + b, n - b);
        pv_sha256_final(&ctx, got);
        assert_memory_equal(got, want, sizeof want);
    }
    free(msg);
}

/* A context may be copied to reuse the hash of a common prefix. */
static void test_context_copy(void **state)
{
    (void)state;
    pv_sha256_ctx base, copy;
    uint8_t digest[PV_SHA256_DIGEST_SIZE];
    char hex[PV_SHA256_HEX_SIZE];

    pv_sha256_init(&base);
    pv_sha256_update(&base, "ab", 2);
    copy = base;
    pv_sha256_update(&copy, "c", 1);
    pv_sha256_final(&copy, digest);
    pv_sha256_to_hex(digest, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    pv_sha256_final(&base, digest);
    pv_sha256_to_hex(digest, hex);
    assert_string_equal(hex, "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_448_bits),
        cmocka_unit_test(test_896_bits),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_binary_bytes),
        cmocka_unit_test(test_incremental_matches_one_shot),
        cmocka_unit_test(test_context_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
