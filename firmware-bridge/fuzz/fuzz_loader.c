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
#include "fuzz_mutate.h"

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
static const uint8_t *g_corpus_at[MAX_CORPUS];
static unsigned long g_unchanged;

int main(int argc, char **argv) {
    unsigned long iterations, i;
    int files = 0, a;
    if (argc < 4) { fprintf(stderr, "usage: fuzz_loader ITERATIONS SEED FILE...\n"); return 2; }
    iterations = strtoul(argv[1], 0, 10);
    fuzz_seed(strtoull(argv[2], 0, 10));
    for (a = 3; a < argc && files < MAX_CORPUS; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) { fprintf(stderr, "fuzz_loader: %s: cannot open\n", argv[a]); return 2; }
        g_corpus_len[files] = fread(g_corpus[files], 1, sizeof g_corpus[files], f);
        g_corpus_at[files] = g_corpus[files];
        fclose(f);
        files++;
    }
    if (files == 0) return 2;
    for (i = 0; i < iterations; i++) {
        unsigned c = (unsigned)fuzz_below((size_t)files);
        size_t len = g_corpus_len[c];
        unsigned long before = g_loaded_raw;
        int unchanged;
        memcpy(g_mut, g_corpus[c], len);
        len = fuzz_mutate(g_mut, len, MAX_INPUT, g_corpus_at, g_corpus_len, MAX_CORPUS);
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
