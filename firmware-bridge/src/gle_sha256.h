/*
 * SHA-256 (FIPS 180-4), small and portable: the descriptor's integrity check must not
 * depend on a crypto library the board may not have. Streaming interface so a board can
 * hash a descriptor as it arrives over the link.
 */
#ifndef GLE_SHA256_H
#define GLE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length_bytes;
    uint8_t block[64];
    uint32_t fill;
} gle_sha256_ctx;

void gle_sha256_init(gle_sha256_ctx *ctx);
void gle_sha256_update(gle_sha256_ctx *ctx, const uint8_t *data, size_t len);
void gle_sha256_final(gle_sha256_ctx *ctx, uint8_t digest[32]);
void gle_sha256(const uint8_t *data, size_t len, uint8_t digest[32]);

#endif
