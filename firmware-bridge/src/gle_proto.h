/*
 * The board's side of the serial bridge protocol, firmware-bridge/PROTOCOL.md version 1:
 * bytes in, frames out, over the board layer of gle_board.h. One handler instance in
 * static memory (a board runs one); buffers are static and sized from GLE_PROTO_MAX_MTU.
 *
 * Flash layout (gle_board.slot_size S, sector_size E):
 *   [0, S)              slot 0's image
 *   [S, 2S)             slot 1's image
 *   [2S, 2S + 2E)       slot 0's trailer: a log of 64-byte records over two sectors
 *   [2S + 2E, 2S + 4E)  slot 1's trailer
 * README.md describes the record and why a power cut at any write leaves a consistent state.
 */
#ifndef GLE_PROTO_H
#define GLE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "gle_board.h"
#include "gle_cobs.h"

#ifndef GLE_PROTO_MAX_MTU
#define GLE_PROTO_MAX_MTU 2048
#endif
#define GLE_PROTO_MIN_MTU 512
#define GLE_PROTO_VERSION 1
#define GLE_PROTO_SLOTS 2
#define GLE_PROTO_HEADER 6
#define GLE_PROTO_CRC 4
/* a decoded frame: header, payload, CRC */
#define GLE_PROTO_FRAME_MAX (GLE_PROTO_MAX_MTU + GLE_PROTO_HEADER + GLE_PROTO_CRC)
/* a frame on the wire: COBS and the 0x00 delimiter */
#define GLE_PROTO_TX_MAX (GLE_COBS_MAX_ENCODED(GLE_PROTO_FRAME_MAX) + 1u)
#define GLE_PROTO_TRAILER_RECORD 64u
/* the flash a board needs for slots of slot_size bytes */
#define GLE_PROTO_FLASH_BYTES(slot_size, sector_size) (2u * (slot_size) + 4u * (sector_size))

enum {
    GLE_ST_OK = 0, GLE_ST_UNKNOWN = 1, GLE_ST_NOMEM = 2, GLE_ST_INVAL = 3, GLE_ST_TIMEOUT = 4, GLE_ST_NOENT = 5,
    GLE_ST_BADSTATE = 6, GLE_ST_MSGSIZE = 7, GLE_ST_NOTSUP = 8, GLE_ST_CORRUPT = 9, GLE_ST_BUSY = 10,
    GLE_ST_ACCESSDENIED = 11, GLE_ST_TOO_OLD = 12, GLE_ST_TOO_NEW = 13
};

enum {
    GLE_MSG_HELLO = 0x01, GLE_MSG_INFO = 0x02, GLE_MSG_STATE = 0x03, GLE_MSG_UPLOAD = 0x10, GLE_MSG_ERASE = 0x11,
    GLE_MSG_ABORT = 0x12, GLE_MSG_VERIFY = 0x13, GLE_MSG_ACTIVATE = 0x20, GLE_MSG_CONFIRM = 0x21, GLE_MSG_RESET = 0x22,
    GLE_MSG_RUN = 0x30, GLE_MSG_TRIM_SET = 0x40, GLE_MSG_TRIM_GET = 0x41, GLE_MSG_PROBE = 0x42, GLE_MSG_PROBE_READ = 0x43
};

/*
 * Power-on: reads the trailers, repairs an upload a power cut interrupted, and boots
 * (PROTOCOL.md section 3.4). The board layer must outlive the handler. Returns 0, or -1
 * when the board's geometry is unusable (flash too small, MTU out of range).
 */
int gle_proto_init(const gle_board *board);
/*
 * Takes line bytes up to and including the end of one frame, handles that frame and
 * writes its response; returns how many of the n bytes it took (call again with the
 * rest). Before each call the board must have room for GLE_PROTO_TX_MAX bytes of output.
 * Takes nothing while a reboot is pending.
 */
size_t gle_proto_rx(const uint8_t *p, size_t n);
/* 1 after a request asked for a reboot, until gle_proto_reboot() */
int gle_proto_reboot_pending(void);
/* The reboot the board layer's reboot() was asked for: RAM state cleared, boot rerun. */
void gle_proto_reboot(void);

typedef struct {
    uint32_t boot_id, boots;
    uint32_t rx_frames, rx_dropped, tx_frames;
    int active;   /* the running slot, or -1 */
    /* per slot: 0 empty, 1 partial, 2 complete; the declared length; bytes received */
    uint32_t slot_state[GLE_PROTO_SLOTS], slot_len[GLE_PROTO_SLOTS], slot_off[GLE_PROTO_SLOTS];
} gle_proto_status;
void gle_proto_get_status(gle_proto_status *s);

#endif
