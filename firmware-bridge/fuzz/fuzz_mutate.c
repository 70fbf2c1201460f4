#include <string.h>
#include "fuzz_mutate.h"

static uint64_t g_rng = 1;

void fuzz_seed(uint64_t seed) {
    g_rng = 0x9e3779b97f4a7c15ULL ^ seed;
    if (g_rng == 0) g_rng = 1;
}

/* xorshift64*: enough for choosing mutations, reproducible from the seed */
uint32_t fuzz_rnd(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 2685821657736338717ULL) >> 32);
}

size_t fuzz_below(size_t n) { return n == 0 ? 0 : (size_t)(fuzz_rnd() % (uint32_t)n); }

static const uint8_t INTERESTING[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc2, 0xc3, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3,
                                      0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc5, 0xc6, 0xd9, 0xdb, 0x8f, 0x9f, 0xbf, 0xe0, 0x10, 0x20, 0x40};

size_t fuzz_mutate(uint8_t *buf, size_t len, size_t cap, const uint8_t *const *corpus, const size_t *corpus_len, unsigned count) {
    unsigned m, rounds = 1 + (unsigned)fuzz_below(8);
    for (m = 0; m < rounds; m++) {
        size_t at = fuzz_below(len ? len : 1), n;
        switch (fuzz_rnd() % 9) {
        case 0: if (len) buf[at] ^= (uint8_t)(1u << (fuzz_rnd() % 8)); break;
        case 1: if (len) buf[at] = (uint8_t)fuzz_rnd(); break;
        case 2: if (len) buf[at] = INTERESTING[fuzz_below(sizeof INTERESTING)]; break;
        case 3: /* insert bytes */
            n = 1 + fuzz_below(16);
            if (len + n < cap) { size_t k; memmove(buf + at + n, buf + at, len - at); for (k = 0; k < n; k++) buf[at + k] = (uint8_t)fuzz_rnd(); len += n; }
            break;
        case 4: /* delete a range */
            n = 1 + fuzz_below(32);
            if (at + n <= len) { memmove(buf + at, buf + at + n, len - at - n); len -= n; }
            break;
        case 5: len = fuzz_below(len + 1); break;
        case 6: /* copy a range inside the input */
            if (len > 8) { size_t from = fuzz_below(len), k = 1 + fuzz_below(64); if (from + k > len) k = len - from; if (at + k > len) k = len - at; memmove(buf + at, buf + from, k); }
            break;
        case 7: /* a big-endian boundary integer */
            if (at + 4 <= len) { uint32_t v = (fuzz_rnd() & 1) ? 0xffffffffu : (fuzz_rnd() & 1) ? 0x7fffffffu : 0x80000000u >> (fuzz_rnd() % 32); buf[at] = (uint8_t)(v >> 24); buf[at + 1] = (uint8_t)(v >> 16); buf[at + 2] = (uint8_t)(v >> 8); buf[at + 3] = (uint8_t)v; }
            break;
        default: /* splice another corpus entry's bytes */
            {
                unsigned c = (unsigned)fuzz_below(count);
                if (corpus_len[c] > 0) { size_t from = fuzz_below(corpus_len[c]), k = 1 + fuzz_below(256); if (from + k > corpus_len[c]) k = corpus_len[c] - from; if (at + k > len) k = len - at; memcpy(buf + at, corpus[c] + from, k); }
            }
            break;
        }
    }
    return len;
}
