/*
 * The presentation loop, written once for every caller (the host program's `run` and
 * `trace`, the board's RUN): one sample is a reset, stepsPerSample steps, and a read-out
 * (SEMANTICS.md section 6): `last`, the top layer's rate codes after the last step, or
 * `sum`, their exact sum over the steps from settleSteps on. Where each step's inputs
 * come from (a file, a held row, a row per step) is the caller's.
 */
#ifndef GLE_PRESENT_H
#define GLE_PRESENT_H

#include <stddef.h>
#include <stdint.h>
#include "gle.h"

typedef struct {
    /* step t's input_size input codes, or NULL: the sample ends before step t */
    const int32_t *(*input)(void *ctx, uint32_t t);
    /* called after step t (may be NULL) */
    void (*after_step)(void *ctx, uint32_t t);
    /* What runs the network (both NULL: the engine, gle_reset and gle_step). step returns
     * the top layer's read-out codes of the step (an analog board's chip: ADC codes). */
    void (*reset)(void *ctx);
    const int32_t *(*step)(void *ctx, const int32_t *x);
    void *ctx;
} gle_present_io;

/*
 * One sample of the loaded network: reset, up to stepsPerSample steps, and the read-out
 * into y (output_size codes). Returns the steps run: stepsPerSample, or fewer when
 * io->input returned NULL (y is then not a read-out). 0 when nothing is loaded.
 */
uint32_t gle_present_sample(const gle_present_io *io, int64_t *y);

/* Bytes of one step's state record: for each layer, its nOut membrane and nOut rate codes, int32 LE. */
uint32_t gle_present_state_bytes(void);
/* Writes the current state record (gle_present_state_bytes() bytes) to out. */
void gle_present_put_states(uint8_t *out);

/* int32 / int64 little-endian, the wire's and the files' byte order */
void gle_put_i32le(uint8_t *p, int32_t v);
void gle_put_i64le(uint8_t *p, int64_t v);
int32_t gle_get_i32le(const uint8_t *p);

#endif
