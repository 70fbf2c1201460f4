/*
 * One inference step, as firmware-bridge/SEMANTICS.md states it. Integer only: int64_t
 * intermediates, whose magnitudes the loader's bounds keep below 2^53 (so the
 * TypeScript engine's doubles hold the same values exactly), and shifts of negative
 * numbers written so that C99 defines them.
 */
#include "gle_internal.h"

gle_net gle_g_net;
int16_t gle_g_weights[GLE_MAX_WEIGHTS];
int32_t gle_g_bias[GLE_MAX_NEURONS];
uint16_t gle_g_alpha[GLE_MAX_NEURONS];
uint16_t gle_g_rho[GLE_MAX_NEURONS];
int32_t gle_g_u[GLE_MAX_NEURONS];
int32_t gle_g_ring[GLE_MAX_RING];
int32_t gle_g_table[GLE_MAX_TABLE];
int32_t gle_g_out[GLE_MAX_OUTPUTS];

void gle_fmt_init(gle_fmt *f, int32_t width, int32_t frac, int32_t is_signed, int32_t rounding, int32_t overflow) {
    f->width = width;
    f->frac = frac;
    f->is_signed = is_signed;
    f->rounding = rounding;
    f->overflow = overflow;
    if (is_signed) {
        f->max_raw = ((int64_t)1 << (width - 1)) - 1;
        f->min_raw = overflow == GLE_SAT_SYM ? -f->max_raw : -((int64_t)1 << (width - 1));
    } else {
        f->max_raw = ((int64_t)1 << width) - 1;
        f->min_raw = 0;
    }
}

/* floor(v / 2^k) for 1 <= k <= 62; ~v is non-negative when v is negative, so both shifts are defined */
static int64_t floor_shift(int64_t v, int32_t k) {
    return v >= 0 ? (v >> k) : ~((~v) >> k);
}

/* round(v / 2^k) in rounding mode rc, k >= 1, |v| < 2^53 (SEMANTICS.md section 3) */
static int64_t round_shift(int64_t v, int32_t k, int32_t rc) {
    int64_t q;
    uint64_t rem, half;
    int inc;
    if (k > 62) return (v < 0 && rc == GLE_TRN) ? -1 : 0;
    q = floor_shift(v, k);
    rem = (uint64_t)v & ((((uint64_t)1) << k) - 1u);
    half = ((uint64_t)1) << (k - 1);
    switch (rc) {
    case GLE_TRN: inc = 0; break;
    case GLE_TRN_ZERO: inc = rem != 0 && q < 0; break;
    case GLE_RND: inc = rem >= half; break;
    case GLE_RND_ZERO: inc = rem > half || (rem == half && q < 0); break;
    case GLE_RND_MIN_INF: inc = rem > half; break;
    case GLE_RND_INF: inc = rem > half || (rem == half && q >= 0); break;
    default: inc = rem > half || (rem == half && (q & 1) != 0); break;
    }
    return q + inc;
}

/* overflow handling of q in f (SEMANTICS.md section 4) */
static int64_t fit(int64_t q, const gle_fmt *f) {
    switch (f->overflow) {
    case GLE_WRAP: {
        uint64_t m = (uint64_t)q & ((((uint64_t)1) << f->width) - 1u);
        if (f->is_signed && ((m >> (f->width - 1)) & 1u)) return (int64_t)m - ((int64_t)1 << f->width);
        return (int64_t)m;
    }
    case GLE_SAT_ZERO:
        return (q > f->max_raw || q < f->min_raw) ? 0 : q;
    default:
        return q > f->max_raw ? f->max_raw : q < f->min_raw ? f->min_raw : q;
    }
}

/* overflow(round(v / 2^k)); a negative k multiplies (the bounds keep the product below 2^53) */
static int64_t requant(int64_t v, int32_t k, const gle_fmt *f) {
    int64_t q;
    if (k > 0) q = round_shift(v, k, f->rounding);
    else if (k == 0) q = v;
    else q = v * ((int64_t)1 << (-k));
    return fit(q, f);
}

int gle_loaded(void) { return gle_g_net.loaded; }

void gle_unload(void) { gle_g_net.loaded = 0; }

void gle_reset(void) {
    uint32_t i;
    gle_net *n = &gle_g_net;
    for (i = 0; i < n->shape.n_neurons; i++) gle_g_u[i] = 0;
    for (i = 0; i < n->shape.n_ring; i++) gle_g_ring[i] = 0;
    for (i = 0; i < n->shape.output_size; i++) gle_g_out[i] = 0;
    for (i = 0; i < n->shape.n_layers; i++) n->layers[i].head = 0;
}

gle_status gle_step(const int32_t *x) {
    gle_net *n = &gle_g_net;
    gle_layer *first;
    uint32_t j, li;
    if (!n->loaded) return GLE_E_NOT_LOADED;
    first = &n->layers[0];
    first->head = first->head + 1 == first->depth ? 0 : first->head + 1;
    {
        int32_t *slot = gle_g_ring + first->ring_off + first->head * first->n_in;
        /* inputs are codes of the input format; anything else is brought into it as the format says */
        for (j = 0; j < first->n_in; j++) slot[j] = (int32_t)fit(x[j], &n->input);
    }
    /* top-down: each layer reads its input before the layer below overwrites it */
    for (li = n->shape.n_layers; li-- > 0;) {
        gle_layer *L = &n->layers[li];
        const uint32_t n_in = L->n_in;
        const uint32_t read_slot = L->head + 1 == L->depth ? 0 : L->head + 1;
        const int32_t *src = gle_g_ring + L->ring_off + read_slot * n_in;
        const int16_t *W = gle_g_weights + L->w_off;
        const int32_t *bias = gle_g_bias + L->n_off;
        const uint16_t *alpha = gle_g_alpha + L->n_off;
        const uint16_t *rho = gle_g_rho + L->n_off;
        const int32_t *table = gle_g_table + L->table_off;
        const int64_t alpha_one = (int64_t)1 << L->alpha_frac;
        const int64_t rho_one = (int64_t)1 << L->rho_frac;
        const int64_t bias_mul = (int64_t)1 << L->bias_shift;
        int32_t *u = gle_g_u + L->n_off;
        int32_t *dst;
        uint32_t i;
        if (li + 1 == n->shape.n_layers) {
            dst = gle_g_out;
        } else {
            gle_layer *A = &n->layers[li + 1];
            A->head = A->head + 1 == A->depth ? 0 : A->head + 1;
            dst = gle_g_ring + A->ring_off + A->head * A->n_in;
        }
        for (i = 0; i < L->n_out; i++) {
            const int16_t *w = W + (size_t)i * n_in;
            int64_t acc = (int64_t)bias[i] * bias_mul;
            int64_t s, delta, u_new, pu, r;
            for (j = 0; j < n_in; j++) acc += (int64_t)w[j] * src[j];
            s = requant(acc, L->acc_shift, &L->drive);
            delta = s - u[i];
            u_new = requant((int64_t)u[i] * alpha_one + (int64_t)alpha[i] * delta, L->alpha_frac, &L->membrane);
            pu = requant((int64_t)u[i] * rho_one + (int64_t)rho[i] * delta, L->p_shift, &L->prosp);
            u[i] = (int32_t)u_new;
            if (L->nl == GLE_NL_TABLE) {
                const int64_t d = pu - L->table_base;
                const int64_t last = (int64_t)L->table_len - 1;
                if (d < 0) {
                    r = table[0];
                } else {
                    const int64_t k = d >> L->table_shift;
                    if (k >= last) r = table[last];
                    else if (!L->interpolate) r = table[k];
                    else {
                        const int64_t step = (int64_t)1 << L->table_shift;
                        const int64_t v = (int64_t)table[k] * step + ((int64_t)table[k + 1] - table[k]) * (d - k * step);
                        r = requant(v, L->table_shift, &L->rate);
                    }
                }
            } else {
                int64_t v = pu;
                if (L->nl == GLE_NL_CLAMP) v = v < L->clamp_lo ? L->clamp_lo : v > L->clamp_hi ? L->clamp_hi : v;
                r = requant(v, L->r_shift, &L->rate);
            }
            dst[i] = (int32_t)r;
        }
    }
    return GLE_OK;
}

const int32_t *gle_output(void) { return gle_g_out; }

uint32_t gle_layer_size(uint32_t l) {
    return (gle_g_net.loaded && l < gle_g_net.shape.n_layers) ? gle_g_net.layers[l].n_out : 0;
}

const int32_t *gle_membrane(uint32_t l) {
    if (!gle_g_net.loaded || l >= gle_g_net.shape.n_layers) return 0;
    return gle_g_u + gle_g_net.layers[l].n_off;
}

const int32_t *gle_rates(uint32_t l) {
    const gle_layer *A;
    if (!gle_g_net.loaded || l >= gle_g_net.shape.n_layers) return 0;
    if (l + 1 == gle_g_net.shape.n_layers) return gle_g_out;
    A = &gle_g_net.layers[l + 1];
    return gle_g_ring + A->ring_off + A->head * A->n_in;
}

uint32_t gle_static_bytes(void) {
    return (uint32_t)(sizeof gle_g_net + sizeof gle_g_weights + sizeof gle_g_bias + sizeof gle_g_alpha + sizeof gle_g_rho +
                      sizeof gle_g_u + sizeof gle_g_ring + sizeof gle_g_table + sizeof gle_g_out);
}

void gle_shape_info(const gle_shape *s, const uint8_t sha256[32], gle_info *info) {
    uint32_t i;
    info->layers = s->n_layers;
    info->input_size = s->input_size;
    info->output_size = s->output_size;
    info->weights = s->n_weights;
    info->neurons = s->n_neurons;
    info->ring = s->n_ring;
    info->table = s->n_table;
    info->steps_per_sample = s->steps_per_sample;
    info->settle_steps = s->settle_steps;
    info->readout_sum = s->readout_sum;
    info->sequence = s->sequence;
    info->format_version = s->format_version;
    info->bytes_weights = s->n_weights * (uint32_t)sizeof(int16_t);
    info->bytes_bias = s->n_neurons * (uint32_t)sizeof(int32_t);
    info->bytes_decay = s->n_neurons * 2u * (uint32_t)sizeof(uint16_t);
    info->bytes_membrane = s->n_neurons * (uint32_t)sizeof(int32_t);
    info->bytes_ring = s->n_ring * (uint32_t)sizeof(int32_t);
    info->bytes_table = s->n_table * (uint32_t)sizeof(int32_t);
    info->bytes_output = s->output_size * (uint32_t)sizeof(int32_t);
    info->bytes_layers = s->n_layers * (uint32_t)sizeof(gle_layer) + (uint32_t)(sizeof(gle_net) - sizeof gle_g_net.layers);
    info->bytes_total = info->bytes_weights + info->bytes_bias + info->bytes_decay + info->bytes_membrane + info->bytes_ring +
                        info->bytes_table + info->bytes_output + info->bytes_layers;
    for (i = 0; i < 32; i++) info->sha256[i] = sha256[i];
}

void gle_get_info(gle_info *info) { gle_shape_info(&gle_g_net.shape, gle_g_net.sha256, info); }
