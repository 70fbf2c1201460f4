#include "gle_cobs.h"

size_t gle_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t code_at = 0, o = 1, i;
    uint8_t code = 1;
    if (cap < 1) return 0;
    for (i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
            if (o > cap) return 0;
            continue;
        }
        if (o >= cap) return 0;
        out[o++] = in[i];
        if (++code == 0xFF) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
            /* a full block at the very end needs no trailing empty block */
            if (i + 1 == n) { o--; return o; }
            if (o > cap) return 0;
        }
    }
    out[code_at] = code;
    return o;
}

void gle_cobs_decoder_init(gle_cobs_decoder *d, uint8_t *buf, size_t cap) {
    d->buf = buf;
    d->cap = cap;
    gle_cobs_decoder_reset(d);
}

void gle_cobs_decoder_reset(gle_cobs_decoder *d) {
    d->len = 0;
    d->seen = 0;
    d->left = 0;
    d->code = 0xFF;
    d->bad = 0;
}

static void put(gle_cobs_decoder *d, uint8_t b) {
    if (d->len < d->cap) d->buf[d->len++] = b;
    else d->bad = 1;
}

int gle_cobs_feed(gle_cobs_decoder *d, uint8_t byte) {
    if (byte == 0) {
        int r;
        if (d->seen == 0) return GLE_COBS_MORE; /* an empty frame: delimiters in a row */
        /* a delimiter inside a block is invalid */
        r = (d->bad || d->left != 0) ? GLE_COBS_DROPPED : GLE_COBS_FRAME;
        {
            size_t len = d->len;
            gle_cobs_decoder_reset(d);
            if (r == GLE_COBS_FRAME) d->len = len;
        }
        return r;
    }
    if (d->seen == 0) d->len = 0; /* a new frame: the previous one's bytes are gone */
    d->seen++;
    if (d->bad) return GLE_COBS_MORE;
    if (d->left == 0) {
        /* a code byte: the previous block, unless full, ended with an implicit 0x00 */
        if (d->seen > 1 && d->code != 0xFF) put(d, 0);
        d->code = byte;
        d->left = (uint8_t)(byte - 1);
    } else {
        put(d, byte);
        d->left--;
    }
    return GLE_COBS_MORE;
}
