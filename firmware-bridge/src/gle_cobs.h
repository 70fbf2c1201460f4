/*
 * Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): the encoded bytes hold no
 * 0x00, so 0x00 delimits frames on the line (firmware-bridge/PROTOCOL.md section 1).
 * The encoder writes into a caller's buffer; the decoder is a streaming state machine
 * over a caller's bounded buffer: it takes one byte at a time, and a frame longer than
 * the buffer or encoded invalidly is dropped whole, resynchronising at the next 0x00.
 */
#ifndef GLE_COBS_H
#define GLE_COBS_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes the encoding of n bytes takes (without the 0x00 delimiter). */
#define GLE_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Encodes n bytes into out (cap bytes, no delimiter); returns the encoded length, or 0 when it does not fit. */
size_t gle_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;      /* decoded bytes so far */
    size_t seen;     /* encoded bytes of the current frame so far */
    uint8_t left;    /* bytes left in the current block (0: a code byte comes next) */
    uint8_t code;    /* the current block's code byte */
    uint8_t bad;     /* the current frame is dropped (too long or invalid) */
} gle_cobs_decoder;

enum {
    GLE_COBS_MORE = 0,    /* byte taken, no frame complete */
    GLE_COBS_FRAME = 1,   /* a frame is complete: buf[0..len) until the next call */
    GLE_COBS_DROPPED = 2  /* a delimiter ended a frame that was too long or invalid */
};

void gle_cobs_decoder_init(gle_cobs_decoder *d, uint8_t *buf, size_t cap);
/* Forgets a frame in progress. */
void gle_cobs_decoder_reset(gle_cobs_decoder *d);
int gle_cobs_feed(gle_cobs_decoder *d, uint8_t byte);

#endif
