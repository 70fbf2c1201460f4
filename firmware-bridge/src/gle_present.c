#include "gle_present.h"

uint32_t gle_present_sample(const gle_present_io *io, int64_t *y) {
    gle_info info;
    uint32_t t, k;
    if (!gle_loaded()) return 0;
    gle_get_info(&info);
    if (io->reset) io->reset(io->ctx);
    else gle_reset();
    for (k = 0; k < info.output_size; k++) y[k] = 0;
    for (t = 0; t < info.steps_per_sample; t++) {
        const int32_t *x = io->input(io->ctx, t), *out;
        if (!x) return t;
        if (io->step) out = io->step(io->ctx, x);
        else { gle_step(x); out = gle_output(); }
        if (io->after_step) io->after_step(io->ctx, t);
        if (info.readout_sum ? t >= info.settle_steps : t + 1u == info.steps_per_sample) {
            for (k = 0; k < info.output_size; k++) y[k] = info.readout_sum ? y[k] + out[k] : out[k];
        }
    }
    return t;
}

uint32_t gle_present_state_bytes(void) {
    uint32_t l, n = 0;
    for (l = 0; gle_layer_size(l) > 0; l++) n += 8u * gle_layer_size(l);
    return n;
}

void gle_present_put_states(uint8_t *out) {
    uint32_t l, k;
    for (l = 0; gle_layer_size(l) > 0; l++) {
        const uint32_t n = gle_layer_size(l);
        const int32_t *u = gle_membrane(l), *r = gle_rates(l);
        for (k = 0; k < n; k++, out += 4) gle_put_i32le(out, u[k]);
        for (k = 0; k < n; k++, out += 4) gle_put_i32le(out, r[k]);
    }
}

void gle_put_i32le(uint8_t *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)u; p[1] = (uint8_t)(u >> 8); p[2] = (uint8_t)(u >> 16); p[3] = (uint8_t)(u >> 24);
}

void gle_put_i64le(uint8_t *p, int64_t v) {
    uint64_t u = (uint64_t)v;
    unsigned i;
    for (i = 0; i < 8; i++) p[i] = (uint8_t)(u >> (8 * i));
}

int32_t gle_get_i32le(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return (u & 0x80000000u) ? -(int32_t)((~u) & 0x7fffffffu) - 1 : (int32_t)u;
}
