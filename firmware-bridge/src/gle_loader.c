/*
 * The descriptor loader: firmware-bridge/DESCRIPTOR.md, checked in the order that keeps
 * damaged or foreign files from being interpreted at all (magic, version, trailer,
 * SHA-256, then the content and its bounds), and in two passes over the content: the
 * first only validates, the second copies into the engine. A refused descriptor
 * therefore never replaces the loaded one and never runs. Every check mirrors
 * validateDescriptor in src/descriptor/validate.ts, so both loaders accept the same files.
 */
#include <stdarg.h>
#include <stdio.h>
#include "gle_internal.h"
#include "gle_msgpack.h"
#include "gle_sha256.h"

#define SKIP_DEPTH 24
#define TRAILER_KEY_LEN 9
#define TRAILER_LEN (TRAILER_KEY_LEN + 32)
static const uint8_t TRAILER_KEY[TRAILER_KEY_LEN] = {0xa6, 's', 'h', 'a', '2', '5', '6', 0xc4, 0x20};

static gle_status fail(gle_error *err, gle_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->status = st;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

#define TRY(expr) do { gle_status st_ = (expr); if (st_ != GLE_OK) return st_; } while (0)

/* Finds key in the map at *map; *out is positioned at its value. Missing: *found = 0. */
static gle_status map_get(gle_error *err, const char *path, const mp_reader *map, const char *key, mp_reader *out, int *found) {
    mp_reader r = *map;
    uint32_t n, i;
    *found = 0;
    if (mp_read_map(&r, &n)) return fail(err, GLE_E_FORMAT, "%s: must be a map", path);
    if ((uint64_t)n * 2u > (uint64_t)(r.len - r.pos)) return fail(err, GLE_E_FORMAT, "%s: map claims more entries than bytes", path);
    for (i = 0; i < n; i++) {
        const uint8_t *k;
        uint32_t klen;
        if (mp_read_str(&r, &k, &klen)) return fail(err, GLE_E_FORMAT, "%s: map key %u is not a string", path, (unsigned)i);
        if (mp_str_eq(k, klen, key)) {
            if (*found) return fail(err, GLE_E_FORMAT, "%s.%s: key appears twice", path, key);
            *found = 1;
            *out = r;
        }
        if (mp_skip(&r, SKIP_DEPTH)) return fail(err, GLE_E_FORMAT, "%s: malformed value after key %u", path, (unsigned)i);
    }
    return GLE_OK;
}

static gle_status need(gle_error *err, const char *path, const mp_reader *map, const char *key, mp_reader *out) {
    int found;
    TRY(map_get(err, path, map, key, out, &found));
    if (!found) return fail(err, GLE_E_FORMAT, "%s.%s: missing", path, key);
    return GLE_OK;
}

static gle_status get_int(gle_error *err, const char *path, const mp_reader *map, const char *key, int64_t lo, int64_t hi, int64_t *v) {
    mp_reader r;
    TRY(need(err, path, map, key, &r));
    if (mp_read_int(&r, v)) return fail(err, GLE_E_FORMAT, "%s.%s: must be an integer", path, key);
    if (*v < lo || *v > hi) return fail(err, GLE_E_BOUNDS, "%s.%s: %lld is outside %lld..%lld", path, key, (long long)*v, (long long)lo, (long long)hi);
    return GLE_OK;
}

static gle_status get_str(gle_error *err, const char *path, const mp_reader *map, const char *key, const uint8_t **s, uint32_t *len) {
    mp_reader r;
    TRY(need(err, path, map, key, &r));
    if (mp_read_str(&r, s, len)) return fail(err, GLE_E_FORMAT, "%s.%s: must be a string", path, key);
    return GLE_OK;
}

/* bytes is 64-bit: nIn x nOut x 2 can pass 2^32, and a wrapped size must never match a short bin */
static gle_status get_bin(gle_error *err, const char *path, const mp_reader *map, const char *key, uint64_t bytes, const uint8_t **p) {
    mp_reader r;
    uint32_t len;
    TRY(need(err, path, map, key, &r));
    if (mp_read_bin(&r, p, &len)) return fail(err, GLE_E_FORMAT, "%s.%s: must be binary", path, key);
    if ((uint64_t)len != bytes) return fail(err, GLE_E_BOUNDS, "%s.%s: has %lu bytes, expected %llu", path, key, (unsigned long)len, (unsigned long long)bytes);
    return GLE_OK;
}

static gle_status get_map(gle_error *err, const char *path, const mp_reader *map, const char *key, mp_reader *out) {
    uint32_t n;
    mp_reader probe;
    TRY(need(err, path, map, key, out));
    probe = *out;
    if (mp_read_map(&probe, &n)) return fail(err, GLE_E_FORMAT, "%s.%s: must be a map", path, key);
    return GLE_OK;
}

static gle_status get_format(gle_error *err, const char *path, const mp_reader *map, const char *key, gle_fmt *f) {
    mp_reader r;
    uint32_t n, i;
    int64_t v[5];
    TRY(need(err, path, map, key, &r));
    if (mp_read_array(&r, &n) || n != 5) return fail(err, GLE_E_FORMAT, "%s.%s: must be an array of 5 integers", path, key);
    for (i = 0; i < 5; i++) if (mp_read_int(&r, &v[i])) return fail(err, GLE_E_FORMAT, "%s.%s[%u]: must be an integer", path, key, (unsigned)i);
    if (v[0] < 1 || v[0] > 32) return fail(err, GLE_E_BOUNDS, "%s.%s: width %lld is outside 1..32", path, key, (long long)v[0]);
    if (v[1] < -GLE_LIMIT_FRAC_ABS || v[1] > GLE_LIMIT_FRAC_ABS) return fail(err, GLE_E_BOUNDS, "%s.%s: fraction bits %lld are outside -64..64", path, key, (long long)v[1]);
    if (v[2] != 0 && v[2] != 1) return fail(err, GLE_E_BOUNDS, "%s.%s: signedness must be 0 or 1", path, key);
    if (v[3] < 0 || v[3] > 6) return fail(err, GLE_E_BOUNDS, "%s.%s: rounding code must be in 0..6", path, key);
    if (v[4] < 0 || v[4] > 3) return fail(err, GLE_E_BOUNDS, "%s.%s: overflow code must be in 0..3", path, key);
    gle_fmt_init(f, (int32_t)v[0], (int32_t)v[1], (int32_t)v[2], (int32_t)v[3], (int32_t)v[4]);
    return GLE_OK;
}

/* number > 0 and finite; nil allowed when optional */
static gle_status get_positive(gle_error *err, const char *path, const mp_reader *map, const char *key, int optional) {
    mp_reader r;
    int found, sign, finite;
    TRY(map_get(err, path, map, key, &r, &found));
    if (!found) return optional ? GLE_OK : fail(err, GLE_E_FORMAT, "%s.%s: missing", path, key);
    if (optional && mp_read_nil(&r) == 0) return GLE_OK;
    if (mp_read_number_sign(&r, &sign, &finite)) return fail(err, GLE_E_FORMAT, "%s.%s: must be a number", path, key);
    if (!finite || sign <= 0) return fail(err, GLE_E_BOUNDS, "%s.%s: must be a positive finite number", path, key);
    return GLE_OK;
}

static int32_t rd16s(const uint8_t *p) { return (int32_t)(int16_t)(uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }
static uint16_t rd16u(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }
static int32_t rd32s(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return (u & 0x80000000u) ? -(int32_t)((~u) & 0x7fffffffu) - 1 : (int32_t)u;
}

static void stored_range(const gle_fmt *f, int64_t *lo, int64_t *hi) {
    if (f->is_signed) { *lo = -((int64_t)1 << (f->width - 1)); *hi = ((int64_t)1 << (f->width - 1)) - 1; }
    else { *lo = 0; *hi = ((int64_t)1 << f->width) - 1; }
}

static int bit_length(uint32_t n) { int b = 0; while (n) { b++; n >>= 1; } return b; }

static gle_status check_state(gle_error *err, const char *path, const char *key, const gle_fmt *f, int32_t min, int32_t max) {
    if (!f->is_signed) return fail(err, GLE_E_BOUNDS, "%s.%s: must be signed", path, key);
    if (f->width < min || f->width > max) return fail(err, GLE_E_BOUNDS, "%s.%s: width %d is outside %d..%d", path, key, (int)f->width, (int)min, (int)max);
    return GLE_OK;
}

static gle_status check_activation(gle_error *err, const char *path, const char *key, const gle_fmt *f) {
    if (f->width > GLE_LIMIT_ACTIVATION_WIDTH || (f->is_signed && f->width < 2)) {
        return fail(err, GLE_E_BOUNDS, "%s.%s: width %d is outside %d..%d", path, key, (int)f->width, f->is_signed ? 2 : 1, GLE_LIMIT_ACTIVATION_WIDTH);
    }
    return GLE_OK;
}

typedef struct {
    uint32_t weights, neurons, ring, table;
} totals;

static gle_status parse_layer(gle_error *err, const char *path, const mp_reader *lm, uint32_t index, uint32_t expect_in,
                              const gle_fmt *xf, int last_layer, totals *t, int commit) {
    gle_layer L;
    int64_t v;
    const uint8_t *wb, *bb, *ab, *rb, *s;
    uint32_t slen, i, k;
    int64_t lo, hi;
    mp_reader nlm, r;
    int found;
    gle_fmt wf, bf;
    const uint8_t *tb = 0;

    TRY(get_int(err, path, lm, "nIn", 1, GLE_LIMIT_SIZE, &v)); L.n_in = (uint32_t)v;
    TRY(get_int(err, path, lm, "nOut", 1, GLE_LIMIT_SIZE, &v)); L.n_out = (uint32_t)v;
    if (L.n_in != expect_in) return fail(err, GLE_E_BOUNDS, "%s.nIn: %lu must equal the size of the layer's input (%lu)", path, (unsigned long)L.n_in, (unsigned long)expect_in);
    TRY(get_str(err, path, lm, "phi", &s, &slen));
    TRY(get_int(err, path, lm, "delay", 0, GLE_LIMIT_DELAY, &v)); L.delay = (uint32_t)v;
    TRY(get_format(err, path, lm, "weightFormat", &wf));
    TRY(get_format(err, path, lm, "biasFormat", &bf));
    TRY(get_format(err, path, lm, "driveFormat", &L.drive));
    TRY(get_format(err, path, lm, "membraneFormat", &L.membrane));
    TRY(get_format(err, path, lm, "prospectiveFormat", &L.prosp));
    TRY(get_format(err, path, lm, "rateFormat", &L.rate));
    TRY(get_int(err, path, lm, "alphaFrac", 0, GLE_LIMIT_ALPHA_FRAC, &v)); L.alpha_frac = (int32_t)v;
    TRY(get_int(err, path, lm, "rhoFrac", 0, GLE_LIMIT_RHO_FRAC, &v)); L.rho_frac = (int32_t)v;
    TRY(get_bin(err, path, lm, "weights", (uint64_t)L.n_in * L.n_out * 2u, &wb));
    TRY(get_bin(err, path, lm, "bias", (uint64_t)L.n_out * 4u, &bb));
    TRY(get_bin(err, path, lm, "alpha", (uint64_t)L.n_out * 2u, &ab));
    TRY(get_bin(err, path, lm, "rho", (uint64_t)L.n_out * 2u, &rb));

    TRY(map_get(err, path, lm, "placement", &r, &found));
    if (found && mp_read_nil(&r) != 0) {
        char sub[96];
        mp_reader npc;
        snprintf(sub, sizeof sub, "%s.placement", path);
        if (mp_peek(&r) != MP_MAP) return fail(err, GLE_E_FORMAT, "%s: must be a map or nil", sub);
        TRY(map_get(err, sub, &r, "neuronsPerCore", &npc, &found));
        if (found && mp_read_nil(&npc) != 0) {
            if (mp_read_int(&npc, &v) || v < 1) return fail(err, GLE_E_BOUNDS, "%s.neuronsPerCore: must be a positive integer or nil", sub);
        }
        TRY(get_int(err, sub, &r, "firstCore", 0, INT64_MAX, &v));
        TRY(get_int(err, sub, &r, "cores", 0, INT64_MAX, &v));
    }

    TRY(check_state(err, path, "weightFormat", &wf, 2, GLE_LIMIT_WEIGHT_WIDTH));
    TRY(check_state(err, path, "biasFormat", &bf, 2, GLE_LIMIT_STATE_WIDTH));
    TRY(check_state(err, path, "driveFormat", &L.drive, 2, GLE_LIMIT_STATE_WIDTH));
    TRY(check_state(err, path, "membraneFormat", &L.membrane, 2, GLE_LIMIT_STATE_WIDTH));
    TRY(check_state(err, path, "prospectiveFormat", &L.prosp, 2, GLE_LIMIT_STATE_WIDTH));
    TRY(check_activation(err, path, "rateFormat", &L.rate));

    L.acc_shift = wf.frac + xf->frac - L.drive.frac;
    if (L.drive.frac != L.membrane.frac) return fail(err, GLE_E_BOUNDS, "%s.driveFormat: must have the membrane's fraction bits (%d), has %d", path, (int)L.membrane.frac, (int)L.drive.frac);
    if (L.acc_shift < 0 || L.acc_shift > 62) return fail(err, GLE_E_BOUNDS, "%s.driveFormat: accumulator shift %d is outside 0..62", path, (int)L.acc_shift);
    L.bias_shift = wf.frac + xf->frac - bf.frac;
    if (L.bias_shift < 0 || bf.width - 1 + L.bias_shift > GLE_LIMIT_ACC_BITS) return fail(err, GLE_E_BOUNDS, "%s.biasFormat: bias shift %d must be >= 0 with width - 1 + shift <= %d", path, (int)L.bias_shift, GLE_LIMIT_ACC_BITS);
    {
        int xmag = xf->is_signed ? xf->width - 1 : xf->width;
        if (bit_length(L.n_in) + wf.width - 1 + xmag > GLE_LIMIT_ACC_BITS) return fail(err, GLE_E_BOUNDS, "%s.weightFormat: accumulator bound exceeds 2^%d", path, GLE_LIMIT_ACC_BITS);
    }
    L.p_shift = L.rho_frac + L.membrane.frac - L.prosp.frac;
    if (L.p_shift < 0 || L.p_shift > 62) return fail(err, GLE_E_BOUNDS, "%s.prospectiveFormat: prospective shift %d is outside 0..62", path, (int)L.p_shift);

    stored_range(&wf, &lo, &hi);
    for (k = 0; k < L.n_in * L.n_out; k++) {
        int32_t w = rd16s(wb + 2u * k);
        if (w < lo || w > hi) return fail(err, GLE_E_BOUNDS, "%s.weights: code %ld at [%lu][%lu] is outside %lld..%lld", path, (long)w, (unsigned long)(k / L.n_in), (unsigned long)(k % L.n_in), (long long)lo, (long long)hi);
    }
    stored_range(&bf, &lo, &hi);
    for (i = 0; i < L.n_out; i++) {
        int32_t b = rd32s(bb + 4u * i);
        if (b < lo || b > hi) return fail(err, GLE_E_BOUNDS, "%s.bias: code %ld of neuron %lu is outside %lld..%lld", path, (long)b, (unsigned long)i, (long long)lo, (long long)hi);
        if (rd16u(ab + 2u * i) > (1u << L.alpha_frac)) return fail(err, GLE_E_BOUNDS, "%s.alpha: code %u of neuron %lu exceeds 2^alphaFrac (tau_m below dt)", path, (unsigned)rd16u(ab + 2u * i), (unsigned long)i);
    }

    /* nonlinearity */
    {
        char sub[96];
        const uint8_t *kind;
        uint32_t klen;
        int64_t plo, phi_;
        snprintf(sub, sizeof sub, "%s.nonlinearity", path);
        TRY(get_map(err, path, lm, "nonlinearity", &nlm));
        TRY(get_str(err, sub, &nlm, "kind", &kind, &klen));
        L.r_shift = L.prosp.frac - L.rate.frac;
        L.clamp_lo = L.clamp_hi = L.table_base = 0;
        L.table_shift = 0;
        L.interpolate = 0;
        L.table_len = 0;
        stored_range(&L.rate, &lo, &hi);
        stored_range(&L.prosp, &plo, &phi_);
        if (mp_str_eq(kind, klen, "identity") || mp_str_eq(kind, klen, "clamp")) {
            L.nl = mp_str_eq(kind, klen, "identity") ? GLE_NL_IDENTITY : GLE_NL_CLAMP;
            if (L.r_shift < -GLE_LIMIT_RATE_LEFT_SHIFT || L.r_shift > 62) return fail(err, GLE_E_BOUNDS, "%s.rateFormat: rate shift %d is outside -%d..62", path, (int)L.r_shift, GLE_LIMIT_RATE_LEFT_SHIFT);
            if (L.nl == GLE_NL_CLAMP) {
                TRY(get_int(err, sub, &nlm, "lo", INT64_MIN, INT64_MAX, &L.clamp_lo));
                TRY(get_int(err, sub, &nlm, "hi", INT64_MIN, INT64_MAX, &L.clamp_hi));
                if (L.clamp_lo > L.clamp_hi || L.clamp_lo < plo || L.clamp_hi > phi_) return fail(err, GLE_E_BOUNDS, "%s: clamp bounds must be prospective codes with lo <= hi", sub);
            }
        } else if (mp_str_eq(kind, klen, "table")) {
            mp_reader tr;
            uint32_t tlen;
            L.nl = GLE_NL_TABLE;
            TRY(need(err, sub, &nlm, "table", &tr));
            if (mp_read_bin(&tr, &tb, &tlen) || tlen % 4u != 0) return fail(err, GLE_E_FORMAT, "%s.table: must be binary with a whole number of int32 entries", sub);
            L.table_len = tlen / 4u;
            TRY(get_int(err, sub, &nlm, "base", INT64_MIN, INT64_MAX, &L.table_base));
            TRY(get_int(err, sub, &nlm, "shift", INT64_MIN, INT64_MAX, &v));
            {
                mp_reader ir;
                int b;
                TRY(need(err, sub, &nlm, "interpolate", &ir));
                if (mp_read_bool(&ir, &b)) return fail(err, GLE_E_FORMAT, "%s.interpolate: must be true or false", sub);
                L.interpolate = b;
            }
            if (L.table_len < 1 || L.table_len > GLE_LIMIT_TABLE_ENTRIES) return fail(err, GLE_E_BOUNDS, "%s.table: must hold 1..%d entries (has %lu)", sub, GLE_LIMIT_TABLE_ENTRIES, (unsigned long)L.table_len);
            if (L.interpolate && L.table_len < 2) return fail(err, GLE_E_BOUNDS, "%s.table: an interpolated table needs at least 2 entries", sub);
            if (v < 0 || v > GLE_LIMIT_TABLE_SHIFT) return fail(err, GLE_E_BOUNDS, "%s.shift: must be in 0..%d", sub, GLE_LIMIT_TABLE_SHIFT);
            L.table_shift = (int32_t)v;
            if (L.table_base < INT32_MIN || L.table_base > INT32_MAX) return fail(err, GLE_E_BOUNDS, "%s.base: must be an int32", sub);
            for (k = 0; k < L.table_len; k++) {
                int32_t e = rd32s(tb + 4u * k);
                if (e < lo || e > hi) return fail(err, GLE_E_BOUNDS, "%s.table: entry %lu (%ld) is outside the rate format's %lld..%lld", sub, (unsigned long)k, (long)e, (long long)lo, (long long)hi);
            }
        } else {
            return fail(err, GLE_E_FORMAT, "%s.kind: must be \"identity\", \"clamp\" or \"table\"", sub);
        }
    }

    L.depth = L.delay + 1;
    L.head = 0;
    L.w_off = t->weights;
    L.n_off = t->neurons;
    L.ring_off = t->ring;
    L.table_off = t->table;
    if ((uint64_t)t->weights + (uint64_t)L.n_in * L.n_out > GLE_MAX_WEIGHTS) return fail(err, GLE_E_CAPACITY, "%s: the network needs more than the %lu weights this build holds (GLE_MAX_WEIGHTS)", path, (unsigned long)GLE_MAX_WEIGHTS);
    if ((uint64_t)t->neurons + L.n_out > GLE_MAX_NEURONS) return fail(err, GLE_E_CAPACITY, "%s: the network needs more than the %lu neurons this build holds (GLE_MAX_NEURONS)", path, (unsigned long)GLE_MAX_NEURONS);
    if ((uint64_t)t->ring + (uint64_t)L.depth * L.n_in > GLE_MAX_RING) return fail(err, GLE_E_CAPACITY, "%s: the delay lines need more than the %lu entries this build holds (GLE_MAX_RING)", path, (unsigned long)GLE_MAX_RING);
    if ((uint64_t)t->table + L.table_len > GLE_MAX_TABLE) return fail(err, GLE_E_CAPACITY, "%s: the tables need more than the %lu entries this build holds (GLE_MAX_TABLE)", path, (unsigned long)GLE_MAX_TABLE);
    if (last_layer && L.n_out > GLE_MAX_OUTPUTS) return fail(err, GLE_E_CAPACITY, "%s: %lu outputs exceed the %lu this build holds (GLE_MAX_OUTPUTS)", path, (unsigned long)L.n_out, (unsigned long)GLE_MAX_OUTPUTS);

    if (commit) {
        for (k = 0; k < L.n_in * L.n_out; k++) gle_g_weights[L.w_off + k] = (int16_t)rd16s(wb + 2u * k);
        for (i = 0; i < L.n_out; i++) {
            gle_g_bias[L.n_off + i] = rd32s(bb + 4u * i);
            gle_g_alpha[L.n_off + i] = rd16u(ab + 2u * i);
            gle_g_rho[L.n_off + i] = rd16u(rb + 2u * i);
        }
        for (k = 0; k < L.table_len; k++) gle_g_table[L.table_off + k] = rd32s(tb + 4u * k);
        gle_g_net.layers[index] = L;
    }
    t->weights += L.n_in * L.n_out;
    t->neurons += L.n_out;
    t->ring += L.depth * L.n_in;
    t->table += L.table_len;
    return GLE_OK;
}

/* Validates the content (commit 0) or copies it into the engine (commit 1, after a
 * validation); either way *shape receives the network's sizes. */
static gle_status parse_content(gle_error *err, const uint8_t *data, size_t len, int commit, gle_shape *shape) {
    mp_reader top, hdr, net, sub, lr, pres;
    const uint8_t *s;
    uint32_t slen, n_layers, li;
    int64_t v, steps, settle, input_size, output_size;
    uint32_t readout_sum, sequence;
    gle_fmt xf, xf0;
    totals t = {0, 0, 0, 0};
    uint32_t expect_in;

    mp_init(&top, data, len);
    {
        /* the whole file must be exactly one map: nothing before or after it */
        mp_reader whole = top;
        if (mp_skip(&whole, SKIP_DEPTH) || whole.pos != len) return fail(err, GLE_E_FORMAT, "not a single well-formed msgpack map");
    }
    TRY(get_map(err, "", &top, "header", &hdr));
    TRY(get_str(err, "header", &hdr, "tool", &s, &slen));
    TRY(get_map(err, "header", &hdr, "profile", &sub));
    TRY(get_str(err, "header.profile", &sub, "name", &s, &slen));
    TRY(get_str(err, "header.profile", &sub, "hash", &s, &slen));
    TRY(get_map(err, "header", &hdr, "model", &sub));
    TRY(get_str(err, "header.model", &sub, "hash", &s, &slen));
    TRY(get_str(err, "header.model", &sub, "task", &s, &slen));
    TRY(get_str(err, "header", &hdr, "precision", &s, &slen));
    TRY(get_map(err, "header", &hdr, "info", &sub));

    TRY(get_map(err, "", &top, "network", &net));
    TRY(get_positive(err, "network", &net, "dt", 0));
    TRY(get_positive(err, "network", &net, "dtSeconds", 1));
    TRY(get_int(err, "network", &net, "inputSize", 1, GLE_LIMIT_SIZE, &input_size));
    TRY(get_int(err, "network", &net, "outputSize", 1, GLE_LIMIT_SIZE, &output_size));
    TRY(get_format(err, "network", &net, "inputFormat", &xf));
    TRY(check_activation(err, "network", "inputFormat", &xf));
    xf0 = xf;
    TRY(get_map(err, "network", &net, "presentation", &pres));
    TRY(get_str(err, "network.presentation", &pres, "mode", &s, &slen));
    if (!mp_str_eq(s, slen, "static") && !mp_str_eq(s, slen, "sequence")) return fail(err, GLE_E_FORMAT, "network.presentation.mode: must be \"static\" or \"sequence\"");
    sequence = mp_str_eq(s, slen, "sequence") ? 1u : 0u;
    TRY(get_int(err, "network.presentation", &pres, "stepsPerSample", 1, GLE_LIMIT_STEPS, &steps));
    TRY(get_int(err, "network.presentation", &pres, "settleSteps", 0, INT64_MAX, &settle));
    if (settle >= steps) return fail(err, GLE_E_BOUNDS, "network.presentation.settleSteps: must be below stepsPerSample");
    TRY(get_str(err, "network.presentation", &pres, "readout", &s, &slen));
    if (!mp_str_eq(s, slen, "last") && !mp_str_eq(s, slen, "sum")) return fail(err, GLE_E_FORMAT, "network.presentation.readout: must be \"last\" or \"sum\"");
    readout_sum = mp_str_eq(s, slen, "sum") ? 1u : 0u;

    TRY(need(err, "network", &net, "layers", &lr));
    if (mp_read_array(&lr, &n_layers)) return fail(err, GLE_E_FORMAT, "network.layers: must be an array");
    if (n_layers < 1 || n_layers > GLE_LIMIT_LAYERS) return fail(err, GLE_E_BOUNDS, "network.layers: must hold 1..%d layers", GLE_LIMIT_LAYERS);
    if (n_layers > GLE_MAX_LAYERS) return fail(err, GLE_E_CAPACITY, "network.layers: %lu layers exceed the %d this build holds (GLE_MAX_LAYERS)", (unsigned long)n_layers, GLE_MAX_LAYERS);
    expect_in = (uint32_t)input_size;
    for (li = 0; li < n_layers; li++) {
        char path[48];
        mp_reader lm = lr;
        gle_fmt rate;
        snprintf(path, sizeof path, "network.layers[%lu]", (unsigned long)li);
        TRY(parse_layer(err, path, &lm, li, expect_in, &xf, li + 1 == n_layers, &t, commit));
        /* the layer's rate format is the next layer's input format */
        TRY(get_format(err, path, &lm, "rateFormat", &rate));
        xf = rate;
        TRY(get_int(err, path, &lm, "nOut", 1, GLE_LIMIT_SIZE, &v));
        expect_in = (uint32_t)v;
        if (mp_skip(&lr, SKIP_DEPTH)) return fail(err, GLE_E_FORMAT, "%s: malformed", path);
    }
    if ((uint32_t)output_size != expect_in) return fail(err, GLE_E_BOUNDS, "network.outputSize: must equal the last layer's nOut (%lu)", (unsigned long)expect_in);

    shape->n_layers = n_layers;
    shape->input_size = (uint32_t)input_size;
    shape->output_size = (uint32_t)output_size;
    shape->steps_per_sample = (uint32_t)steps;
    shape->settle_steps = (uint32_t)settle;
    shape->readout_sum = readout_sum;
    shape->sequence = sequence;
    shape->n_weights = t.weights;
    shape->n_neurons = t.neurons;
    shape->n_ring = t.ring;
    shape->n_table = t.table;
    if (commit) {
        gle_g_net.shape = *shape;
        gle_g_net.input = xf0;
    }
    return GLE_OK;
}

gle_status gle_format_version(const uint8_t *data, size_t len, int64_t *version, gle_error *err) {
    mp_reader r;
    uint32_t n;
    const uint8_t *s;
    uint32_t slen;
    if (err) { err->status = GLE_OK; err->message[0] = '\0'; }
    if (data == 0 || len < 1 + 6 + 5 + 14 + 1 + TRAILER_LEN) return fail(err, GLE_E_TRUNCATED, "truncated: %lu bytes is shorter than any descriptor", (unsigned long)len);
    mp_init(&r, data, len);
    if (mp_read_map(&r, &n)) return fail(err, GLE_E_MAGIC, "not a glekit descriptor (it does not start with a msgpack map)");
    if (mp_read_str(&r, &s, &slen) || !mp_str_eq(s, slen, "magic") || mp_read_str(&r, &s, &slen) || !mp_str_eq(s, slen, "GLED")) {
        return fail(err, GLE_E_MAGIC, "not a glekit descriptor (expected the magic \"GLED\" first)");
    }
    if (mp_read_str(&r, &s, &slen) || !mp_str_eq(s, slen, "formatVersion")) return fail(err, GLE_E_VERSION, "formatVersion: missing after the magic");
    if (mp_read_int(&r, version) || *version < 1) return fail(err, GLE_E_VERSION, "formatVersion: must be a positive integer");
    if (*version > GLE_FORMAT_VERSION) {
        return fail(err, GLE_E_VERSION, "formatVersion: is %lld, newer than this engine reads (%d); refusing to load it", (long long)*version, GLE_FORMAT_VERSION);
    }
    return GLE_OK;
}

/* magic, format version, trailer and SHA-256, then the whole content: everything but the copy */
static gle_status validate(const uint8_t *data, size_t len, gle_error *err, gle_shape *shape, uint8_t digest[32]) {
    int64_t version;
    size_t at, i;
    TRY(gle_format_version(data, len, &version, err));
    at = len - TRAILER_LEN;
    for (i = 0; i < TRAILER_KEY_LEN; i++) {
        if (data[at + i] != TRAILER_KEY[i]) return fail(err, GLE_E_HASH, "sha256: truncated or damaged: the file does not end with its SHA-256 trailer");
    }
    gle_sha256(data, at, digest);
    for (i = 0; i < 32; i++) {
        if (digest[i] != data[at + TRAILER_KEY_LEN + i]) return fail(err, GLE_E_HASH, "sha256: content hash mismatch: the file was modified or damaged");
    }
    shape->format_version = (uint32_t)version;
    return parse_content(err, data, len, 0, shape);
}

gle_status gle_validate(const uint8_t *data, size_t len, gle_error *err, gle_info *info) {
    gle_shape shape;
    uint8_t digest[32];
    TRY(validate(data, len, err, &shape, digest));
    if (info) gle_shape_info(&shape, digest, info);
    return GLE_OK;
}

gle_status gle_load(const uint8_t *data, size_t len, gle_error *err) {
    gle_shape shape;
    uint8_t digest[32];
    size_t i;
    gle_status st = validate(data, len, err, &shape, digest);
    if (st != GLE_OK) return st;
    /* validated: only now is the loaded network replaced */
    gle_g_net.loaded = 0;
    st = parse_content(err, data, len, 1, &shape);
    if (st != GLE_OK) return st;
    for (i = 0; i < 32; i++) gle_g_net.sha256[i] = digest[i];
    gle_g_net.loaded = 1;
    gle_reset();
    return GLE_OK;
}
