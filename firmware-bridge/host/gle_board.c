/*
 * The board firmware as a host program: the protocol handler (src/gle_proto.c) over a
 * pseudo-terminal it creates itself, with its flash in a file. A host (glekit's bridge,
 * or anything speaking firmware-bridge/PROTOCOL.md) opens the terminal as it would open a
 * board's serial port.
 *
 *   gle_board [--flash FILE] [--link PATH] [--pace] [--slot-size BYTES] [--mtu BYTES]
 *             [--board-id ID] [--crash-at-write N]
 *             [--analog --seed S [--noise-off] [--truth-out FILE] [--broken FRACTION]]
 *
 * --analog makes it an analog board (PROTOCOL.md section 6): the images run in the
 * emulated chip of host/gle_analog.c, whose physics ANALOG.md describes.
 *
 * Prints `port <path of the terminal>` on one line, then serves until SIGTERM or SIGINT.
 * The flash file holds a header (board id seed, boot counter) and the handler's flash
 * (both slots and their trailers); killing the program and starting it again on the same
 * file is a power cycle. README.md describes every option.
 */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "../src/gle_proto.h"
#include "gle_analog.h"

#define SECTOR 4096u
#define HEADER_BYTES SECTOR
#define HEADER_MAGIC "GLEBOARD"
#define RXQ_MAX (4u * GLE_PROTO_TX_MAX)
#define TXQ_MAX (2u * GLE_PROTO_TX_MAX)

/* the kernel's struct termios2 (asm/termbits.h cannot be included beside termios.h) */
struct board_termios2 {
    unsigned int c_iflag, c_oflag, c_cflag, c_lflag;
    unsigned char c_line;
    unsigned char c_cc[19];
    unsigned int c_ispeed, c_ospeed;
};
#define BOARD_TCGETS2 _IOR('T', 0x2A, struct board_termios2)

static struct {
    const char *flash_path, *link_path, *board_id;
    int pace;
    unsigned long slot_size, mtu, crash_at;
    /* --analog and its options */
    int analog, seed_given, noise_off;
    unsigned long seed;
    const char *truth_path;
    double broken;
} opt = {0, 0, 0, 0, 1024ul * 1024ul, 2048, 0, 0, 0, 0, 0, 0, 0.02};

static uint8_t *g_map;          /* header + the handler's flash */
static size_t g_map_len;
static uint8_t *g_flash;
static unsigned long g_writes;
static int g_master = -1, g_slave = -1;
static volatile sig_atomic_t g_stop;
static int g_reboot;
static char g_board_id[64];

static uint8_t g_rxq[RXQ_MAX];
static size_t g_rx_off, g_rx_len, g_rx_cap;
static uint8_t g_txq[TXQ_MAX];
static size_t g_tx_off, g_tx_len;

static void die_usage(const char *msg, const char *arg) {
    fprintf(stderr, "gle_board: %s%s%s (usage: gle_board [--flash FILE] [--link PATH] [--pace] [--slot-size BYTES] [--mtu BYTES] [--board-id ID] [--crash-at-write N] "
                    "[--analog --seed S [--noise-off] [--truth-out FILE] [--broken FRACTION]])\n",
            msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static void die(const char *what, const char *arg) {
    fprintf(stderr, "gle_board: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    exit(1);
}

static unsigned long number(const char *name, const char *text) {
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno || end == text || *end != '\0' || text[0] == '-') die_usage("not a non-negative integer", name);
    return v;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- the board layer ---- */

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

static void board_write(void *ctx, const uint8_t *p, size_t n) {
    (void)ctx;
    if (g_tx_off + g_tx_len + n > TXQ_MAX) {
        memmove(g_txq, g_txq + g_tx_off, g_tx_len);
        g_tx_off = 0;
    }
    if (g_tx_len + n > TXQ_MAX) { fprintf(stderr, "gle_board: output queue overflow (a bug)\n"); abort(); }
    memcpy(g_txq + g_tx_off + g_tx_len, p, n);
    g_tx_len += n;
}

/* NOR flash: programming only clears bits. --crash-at-write N: the Nth write stops halfway, as at a power cut. */
static int board_flash_write(void *ctx, uint32_t addr, const uint8_t *p, uint32_t n) {
    uint32_t i, upto = n;
    (void)ctx;
    g_writes++;
    if (opt.crash_at && g_writes == opt.crash_at) upto = n / 2u;
    for (i = 0; i < upto; i++) g_flash[addr + i] &= p[i];
    if (upto != n) {
        if (opt.flash_path) msync(g_map, g_map_len, MS_SYNC);
        fprintf(stderr, "gle_board: simulated power cut at flash write %lu (%lu of %lu bytes at 0x%lx written)\n", g_writes,
                (unsigned long)upto, (unsigned long)n, (unsigned long)addr);
        _exit(99);
    }
    return 0;
}

static int board_flash_erase(void *ctx, uint32_t addr, uint32_t n) {
    (void)ctx;
    memset(g_flash + addr, 0xFF, n);
    return 0;
}

static uint32_t board_millis(void *ctx) {
    struct timespec t;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint32_t)((uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u);
}

/* the boot counter lives in the flash file's header */
static uint32_t board_next_boot(void *ctx) {
    uint32_t boots = get32(g_map + 16) + 1u;
    (void)ctx;
    put32(g_map + 16, boots);
    return boots;
}

static void board_reboot(void *ctx) {
    (void)ctx;
    g_reboot = 1;
}

/* the rate the host set on its side of the terminal (TCGETS2 on our slave descriptor) */
static uint32_t line_rate(int input) {
    struct board_termios2 t;
    if (ioctl(g_slave, BOARD_TCGETS2, &t) != 0) return 0;
    if (input) return t.c_ospeed ? t.c_ospeed : t.c_ispeed;
    return t.c_ispeed ? t.c_ispeed : t.c_ospeed;
}

static uint32_t board_baud(void *ctx) {
    (void)ctx;
    return line_rate(0);
}

/* ---- setup ---- */

static void open_flash(size_t flash_bytes) {
    size_t total = HEADER_BYTES + flash_bytes;
    int fd;
    struct stat st;
    int fresh = 0;
    if (!opt.flash_path) {
        g_map = mmap(0, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (g_map == MAP_FAILED) die("mmap", 0);
        fresh = 1;
    } else {
        fd = open(opt.flash_path, O_RDWR | O_CREAT, 0644);
        if (fd < 0) die("cannot open", opt.flash_path);
        if (fstat(fd, &st) != 0) die("stat", opt.flash_path);
        if (st.st_size == 0) {
            if (ftruncate(fd, (off_t)total) != 0) die("cannot size", opt.flash_path);
            fresh = 1;
        } else if ((size_t)st.st_size != total) {
            fprintf(stderr, "gle_board: %s: %lu bytes, but --slot-size %lu needs %lu (another slot size? remove the file to start afresh)\n", opt.flash_path,
                    (unsigned long)st.st_size, opt.slot_size, (unsigned long)total);
            exit(2);
        }
        g_map = mmap(0, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (g_map == MAP_FAILED) die("mmap", opt.flash_path);
        close(fd);
    }
    g_map_len = total;
    g_flash = g_map + HEADER_BYTES;
    if (fresh) {
        /* an erased flash; the header: magic, slot size, sector size, boot counter, a seed for the board id */
        struct timespec t;
        memset(g_map, 0xFF, total);
        memcpy(g_map, HEADER_MAGIC, 8);
        put32(g_map + 8, (uint32_t)opt.slot_size);
        put32(g_map + 12, SECTOR);
        put32(g_map + 16, 0);
        clock_gettime(CLOCK_REALTIME, &t);
        put32(g_map + 20, (uint32_t)t.tv_nsec ^ (uint32_t)t.tv_sec * 2654435761u ^ (uint32_t)getpid() * 40503u);
    } else if (memcmp(g_map, HEADER_MAGIC, 8) != 0 || get32(g_map + 8) != opt.slot_size || get32(g_map + 12) != SECTOR) {
        fprintf(stderr, "gle_board: %s: not a gle_board flash file for --slot-size %lu\n", opt.flash_path, opt.slot_size);
        exit(2);
    }
    if (!opt.board_id) {
        /* an analog board is its chip: the same seed is the same board whatever flash file it
           boots, so its calibrations stay valid; a digital board is its flash */
        if (opt.analog) snprintf(g_board_id, sizeof g_board_id, "gle-analog-%lu", (unsigned long)opt.seed);
        else snprintf(g_board_id, sizeof g_board_id, "gle-%08lx", (unsigned long)get32(g_map + 20));
        opt.board_id = g_board_id;
    }
}

static void open_terminal(void) {
    struct termios t;
    const char *path;
    g_master = posix_openpt(O_RDWR | O_NOCTTY);
    if (g_master < 0 || grantpt(g_master) != 0 || unlockpt(g_master) != 0) die("cannot create a pseudo-terminal", 0);
    path = ptsname(g_master);
    if (!path) die("ptsname", 0);
    /* our own slave descriptor: without it, the master reads EIO whenever the host has the port closed */
    g_slave = open(path, O_RDWR | O_NOCTTY);
    if (g_slave < 0) die("cannot open", path);
    if (tcgetattr(g_slave, &t) != 0) die("tcgetattr", path);
    cfmakeraw(&t);
    if (tcsetattr(g_slave, TCSANOW, &t) != 0) die("tcsetattr", path);
    if (fcntl(g_master, F_SETFL, fcntl(g_master, F_GETFL) | O_NONBLOCK) != 0) die("fcntl", 0);
    if (opt.link_path) {
        struct stat st;
        if (lstat(opt.link_path, &st) == 0 && S_ISLNK(st.st_mode)) unlink(opt.link_path);
        if (symlink(path, opt.link_path) != 0) die("cannot link", opt.link_path);
    }
    printf("port %s\n", path);
    fflush(stdout);
}

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* ---- the line ---- */

/* 10 bits per byte (8N1); 0 when not pacing */
static uint64_t byte_ns(int input) {
    uint32_t baud;
    if (!opt.pace) return 0;
    baud = line_rate(input);
    return baud ? 10000000000ull / baud : 0;
}

int main(int argc, char **argv) {
    static gle_board board;
    uint64_t tx_free_at = 0, rx_clock = 0;
    int rx_idle = 1, a;
    struct sigaction sa;

    for (a = 1; a < argc; a++) {
        const char *o = argv[a];
        int has_value = strcmp(o, "--flash") == 0 || strcmp(o, "--link") == 0 || strcmp(o, "--slot-size") == 0 || strcmp(o, "--mtu") == 0 ||
                        strcmp(o, "--board-id") == 0 || strcmp(o, "--crash-at-write") == 0 || strcmp(o, "--seed") == 0 ||
                        strcmp(o, "--truth-out") == 0 || strcmp(o, "--broken") == 0;
        if (strcmp(o, "--pace") == 0) { opt.pace = 1; continue; }
        if (strcmp(o, "--analog") == 0) { opt.analog = 1; continue; }
        if (strcmp(o, "--noise-off") == 0) { opt.noise_off = 1; continue; }
        if (!has_value) die_usage("unknown option", o);
        if (a + 1 >= argc) die_usage("missing value", o);
        if (strcmp(o, "--flash") == 0) opt.flash_path = argv[++a];
        else if (strcmp(o, "--link") == 0) opt.link_path = argv[++a];
        else if (strcmp(o, "--board-id") == 0) opt.board_id = argv[++a];
        else if (strcmp(o, "--slot-size") == 0) opt.slot_size = number(o, argv[++a]);
        else if (strcmp(o, "--mtu") == 0) opt.mtu = number(o, argv[++a]);
        else if (strcmp(o, "--seed") == 0) { opt.seed = number(o, argv[++a]); opt.seed_given = 1; if (opt.seed > 0xFFFFFFFFul) die_usage("--seed must be in 0..4294967295", 0); }
        else if (strcmp(o, "--truth-out") == 0) opt.truth_path = argv[++a];
        else if (strcmp(o, "--broken") == 0) {
            char *end;
            const char *t = argv[++a];
            opt.broken = strtod(t, &end);
            if (end == t || *end != '\0' || !(opt.broken >= 0 && opt.broken <= 1)) die_usage("--broken must be a fraction in 0..1", t);
        }
        else opt.crash_at = number(o, argv[++a]);
    }
    if (!opt.analog && (opt.seed_given || opt.noise_off || opt.truth_path || opt.broken != 0.02)) die_usage("--seed, --noise-off, --truth-out and --broken need --analog", 0);
    if (opt.analog && !opt.seed_given) die_usage("--analog needs --seed S (the chip)", 0);
    if (opt.slot_size < SECTOR || opt.slot_size % SECTOR != 0 || opt.slot_size > 256ul * 1024ul * 1024ul) die_usage("--slot-size must be a multiple of 4096 up to 256 MiB", 0);
    if (opt.mtu < GLE_PROTO_MIN_MTU || opt.mtu > GLE_PROTO_MAX_MTU) {
        char range[64];
        snprintf(range, sizeof range, "%d..%d", GLE_PROTO_MIN_MTU, GLE_PROTO_MAX_MTU);
        die_usage("--mtu must be in", range);
    }
    if (opt.board_id && (strlen(opt.board_id) == 0 || strlen(opt.board_id) > 63)) die_usage("--board-id must have 1 to 63 characters", 0);

    open_flash(GLE_PROTO_FLASH_BYTES(opt.slot_size, SECTOR));
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, 0);
    sigaction(SIGINT, &sa, 0);
    open_terminal();

    /* what the host may keep in flight: four of the largest frames */
    g_rx_cap = 4u * (GLE_COBS_MAX_ENCODED(opt.mtu + GLE_PROTO_HEADER + GLE_PROTO_CRC) + 1u);
    board.write = board_write;
    board.flash = g_flash;
    board.flash_size = (uint32_t)GLE_PROTO_FLASH_BYTES(opt.slot_size, SECTOR);
    board.sector_size = SECTOR;
    board.slot_size = (uint32_t)opt.slot_size;
    board.flash_write = board_flash_write;
    board.flash_erase = board_flash_erase;
    board.millis = board_millis;
    board.next_boot = board_next_boot;
    board.reboot = board_reboot;
    board.baud = board_baud;
    board.mtu = (uint32_t)opt.mtu;
    board.rx_buffer = (uint32_t)g_rx_cap;
    board.pace = opt.pace;
    board.firmware = "glekit gle_board 1.0 (host)";
    board.board_id = opt.board_id;
    if (opt.analog) {
        gle_analog_config ac;
        ac.seed = (uint32_t)opt.seed;
        ac.noise = !opt.noise_off;
        ac.broken = opt.broken;
        ac.truth_path = opt.truth_path;
        board.analog = gle_analog_create(&ac);
        board.firmware = "glekit gle_board 1.0 (host, analog)";
    }
    if (gle_proto_init(&board) != 0) { fprintf(stderr, "gle_board: the flash geometry is unusable\n"); return 2; }

    while (!g_stop) {
        struct pollfd p;
        uint64_t now = now_ns(), wake = now + 100000000u;
        const uint64_t rx_ns = byte_ns(1), tx_ns = byte_ns(0);
        int timeout;

        if (g_reboot && g_tx_len == 0) {
            /* the response has left: the reboot, in process (RAM state cleared, boot rerun) */
            g_reboot = 0;
            gle_proto_reboot();
        }
        /* frames in the receive buffer, while the output has room for a response */
        while (g_rx_len > 0 && !gle_proto_reboot_pending() && TXQ_MAX - g_tx_len >= GLE_PROTO_TX_MAX) {
            size_t used = gle_proto_rx(g_rxq + g_rx_off, g_rx_len);
            g_rx_off += used;
            g_rx_len -= used;
            if (used == 0) break;
        }
        if (g_rx_len == 0) g_rx_off = 0;

        /* out: never faster than the line */
        now = now_ns();
        if (g_tx_len > 0 && now >= tx_free_at) {
            size_t n = g_tx_len;
            ssize_t w;
            if (tx_ns) {
                size_t burst = (size_t)(1000000u / tx_ns);
                if (burst < 1) burst = 1;
                if (n > burst) n = burst;
            }
            w = write(g_master, g_txq + g_tx_off, n);
            if (w > 0) {
                g_tx_off += (size_t)w;
                g_tx_len -= (size_t)w;
                if (g_tx_len == 0) g_tx_off = 0;
                if (tx_ns) tx_free_at = (tx_free_at > now ? tx_free_at : now) + (uint64_t)w * tx_ns;
            }
        }
        if (g_tx_len > 0 && tx_ns && tx_free_at > now && tx_free_at < wake) wake = tx_free_at;

        /* in: into the receive buffer; paced, no faster than bytes arrive on the line */
        if (!gle_proto_reboot_pending()) {
            size_t room;
            if (g_rx_off + g_rx_len == RXQ_MAX) { memmove(g_rxq, g_rxq + g_rx_off, g_rx_len); g_rx_off = 0; }
            room = g_rx_cap - g_rx_len;
            if (room > RXQ_MAX - g_rx_off - g_rx_len) room = RXQ_MAX - g_rx_off - g_rx_len;
            if (room > 0) {
                size_t want = room;
                if (rx_ns) {
                    if (rx_idle) want = 0;
                    else {
                        uint64_t arrived;
                        /* what arrived while we were busy waits in a receive buffer of g_rx_cap bytes, no more */
                        if (now > rx_clock + (uint64_t)g_rx_cap * rx_ns) rx_clock = now - (uint64_t)g_rx_cap * rx_ns;
                        arrived = now > rx_clock ? (now - rx_clock) / rx_ns : 0;
                        if (want > arrived) want = (size_t)arrived;
                        if (want == 0 && rx_clock + rx_ns < wake) wake = rx_clock + rx_ns;
                    }
                }
                if (want > 0) {
                    ssize_t r = read(g_master, g_rxq + g_rx_off + g_rx_len, want);
                    if (r > 0) {
                        g_rx_len += (size_t)r;
                        rx_clock += (uint64_t)r * rx_ns;
                    }
                    /* fewer than asked: the line is drained, the next byte arrives after now */
                    if (r < (ssize_t)want) rx_idle = 1;
                    if (r < 0 && errno == EIO) wake = now + 10000000u;
                    if (r > 0) continue;
                }
            }
        }

        p.fd = g_master;
        p.events = 0;
        if (g_tx_len > 0 && now >= tx_free_at) p.events |= POLLOUT;
        if (!gle_proto_reboot_pending() && g_rx_len < g_rx_cap && (rx_idle || !rx_ns)) p.events |= POLLIN;
        if (g_reboot && g_tx_len == 0) wake = now;
        if (g_rx_len > 0 && !gle_proto_reboot_pending() && TXQ_MAX - g_tx_len >= GLE_PROTO_TX_MAX) wake = now;
        timeout = wake > now ? (int)((wake - now + 999999u) / 1000000u) : 0;
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) die("poll", 0);
        if ((p.revents & POLLIN) && rx_idle && rx_ns) {
            /* bytes are arriving: the first is whole one byte time from now */
            rx_idle = 0;
            rx_clock = now_ns();
        } else if ((p.revents & POLLIN) && !rx_ns) {
            rx_idle = 0;
        }
    }
    if (opt.link_path) unlink(opt.link_path);
    if (opt.flash_path) msync(g_map, g_map_len, MS_SYNC);
    return 0;
}
