#include "gle_msgpack.h"

void mp_init(mp_reader *r, const uint8_t *buf, size_t len) {
    r->buf = buf;
    r->len = len;
    r->pos = 0;
}

static int have(const mp_reader *r, size_t n) { return r->len - r->pos >= n; }

static uint64_t be(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

int mp_peek(const mp_reader *r) {
    uint8_t t;
    if (!have(r, 1)) return MP_END;
    t = r->buf[r->pos];
    if (t <= 0x7f || t >= 0xe0) return MP_INT;
    if (t <= 0x8f) return MP_MAP;
    if (t <= 0x9f) return MP_ARRAY;
    if (t <= 0xbf) return MP_STR;
    switch (t) {
    case 0xc0: return MP_NIL;
    case 0xc2: case 0xc3: return MP_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return MP_BIN;
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return MP_EXT;
    case 0xca: case 0xcb: return MP_FLOAT;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MP_INT;
    case 0xd9: case 0xda: case 0xdb: return MP_STR;
    case 0xdc: case 0xdd: return MP_ARRAY;
    case 0xde: case 0xdf: return MP_MAP;
    default: return MP_INVALID;
    }
}

/* A length prefix of n bytes after the type byte. */
static int read_len(mp_reader *r, unsigned n, uint32_t *len) {
    if (!have(r, 1 + (size_t)n)) return -1;
    *len = (uint32_t)be(r->buf + r->pos + 1, n);
    r->pos += 1 + (size_t)n;
    return 0;
}

static int read_container(mp_reader *r, int kind, uint32_t *count) {
    uint8_t t;
    if (!have(r, 1)) return -1;
    t = r->buf[r->pos];
    if (kind == MP_MAP) {
        if (t >= 0x80 && t <= 0x8f) { *count = t & 0x0fu; r->pos++; return 0; }
        if (t == 0xde) return read_len(r, 2, count);
        if (t == 0xdf) return read_len(r, 4, count);
    } else {
        if (t >= 0x90 && t <= 0x9f) { *count = t & 0x0fu; r->pos++; return 0; }
        if (t == 0xdc) return read_len(r, 2, count);
        if (t == 0xdd) return read_len(r, 4, count);
    }
    return -1;
}

int mp_read_map(mp_reader *r, uint32_t *count) { return read_container(r, MP_MAP, count); }
int mp_read_array(mp_reader *r, uint32_t *count) { return read_container(r, MP_ARRAY, count); }

static int read_blob(mp_reader *r, int kind, const uint8_t **p, uint32_t *len) {
    size_t save = r->pos;
    uint8_t t;
    uint32_t n;
    if (!have(r, 1)) return -1;
    t = r->buf[r->pos];
    if (kind == MP_STR && t >= 0xa0 && t <= 0xbf) { n = t & 0x1fu; r->pos++; }
    else if (kind == MP_STR && t >= 0xd9 && t <= 0xdb) { if (read_len(r, 1u << (t - 0xd9), &n)) return -1; }
    else if (kind == MP_BIN && t >= 0xc4 && t <= 0xc6) { if (read_len(r, 1u << (t - 0xc4), &n)) return -1; }
    else return -1;
    if (!have(r, n)) { r->pos = save; return -1; }
    *p = r->buf + r->pos;
    *len = n;
    r->pos += n;
    return 0;
}

int mp_read_str(mp_reader *r, const uint8_t **s, uint32_t *len) { return read_blob(r, MP_STR, s, len); }
int mp_read_bin(mp_reader *r, const uint8_t **p, uint32_t *len) { return read_blob(r, MP_BIN, p, len); }

int mp_read_int(mp_reader *r, int64_t *v) {
    uint8_t t;
    unsigned n;
    uint64_t u;
    if (!have(r, 1)) return -1;
    t = r->buf[r->pos];
    if (t <= 0x7f) { *v = t; r->pos++; return 0; }
    if (t >= 0xe0) { *v = (int64_t)t - 256; r->pos++; return 0; }
    if (t >= 0xcc && t <= 0xcf) {
        n = 1u << (t - 0xcc);
        if (!have(r, 1 + (size_t)n)) return -1;
        u = be(r->buf + r->pos + 1, n);
        if (u > (uint64_t)INT64_MAX) return -1;
        *v = (int64_t)u;
        r->pos += 1 + (size_t)n;
        return 0;
    }
    if (t >= 0xd0 && t <= 0xd3) {
        n = 1u << (t - 0xd0);
        if (!have(r, 1 + (size_t)n)) return -1;
        u = be(r->buf + r->pos + 1, n);
        /* sign-extend from n bytes without shifting a negative value */
        if (n < 8 && (u >> (8 * n - 1)) & 1u) {
            *v = -(int64_t)(((~u) & ((((uint64_t)1) << (8 * n)) - 1u)) + 1u);
        } else if (n == 8 && (u >> 63) & 1u) {
            *v = (u == ((uint64_t)1 << 63)) ? INT64_MIN : -(int64_t)((~u) + 1u);
        } else {
            *v = (int64_t)u;
        }
        r->pos += 1 + (size_t)n;
        return 0;
    }
    return -1;
}

int mp_read_bool(mp_reader *r, int *v) {
    if (!have(r, 1)) return -1;
    if (r->buf[r->pos] == 0xc2) { *v = 0; r->pos++; return 0; }
    if (r->buf[r->pos] == 0xc3) { *v = 1; r->pos++; return 0; }
    return -1;
}

int mp_read_nil(mp_reader *r) {
    if (!have(r, 1) || r->buf[r->pos] != 0xc0) return -1;
    r->pos++;
    return 0;
}

int mp_read_number_sign(mp_reader *r, int *sign, int *finite) {
    uint8_t t;
    if (!have(r, 1)) return -1;
    t = r->buf[r->pos];
    if (t == 0xca || t == 0xcb) {
        unsigned n = t == 0xca ? 4u : 8u;
        unsigned expBits = t == 0xca ? 8u : 11u;
        uint64_t u, expo, mant;
        if (!have(r, 1 + (size_t)n)) return -1;
        u = be(r->buf + r->pos + 1, n);
        expo = (u >> (8 * n - 1 - expBits)) & ((((uint64_t)1) << expBits) - 1u);
        mant = u & ((((uint64_t)1) << (8 * n - 1 - expBits)) - 1u);
        *finite = expo != ((((uint64_t)1) << expBits) - 1u);
        if (expo == 0 && mant == 0) *sign = 0;
        else *sign = ((u >> (8 * n - 1)) & 1u) ? -1 : 1;
        r->pos += 1 + (size_t)n;
        return 0;
    } else {
        int64_t v;
        if (mp_read_int(r, &v)) return -1;
        *finite = 1;
        *sign = v > 0 ? 1 : v < 0 ? -1 : 0;
        return 0;
    }
}

int mp_skip(mp_reader *r, int max_depth) {
    uint8_t t;
    uint32_t n, i;
    const uint8_t *p;
    int64_t iv;
    if (!have(r, 1) || max_depth < 0) return -1;
    t = r->buf[r->pos];
    switch (mp_peek(r)) {
    case MP_NIL: case MP_BOOL: r->pos++; return 0;
    case MP_INT: return mp_read_int(r, &iv) == 0 ? 0 : (t == 0xcf && have(r, 9) ? (r->pos += 9, 0) : -1);
    case MP_FLOAT: { int s, f; return mp_read_number_sign(r, &s, &f); }
    case MP_STR: return mp_read_str(r, &p, &n);
    case MP_BIN: return mp_read_bin(r, &p, &n);
    case MP_EXT: {
        uint32_t size;
        size_t head;
        if (t >= 0xd4 && t <= 0xd8) { size = 1u << (t - 0xd4); head = 2; }
        else {
            unsigned lb = 1u << (t - 0xc7);
            if (!have(r, 1 + (size_t)lb)) return -1;
            size = (uint32_t)be(r->buf + r->pos + 1, lb);
            head = 1 + (size_t)lb + 1;
        }
        if (!have(r, head) || r->len - r->pos - head < size) return -1;
        r->pos += head + size;
        return 0;
    }
    case MP_ARRAY: case MP_MAP: {
        int isMap = mp_peek(r) == MP_MAP;
        if (read_container(r, isMap ? MP_MAP : MP_ARRAY, &n)) return -1;
        /* every element takes at least one byte: a count beyond the bytes left is a lie */
        if ((uint64_t)n * (isMap ? 2u : 1u) > (uint64_t)(r->len - r->pos)) return -1;
        for (i = 0; i < n * (isMap ? 2u : 1u); i++) {
            /* map keys must be scalars: readers that build objects (msgpackr) refuse the rest */
            if (isMap && (i & 1u) == 0) {
                int k = mp_peek(r);
                if (k != MP_STR && k != MP_INT && k != MP_FLOAT && k != MP_NIL && k != MP_BOOL) return -1;
            }
            if (mp_skip(r, max_depth - 1)) return -1;
        }
        return 0;
    }
    default: return -1;
    }
}

int mp_str_eq(const uint8_t *s, uint32_t len, const char *key) {
    uint32_t i;
    for (i = 0; i < len; i++) if (key[i] == '\0' || (uint8_t)key[i] != s[i]) return 0;
    return key[len] == '\0';
}

int mp_find_key(const mp_reader *map, const char *key, mp_reader *val) {
    mp_reader r = *map;
    uint32_t n, i;
    if (mp_read_map(&r, &n)) return 0;
    for (i = 0; i < n; i++) {
        if (mp_peek(&r) == MP_STR) {
            const uint8_t *k;
            uint32_t klen;
            if (mp_read_str(&r, &k, &klen)) return 0;
            if (mp_str_eq(k, klen, key)) { *val = r; return 1; }
        } else if (mp_skip(&r, 16)) {
            return 0;
        }
        if (mp_skip(&r, 16)) return 0;
    }
    return 0;
}
