/*
 * Fuzzing the descriptor loader and, through it, the engine. Each input is loaded
 * twice: as it is (so the envelope checks meet damaged files) and re-sealed with a
 * correct SHA-256 (so the content parser and every bound meet arbitrary content, which
 * a hash would otherwise stop first). Whatever the loader accepts is then run for a few
 * steps with arbitrary inputs: under AddressSanitizer and UndefinedBehaviorSanitizer
 * that checks the bounds are enough to make any accepted descriptor safe to execute.
 *
 * LLVMFuzzerTestOneInput is the libFuzzer entry point. Without GLE_LIBFUZZER this file
 * also has its own driver: a seeded random-mutation loop over a corpus of descriptors.
 *   fuzz_loader ITERATIONS SEED FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/gle.h"
#include "../src/gle_sha256.h"

#define MAX_INPUT (1u << 20)
static uint8_t g_work[MAX_INPUT];
static int32_t g_x[GLE_LIMIT_SIZE];
static unsigned long g_loaded_raw, g_loaded_sealed, g_status[16];

static void try_input(const uint8_t *data, size_t size) {
    gle_error err;
    gle_status st = gle_load(data, size, &err);
    g_status[st & 15]++;
    if (st == GLE_OK) {
        gle_info info;
        uint32_t j, t;
        g_loaded_sealed++;
        gle_get_info(&info);
        for (t = 0; t < 3; t++) {
            for (j = 0; j < info.input_size; j++) {
                uint32_t b = (uint32_t)data[(j * 7u + t) % size];
                g_x[j] = (int32_t)((b << 24) | (b << 9) | b) - (int32_t)(b << 3);
            }
            gle_step(g_x);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAX_INPUT) return 0;
    if (gle_load(data, size, 0) == GLE_OK) g_loaded_raw++;
    if (size >= 41) {
        memcpy(g_work, data, size);
        gle_sha256(g_work, size - 32 - 9, g_work + size - 32);
        try_input(g_work, size);
    }
    return 0;
}

#ifndef GLE_LIBFUZZER

#define MAX_CORPUS 32
static uint8_t g_corpus[MAX_CORPUS][MAX_INPUT / 4];
static size_t g_corpus_len[MAX_CORPUS];
static uint8_t g_mut[MAX_INPUT];
static uint64_t g_rng;
static unsigned long g_unchanged;

/* xorshift64*: enough for choosing mutations, reproducible from the seed */
static uint32_t rnd(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 2685821657736338717ULL) >> 32);
}
static size_t below(size_t n) { return n == 0 ? 0 : (size_t)(rnd() % (uint32_t)n); }

static const uint8_t INTERESTING[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc2, 0xc3, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3,
                                      0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc5, 0xc6, 0xd9, 0xdb, 0x8f, 0x9f, 0xbf, 0xe0, 0x10, 0x20, 0x40};

static size_t mutate(size_t len) {
    unsigned m, rounds = 1 + (unsigned)below(8);
    for (m = 0; m < rounds; m++) {
        size_t at = below(len ? len : 1), n;
        switch (rnd() % 9) {
        case 0: if (len) g_mut[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 1: if (len) g_mut[at] = (uint8_t)rnd(); break;
        case 2: if (len) g_mut[at] = INTERESTING[below(sizeof INTERESTING)]; break;
        case 3: /* insert bytes */
            n = 1 + below(16);
            if (len + n < MAX_INPUT) { size_t k; memmove(g_mut + at + n, g_mut + at, len - at); for (k = 0; k < n; k++) g_mut[at + k] = (uint8_t)rnd(); len += n; }
            break;
        case 4: /* delete a range */
            n = 1 + below(32);
            if (at + n <= len) { memmove(g_mut + at, g_mut + at + n, len - at - n); len -= n; }
            break;
        case 5: len = below(len + 1); break;
        case 6: /* copy a range inside the input */
            if (len > 8) { size_t from = below(len), k = 1 + below(64); if (from + k > len) k = len - from; if (at + k > len) k = len - at; memmove(g_mut + at, g_mut + from, k); }
            break;
        case 7: /* a big-endian boundary integer */
            if (at + 4 <= len) { uint32_t v = (rnd() & 1) ? 0xffffffffu : (rnd() & 1) ? 0x7fffffffu : 0x80000000u >> (rnd() % 32); g_mut[at] = (uint8_t)(v >> 24); g_mut[at + 1] = (uint8_t)(v >> 16); g_mut[at + 2] = (uint8_t)(v >> 8); g_mut[at + 3] = (uint8_t)v; }
            break;
        default: /* splice another corpus entry's bytes */
            {
                unsigned c = (unsigned)below(MAX_CORPUS);
                if (g_corpus_len[c] > 0) { size_t from = below(g_corpus_len[c]), k = 1 + below(256); if (from + k > g_corpus_len[c]) k = g_corpus_len[c] - from; if (at + k > len) k = len - at; memcpy(g_mut + at, g_corpus[c] + from, k); }
            }
            break;
        }
    }
    return len;
}

int main(int argc, char **argv) {
    unsigned long iterations, i;
    int files = 0, a;
    if (argc < 4) { fprintf(stderr, "usage: fuzz_loader ITERATIONS SEED FILE...\n"); return 2; }
    iterations = strtoul(argv[1], 0, 10);
    g_rng = 0x9e3779b97f4a7c15ULL ^ strtoull(argv[2], 0, 10);
    if (g_rng == 0) g_rng = 1;
    for (a = 3; a < argc && files < MAX_CORPUS; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) { fprintf(stderr, "fuzz_loader: %s: cannot open\n", argv[a]); return 2; }
        g_corpus_len[files] = fread(g_corpus[files], 1, sizeof g_corpus[files], f);
        fclose(f);
        files++;
    }
    if (files == 0) return 2;
    for (i = 0; i < iterations; i++) {
        unsigned c = (unsigned)below((size_t)files);
        size_t len = g_corpus_len[c];
        unsigned long before = g_loaded_raw;
        int unchanged;
        memcpy(g_mut, g_corpus[c], len);
        len = mutate(len);
        unchanged = len == g_corpus_len[c] && memcmp(g_mut, g_corpus[c], len) == 0;
        if (unchanged) g_unchanged++;
        LLVMFuzzerTestOneInput(g_mut, len);
        /* a changed file must never pass the hash */
        if (g_loaded_raw != before && !unchanged) {
            fprintf(stderr, "fuzz_loader: a modified descriptor was accepted without re-sealing (iteration %lu)\n", i);
            abort();
        }
    }
    printf("{\"inputs\":%lu,\"unchangedByMutation\":%lu,\"loadsTried\":%lu,\"acceptedAsIs\":%lu,\"acceptedResealed\":%lu,\"corpusFiles\":%d,"
           "\"refusedByStatus\":{\"truncated\":%lu,\"magic\":%lu,\"version\":%lu,\"hash\":%lu,\"format\":%lu,\"bounds\":%lu,\"capacity\":%lu}}\n",
           iterations, g_unchanged, 2 * iterations, g_loaded_raw, g_loaded_sealed, files, g_status[GLE_E_TRUNCATED], g_status[GLE_E_MAGIC],
           g_status[GLE_E_VERSION], g_status[GLE_E_HASH], g_status[GLE_E_FORMAT], g_status[GLE_E_BOUNDS], g_status[GLE_E_CAPACITY]);
    return 0;
}
#endif
