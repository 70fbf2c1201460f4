/*
 * The emulated analog chip (ANALOG.md): per-neuron time constants, gain and offset set by
 * 10-bit trim codes through maps whose end points are mismatched per neuron, weights as
 * 6-bit magnitudes with signs, temporal membrane noise, an 8-bit ADC with a reliable range
 * and read noise. The network is the loaded image's (read from the engine's buffers and,
 * for dt and the trims, from the image's bytes); the dynamics are docs/dynamics.md's
 * forward Euler scheme in float64 with the realised parameters.
 */
#define _POSIX_C_SOURCE 200809L
#include "gle_analog.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/gle_internal.h"
#include "../src/gle_msgpack.h"

#define TRIM_BITS 10
#define TRIM_MAX 1023
/* time constants, in steps: the nominal map spans TAU_LO..TAU_HI exponentially over the codes */
#define TAU_LO 2.0
#define TAU_HI 200.0
#define TAU_CV 0.2            /* lognormal factor on the map (bss2.json cvUncalibrated) */
#define TAU_CLIP_LO 0.5
#define TAU_CLIP_HI 2.0
#define TAU_SLOPE_SD 0.05     /* the map's upper end moves by its own factor: the slope is chip-specific */
#define TAU_BROKEN 300.0      /* a broken time constant: stuck near 300 steps (x its factor) */
/* gain: linear in the code, nominal 0.25 at code 0 .. 1.75 at code 1023 */
#define GAIN_AT0 0.25
#define GAIN_AT1 1.75
#define GAIN_CV 0.1
#define GAIN_CLIP_LO 0.6
#define GAIN_CLIP_HI 1.4
#define GAIN_SLOPE_SD 0.05
/* offset, in units of the layer's full scale: linear, o0 - OFF_SPAN .. o0 + OFF_SPAN */
#define OFF_SD 0.03
#define OFF_SPAN 0.15
#define OFF_SLOPE_SD 0.05
/* the ADC: 8 bits, reliable codes 30..210 span a layer's full scale (bss2.json) */
#define ADC_BITS 8
#define ADC_MAX 255
#define ADC_RLO 30
#define ADC_RHI 210
#define ADC_COMPRESSION 0.5   /* beyond the reliable range the transfer's slope halves */
#define READ_NOISE_LSB 0.5
#define MEMBRANE_NOISE_LSB 2.0 /* bss2.json noise.membrane: 2 readout LSB per step */
#define UNBOUNDED_RANGE 8.0   /* a linear layer's full scale is [-8, 8] (src/substrate/nonlinearity.ts) */
#define WEIGHT_MAX 63         /* 6-bit magnitudes with a sign */
#define MAX_SAMPLES (16u * 1024u * 1024u)
/* stream labels (Rng.derive in src/util/rng.ts), apart from the substrate's 1..6 x 65536 and 100 x 65536 */
#define STREAM_NEURON (200u * 65536u)
#define STREAM_NOISE (201u * 65536u)

/* ---- xoshiro128** seeded through splitmix32: src/util/rng.ts, bit for bit ---- */

typedef struct {
    uint32_t s[4];
    double spare;
    int has_spare;
} rng;

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static void rng_seed(rng *r, uint32_t seed) {
    uint32_t x = seed ^ 0x9e3779b9u;
    int i;
    for (i = 0; i < 4; i++) {
        uint32_t z;
        x += 0x9e3779b9u;
        z = x;
        z = (z ^ (z >> 16)) * 0x85ebca6bu;
        z = (z ^ (z >> 13)) * 0xc2b2ae35u;
        r->s[i] = z ^ (z >> 16);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
    r->has_spare = 0;
    r->spare = 0;
}

static void rng_derive(rng *r, uint32_t seed, uint32_t stream) {
    rng_seed(r, (seed * 0x9e3779b1u) ^ ((stream + 1u) * 0x85ebca77u));
}

static uint32_t rng_next(rng *r) {
    uint32_t *s = r->s;
    const uint32_t result = rotl(s[1] * 5u, 7) * 9u, t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
}

static double rng_uniform(rng *r) {
    const uint32_t hi = rng_next(r) >> 5, lo = rng_next(r) >> 6;
    return ((double)hi * 67108864.0 + (double)lo) / 9007199254740992.0;
}

static double rng_normal(rng *r) {
    double u1, u2, radius, angle;
    if (r->has_spare) { r->has_spare = 0; return r->spare; }
    do u1 = rng_uniform(r); while (u1 == 0);
    u2 = rng_uniform(r);
    radius = sqrt(-2.0 * log(u1));
    angle = 2.0 * 3.14159265358979323846 * u2;
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

/* ---- the chip ---- */

enum { P_TAUM = 0, P_TAUR = 1, P_GAIN = 2, P_OFFSET = 3 };
static const char *const PARAM_NAMES[4] = {"tauM", "tauR", "gain", "offset"};

typedef struct {
    /* maps: tau (steps) = lo (hi / lo)^(c / 1023); gain and offset (full-scale units) = at0 + (at1 - at0) c / 1023 */
    double map_a[4], map_b[4];
    int broken;            /* the parameter that cannot reach its target, or -1 */
    uint16_t trims[4];
    uint16_t nominal[4];
    double target_tm, target_tr;  /* steps */
    /* realised at the trims: tau_m, tau_r in steps, gain, offset in network units */
    double tm, tr, gain, off;
} neuron;

typedef struct {
    uint32_t n_in, n_out, first, delay, depth, head;
    double *ring;          /* depth x n_in inputs (model units) */
    int8_t *wq, *bq;
    double ws, bs;
    int nl;                /* GLE_NL_* */
    double clamp_lo, clamp_hi, base, cell;
    int interpolate;
    double *table;
    uint32_t table_len;
    double lo, hi;         /* full scale (INFO ranges) */
    double *u, *r;
} layer;

static struct {
    gle_analog_config cfg;
    gle_analog ops;
    rng noise;
    uint32_t n_layers, n_neurons, input_size;
    double dt, in_scale;
    int64_t in_min, in_max;
    layer *layers;
    neuron *neurons;
    uint8_t *samples;
    uint32_t n_samples;
    int have_samples;
    double *probe_in;
} A;

static double fs(const layer *L) { return L->hi - L->lo; }

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static double map_value(const neuron *n, int p, uint32_t c) {
    const double x = (double)c / TRIM_MAX;
    if (p == P_TAUM || p == P_TAUR) return n->map_a[p] * pow(n->map_b[p] / n->map_a[p], x);
    return n->map_a[p] + (n->map_b[p] - n->map_a[p]) * x;
}

/* the realised values at the neuron's trims */
static void realise(neuron *n, const layer *L) {
    n->tm = map_value(n, P_TAUM, n->trims[P_TAUM]);
    if (n->tm < 1.0) n->tm = 1.0; /* forward Euler needs tau_m >= dt; the maps reach below it only at extreme mismatch */
    n->tr = map_value(n, P_TAUR, n->trims[P_TAUR]);
    n->gain = map_value(n, P_GAIN, n->trims[P_GAIN]);
    n->off = map_value(n, P_OFFSET, n->trims[P_OFFSET]) * fs(L);
}

static uint16_t tau_code(double steps) {
    double c;
    if (!(steps > TAU_LO)) return 0;
    if (!isfinite(steps)) return TRIM_MAX;
    c = floor(TRIM_MAX * log(steps / TAU_LO) / log(TAU_HI / TAU_LO) + 0.5);
    return (uint16_t)clampd(c, 0, TRIM_MAX);
}

/* neuron g's circuit, drawn from its own stream: the same circuit whatever the image */
static void draw_neuron(neuron *n, uint32_t g) {
    rng r;
    const double s2 = log1p(TAU_CV * TAU_CV);
    double z[8], fm, fr, k, o0;
    int i, which;
    double u;
    rng_derive(&r, A.cfg.seed, STREAM_NEURON + g);
    for (i = 0; i < 8; i++) z[i] = rng_normal(&r);
    u = rng_uniform(&r);
    which = (int)floor(rng_uniform(&r) * 4.0);
    if (which > 3) which = 3;
    fm = clampd(exp(sqrt(s2) * z[0] - s2 / 2), TAU_CLIP_LO, TAU_CLIP_HI);
    fr = clampd(exp(sqrt(s2) * z[2] - s2 / 2), TAU_CLIP_LO, TAU_CLIP_HI);
    n->map_a[P_TAUM] = TAU_LO * fm;
    n->map_b[P_TAUM] = TAU_HI * fm * exp(TAU_SLOPE_SD * z[1]);
    n->map_a[P_TAUR] = TAU_LO * fr;
    n->map_b[P_TAUR] = TAU_HI * fr * exp(TAU_SLOPE_SD * z[3]);
    k = clampd(1 + GAIN_CV * z[4], GAIN_CLIP_LO, GAIN_CLIP_HI);
    n->map_a[P_GAIN] = k * GAIN_AT0;
    n->map_b[P_GAIN] = k * (GAIN_AT0 + (GAIN_AT1 - GAIN_AT0) * (1 + GAIN_SLOPE_SD * z[5]));
    o0 = OFF_SD * z[6];
    n->map_a[P_OFFSET] = o0 - OFF_SPAN * (1 + OFF_SLOPE_SD * z[7]);
    n->map_b[P_OFFSET] = o0 + OFF_SPAN * (1 + OFF_SLOPE_SD * z[7]);
    n->broken = u < A.cfg.broken ? which : -1;
    switch (n->broken) {
    case P_TAUM: n->map_a[P_TAUM] = TAU_BROKEN * fm; n->map_b[P_TAUM] = TAU_BROKEN * fm * 1.02; break;
    case P_TAUR: n->map_a[P_TAUR] = TAU_BROKEN * fr; n->map_b[P_TAUR] = TAU_BROKEN * fr * 1.02; break;
    case P_GAIN: n->map_a[P_GAIN] = 0.04; n->map_b[P_GAIN] = 0.06; break;
    case P_OFFSET: n->map_a[P_OFFSET] = 0.40; n->map_b[P_OFFSET] = 0.45; break;
    default: break;
    }
}

/* ---- reading the image: dt and the per-layer trims (the engine ignores both) ---- */

static int read_double(mp_reader *r, double *v) {
    int64_t i;
    if (mp_peek(r) == MP_INT) { if (mp_read_int(r, &i)) return -1; *v = (double)i; return 0; }
    if (r->pos < r->len && r->buf[r->pos] == 0xcb && r->len - r->pos >= 9) {
        uint64_t b = 0;
        int k;
        for (k = 1; k <= 8; k++) b = (b << 8) | r->buf[r->pos + (size_t)k];
        memcpy(v, &b, 8);
        r->pos += 9;
        return 0;
    }
    if (r->pos < r->len && r->buf[r->pos] == 0xca && r->len - r->pos >= 5) {
        uint32_t b = 0;
        float f;
        int k;
        for (k = 1; k <= 4; k++) b = (b << 8) | r->buf[r->pos + (size_t)k];
        memcpy(&f, &b, 4);
        *v = f;
        r->pos += 5;
        return 0;
    }
    return -1;
}

/* the image's network map's dt and, per layer, its trims bin (NULL when absent) */
static void read_image(const uint8_t *image, uint32_t len, const uint8_t **trims, uint32_t *trims_len) {
    mp_reader top, net, v, layers;
    uint32_t n, l;
    A.dt = 1.0;
    for (l = 0; l < A.n_layers; l++) { trims[l] = 0; trims_len[l] = 0; }
    mp_init(&top, image, len);
    if (!mp_find_key(&top, "network", &net)) return;
    if (mp_find_key(&net, "dt", &v)) {
        double dt;
        if (read_double(&v, &dt) == 0 && dt > 0 && isfinite(dt)) A.dt = dt;
    }
    if (!mp_find_key(&net, "layers", &layers) || mp_read_array(&layers, &n)) return;
    for (l = 0; l < n && l < A.n_layers; l++) {
        mp_reader t;
        if (mp_find_key(&layers, "trims", &t)) {
            const uint8_t *p;
            uint32_t plen;
            if (mp_read_bin(&t, &p, &plen) == 0) { trims[l] = p; trims_len[l] = plen; }
        }
        if (mp_skip(&layers, 16)) return;
    }
}

/* ---- boot: the chip takes the loaded network ---- */

static void free_net(void) {
    uint32_t l;
    for (l = 0; l < A.n_layers; l++) {
        layer *L = &A.layers[l];
        free(L->ring); free(L->wq); free(L->bq); free(L->table); free(L->u); free(L->r);
    }
    free(A.layers);
    free(A.neurons);
    free(A.probe_in);
    A.layers = 0;
    A.neurons = 0;
    A.probe_in = 0;
    A.n_layers = A.n_neurons = 0;
}

static void *alloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p) { fprintf(stderr, "gle_board: out of memory (analog chip)\n"); exit(1); }
    return p;
}

/* 6-bit magnitudes with a sign, one scale per matrix: the largest |value| on code 63; round to nearest (half up, as JS Math.round) */
static double quantise(const double *v, uint32_t n, int8_t *q) {
    double m = 0, scale;
    uint32_t k;
    for (k = 0; k < n; k++) if (fabs(v[k]) > m) m = fabs(v[k]);
    scale = m > 0 ? m / WEIGHT_MAX : 1.0;
    for (k = 0; k < n; k++) q[k] = (int8_t)clampd(floor(v[k] / scale + 0.5), -WEIGHT_MAX, WEIGHT_MAX);
    return scale;
}

static void write_truth(void);

static void chip_boot(void *ctx, const uint8_t *image, uint32_t len) {
    const gle_net *net = &gle_g_net;
    const uint8_t *trims[GLE_MAX_LAYERS];
    uint32_t trims_len[GLE_MAX_LAYERS], l, i, k, first = 0, max_out = 0;
    (void)ctx;
    free_net();
    A.have_samples = 0;
    A.n_samples = 0;
    if (!image || !net->loaded) { write_truth(); return; }
    A.n_layers = net->shape.n_layers;
    A.input_size = net->shape.input_size;
    A.in_scale = ldexp(1.0, -net->input.frac);
    A.in_min = net->input.min_raw;
    A.in_max = net->input.max_raw;
    A.layers = alloc(sizeof(layer) * A.n_layers);
    A.n_neurons = net->shape.n_neurons;
    A.neurons = alloc(sizeof(neuron) * A.n_neurons);
    read_image(image, len, trims, trims_len);
    for (l = 0; l < A.n_layers; l++) {
        const gle_layer *G = &net->layers[l];
        layer *L = &A.layers[l];
        double *tmp;
        const double wunit = ldexp(1.0, -(G->acc_shift + G->drive.frac - (l == 0 ? net->input.frac : net->layers[l - 1].rate.frac)));
        const double bunit = ldexp(1.0, -(G->acc_shift + G->drive.frac - G->bias_shift));
        L->n_in = G->n_in;
        L->n_out = G->n_out;
        L->first = first;
        L->delay = G->delay;
        L->depth = G->depth;
        L->ring = alloc(sizeof(double) * L->depth * L->n_in);
        L->u = alloc(sizeof(double) * L->n_out);
        L->r = alloc(sizeof(double) * L->n_out);
        if (L->n_out > max_out) max_out = L->n_out;
        /* weights: code x 2^-fWt, with fWt = kA + fu - fX; biases: code x 2^-fB, with fB = fWt + fX - kB */
        tmp = alloc(sizeof(double) * L->n_in * L->n_out);
        for (k = 0; k < L->n_in * L->n_out; k++) tmp[k] = gle_g_weights[G->w_off + k] * wunit;
        L->wq = alloc(L->n_in * L->n_out);
        L->ws = quantise(tmp, L->n_in * L->n_out, L->wq);
        for (k = 0; k < L->n_out; k++) tmp[k] = gle_g_bias[G->n_off + k] * bunit;
        L->bq = alloc(L->n_out);
        L->bs = quantise(tmp, L->n_out, L->bq);
        free(tmp);
        /* the image's nonlinearity, in reals (SEMANTICS.md section 4 without the roundings) */
        L->nl = G->nl;
        {
            const double pu = ldexp(1.0, -G->prosp.frac), ru = ldexp(1.0, -G->rate.frac);
            L->clamp_lo = (double)G->clamp_lo * pu;
            L->clamp_hi = (double)G->clamp_hi * pu;
            L->base = (double)G->table_base * pu;
            L->cell = ldexp(1.0, G->table_shift) * pu;
            L->interpolate = G->interpolate;
            L->table_len = G->nl == GLE_NL_TABLE ? G->table_len : 0;
            L->table = alloc(sizeof(double) * (L->table_len ? L->table_len : 1));
            for (k = 0; k < L->table_len; k++) L->table[k] = gle_g_table[G->table_off + k] * ru;
            if (G->nl == GLE_NL_IDENTITY) { L->lo = -UNBOUNDED_RANGE; L->hi = UNBOUNDED_RANGE; }
            else if (G->nl == GLE_NL_CLAMP) { L->lo = L->clamp_lo; L->hi = L->clamp_hi; }
            else {
                L->lo = L->hi = L->table[0];
                for (k = 1; k < L->table_len; k++) { if (L->table[k] < L->lo) L->lo = L->table[k]; if (L->table[k] > L->hi) L->hi = L->table[k]; }
            }
            if (!(L->hi > L->lo)) { L->lo -= 1.0; L->hi += 1.0; }
        }
        for (i = 0; i < L->n_out; i++) {
            neuron *n = &A.neurons[first + i];
            const uint16_t alpha = gle_g_alpha[G->n_off + i], rho = gle_g_rho[G->n_off + i];
            draw_neuron(n, first + i);
            n->target_tm = alpha ? ldexp(1.0, G->alpha_frac) / alpha : INFINITY;
            n->target_tr = alpha ? n->target_tm * rho * ldexp(1.0, -G->rho_frac) : INFINITY;
            if (alpha && rho == 0) n->target_tr = 0;
            n->nominal[P_TAUM] = tau_code(n->target_tm);
            n->nominal[P_TAUR] = tau_code(n->target_tr);
            n->nominal[P_GAIN] = (uint16_t)floor(TRIM_MAX * (1.0 - GAIN_AT0) / (GAIN_AT1 - GAIN_AT0) + 0.5);
            n->nominal[P_OFFSET] = (uint16_t)((TRIM_MAX + 1) / 2);
            for (k = 0; k < 4; k++) n->trims[k] = n->nominal[k];
        }
        /* the image's trims (compile --board-calibration), when present and well-formed */
        if (trims[l]) {
            int ok = trims_len[l] == 8u * L->n_out;
            for (k = 0; ok && k < 4u * L->n_out; k++) if ((trims[l][2 * k] | (trims[l][2 * k + 1] << 8)) > TRIM_MAX) ok = 0;
            if (!ok) fprintf(stderr, "gle_board: network.layers[%lu].trims: not 4 x %lu codes in 0..%d; the nominal codes apply\n", (unsigned long)l, (unsigned long)L->n_out, TRIM_MAX);
            for (k = 0; ok && k < 4u * L->n_out; k++) A.neurons[first + k % L->n_out].trims[k / L->n_out] = (uint16_t)(trims[l][2 * k] | (trims[l][2 * k + 1] << 8));
        }
        for (i = 0; i < L->n_out; i++) realise(&A.neurons[first + i], L);
        first += L->n_out;
    }
    A.probe_in = alloc(sizeof(double) * (max_out ? max_out : 1));
    rng_derive(&A.noise, A.cfg.seed, STREAM_NOISE);
    write_truth();
}

static uint32_t chip_neurons(void *ctx) { (void)ctx; return A.n_neurons; }

static uint64_t bits_of(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

static void chip_range(void *ctx, uint32_t l, uint64_t *lo, uint64_t *hi) {
    (void)ctx;
    *lo = bits_of(l < A.n_layers ? A.layers[l].lo : 0);
    *hi = bits_of(l < A.n_layers ? A.layers[l].hi : 1);
}

static const layer *layer_of(uint32_t g) {
    uint32_t l;
    for (l = 0; l + 1 < A.n_layers && g >= A.layers[l + 1].first; l++) {}
    return &A.layers[l];
}

static void chip_get_trims(void *ctx, uint32_t off, uint32_t n, uint8_t *le) {
    uint32_t p, i;
    (void)ctx;
    for (p = 0; p < 4; p++)
        for (i = off; i < off + n; i++, le += 2) { le[0] = (uint8_t)A.neurons[i].trims[p]; le[1] = (uint8_t)(A.neurons[i].trims[p] >> 8); }
}

static void chip_set_trims(void *ctx, uint32_t off, uint32_t n, const uint8_t *le) {
    uint32_t p, i;
    (void)ctx;
    for (p = 0; p < 4; p++)
        for (i = off; i < off + n; i++, le += 2) A.neurons[i].trims[p] = (uint16_t)(le[0] | (le[1] << 8));
    for (i = off; i < off + n; i++) realise(&A.neurons[i], layer_of(i));
    write_truth();
}

static void chip_reset(void *ctx) {
    uint32_t l;
    (void)ctx;
    for (l = 0; l < A.n_layers; l++) {
        layer *L = &A.layers[l];
        memset(L->ring, 0, sizeof(double) * L->depth * L->n_in);
        memset(L->u, 0, sizeof(double) * L->n_out);
        memset(L->r, 0, sizeof(double) * L->n_out);
        L->head = 0;
    }
}

/* ---- physics ---- */

static double phi(const layer *L, double pu) {
    switch (L->nl) {
    case GLE_NL_IDENTITY: return pu;
    case GLE_NL_CLAMP: return clampd(pu, L->clamp_lo, L->clamp_hi);
    default: {
        const double d = pu - L->base, t = d / L->cell;
        const double last = (double)L->table_len - 1;
        double k;
        if (d < 0) return L->table[0];
        k = floor(t);
        if (k >= last) return L->table[L->table_len - 1];
        if (!L->interpolate) return L->table[(uint32_t)k];
        return L->table[(uint32_t)k] + (L->table[(uint32_t)k + 1] - L->table[(uint32_t)k]) * (t - k);
    }
    }
}

/* one conversion of a layer's value: the reliable codes span the full scale, beyond them the slope halves; read noise; codes 0..255 */
static int32_t adc(const layer *L, double v) {
    double k = ADC_RLO + (v - L->lo) / (L->hi - L->lo) * (ADC_RHI - ADC_RLO);
    if (A.cfg.noise) k += READ_NOISE_LSB * rng_normal(&A.noise);
    if (k > ADC_RHI) k = ADC_RHI + (k - ADC_RHI) * ADC_COMPRESSION;
    else if (k < ADC_RLO) k = ADC_RLO + (k - ADC_RLO) * ADC_COMPRESSION;
    k = floor(k + 0.5);
    return (int32_t)clampd(k, 0, ADC_MAX);
}

/* one neuron's step from drive s: the membrane and the prospective potential, noise on both (one fluctuation), the rate */
static double neuron_step(const layer *L, const neuron *n, double s, double *u) {
    const double du = (s - *u) / n->tm;
    double un = *u + du, pu = *u + n->tr * du;
    if (A.cfg.noise) {
        const double z = MEMBRANE_NOISE_LSB / (ADC_RHI - ADC_RLO) * fs(L) * rng_normal(&A.noise);
        un += z;
        pu += z;
    }
    *u = un;
    return phi(L, pu);
}

static void chip_step(void *ctx, const int32_t *x, int32_t *out) {
    layer *F = &A.layers[0];
    uint32_t li, j, i;
    (void)ctx;
    F->head = F->head + 1 == F->depth ? 0 : F->head + 1;
    for (j = 0; j < F->n_in; j++) {
        int64_t c = x[j];
        c = c < A.in_min ? A.in_min : c > A.in_max ? A.in_max : c;
        F->ring[F->head * F->n_in + j] = (double)c * A.in_scale;
    }
    /* top-down, as the engine: each layer reads its input before the layer below overwrites it */
    for (li = A.n_layers; li-- > 0;) {
        layer *L = &A.layers[li];
        const uint32_t read = L->head + 1 == L->depth ? 0 : L->head + 1;
        const double *src = L->ring + read * L->n_in;
        double *dst = 0;
        if (li + 1 < A.n_layers) {
            layer *N = &A.layers[li + 1];
            N->head = N->head + 1 == N->depth ? 0 : N->head + 1;
            dst = N->ring + N->head * N->n_in;
        }
        for (i = 0; i < L->n_out; i++) {
            const neuron *n = &A.neurons[L->first + i];
            const int8_t *w = L->wq + (size_t)i * L->n_in;
            double acc = 0, s;
            for (j = 0; j < L->n_in; j++) acc += w[j] * src[j];
            s = n->gain * (acc * L->ws + L->bq[i] * L->bs) + n->off;
            L->r[i] = neuron_step(L, n, s, &L->u[i]);
            if (dst) dst[i] = L->r[i];
        }
    }
    {
        const layer *T = &A.layers[A.n_layers - 1];
        for (i = 0; i < T->n_out; i++) out[i] = adc(T, T->r[i]);
    }
}

static void put_i32(uint8_t *p, int32_t v) {
    const uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)u; p[1] = (uint8_t)(u >> 8); p[2] = (uint8_t)(u >> 16); p[3] = (uint8_t)(u >> 24);
}

static void chip_states(void *ctx, uint8_t *out) {
    uint32_t l, i;
    (void)ctx;
    for (l = 0; l < A.n_layers; l++) {
        const layer *L = &A.layers[l];
        for (i = 0; i < L->n_out; i++, out += 4) put_i32(out, adc(L, L->u[i]));
        for (i = 0; i < L->n_out; i++, out += 4) put_i32(out, adc(L, L->r[i]));
    }
}

static uint32_t chip_probe(void *ctx, uint32_t l, const uint8_t *idx, uint32_t n, int32_t level, uint32_t steps, int observe) {
    layer *L = &A.layers[l];
    const uint32_t count = n ? n : L->n_out;
    const uint32_t per = count * steps;
    const double lv = (double)level / 65536.0;
    uint32_t t, i, size = per * (observe == 3 ? 2u : 1u);
    (void)ctx;
    free(A.samples);
    A.samples = alloc(size);
    A.n_samples = size;
    A.have_samples = 1;
    chip_reset(0);
    for (i = 0; i < L->n_out; i++) A.probe_in[i] = 0;
    for (i = 0; i < count; i++) A.probe_in[n ? (uint32_t)(idx[2 * i] | (idx[2 * i + 1] << 8)) : i] = lv;
    for (t = 0; t < steps; t++) {
        /* the stimulus replaces the weighted input and the bias; it passes the synaptic gain and meets the offset */
        for (i = 0; i < L->n_out; i++) {
            const neuron *nr = &A.neurons[L->first + i];
            L->r[i] = neuron_step(L, nr, nr->gain * A.probe_in[i] + nr->off, &L->u[i]);
        }
        for (i = 0; i < count; i++) {
            const uint32_t k = n ? (uint32_t)(idx[2 * i] | (idx[2 * i + 1] << 8)) : i;
            if (observe & 1) A.samples[t * count + i] = (uint8_t)adc(L, L->u[k]);
            if (observe & 2) A.samples[(observe == 3 ? per : 0u) + t * count + i] = (uint8_t)adc(L, L->r[k]);
        }
    }
    chip_reset(0);
    return size;
}

static const uint8_t *chip_samples(void *ctx, uint32_t *count) {
    (void)ctx;
    *count = A.n_samples;
    return A.have_samples ? (A.samples ? A.samples : (const uint8_t *)"") : 0;
}

/* ---- the hidden realisation, for tests (ANALOG.md "Truth file") ---- */

static void jd(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.17g", v);
    else fputs("null", f);
}

static void write_truth(void) {
    char tmp[4096];
    FILE *f;
    uint32_t l, i, k, p;
    if (!A.cfg.truth_path) return;
    snprintf(tmp, sizeof tmp, "%s.tmp", A.cfg.truth_path);
    f = fopen(tmp, "w");
    if (!f) { perror("gle_board: --truth-out"); return; }
    fprintf(f, "{\"format\":\"glekit.analog-truth/1\",\"seed\":%lu,\"noise\":%s,\"brokenFraction\":", (unsigned long)A.cfg.seed, A.cfg.noise ? "true" : "false");
    jd(f, A.cfg.broken);
    fputs(",\"dt\":", f);
    jd(f, A.dt);
    fprintf(f, ",\"trimBits\":%d,\"params\":[\"tauM\",\"tauR\",\"gain\",\"offset\"]", TRIM_BITS);
    fprintf(f, ",\"adc\":{\"bits\":%d,\"lo\":", ADC_BITS);
    jd(f, -(double)ADC_RLO / (ADC_RHI - ADC_RLO));
    fputs(",\"hi\":", f);
    jd(f, (double)(ADC_MAX - ADC_RLO) / (ADC_RHI - ADC_RLO));
    fprintf(f, ",\"reliableLo\":%d,\"reliableHi\":%d,\"compression\":", ADC_RLO, ADC_RHI);
    jd(f, ADC_COMPRESSION);
    fputs(",\"readNoiseLsb\":", f);
    jd(f, A.cfg.noise ? READ_NOISE_LSB : 0);
    fputs("},\"membraneNoiseLsb\":", f);
    jd(f, A.cfg.noise ? MEMBRANE_NOISE_LSB : 0);
    fputs(",\"inputScale\":", f);
    jd(f, A.n_layers ? A.in_scale : 0);
    fputs(",\"layers\":[", f);
    for (l = 0; l < A.n_layers; l++) {
        const layer *L = &A.layers[l];
        fprintf(f, "%s{\"nIn\":%lu,\"nOut\":%lu,\"first\":%lu,\"delay\":%lu,\"range\":[", l ? "," : "", (unsigned long)L->n_in, (unsigned long)L->n_out,
                (unsigned long)L->first, (unsigned long)L->delay);
        jd(f, L->lo); fputc(',', f); jd(f, L->hi);
        fputs("],\"membraneNoise\":", f);
        jd(f, A.cfg.noise ? MEMBRANE_NOISE_LSB / (ADC_RHI - ADC_RLO) * fs(L) : 0);
        fputs(",\"weightScale\":", f);
        jd(f, L->ws);
        fputs(",\"weightCodes\":[", f);
        for (k = 0; k < L->n_in * L->n_out; k++) fprintf(f, "%s%d", k ? "," : "", L->wq[k]);
        fputs("],\"biasScale\":", f);
        jd(f, L->bs);
        fputs(",\"biasCodes\":[", f);
        for (k = 0; k < L->n_out; k++) fprintf(f, "%s%d", k ? "," : "", L->bq[k]);
        fputs("],\"nonlinearity\":", f);
        if (L->nl == GLE_NL_IDENTITY) fputs("{\"kind\":\"identity\"}", f);
        else if (L->nl == GLE_NL_CLAMP) { fputs("{\"kind\":\"clamp\",\"lo\":", f); jd(f, L->clamp_lo); fputs(",\"hi\":", f); jd(f, L->clamp_hi); fputc('}', f); }
        else {
            fputs("{\"kind\":\"table\",\"base\":", f); jd(f, L->base);
            fputs(",\"cell\":", f); jd(f, L->cell);
            fprintf(f, ",\"interpolate\":%s,\"values\":[", L->interpolate ? "true" : "false");
            for (k = 0; k < L->table_len; k++) { if (k) fputc(',', f); jd(f, L->table[k]); }
            fputs("]}", f);
        }
        fputc('}', f);
    }
    fputs("],\"neurons\":[", f);
    for (i = 0; i < A.n_neurons; i++) {
        const neuron *n = &A.neurons[i];
        const layer *L = layer_of(i);
        const double unit[4] = {A.dt, A.dt, 1.0, fs(L)};
        fprintf(f, "%s{\"layer\":%lu,\"index\":%lu,\"broken\":", i ? "," : "", (unsigned long)(L - A.layers), (unsigned long)(i - L->first));
        if (n->broken >= 0) fprintf(f, "\"%s\"", PARAM_NAMES[n->broken]);
        else fputs("null", f);
        fputs(",\"maps\":{", f);
        for (p = 0; p < 4; p++) {
            fprintf(f, "%s\"%s\":{\"kind\":\"%s\",\"%s\":", p ? "," : "", PARAM_NAMES[p], p < 2 ? "exp" : "linear", p < 2 ? "lo" : "at0");
            jd(f, n->map_a[p] * unit[p]);
            fprintf(f, ",\"%s\":", p < 2 ? "hi" : "at1023");
            jd(f, n->map_b[p] * unit[p]);
            fputc('}', f);
        }
        fputs("},\"target\":{\"tauM\":", f);
        jd(f, n->target_tm * A.dt);
        fputs(",\"tauR\":", f);
        jd(f, n->target_tr * A.dt);
        fprintf(f, ",\"gain\":1,\"offset\":0},\"nominal\":[%u,%u,%u,%u],\"codes\":[%u,%u,%u,%u],\"realised\":{\"tauM\":", n->nominal[0], n->nominal[1], n->nominal[2],
                n->nominal[3], n->trims[0], n->trims[1], n->trims[2], n->trims[3]);
        jd(f, n->tm * A.dt);
        fputs(",\"tauR\":", f);
        jd(f, n->tr * A.dt);
        fputs(",\"gain\":", f);
        jd(f, n->gain);
        fputs(",\"offset\":", f);
        jd(f, n->off);
        fputs("}}", f);
    }
    fputs("]}\n", f);
    if (fclose(f) != 0 || rename(tmp, A.cfg.truth_path) != 0) perror("gle_board: --truth-out");
}

const gle_analog *gle_analog_create(const gle_analog_config *cfg) {
    A.cfg = *cfg;
    A.ops.ctx = 0;
    A.ops.trim_bits = TRIM_BITS;
    A.ops.adc_bits = ADC_BITS;
    A.ops.reliable_lo = ADC_RLO;
    A.ops.reliable_hi = ADC_RHI;
    A.ops.adc_lo = bits_of(-(double)ADC_RLO / (ADC_RHI - ADC_RLO));
    A.ops.adc_hi = bits_of((double)(ADC_MAX - ADC_RLO) / (ADC_RHI - ADC_RLO));
    A.ops.max_samples = MAX_SAMPLES;
    A.ops.boot = chip_boot;
    A.ops.neurons = chip_neurons;
    A.ops.range = chip_range;
    A.ops.get_trims = chip_get_trims;
    A.ops.set_trims = chip_set_trims;
    A.ops.reset = chip_reset;
    A.ops.step = chip_step;
    A.ops.states = chip_states;
    A.ops.probe = chip_probe;
    A.ops.samples = chip_samples;
    return &A.ops;
}
