/*
 * A msgpack writer into a caller's bounded buffer, for the protocol's responses: maps,
 * arrays, strings, binaries, integers, booleans and nil, each in its shortest encoding.
 * Overflow is sticky: the first value that does not fit sets `overflow`, nothing more is
 * written, and the caller checks once at the end (so a response that would exceed the
 * MTU fails cleanly, never writes past the buffer).
 */
#ifndef GLE_MPACK_WRITE_H
#define GLE_MPACK_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
} mpw_writer;

void mpw_init(mpw_writer *w, uint8_t *buf, size_t cap);
void mpw_map(mpw_writer *w, uint32_t entries);
void mpw_array(mpw_writer *w, uint32_t count);
/* a NUL-terminated string */
void mpw_str(mpw_writer *w, const char *s);
void mpw_strn(mpw_writer *w, const char *s, size_t len);
void mpw_bin(mpw_writer *w, const uint8_t *p, size_t len);
/* a bin header and len bytes left for the caller to fill; NULL on overflow */
uint8_t *mpw_bin_reserve(mpw_writer *w, size_t len);
void mpw_uint(mpw_writer *w, uint64_t v);
void mpw_int(mpw_writer *w, int64_t v);
void mpw_bool(mpw_writer *w, int v);
void mpw_nil(mpw_writer *w);
/* a float 64 from its IEEE 754 binary64 bit pattern (no floating point needed to write it) */
void mpw_f64_bits(mpw_writer *w, uint64_t bits);
/* a key (string) followed by a value: the common case of a map entry */
void mpw_kv_uint(mpw_writer *w, const char *key, uint64_t v);
void mpw_kv_int(mpw_writer *w, const char *key, int64_t v);
void mpw_kv_bool(mpw_writer *w, const char *key, int v);
void mpw_kv_str(mpw_writer *w, const char *key, const char *v);

#endif
