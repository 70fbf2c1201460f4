/*
 * The portable GLE inference engine: loads a descriptor (.gled) and steps the network
 * with integer arithmetic only, bit for bit as firmware-bridge/SEMANTICS.md says and as
 * glekit's TypeScript emulator does. C99, no allocation, no floating point; one engine
 * instance in static memory (a board runs one network).
 */
#ifndef GLE_H
#define GLE_H

#include <stddef.h>
#include <stdint.h>
#include "gle_config.h"

#define GLE_ERROR_TEXT 200

typedef enum {
    GLE_OK = 0,
    GLE_E_TRUNCATED = 1,   /* too short, or ends inside a value */
    GLE_E_MAGIC = 2,       /* not a descriptor */
    GLE_E_VERSION = 3,     /* a format version this engine does not read (newer, or invalid) */
    GLE_E_HASH = 4,        /* SHA-256 trailer missing or not matching: modified or damaged */
    GLE_E_FORMAT = 5,      /* malformed msgpack or a missing / mistyped field */
    GLE_E_BOUNDS = 6,      /* a value outside the format's bounds */
    GLE_E_CAPACITY = 7,    /* valid, but larger than this build's buffers */
    GLE_E_NOT_LOADED = 8
} gle_status;

typedef struct {
    gle_status status;
    char message[GLE_ERROR_TEXT];
} gle_error;

/* What a loaded descriptor needs, in elements and in bytes of this engine's buffers. */
typedef struct {
    uint32_t layers, input_size, output_size;
    uint32_t weights, neurons, ring, table;
    uint32_t steps_per_sample, settle_steps, readout_sum;
    /* presentation mode: 1 for "sequence" (an input per step), 0 for "static" (held) */
    uint32_t sequence;
    /* the descriptor's formatVersion */
    uint32_t format_version;
    /* bytes: weights (int16), bias (int32), alpha and rho (uint16 each), membranes
     * (int32), delay lines (int32), tables (int32), outputs (int32), layer records */
    uint32_t bytes_weights, bytes_bias, bytes_decay, bytes_membrane, bytes_ring, bytes_table, bytes_output, bytes_layers;
    uint32_t bytes_total;
    uint8_t sha256[32];
} gle_info;

/*
 * Validates the whole descriptor first; only when every check passes are the engine's
 * buffers replaced. On any failure the previously loaded network stays loaded and
 * usable, and nothing of the refused descriptor is ever executed.
 */
gle_status gle_load(const uint8_t *data, size_t len, gle_error *err);
/*
 * gle_load's every check, without touching the engine: what runs keeps running. info
 * (may be NULL) receives the sizes of the validated network as gle_get_info would.
 */
gle_status gle_validate(const uint8_t *data, size_t len, gle_error *err, gle_info *info);
/* Only the envelope: magic and format version (GLE_E_VERSION for one this engine does not read). */
gle_status gle_format_version(const uint8_t *data, size_t len, int64_t *version, gle_error *err);
int gle_loaded(void);
/* forgets the loaded network (a board's reboot into no image) */
void gle_unload(void);
/* all state to 0 */
void gle_reset(void);
/* one step; x holds input_size codes. Returns GLE_E_NOT_LOADED when nothing is loaded. */
gle_status gle_step(const int32_t *x);
/* the top layer's rate codes after the last step */
const int32_t *gle_output(void);
/* membrane and latest rate codes of layer l, or NULL */
const int32_t *gle_membrane(uint32_t l);
const int32_t *gle_rates(uint32_t l);
uint32_t gle_layer_size(uint32_t l);
void gle_get_info(gle_info *info);
/* bytes of static memory this build reserves for the engine */
uint32_t gle_static_bytes(void);

#endif
