/*
 * The random mutations both fuzzing drivers use (fuzz_loader.c, fuzz_proto.c): a seeded
 * xorshift generator and byte-level mutations (bit flips, boundary values, insertions,
 * deletions, truncation, copies, splices from a corpus), reproducible from the seed.
 */
#ifndef FUZZ_MUTATE_H
#define FUZZ_MUTATE_H

#include <stddef.h>
#include <stdint.h>

void fuzz_seed(uint64_t seed);
uint32_t fuzz_rnd(void);
/* uniform in 0..n-1 (0 when n is 0) */
size_t fuzz_below(size_t n);
/* 1 to 8 mutations of buf[0..len) in place, never beyond cap bytes; splices come from
 * corpus[0..count) (entries may be empty). Returns the new length. */
size_t fuzz_mutate(uint8_t *buf, size_t len, size_t cap, const uint8_t *const *corpus, const size_t *corpus_len, unsigned count);

#endif
