/*
 * Fuzzing the protocol handler (src/gle_proto.c) and, through it, the frame decoder, the
 * msgpack reader and writer, the trailers, the boot logic, the loader and the engine,
 * against an in-memory board layer (NOR flash in an array, a counter for a clock).
 *
 * An input is a sequence of records: a kind byte, a 16-bit little-endian length and that
 * many bytes. Kind bit 0 clear: the bytes are a decoded frame (header and payload) that
 * the driver seals (CRC-32, COBS, delimiter), so that mutations reach the handler past
 * the CRC; a bootId field holding 0xB007B007 is replaced with the running boot's id, so
 * ACTIVATE and RESET can reboot. Kind bit 0 set: the bytes go to the line as they are.
 * Every response is checked: a valid COBS frame, its CRC, version 1, the response flag,
 * a status code of section 2, a payload that is one msgpack map. After every input: if
 * an image runs, its slot is complete and its bytes pass the loader (nothing unverified
 * ever runs). Now and then the driver cuts the power in the middle of a flash write
 * (half the bytes written) and boots again from what the flash holds.
 *
 * LLVMFuzzerTestOneInput is the libFuzzer entry point (each input from a fresh, empty
 * board of 16 KiB slots: its own UPLOAD records reach the rest). Without GLE_LIBFUZZER this file also has its own
 * driver: a seeded random-mutation loop over a corpus of valid sessions built from the
 * descriptor, on a board that lives across inputs (a power-on afresh every few thousand).
 *   fuzz_proto ITERATIONS SEED DESCRIPTOR [analog]
 * With `analog` the board is an analog one (host/gle_analog.c's chip, noise on, 5 % broken
 * neurons) and the trim and probe messages of PROTOCOL.md section 6 run; without it they
 * are answered NOTSUP.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/gle.h"
#include "../src/gle_cobs.h"
#include "../src/gle_crc32.h"
#include "../src/gle_msgpack.h"
#include "../src/gle_mpack_write.h"
#include "../src/gle_proto.h"
#include "../src/gle_sha256.h"
#include "../host/gle_analog.h"
#include "fuzz_mutate.h"

#define SECTOR 1024u
#define MAX_SLOT (128u * 1024u)
#define MAX_FLASH (2u * MAX_SLOT + 4u * SECTOR)
#define MAX_INPUT (64u * 1024u)
#define BOOT_ID_MARK 0xB007B007u

static uint8_t g_flash[MAX_FLASH];
static uint8_t g_base_flash[MAX_FLASH]; /* a board holding the descriptor in slot 0, confirmed */
static uint32_t g_flash_size;
static gle_board g_board;
static uint32_t g_boots, g_clock;
static int g_reboot;
static long g_cut_at;       /* flash writes left before a power cut; < 0: none */
static jmp_buf g_power;
static uint8_t g_out[4u * GLE_PROTO_TX_MAX];
static size_t g_out_len;
static uint8_t g_line[8u * MAX_INPUT];
static uint8_t g_frame[GLE_PROTO_FRAME_MAX + 16];
static uint8_t g_resp[GLE_PROTO_FRAME_MAX + 16];
static unsigned long g_responses, g_by_status[16], g_cuts, g_boots_seen, g_runs_ok;

static void fail(const char *what) {
    fprintf(stderr, "fuzz_proto: %s\n", what);
    abort();
}

/* ---- the in-memory board ---- */

static void b_write(void *ctx, const uint8_t *p, size_t n) {
    (void)ctx;
    if (n > sizeof g_out - g_out_len) fail("the handler wrote more than one frame per request");
    memcpy(g_out + g_out_len, p, n);
    g_out_len += n;
}

static int b_flash_write(void *ctx, uint32_t addr, const uint8_t *p, uint32_t n) {
    uint32_t i;
    (void)ctx;
    if ((uint64_t)addr + n > g_flash_size) fail("flash write out of range");
    for (i = 0; i < n; i++) {
        /* NOR: a byte is programmed once after an erase (the handler must never rely on more) */
        if (g_cut_at == 0 && i == n / 2u) { g_cut_at = -1; g_cuts++; longjmp(g_power, 1); }
        g_flash[addr + i] &= p[i];
    }
    if (g_cut_at > 0) g_cut_at--;
    return 0;
}

static int b_flash_erase(void *ctx, uint32_t addr, uint32_t n) {
    (void)ctx;
    if (addr % SECTOR || n % SECTOR || (uint64_t)addr + n > g_flash_size) fail("flash erase not sector-aligned or out of range");
    memset(g_flash + addr, 0xFF, n);
    return 0;
}

static uint32_t b_millis(void *ctx) { (void)ctx; return g_clock += 7; }
static uint32_t b_next_boot(void *ctx) { (void)ctx; g_boots_seen++; return ++g_boots; }
static void b_reboot(void *ctx) { (void)ctx; g_reboot = 1; }
static uint32_t b_baud(void *ctx) { (void)ctx; return 115200; }

static void board_setup(uint32_t slot_size) {
    g_board.write = b_write;
    g_board.flash = g_flash;
    g_board.sector_size = SECTOR;
    g_board.slot_size = slot_size;
    g_board.flash_size = g_flash_size = GLE_PROTO_FLASH_BYTES(slot_size, SECTOR);
    g_board.flash_write = b_flash_write;
    g_board.flash_erase = b_flash_erase;
    g_board.millis = b_millis;
    g_board.next_boot = b_next_boot;
    g_board.reboot = b_reboot;
    g_board.baud = b_baud;
    g_board.mtu = GLE_PROTO_MAX_MTU;
    g_board.rx_buffer = 4u * GLE_PROTO_TX_MAX;
    g_board.pace = 0;
    g_board.firmware = "fuzz";
    g_board.board_id = "fuzz-board";
}

/* the analog chip behind the board (PROTOCOL.md section 6) */
static void board_analog(void) {
    gle_analog_config ac;
    ac.seed = 1;
    ac.noise = 1;
    ac.broken = 0.05;
    ac.truth_path = 0;
    g_board.analog = gle_analog_create(&ac);
}

/* power on (again); a power cut still to come may hit the boot's own writes */
static void power_on(void) {
    g_reboot = 0;
    g_out_len = 0;
    if (gle_proto_init(&g_board) != 0) fail("gle_proto_init refused the board");
}

/* ---- checks ---- */

static void check_responses(void) {
    gle_cobs_decoder d;
    size_t i;
    gle_cobs_decoder_init(&d, g_resp, sizeof g_resp);
    for (i = 0; i < g_out_len; i++) {
        int r = gle_cobs_feed(&d, g_out[i]);
        if (r == GLE_COBS_DROPPED) fail("a response is not valid COBS");
        if (r == GLE_COBS_FRAME) {
            mp_reader m;
            uint32_t n;
            if (d.len < 10 || d.len > GLE_PROTO_FRAME_MAX) fail("a response frame has a bad length");
            if (gle_crc32(g_resp, d.len - 4) != ((uint32_t)g_resp[d.len - 4] | ((uint32_t)g_resp[d.len - 3] << 8) | ((uint32_t)g_resp[d.len - 2] << 16) | ((uint32_t)g_resp[d.len - 1] << 24))) fail("a response's CRC is wrong");
            if (g_resp[0] != GLE_PROTO_VERSION || g_resp[2] != 1 || g_resp[5] > 13) fail("a response header is wrong");
            mp_init(&m, g_resp + 6, d.len - 10);
            if (mp_read_map(&m, &n) || n < 1) fail("a response payload is not a map");
            m.pos = 0;
            if (mp_skip(&m, 16) || m.pos != d.len - 10) fail("a response payload is not exactly one map");
            g_responses++;
            g_by_status[g_resp[5] & 15]++;
        }
    }
    if (g_out_len && g_out[g_out_len - 1] != 0) fail("the output ends inside a frame");
    g_out_len = 0;
}

/* nothing runs that the loader does not accept from its slot: checked at every boot, after
 * every power cut and every 16th input (the slot's bytes can only change by a bug) */
static uint32_t g_checked_boot;
static unsigned long g_inputs;
static void check_running(void) {
    gle_proto_status st;
    gle_proto_get_status(&st);
    if (st.active >= 0 && (st.boot_id != g_checked_boot || g_inputs % 16u == 0)) {
        gle_info a, b;
        if (st.slot_state[st.active] != 2) fail("a slot runs that is not complete");
        if (!gle_loaded()) fail("a slot is active but the engine holds nothing");
        if (gle_validate(g_flash + (uint32_t)st.active * g_board.slot_size, st.slot_len[st.active], 0, &a) != GLE_OK) fail("the running slot's bytes do not pass the loader");
        gle_get_info(&b);
        if (memcmp(a.sha256, b.sha256, 32) != 0) fail("the engine runs another network than its slot holds");
        g_checked_boot = st.boot_id;
        g_runs_ok++;
    }
    {
        int s;
        for (s = 0; s < GLE_PROTO_SLOTS; s++) if (st.slot_off[s] > st.slot_len[s] || st.slot_len[s] > g_board.slot_size) fail("a trailer claims more than its slot");
    }
}

/* ---- the line ---- */

static size_t seal(const uint8_t *frame, size_t n, uint8_t *out, size_t cap) {
    gle_proto_status st;
    uint32_t crc;
    size_t i, len;
    if (n > GLE_PROTO_FRAME_MAX - 4) n = GLE_PROTO_FRAME_MAX - 4;
    memcpy(g_frame, frame, n);
    gle_proto_get_status(&st);
    for (i = 0; i + 5 <= n; i++) {
        if (g_frame[i] == 0xce && g_frame[i + 1] == 0xB0 && g_frame[i + 2] == 0x07 && g_frame[i + 3] == 0xB0 && g_frame[i + 4] == 0x07) {
            g_frame[i + 1] = (uint8_t)(st.boot_id >> 24); g_frame[i + 2] = (uint8_t)(st.boot_id >> 16);
            g_frame[i + 3] = (uint8_t)(st.boot_id >> 8); g_frame[i + 4] = (uint8_t)st.boot_id;
        }
    }
    crc = gle_crc32(g_frame, n);
    for (i = 0; i < 4; i++) g_frame[n + i] = (uint8_t)(crc >> (8 * i));
    if (cap < GLE_COBS_MAX_ENCODED(n + 4) + 1) return 0;
    len = gle_cobs_encode(g_frame, n + 4, out, cap - 1);
    out[len] = 0;
    return len + 1;
}

/* the bytes to the handler, as the board's loop gives them */
static void feed(const uint8_t *p, size_t n) {
    while (n > 0) {
        size_t used = gle_proto_rx(p, n);
        check_responses();
        if (g_reboot) { g_reboot = 0; gle_proto_reboot(); check_running(); }
        if (used == 0) fail("the handler took no bytes without a pending reboot");
        p += used;
        n -= used;
    }
}

static void feed_records(const uint8_t *data, size_t size) {
    size_t at = 0;
    while (at + 3 <= size) {
        const uint8_t kind = data[at];
        size_t len = (size_t)data[at + 1] | ((size_t)data[at + 2] << 8), n;
        at += 3;
        if (len > size - at) len = size - at;
        if (kind & 1) feed(data + at, len);
        else if ((n = seal(data + at, len, g_line, sizeof g_line)) > 0) feed(g_line, n);
        at += len;
    }
}

/* the input's records; a power cut (a longjmp from the flash) ends it, and the board boots again */
static void run_input(const uint8_t *data, size_t size) {
    if (setjmp(g_power) == 0) feed_records(data, size);
    else {
        g_out_len = 0;
        while (setjmp(g_power) != 0) { g_out_len = 0; }
        power_on();
        g_checked_boot = 0;
    }
    g_cut_at = -1;
    g_inputs++;
    check_running();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        /* without a descriptor: an empty board of 16 KiB slots */
        board_setup(16u * 1024u);
        memset(g_base_flash, 0xFF, sizeof g_base_flash);
        ready = 1;
    }
    memcpy(g_flash, g_base_flash, g_flash_size);
    g_cut_at = -1;
    power_on();
    run_input(data, size);
    return 0;
}

#ifndef GLE_LIBFUZZER

#define MAX_CORPUS 16
static uint8_t g_corpus[MAX_CORPUS][MAX_INPUT];
static size_t g_corpus_len[MAX_CORPUS];
static const uint8_t *g_corpus_at[MAX_CORPUS];
static unsigned g_corpus_n;
static uint8_t g_mut[MAX_INPUT];
static uint8_t g_desc[MAX_SLOT];
static size_t g_desc_len;
static uint16_t g_seq;

/* a request record of the corpus entry being built */
static mpw_writer g_w;
static uint8_t g_req[GLE_PROTO_FRAME_MAX];

static void req_begin(uint8_t type, uint32_t fields) {
    mpw_init(&g_w, g_req + 6, GLE_PROTO_MAX_MTU);
    g_req[0] = GLE_PROTO_VERSION; g_req[1] = type; g_req[2] = 0;
    g_seq++;
    g_req[3] = (uint8_t)g_seq; g_req[4] = (uint8_t)(g_seq >> 8); g_req[5] = 0;
    mpw_map(&g_w, fields);
}

static void add_record(unsigned c, uint8_t kind, const uint8_t *p, size_t n) {
    uint8_t *e = g_corpus[c] + g_corpus_len[c];
    if (g_corpus_len[c] + 3 + n > MAX_INPUT || n > 0xFFFF) fail("a seed does not fit");
    e[0] = kind; e[1] = (uint8_t)n; e[2] = (uint8_t)(n >> 8);
    memcpy(e + 3, p, n);
    g_corpus_len[c] += 3 + n;
}

static void req_end(unsigned c) {
    if (g_w.overflow) fail("a seed request does not fit");
    add_record(c, 0, g_req, 6 + g_w.len);
}

static void simple(unsigned c, uint8_t type) { req_begin(type, 0); req_end(c); }
static void with_slot(unsigned c, uint8_t type, unsigned slot) { req_begin(type, 1); mpw_kv_uint(&g_w, "slot", slot); req_end(c); }

static void upload(unsigned c, unsigned slot, size_t upto, size_t chunk) {
    uint8_t sha[32];
    size_t off;
    gle_sha256(g_desc, g_desc_len, sha);
    for (off = 0; off < upto; off += chunk) {
        size_t n = off + chunk > g_desc_len ? g_desc_len - off : chunk;
        req_begin(GLE_MSG_UPLOAD, off == 0 ? 5 : 3);
        mpw_kv_uint(&g_w, "slot", slot);
        mpw_kv_uint(&g_w, "off", off);
        if (off == 0) {
            mpw_kv_uint(&g_w, "len", g_desc_len);
            mpw_str(&g_w, "sha");
            mpw_bin(&g_w, sha, 32);
        }
        mpw_str(&g_w, "data");
        mpw_bin(&g_w, g_desc + off, n);
        req_end(c);
    }
}

static void activate(unsigned c, unsigned slot, int permanent) {
    req_begin(GLE_MSG_ACTIVATE, 3);
    mpw_kv_uint(&g_w, "slot", slot);
    mpw_kv_bool(&g_w, "permanent", permanent);
    mpw_kv_uint(&g_w, "bootId", BOOT_ID_MARK);
    req_end(c);
}

static void run(unsigned c, const char *mode, uint32_t first, uint32_t n, uint32_t codes, int record, int reset) {
    uint8_t *x;
    uint32_t i;
    req_begin(GLE_MSG_RUN, 4u + (record ? 1u : 0u) + (reset ? 1u : 0u));
    mpw_kv_str(&g_w, "mode", mode);
    mpw_kv_uint(&g_w, "first", first);
    mpw_kv_uint(&g_w, "n", n);
    mpw_str(&g_w, "x");
    x = mpw_bin_reserve(&g_w, (size_t)codes * 4u);
    for (i = 0; x && i < codes * 4u; i++) x[i] = (uint8_t)(i % 4u == 3u ? ((i * 7u) & 1u ? 0xFFu : 0u) : (i * 37u) & 0xFFu);
    if (record) mpw_kv_bool(&g_w, "record", 1);
    if (reset) mpw_kv_bool(&g_w, "reset", 1);
    req_end(c);
}

static void build_corpus(void) {
    gle_info info;
    gle_error err;
    unsigned c;
    if (gle_validate(g_desc, g_desc_len, &err, &info) != GLE_OK) { fprintf(stderr, "fuzz_proto: the descriptor is refused: %s\n", err.message); exit(2); }
    /* 0: a whole session on a fresh board */
    c = 0;
    req_begin(GLE_MSG_HELLO, 2); mpw_kv_uint(&g_w, "proto", 1); mpw_kv_str(&g_w, "host", "fuzz"); req_end(c);
    simple(c, GLE_MSG_INFO);
    simple(c, GLE_MSG_STATE);
    upload(c, 1, g_desc_len, 1500);
    with_slot(c, GLE_MSG_VERIFY, 1);
    activate(c, 1, 0);
    run(c, "samples", 0, 2, 2u * (info.sequence ? info.steps_per_sample : 1u) * info.input_size, 0, 0);
    run(c, "steps", 0, 3, 3u * info.input_size, 0, 1);
    run(c, "steps", 3, 2, 2u * info.input_size, 0, 0);
    simple(c, GLE_MSG_CONFIRM);
    simple(c, GLE_MSG_STATE);
    /* 1: running the confirmed image of the base board */
    c = 1;
    run(c, "samples", 5, 1, (info.sequence ? info.steps_per_sample : 1u) * info.input_size, 1, 0);
    run(c, "steps", 0, 1, info.input_size, 1, 1);
    run(c, "samples", 0, 3, 3u * (info.sequence ? info.steps_per_sample : 1u) * info.input_size, 0, 0);
    /* 2: uploads interrupted, resumed, duplicated, aborted; erase */
    c = 2;
    upload(c, 1, 3000, 1000);
    upload(c, 1, 1000, 1000);
    upload(c, 1, 2000, 1000);
    with_slot(c, GLE_MSG_ABORT, 1);
    upload(c, 1, 2000, 700);
    with_slot(c, GLE_MSG_ERASE, 1);
    with_slot(c, GLE_MSG_ERASE, 0);
    with_slot(c, GLE_MSG_VERIFY, 0);
    /* 3: reboots: test, revert, permanent */
    c = 3;
    upload(c, 1, g_desc_len, 1800);
    activate(c, 1, 0);
    req_begin(GLE_MSG_RESET, 1); mpw_kv_uint(&g_w, "bootId", BOOT_ID_MARK); req_end(c);
    activate(c, 1, 1);
    simple(c, GLE_MSG_CONFIRM);
    req_begin(GLE_MSG_RESET, 1); mpw_kv_uint(&g_w, "bootId", 12345); req_end(c);
    /* 4: the odd and the wrong: versions, unknown types, no payload, raw bytes, a retry */
    c = 4;
    simple(c, 0x77);
    req_begin(GLE_MSG_STATE, 0); g_req[0] = 2; req_end(c);
    req_begin(GLE_MSG_STATE, 0); g_req[0] = 0; req_end(c);
    add_record(c, 0, (const uint8_t *)"\x01\x03\x00\x09\x00\x00", 6);
    add_record(c, 0, (const uint8_t *)"\x01\x03\x00\x09\x00\x00", 6);
    add_record(c, 1, (const uint8_t *)"\x02\x01\x00\x00\x05\xff\xff\xff\xff\x00", 10);
    add_record(c, 0, (const uint8_t *)"\x01\x10\x00\x01\x00\x00\x93\x01\x02\x03", 10);
    req_begin(GLE_MSG_UPLOAD, 3); mpw_kv_uint(&g_w, "slot", 7); mpw_kv_int(&g_w, "off", -1); mpw_kv_str(&g_w, "data", "x"); req_end(c);
    /* 5: an analog board's trims and probes (NOTSUP on a digital board) */
    c = 5;
    {
        static uint8_t codes[8u * GLE_MAX_NEURONS];
        uint32_t k, nn = info.neurons < GLE_MAX_NEURONS ? info.neurons : GLE_MAX_NEURONS;
        uint8_t idx[4] = {0, 0, 1, 0};
        for (k = 0; k < 4u * nn; k++) { codes[2u * k] = (uint8_t)(k * 37u); codes[2u * k + 1u] = (uint8_t)((k / 3u) & 3u); }
        simple(c, GLE_MSG_TRIM_GET);
        req_begin(GLE_MSG_TRIM_SET, 1); mpw_str(&g_w, "codes"); mpw_bin(&g_w, codes, 8u * nn); req_end(c);
        req_begin(GLE_MSG_TRIM_SET, 1); mpw_str(&g_w, "codes"); mpw_bin(&g_w, codes, 8u * nn - 2u); req_end(c);
        /* ranges of neurons: one within the image, one past its end, and TRIM_GET of a range */
        req_begin(GLE_MSG_TRIM_SET, 2); mpw_str(&g_w, "codes"); mpw_bin(&g_w, codes, 8u); mpw_kv_uint(&g_w, "off", nn > 0 ? nn - 1u : 0); req_end(c);
        req_begin(GLE_MSG_TRIM_SET, 2); mpw_str(&g_w, "codes"); mpw_bin(&g_w, codes, 16u); mpw_kv_uint(&g_w, "off", nn); req_end(c);
        req_begin(GLE_MSG_TRIM_GET, 2); mpw_kv_uint(&g_w, "off", nn / 2u); mpw_kv_uint(&g_w, "len", nn - nn / 2u); req_end(c);
        codes[1] = 4; /* code 1024 */
        req_begin(GLE_MSG_TRIM_SET, 1); mpw_str(&g_w, "codes"); mpw_bin(&g_w, codes, 8u * nn); req_end(c);
        req_begin(GLE_MSG_PROBE, 5); mpw_kv_uint(&g_w, "layer", 0); mpw_str(&g_w, "neurons"); mpw_bin(&g_w, idx, 0);
        mpw_kv_int(&g_w, "level", 40000); mpw_kv_uint(&g_w, "steps", 60); mpw_kv_str(&g_w, "observe", "both"); req_end(c);
        req_begin(GLE_MSG_PROBE_READ, 2); mpw_kv_uint(&g_w, "off", 0); mpw_kv_uint(&g_w, "len", 1000); req_end(c);
        req_begin(GLE_MSG_PROBE_READ, 2); mpw_kv_uint(&g_w, "off", 100); mpw_kv_uint(&g_w, "len", 0x7fffffffu); req_end(c);
        req_begin(GLE_MSG_PROBE, 5); mpw_kv_uint(&g_w, "layer", info.layers - 1u); mpw_str(&g_w, "neurons"); mpw_bin(&g_w, idx, 4);
        mpw_kv_int(&g_w, "level", -70000); mpw_kv_uint(&g_w, "steps", 4096); mpw_kv_str(&g_w, "observe", "rate"); req_end(c);
        req_begin(GLE_MSG_PROBE_READ, 2); mpw_kv_uint(&g_w, "off", 8000); mpw_kv_uint(&g_w, "len", 192); req_end(c);
        run(c, "steps", 0, 2, 2u * info.input_size, 1, 0);
        run(c, "samples", 0, 2, 2u * (info.sequence ? info.steps_per_sample : 1u) * info.input_size, 1, 0);
        simple(c, GLE_MSG_INFO);
    }
    for (c = 0; c <= 5; c++) g_corpus_at[c] = g_corpus[c];
    g_corpus_n = 6;
}

int main(int argc, char **argv) {
    unsigned long iterations, i;
    uint32_t slot;
    FILE *f;
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "analog") == 0)) { fprintf(stderr, "usage: fuzz_proto ITERATIONS SEED DESCRIPTOR [analog]\n"); return 2; }
    iterations = strtoul(argv[1], 0, 10);
    fuzz_seed(strtoull(argv[2], 0, 10));
    f = fopen(argv[3], "rb");
    if (!f) { fprintf(stderr, "fuzz_proto: %s: cannot open\n", argv[3]); return 2; }
    g_desc_len = fread(g_desc, 1, sizeof g_desc, f);
    fclose(f);
    slot = (uint32_t)((g_desc_len + 2048u + SECTOR - 1u) / SECTOR * SECTOR);
    if (slot < 8u * SECTOR) slot = 8u * SECTOR;
    if (slot > MAX_SLOT) { fprintf(stderr, "fuzz_proto: %s: larger than the fuzzing board's slots\n", argv[3]); return 2; }
    board_setup(slot);
    if (argc == 5) board_analog();
    build_corpus();
    /* the base board: the descriptor in slot 0, confirmed */
    memset(g_flash, 0xFF, sizeof g_flash);
    g_cut_at = -1;
    power_on();
    {
        unsigned c = MAX_CORPUS - 1;
        g_corpus_len[c] = 0;
        upload(c, 0, g_desc_len, 1900);
        activate(c, 0, 1);
        run_input(g_corpus[c], g_corpus_len[c]);
        g_corpus_len[c] = 0;
        check_running();
        {
            gle_proto_status st;
            gle_proto_get_status(&st);
            if (st.active != 0) fail("the base board does not run its image");
        }
    }
    memcpy(g_base_flash, g_flash, g_flash_size);
    for (i = 0; i < iterations; i++) {
        unsigned c = (unsigned)fuzz_below(g_corpus_n);
        size_t len = g_corpus_len[c];
        /* now and then a fresh board: erased, or the base board */
        if (i % 4096u == 0) {
            if ((i / 4096u) % 2u) memset(g_flash, 0xFF, g_flash_size);
            else memcpy(g_flash, g_base_flash, g_flash_size);
            g_cut_at = -1;
            power_on();
        }
        memcpy(g_mut, g_corpus[c], len);
        if (fuzz_below(8) != 0) len = fuzz_mutate(g_mut, len, MAX_INPUT, g_corpus_at, g_corpus_len, g_corpus_n);
        /* a power cut in one input of 32, at one of its next flash writes */
        g_cut_at = fuzz_below(32) == 0 ? (long)fuzz_below(12) : -1;
        run_input(g_mut, len);
        g_cut_at = -1;
    }
    printf("{\"inputs\":%lu,\"responses\":%lu,\"powerCuts\":%lu,\"boots\":%lu,\"checksOfRunningImage\":%lu,"
           "\"byStatus\":{\"OK\":%lu,\"UNKNOWN\":%lu,\"NOMEM\":%lu,\"INVAL\":%lu,\"NOENT\":%lu,\"BADSTATE\":%lu,\"MSGSIZE\":%lu,\"NOTSUP\":%lu,\"CORRUPT\":%lu,\"TOO_OLD\":%lu,\"TOO_NEW\":%lu}}\n",
           iterations, g_responses, g_cuts, g_boots_seen, g_runs_ok, g_by_status[0], g_by_status[1], g_by_status[2], g_by_status[3], g_by_status[5],
           g_by_status[6], g_by_status[7], g_by_status[8], g_by_status[9], g_by_status[12], g_by_status[13]);
    return 0;
}
#endif
