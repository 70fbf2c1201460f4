/*
 * The board layer: the little the protocol handler (gle_proto.c) needs from a board, as a
 * table of functions the port fills in. host/gle_board.c implements it over a
 * pseudo-terminal and a flash file, fuzz/fuzz_proto.c over memory; a microcontroller
 * port implements it over its UART and its internal flash.
 *
 * Flash is read memory-mapped (as internal flash of a Cortex-M is, and as the loader
 * needs the descriptor's bytes), and written like NOR flash: erase sets a whole sector to
 * 0xFF, programming only clears bits of erased bytes. The handler never programs a byte
 * twice without erasing it first.
 */
#ifndef GLE_BOARD_H
#define GLE_BOARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *ctx;   /* handed back to every function below */

    /* Bytes out to the line. The board takes all n (it queues them); the handler writes
     * at most one frame, GLE_PROTO_TX_MAX bytes, per frame it is given (gle_proto_rx). */
    void (*write)(void *ctx, const uint8_t *p, size_t n);

    /* Flash: flash_size bytes readable at flash[0 .. flash_size), erased in sectors of
     * sector_size bytes (a power of two, at least 64). It must hold 2 slots of slot_size
     * bytes (a multiple of sector_size) and 4 sectors of trailers (gle_proto.h). */
    const uint8_t *flash;
    uint32_t flash_size;
    uint32_t sector_size;
    uint32_t slot_size;
    /* programs n bytes at addr (erased before); 0, or -1 on a failure */
    int (*flash_write)(void *ctx, uint32_t addr, const uint8_t *p, uint32_t n);
    /* erases [addr, addr + n), both multiples of sector_size; 0 or -1 */
    int (*flash_erase)(void *ctx, uint32_t addr, uint32_t n);

    /* a millisecond clock (any origin; wraps) */
    uint32_t (*millis)(void *ctx);
    /* A boot begins: increments the board's persistent boot counter and returns it. The
     * handler draws the boot id from it and the clock. */
    uint32_t (*next_boot)(void *ctx);
    /* The handler asks for a reboot (ACTIVATE, RESET): once every byte written so far has
     * left, the board calls gle_proto_reboot(), which clears the handler's RAM state and
     * reruns the boot. */
    void (*reboot)(void *ctx);
    /* the line rate the board sees, 0 if unknown; may be NULL */
    uint32_t (*baud)(void *ctx);

    uint32_t mtu;           /* the largest payload, 512 .. GLE_PROTO_MAX_MTU */
    uint32_t rx_buffer;     /* bytes of frames the board buffers while it is busy (INFO rxBuffer) */
    int pace;               /* 1 when the board paces the line at the baud rate (capability "pace") */
    const char *firmware;   /* INFO firmware */
    const char *board_id;   /* INFO boardId */
} gle_board;

#endif
