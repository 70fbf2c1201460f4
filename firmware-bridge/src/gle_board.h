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

/*
 * An analog board's chip (PROTOCOL.md section 6, ANALOG.md): the handler reaches the
 * chip only through these functions, as a real board's firmware calls its chip drivers.
 * Everything crossing this interface is an integer (ADC codes, trim codes, input codes);
 * the two real numbers INFO reports are handed over as IEEE 754 binary64 bit patterns, so
 * the portable handler stays integer-only. host/gle_analog.c implements it.
 */
typedef struct {
    void *ctx;
    uint32_t trim_bits;                   /* trims are codes 0 .. 2^trim_bits - 1 */
    uint32_t adc_bits, reliable_lo, reliable_hi;
    uint64_t adc_lo, adc_hi;              /* binary64 bits of INFO adc.lo and adc.hi */
    uint32_t max_samples;                 /* the most ADC samples one PROBE may keep */
    /* an image was booted (the loader accepted these bytes and the engine holds them), or none (NULL, 0) */
    void (*boot)(void *ctx, const uint8_t *image, uint32_t len);
    /* the running image's neurons over all layers (0 with none) */
    uint32_t (*neurons)(void *ctx);
    /* layer l's full scale (INFO analog.ranges[l]) as binary64 bits */
    void (*range)(void *ctx, uint32_t layer, uint64_t *lo, uint64_t *hi);
    /* the trims in force of neurons off .. off + n - 1: 4 x n uint16 LE, parameter-major
     * (tauM, tauR, gain, offset) */
    void (*get_trims)(void *ctx, uint32_t off, uint32_t n, uint8_t *le);
    /* replaces those (the handler has checked the range and every code) */
    void (*set_trims)(void *ctx, uint32_t off, uint32_t n, const uint8_t *le);
    /* the network at rest */
    void (*reset)(void *ctx);
    /* one step with input_size input codes; out receives the top layer's rate ADC codes */
    void (*step)(void *ctx, const int32_t *x, int32_t *out);
    /* the last step's state record: per layer, nOut membrane and nOut rate ADC codes, int32 LE */
    void (*states)(void *ctx, uint8_t *out);
    /* PROBE of layer `layer` (checked): n neuron indices (uint16 LE, checked; n == 0: all),
     * `level` in units of 2^-16, `steps` steps; observe 1 membrane, 2 rate, 3 both.
     * Returns the samples held; the network is left at rest. */
    uint32_t (*probe)(void *ctx, uint32_t layer, const uint8_t *idx, uint32_t n, int32_t level, uint32_t steps, int observe);
    /* the samples of the last PROBE since the boot (NULL: none), their count in *count */
    const uint8_t *(*samples)(void *ctx, uint32_t *count);
} gle_analog;

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
    const gle_analog *analog; /* an analog board's chip (capabilities "analog", "probe"); NULL on a digital board */
} gle_board;

#endif
