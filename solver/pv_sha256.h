/*
 * pv_sha256.h - SHA-256 (FIPS 180-4), used for spec digests
 * ("sha256:<hex>" in every verdict).
 *
 * One-shot functions for whole buffers, and an incremental API for data
 * that arrives in pieces. Neither allocates nor fails.
 */
#ifndef PV_SHA256_H
#define PV_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PV_SHA256_DIGEST_SIZE 32
#define PV_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

/* Incremental hashing state. Treat as opaque; it holds no pointers, so it
 * may be copied to hash a common prefix once. */
typedef struct pv_sha256_ctx {
    uint32_t h[8];     /* the running hash value */
    uint64_t total;    /* bytes fed so far */
    uint8_t block[64]; /* a partly filled input block */
    size_t block_len;  /* bytes used in block, always < 64 */
} pv_sha256_ctx;

/* Start a new hash. */
void pv_sha256_init(pv_sha256_ctx *ctx);

/* Feed len bytes. data may be NULL when len is 0. */
void pv_sha256_update(pv_sha256_ctx *ctx, const void *data, size_t len);

/* Finish and write the 32-byte digest. The context must be initialised
 * again before reuse. */
void pv_sha256_final(pv_sha256_ctx *ctx, uint8_t out[PV_SHA256_DIGEST_SIZE]);

/* The digest of one buffer. data may be NULL when len is 0. */
void pv_sha256(const void *data, size_t len, uint8_t out[PV_SHA256_DIGEST_SIZE]);

/* The digest of one buffer as 64 lowercase hex digits and a NUL. */
void pv_sha256_hex(const void *data, size_t len, char out[PV_SHA256_HEX_SIZE]);

/* Write a 32-byte digest as 64 lowercase hex digits and a NUL. */
void pv_sha256_to_hex(const uint8_t digest[PV_SHA256_DIGEST_SIZE], char out[PV_SHA256_HEX_SIZE]);

#endif
