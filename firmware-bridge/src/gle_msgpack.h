/*
 * A bounds-checked msgpack reader for the descriptor loader: no allocation, no
 * recursion beyond a fixed depth, every length checked against the bytes left before it
 * is used, so arbitrary input can only make it fail, never read out of bounds.
 * Floats are never converted: the loader only needs their sign and finiteness.
 */
#ifndef GLE_MSGPACK_H
#define GLE_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} mp_reader;

enum {
    MP_NIL, MP_BOOL, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT, MP_INVALID, MP_END
};

void mp_init(mp_reader *r, const uint8_t *buf, size_t len);
/* the kind of the next value without consuming it (MP_END at the end of the buffer) */
int mp_peek(const mp_reader *r);
/* each returns 0 on success and -1 (consuming nothing useful) on a type mismatch or truncation */
int mp_read_map(mp_reader *r, uint32_t *count);
int mp_read_array(mp_reader *r, uint32_t *count);
int mp_read_str(mp_reader *r, const uint8_t **s, uint32_t *len);
int mp_read_bin(mp_reader *r, const uint8_t **p, uint32_t *len);
/* integers of any msgpack width that fit int64 */
int mp_read_int(mp_reader *r, int64_t *v);
int mp_read_bool(mp_reader *r, int *v);
int mp_read_nil(mp_reader *r);
/* a number (int or float); *sign is -1, 0 or 1 and *finite 0 for NaN and infinities */
int mp_read_number_sign(mp_reader *r, int *sign, int *finite);
/* skips one complete value; nesting deeper than max_depth fails */
int mp_skip(mp_reader *r, int max_depth);
/* 1 when the string equals the NUL-terminated key */
int mp_str_eq(const uint8_t *s, uint32_t len, const char *key);
/* In the map at *map (not consumed): the value of the first entry whose key is the string key, in *val; 1 when found, 0 when missing or malformed */
int mp_find_key(const mp_reader *map, const char *key, mp_reader *val);

#endif
