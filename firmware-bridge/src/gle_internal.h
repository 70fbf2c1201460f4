/* State shared by the loader and the engine; not part of the public interface. */
#ifndef GLE_INTERNAL_H
#define GLE_INTERNAL_H

#include "gle.h"

enum { GLE_TRN = 0, GLE_TRN_ZERO, GLE_RND, GLE_RND_ZERO, GLE_RND_MIN_INF, GLE_RND_INF, GLE_RND_CONV };
enum { GLE_WRAP = 0, GLE_SAT, GLE_SAT_ZERO, GLE_SAT_SYM };
enum { GLE_NL_IDENTITY = 0, GLE_NL_CLAMP = 1, GLE_NL_TABLE = 2 };

typedef struct {
    int32_t width;
    int32_t frac;
    int32_t is_signed;
    int32_t rounding;
    int32_t overflow;
    /* the range results take after overflow handling (SAT_SYM excludes -2^(W-1)) */
    int64_t min_raw;
    int64_t max_raw;
} gle_fmt;

typedef struct {
    uint32_t n_in, n_out, delay, depth, head;
    uint32_t w_off, n_off, ring_off, table_off, table_len;
    int32_t acc_shift, bias_shift, alpha_frac, rho_frac, p_shift, r_shift;
    gle_fmt drive, membrane, prosp, rate;
    int32_t nl, interpolate;
    int64_t clamp_lo, clamp_hi, table_base;
    int32_t table_shift;
} gle_layer;

/* A network's sizes and presentation: what validation finds, before anything is copied. */
typedef struct {
    uint32_t n_layers, input_size, output_size;
    uint32_t steps_per_sample, settle_steps, readout_sum, sequence, format_version;
    uint32_t n_weights, n_neurons, n_ring, n_table;
} gle_shape;

typedef struct {
    int loaded;
    gle_shape shape;
    gle_fmt input;
    gle_layer layers[GLE_MAX_LAYERS];
    uint8_t sha256[32];
} gle_net;

extern gle_net gle_g_net;
extern int16_t gle_g_weights[GLE_MAX_WEIGHTS];
extern int32_t gle_g_bias[GLE_MAX_NEURONS];
extern uint16_t gle_g_alpha[GLE_MAX_NEURONS];
extern uint16_t gle_g_rho[GLE_MAX_NEURONS];
extern int32_t gle_g_u[GLE_MAX_NEURONS];
extern int32_t gle_g_ring[GLE_MAX_RING];
extern int32_t gle_g_table[GLE_MAX_TABLE];
extern int32_t gle_g_out[GLE_MAX_OUTPUTS];

/* a gle_info for a network of this shape (sizes in elements and in this engine's bytes) */
void gle_shape_info(const gle_shape *s, const uint8_t sha256[32], gle_info *info);
void gle_fmt_init(gle_fmt *f, int32_t width, int32_t frac, int32_t is_signed, int32_t rounding, int32_t overflow);

#endif
