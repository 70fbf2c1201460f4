#include "gle_mpack_write.h"

void mpw_init(mpw_writer *w, uint8_t *buf, size_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

/* room for n more bytes, or overflow */
static uint8_t *room(mpw_writer *w, size_t n) {
    uint8_t *p;
    if (w->overflow || w->cap - w->len < n) { w->overflow = 1; return 0; }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

/* a type byte followed by v as n big-endian bytes */
static void typed(mpw_writer *w, uint8_t type, uint64_t v, unsigned n) {
    uint8_t *p = room(w, 1 + (size_t)n);
    unsigned i;
    if (!p) return;
    p[0] = type;
    for (i = 0; i < n; i++) p[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* a container or blob header: fix form below fix_limit, else the 8-, 16- or 32-bit length forms from t8 on */
static void header(mpw_writer *w, uint8_t fix, uint32_t fix_limit, int t8, int t16, uint32_t n) {
    if (n < fix_limit) typed(w, (uint8_t)(fix | n), 0, 0);
    else if (t8 >= 0 && n <= 0xFFu) typed(w, (uint8_t)t8, n, 1);
    else if (n <= 0xFFFFu) typed(w, (uint8_t)t16, n, 2);
    else typed(w, (uint8_t)(t16 + 1), n, 4);
}

void mpw_map(mpw_writer *w, uint32_t entries) { header(w, 0x80, 16, -1, 0xde, entries); }
void mpw_array(mpw_writer *w, uint32_t count) { header(w, 0x90, 16, -1, 0xdc, count); }

void mpw_strn(mpw_writer *w, const char *s, size_t len) {
    uint8_t *p;
    size_t i;
    if (len > 0xFFFFFFFFu) { w->overflow = 1; return; }
    header(w, 0xa0, 32, 0xd9, 0xda, (uint32_t)len);
    p = room(w, len);
    if (p) for (i = 0; i < len; i++) p[i] = (uint8_t)s[i];
}

void mpw_str(mpw_writer *w, const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    mpw_strn(w, s, n);
}

uint8_t *mpw_bin_reserve(mpw_writer *w, size_t len) {
    if (len > 0xFFFFFFFFu) { w->overflow = 1; return 0; }
    header(w, 0, 0, 0xc4, 0xc5, (uint32_t)len);
    return room(w, len);
}

void mpw_bin(mpw_writer *w, const uint8_t *p, size_t len) {
    uint8_t *d = mpw_bin_reserve(w, len);
    size_t i;
    if (d) for (i = 0; i < len; i++) d[i] = p[i];
}

void mpw_uint(mpw_writer *w, uint64_t v) {
    if (v <= 0x7Fu) typed(w, (uint8_t)v, 0, 0);
    else if (v <= 0xFFu) typed(w, 0xcc, v, 1);
    else if (v <= 0xFFFFu) typed(w, 0xcd, v, 2);
    else if (v <= 0xFFFFFFFFu) typed(w, 0xce, v, 4);
    else typed(w, 0xcf, v, 8);
}

void mpw_int(mpw_writer *w, int64_t v) {
    if (v >= 0) { mpw_uint(w, (uint64_t)v); return; }
    if (v >= -32) typed(w, (uint8_t)(0xe0u | ((uint64_t)v & 0x1Fu)), 0, 0);
    else if (v >= -128) typed(w, 0xd0, (uint64_t)v, 1);
    else if (v >= -32768) typed(w, 0xd1, (uint64_t)v, 2);
    else if (v >= -2147483647L - 1) typed(w, 0xd2, (uint64_t)v, 4);
    else typed(w, 0xd3, (uint64_t)v, 8);
}

void mpw_bool(mpw_writer *w, int v) { typed(w, v ? 0xc3 : 0xc2, 0, 0); }
void mpw_nil(mpw_writer *w) { typed(w, 0xc0, 0, 0); }
void mpw_f64_bits(mpw_writer *w, uint64_t bits) { typed(w, 0xcb, bits, 8); }

void mpw_kv_uint(mpw_writer *w, const char *key, uint64_t v) { mpw_str(w, key); mpw_uint(w, v); }
void mpw_kv_int(mpw_writer *w, const char *key, int64_t v) { mpw_str(w, key); mpw_int(w, v); }
void mpw_kv_bool(mpw_writer *w, const char *key, int v) { mpw_str(w, key); mpw_bool(w, v); }
void mpw_kv_str(mpw_writer *w, const char *key, const char *v) { mpw_str(w, key); mpw_str(w, v); }
