/*
 * The analog chip of the emulated analog board (gle_board --analog): GLE inference in a
 * BrainScaleS-2-like physics, in floating point, host build only. ANALOG.md is its
 * specification; the protocol handler reaches it through gle_board.h's gle_analog.
 */
#ifndef GLE_ANALOG_H
#define GLE_ANALOG_H

#include <stdint.h>
#include "../src/gle_board.h"

typedef struct {
    uint32_t seed;            /* the chip: every mismatch is drawn from it */
    int noise;                /* 0: no temporal membrane noise, no ADC read noise (--noise-off) */
    double broken;            /* the fraction of neurons with one trim that cannot reach its target */
    const char *truth_path;   /* --truth-out: the hidden realisation as JSON, rewritten at every boot and TRIM_SET; NULL: none */
} gle_analog_config;

/* The chip's functions for the board layer; the configuration is copied. */
const gle_analog *gle_analog_create(const gle_analog_config *cfg);

#endif
