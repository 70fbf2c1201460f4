/*
 * Buffer sizes of the engine, fixed at build time: the engine never allocates. A board
 * build sets them to what its descriptors need (`gle_host info` prints the numbers for
 * a descriptor, and `gle_host config` the -D flags); the defaults hold the shapes of
 * the speed benchmark (784-300-100-10) on a host.
 */
#ifndef GLE_CONFIG_H
#define GLE_CONFIG_H

#ifndef GLE_MAX_LAYERS
#define GLE_MAX_LAYERS 16
#endif
/* sum over layers of nIn x nOut */
#ifndef GLE_MAX_WEIGHTS
#define GLE_MAX_WEIGHTS 300000
#endif
/* sum over layers of nOut */
#ifndef GLE_MAX_NEURONS
#define GLE_MAX_NEURONS 4096
#endif
/* sum over layers of (delay + 1) x nIn: the delay lines that hold each layer's input */
#ifndef GLE_MAX_RING
#define GLE_MAX_RING 65536
#endif
/* sum over layers of nonlinearity table entries */
#ifndef GLE_MAX_TABLE
#define GLE_MAX_TABLE 16384
#endif
/* the top layer's size */
#ifndef GLE_MAX_OUTPUTS
#define GLE_MAX_OUTPUTS 1024
#endif

/* Limits of descriptor format version 1 (firmware-bridge/DESCRIPTOR.md). */
#define GLE_FORMAT_VERSION 1
#define GLE_LIMIT_LAYERS 16
#define GLE_LIMIT_SIZE 65535
#define GLE_LIMIT_DELAY 255
#define GLE_LIMIT_TABLE_ENTRIES 4096
#define GLE_LIMIT_STEPS (1L << 20)
#define GLE_LIMIT_WEIGHT_WIDTH 16
#define GLE_LIMIT_ACTIVATION_WIDTH 24
#define GLE_LIMIT_STATE_WIDTH 32
#define GLE_LIMIT_FRAC_ABS 64
#define GLE_LIMIT_ALPHA_FRAC 15
#define GLE_LIMIT_RHO_FRAC 16
#define GLE_LIMIT_TABLE_SHIFT 24
#define GLE_LIMIT_RATE_LEFT_SHIFT 20
#define GLE_LIMIT_ACC_BITS 51

#endif
