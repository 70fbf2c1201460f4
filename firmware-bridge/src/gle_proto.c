/*
 * The protocol handler: firmware-bridge/PROTOCOL.md, version 1. Frames in (COBS, CRC-32),
 * one request at a time, a response frame out for every frame that passed the checks.
 * Persistent state lives in the slots' trailers (see gle_proto.h for the layout and
 * README.md for the record); RAM state is what a reboot clears.
 */
#include <stdarg.h>
#include <stdio.h>
#include "gle_proto.h"
#include "gle.h"
#include "gle_crc32.h"
#include "gle_mpack_write.h"
#include "gle_msgpack.h"
#include "gle_present.h"
#include "gle_sha256.h"

#define REC GLE_PROTO_TRAILER_RECORD
#define REC_MAGIC 0x54454C47u /* "GLET" */
#define REC_BODY (REC - 4u)

enum { SLOT_EMPTY = 0, SLOT_PARTIAL = 1, SLOT_COMPLETE = 2 };
enum { F_PENDING = 1, F_CONFIRMED = 2, F_PERMANENT = 4 };

/* what a trailer record says about its slot */
typedef struct {
    uint32_t seq;          /* the record's sequence number, global over both slots */
    uint32_t state;        /* SLOT_* */
    uint32_t flags;        /* F_* */
    uint32_t len;          /* the image's declared length */
    uint32_t received;     /* bytes of it in the slot */
    uint32_t confirm_seq;  /* the sequence number of the record that last confirmed it; 0: never */
    uint8_t sha[32];       /* the image's declared SHA-256 */
} trailer;

typedef struct {
    trailer t;
    uint32_t sector;  /* 0 or 1: the trailer sector the next record goes to */
    uint32_t next;    /* its address there, or 0: that sector is full */
    int verdict;      /* the loader's status at its last check since the slot changed; -1: unchecked */
} slot_meta;

typedef struct {
    int run;          /* the slot to run, or -1 */
    unsigned clear;   /* slots whose pending flag the boot clears (bit per slot) */
} boot_plan;

static struct {
    const gle_board *b;
    slot_meta slot[GLE_PROTO_SLOTS];
    uint32_t seq;
    uint32_t boot_id, boots;
    uint32_t rx_frames, rx_dropped, tx_frames;
    int active;
    uint32_t steps_done;   /* steps of the steps-mode run since its reset */
    int reboot_pending;
    uint32_t next_boot_id, next_boots;
    int cache_valid;
    uint8_t cache_type;
    uint16_t cache_seq;
    uint32_t cache_crc;
    size_t txe_len;
    int status;            /* of the response being written */
    gle_cobs_decoder dec;
} g;

static uint8_t g_rx[GLE_PROTO_FRAME_MAX];
static uint8_t g_tx[GLE_PROTO_FRAME_MAX];
static uint8_t g_txe[GLE_PROTO_TX_MAX]; /* the last response as sent: the retry cache */
static int32_t g_row[GLE_PROTO_MAX_MTU / 4 + 1];
static int32_t g_acodes[GLE_MAX_OUTPUTS]; /* an analog board's top-layer ADC codes of the last step */
static int64_t g_y[GLE_MAX_OUTPUTS];
static const uint8_t *g_pl;            /* the request's payload */
static size_t g_plen;
static mpw_writer g_w;                 /* the response's payload, in g_tx */
static char g_reason[200];

/* ---- little helpers ---- */

static void put_u32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
static uint32_t get_u32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static void copy(uint8_t *d, const uint8_t *s, size_t n) { size_t i; for (i = 0; i < n; i++) d[i] = s[i]; }
static int same(const uint8_t *a, const uint8_t *b, size_t n) { size_t i; for (i = 0; i < n; i++) if (a[i] != b[i]) return 0; return 1; }
static uint32_t sector_size(void) { return g.b->sector_size; }
static uint32_t round_up(uint32_t n) { return (n + sector_size() - 1u) & ~(sector_size() - 1u); }
static uint32_t slot_base(int s) { return (uint32_t)s * g.b->slot_size; }
static uint32_t trailer_base(int s) { return 2u * g.b->slot_size + (uint32_t)s * 2u * sector_size(); }
static const uint8_t *slot_bytes(int s) { return g.b->flash + slot_base(s); }

static int erased(uint32_t addr, uint32_t n) {
    const uint8_t *p = g.b->flash + addr;
    uint32_t i;
    for (i = 0; i < n; i++) if (p[i] != 0xFF) return 0;
    return 1;
}

static uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* ---- trailers ---- */

static void rec_encode(const trailer *t, int s, uint8_t *r) {
    uint32_t i;
    for (i = 0; i < REC; i++) r[i] = 0xFF;
    put_u32(r, REC_MAGIC);
    put_u32(r + 4, t->seq);
    r[8] = (uint8_t)s;
    r[9] = (uint8_t)t->state;
    r[10] = (uint8_t)t->flags;
    put_u32(r + 12, t->len);
    put_u32(r + 16, t->received);
    put_u32(r + 20, t->confirm_seq);
    copy(r + 24, t->sha, 32);
    put_u32(r + REC_BODY, gle_crc32(r, REC_BODY));
}

static int rec_decode(const uint8_t *r, int s, trailer *t) {
    if (get_u32(r) != REC_MAGIC || get_u32(r + REC_BODY) != gle_crc32(r, REC_BODY) || r[8] != (uint8_t)s) return -1;
    t->seq = get_u32(r + 4);
    t->state = r[9];
    t->flags = r[10];
    t->len = get_u32(r + 12);
    t->received = get_u32(r + 16);
    t->confirm_seq = get_u32(r + 20);
    copy(t->sha, r + 24, 32);
    if (t->state > SLOT_COMPLETE || t->len > g.b->slot_size || t->received > t->len) return -1;
    if (t->state == SLOT_COMPLETE && t->received != t->len) return -1;
    return 0;
}

static void empty_trailer(trailer *t) {
    uint32_t i;
    t->seq = 0; t->state = SLOT_EMPTY; t->flags = 0; t->len = 0; t->received = 0; t->confirm_seq = 0;
    for (i = 0; i < 32; i++) t->sha[i] = 0;
}

/* The newest valid record of slot s, and where the next one goes. */
static void load_trailer(int s) {
    slot_meta *m = &g.slot[s];
    const uint32_t base = trailer_base(s), per = sector_size() / REC;
    uint32_t i, best = 0;
    int found = 0;
    empty_trailer(&m->t);
    for (i = 0; i < 2u * per; i++) {
        trailer t;
        if (rec_decode(g.b->flash + base + i * REC, s, &t) == 0 && (!found || t.seq > m->t.seq)) {
            m->t = t;
            best = i;
            found = 1;
        }
    }
    if (found) {
        m->sector = best / per;
        m->next = base + (best + 1u) * REC;
        if (m->next == base + (m->sector + 1u) * sector_size()) m->next = 0;
        if (m->t.seq >= g.seq) g.seq = m->t.seq + 1u;
    } else {
        m->sector = 0;
        m->next = base;
    }
    m->verdict = -1;
}

/*
 * Appends a record: one write of REC bytes into erased flash, so a power cut leaves
 * either the previous record or this one as the newest valid one. When the sector is
 * full, the other one (holding only older records) is erased first.
 */
static int trailer_write(int s, const trailer *nt) {
    slot_meta *m = &g.slot[s];
    const uint32_t base = trailer_base(s);
    uint8_t r[REC];
    trailer t = *nt;
    t.seq = g.seq++;
    rec_encode(&t, s, r);
    if (m->next) {
        const uint32_t end = base + (m->sector + 1u) * sector_size();
        while (m->next < end && !erased(m->next, REC)) m->next += REC;
        if (m->next >= end) m->next = 0;
    }
    if (!m->next) {
        m->sector ^= 1u;
        m->next = base + m->sector * sector_size();
        if (g.b->flash_erase(g.b->ctx, m->next, sector_size())) return -1;
    }
    if (g.b->flash_write(g.b->ctx, m->next, r, REC)) { m->next += REC; return -1; }
    m->next += REC;
    if (m->next == base + (m->sector + 1u) * sector_size()) m->next = 0;
    m->t = t;
    return 0;
}

/* the slot emptied: the record first (it must never claim bytes that are gone), then the bytes */
static int slot_erase(int s) {
    trailer t;
    uint32_t n = round_up(g.slot[s].t.len);
    empty_trailer(&t);
    g.slot[s].verdict = -1;
    if (trailer_write(s, &t)) return -1;
    if (n && !erased(slot_base(s), n) && g.b->flash_erase(g.b->ctx, slot_base(s), n)) return -1;
    return 0;
}

/*
 * After a power cut during an upload, bytes past `received` may hold part of a chunk
 * whose record was never written: programming over them would corrupt the image. The
 * upload goes back to the start of that sector, which is erased again.
 */
static int finish_upload(int s);
static void repair(int s) {
    slot_meta *m = &g.slot[s];
    trailer t;
    uint32_t from;
    if (m->t.state != SLOT_PARTIAL) return;
    if (m->t.received == m->t.len) { finish_upload(s); return; }
    if (erased(slot_base(s) + m->t.received, m->t.len - m->t.received)) return;
    from = m->t.received & ~(sector_size() - 1u);
    t = m->t;
    t.received = from;
    if (trailer_write(s, &t)) return;
    g.b->flash_erase(g.b->ctx, slot_base(s) + from, round_up(m->t.len) - from);
}

/* ---- images and boot ---- */

static gle_status slot_check(int s, gle_error *err, gle_info *info) {
    slot_meta *m = &g.slot[s];
    gle_status st = gle_validate(slot_bytes(s), m->t.len, err, info);
    m->verdict = (int)st;
    return st;
}

/* complete and accepted by the loader (checked once after every change) */
static int slot_valid(int s) {
    slot_meta *m = &g.slot[s];
    if (m->t.state != SLOT_COMPLETE) return 0;
    if (m->verdict < 0) {
        gle_error err;
        slot_check(s, &err, 0);
    }
    return m->verdict == GLE_OK;
}

/* the confirmed slot: of those flagged, the one confirmed last */
static int confirmed_slot(void) {
    int s, best = -1;
    for (s = 0; s < GLE_PROTO_SLOTS; s++) {
        const trailer *t = &g.slot[s].t;
        if (t->state == SLOT_COMPLETE && (t->flags & F_CONFIRMED) && (best < 0 || t->confirm_seq > g.slot[best].t.confirm_seq)) best = s;
    }
    return best;
}

/* PROTOCOL.md section 3.4: a pending test once, else the confirmed image, else one ever confirmed; each only if the loader accepts it */
static void plan_boot(boot_plan *p) {
    int k, s, c;
    const int newer = g.slot[1].t.seq > g.slot[0].t.seq;
    p->run = -1;
    p->clear = 0;
    for (k = 0; k < GLE_PROTO_SLOTS; k++) {
        s = newer ? 1 - k : k;
        if (g.slot[s].t.flags & F_PENDING) {
            p->clear |= 1u << s;
            if (p->run < 0 && slot_valid(s)) p->run = s;
        }
    }
    if (p->run >= 0) return;
    c = confirmed_slot();
    if (c >= 0 && slot_valid(c)) { p->run = c; return; }
    for (s = 0; s < GLE_PROTO_SLOTS; s++) {
        if (s != c && g.slot[s].t.confirm_seq != 0 && slot_valid(s)) { p->run = s; return; }
    }
}

static void boot(uint32_t boots, uint32_t boot_id) {
    boot_plan p;
    int s;
    g.boots = boots;
    g.boot_id = boot_id;
    g.seq = 1;
    for (s = 0; s < GLE_PROTO_SLOTS; s++) load_trailer(s);
    for (s = 0; s < GLE_PROTO_SLOTS; s++) repair(s);
    plan_boot(&p);
    for (s = 0; s < GLE_PROTO_SLOTS; s++) {
        if (p.clear & (1u << s)) {
            trailer t = g.slot[s].t;
            t.flags &= ~(uint32_t)F_PENDING;
            trailer_write(s, &t);
        }
    }
    gle_unload();
    g.active = -1;
    if (p.run >= 0) {
        gle_error err;
        /* the loader validates the image once more as it copies it */
        gle_status st = gle_load(slot_bytes(p.run), g.slot[p.run].t.len, &err);
        if (st == GLE_OK) g.active = p.run;
        else g.slot[p.run].verdict = (int)st;
    }
    if (g.b->analog) {
        const gle_analog *a = g.b->analog;
        if (g.active >= 0) a->boot(a->ctx, slot_bytes(g.active), g.slot[g.active].t.len);
        else a->boot(a->ctx, 0, 0);
    }
    g.rx_frames = g.rx_dropped = g.tx_frames = 0;
    g.steps_done = 0;
    g.reboot_pending = 0;
    g.cache_valid = 0;
    /* a frame longer than MTU + 10 decoded bytes is dropped (PROTOCOL.md section 1) */
    gle_cobs_decoder_init(&g.dec, g_rx, (size_t)g.b->mtu + GLE_PROTO_HEADER + GLE_PROTO_CRC);
}

static uint32_t draw_boot_id(uint32_t boots) {
    uint32_t id = mix32(boots ^ mix32(g.b->millis(g.b->ctx) + 0x9e3779b9u));
    return id == g.boot_id ? id + 1u : id;
}

int gle_proto_init(const gle_board *board) {
    uint32_t e = board->sector_size, boots;
    if (e < REC || (e & (e - 1u)) != 0 || board->slot_size == 0 || board->slot_size % e != 0) return -1;
    if (board->slot_size > (0xFFFFFFFFu - 4u * e) / 2u || board->flash_size < GLE_PROTO_FLASH_BYTES(board->slot_size, e)) return -1;
    if (board->mtu < GLE_PROTO_MIN_MTU || board->mtu > GLE_PROTO_MAX_MTU) return -1;
    g.b = board;
    g.boot_id = 0;
    boots = board->next_boot(board->ctx);
    boot(boots, draw_boot_id(boots));
    return 0;
}

int gle_proto_reboot_pending(void) { return g.reboot_pending; }

void gle_proto_reboot(void) {
    if (g.reboot_pending) boot(g.next_boots, g.next_boot_id);
}

void gle_proto_get_status(gle_proto_status *s) {
    int i;
    s->boot_id = g.boot_id;
    s->boots = g.boots;
    s->rx_frames = g.rx_frames;
    s->rx_dropped = g.rx_dropped;
    s->tx_frames = g.tx_frames;
    s->active = g.active;
    for (i = 0; i < GLE_PROTO_SLOTS; i++) {
        s->slot_state[i] = g.slot[i].t.state;
        s->slot_len[i] = g.slot[i].t.len;
        s->slot_off[i] = g.slot[i].t.received;
    }
}

/* ---- responses ---- */

static int vbegin(int status, uint32_t fields, const char *fmt, va_list ap) {
    g.status = status;
    g_reason[0] = '\0';
    if (fmt) vsnprintf(g_reason, sizeof g_reason, fmt, ap);
    mpw_init(&g_w, g_tx + GLE_PROTO_HEADER, g.b->mtu);
    mpw_map(&g_w, 1u + fields);
    mpw_kv_str(&g_w, "reason", g_reason);
    return status;
}

/* starts the response: a map of `reason` (fmt NULL: empty) and `fields` more entries; returns the status */
static int begin(int status, uint32_t fields, const char *fmt, ...) {
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = vbegin(status, fields, fmt, ap);
    va_end(ap);
    return r;
}

static void send_frame(uint8_t type, uint16_t seq) {
    const size_t len = GLE_PROTO_HEADER + g_w.len;
    size_t n;
    g_tx[0] = GLE_PROTO_VERSION;
    g_tx[1] = type;
    g_tx[2] = 1; /* a response */
    g_tx[3] = (uint8_t)seq;
    g_tx[4] = (uint8_t)(seq >> 8);
    g_tx[5] = (uint8_t)g.status;
    put_u32(g_tx + len, gle_crc32(g_tx, len));
    n = gle_cobs_encode(g_tx, len + GLE_PROTO_CRC, g_txe, sizeof g_txe - 1u);
    g_txe[n] = 0;
    g.txe_len = n + 1u;
    g.b->write(g.b->ctx, g_txe, g.txe_len);
    g.tx_frames++;
}

/* INFO's analog map (PROTOCOL.md section 6) */
static void write_analog_info(void) {
    static const char *const params[] = {"tauM", "tauR", "gain", "offset"};
    const gle_analog *a = g.b->analog;
    uint32_t l, n = gle_loaded() ? a->neurons(a->ctx) : 0u, layers = 0;
    unsigned i;
    while (n && gle_layer_size(layers) > 0) layers++;
    mpw_str(&g_w, "analog");
    mpw_map(&g_w, 5);
    mpw_kv_uint(&g_w, "neurons", n);
    mpw_str(&g_w, "params");
    mpw_array(&g_w, 4);
    for (i = 0; i < 4; i++) mpw_str(&g_w, params[i]);
    mpw_kv_uint(&g_w, "trimBits", a->trim_bits);
    mpw_str(&g_w, "adc");
    mpw_map(&g_w, 5);
    mpw_kv_uint(&g_w, "bits", a->adc_bits);
    mpw_str(&g_w, "lo");
    mpw_f64_bits(&g_w, a->adc_lo);
    mpw_str(&g_w, "hi");
    mpw_f64_bits(&g_w, a->adc_hi);
    mpw_kv_uint(&g_w, "reliableLo", a->reliable_lo);
    mpw_kv_uint(&g_w, "reliableHi", a->reliable_hi);
    mpw_str(&g_w, "ranges");
    mpw_array(&g_w, layers);
    for (l = 0; l < layers; l++) {
        uint64_t lo, hi;
        a->range(a->ctx, l, &lo, &hi);
        mpw_array(&g_w, 2);
        mpw_f64_bits(&g_w, lo);
        mpw_f64_bits(&g_w, hi);
    }
}

static void write_info(void) {
    static const char *const caps[] = {"run-samples", "run-steps", "record", "pace", "analog", "probe"};
    const gle_board *b = g.b;
    unsigned i, ncaps = b->pace ? 4u : 3u;
    mpw_kv_uint(&g_w, "proto", GLE_PROTO_VERSION);
    mpw_kv_str(&g_w, "firmware", b->firmware);
    mpw_kv_str(&g_w, "boardId", b->board_id);
    mpw_kv_uint(&g_w, "bootId", g.boot_id);
    mpw_kv_uint(&g_w, "mtu", b->mtu);
    mpw_kv_uint(&g_w, "rxBuffer", b->rx_buffer);
    mpw_str(&g_w, "formats");
    mpw_array(&g_w, 1);
    mpw_uint(&g_w, GLE_FORMAT_VERSION);
    mpw_str(&g_w, "limits");
    mpw_map(&g_w, 6);
    mpw_kv_uint(&g_w, "layers", GLE_MAX_LAYERS);
    mpw_kv_uint(&g_w, "weights", GLE_MAX_WEIGHTS);
    mpw_kv_uint(&g_w, "neurons", GLE_MAX_NEURONS);
    mpw_kv_uint(&g_w, "ring", GLE_MAX_RING);
    mpw_kv_uint(&g_w, "table", GLE_MAX_TABLE);
    mpw_kv_uint(&g_w, "outputs", GLE_MAX_OUTPUTS);
    mpw_kv_uint(&g_w, "slots", GLE_PROTO_SLOTS);
    mpw_kv_uint(&g_w, "slotSize", b->slot_size);
    mpw_str(&g_w, "capabilities");
    mpw_array(&g_w, ncaps + (b->analog ? 2u : 0u));
    for (i = 0; i < ncaps; i++) mpw_str(&g_w, caps[i]);
    if (b->analog) { mpw_str(&g_w, caps[4]); mpw_str(&g_w, caps[5]); }
    mpw_kv_uint(&g_w, "baud", b->baud ? b->baud(b->ctx) : 0u);
    mpw_str(&g_w, "stats");
    mpw_map(&g_w, 4);
    mpw_kv_uint(&g_w, "rxFrames", g.rx_frames);
    mpw_kv_uint(&g_w, "rxDropped", g.rx_dropped);
    mpw_kv_uint(&g_w, "txFrames", g.tx_frames);
    mpw_kv_uint(&g_w, "boots", g.boots);
    if (b->analog) write_analog_info();
}
#define INFO_FIELDS (g.b->analog ? 14u : 13u)

/* STATE's fields: now, or (plan given) as they will be after the planned boot */
static void write_state(const boot_plan *plan) {
    static const char *const names[] = {"empty", "partial", "complete"};
    const int active = plan ? plan->run : g.active;
    const int confirmed = confirmed_slot();
    int s;
    mpw_kv_uint(&g_w, "bootId", plan ? g.next_boot_id : g.boot_id);
    mpw_kv_int(&g_w, "active", active);
    mpw_str(&g_w, "slots");
    mpw_array(&g_w, GLE_PROTO_SLOTS);
    for (s = 0; s < GLE_PROTO_SLOTS; s++) {
        const trailer *t = &g.slot[s].t;
        const int pending = (t->flags & F_PENDING) && !(plan && (plan->clear & (1u << s)));
        int64_t version = 0;
        mpw_map(&g_w, 12);
        mpw_kv_uint(&g_w, "slot", (uint64_t)s);
        mpw_kv_str(&g_w, "state", names[t->state]);
        mpw_kv_uint(&g_w, "size", g.b->slot_size);
        mpw_kv_uint(&g_w, "len", t->len);
        mpw_kv_uint(&g_w, "off", t->received);
        mpw_str(&g_w, "hash");
        if (t->state == SLOT_EMPTY) mpw_nil(&g_w);
        else mpw_bin(&g_w, t->sha, 32);
        mpw_str(&g_w, "version");
        if (t->state == SLOT_COMPLETE && gle_format_version(slot_bytes(s), t->len, &version, 0) == GLE_OK) mpw_int(&g_w, version);
        else mpw_nil(&g_w);
        mpw_kv_bool(&g_w, "bootable", slot_valid(s));
        mpw_kv_bool(&g_w, "pending", pending);
        mpw_kv_bool(&g_w, "confirmed", s == confirmed);
        mpw_kv_bool(&g_w, "active", s == active);
        mpw_kv_bool(&g_w, "permanent", s == confirmed && (t->flags & F_PERMANENT));
    }
}
#define STATE_FIELDS 3u

static void respond_state(void) {
    begin(GLE_ST_OK, STATE_FIELDS, 0);
    write_state(0);
}

/* the response to a request that reboots: STATE as after the reboot, which follows it */
static void reboot_after_response(void) {
    boot_plan p;
    g.next_boots = g.b->next_boot(g.b->ctx);
    g.next_boot_id = draw_boot_id(g.next_boots);
    plan_boot(&p);
    begin(GLE_ST_OK, STATE_FIELDS, 0);
    write_state(&p);
    g.reboot_pending = 1;
}

/* ---- request fields ---- */

/* the value of key in the request's map (the first, if it appears twice); 0 when missing */
static int field(const char *key, mp_reader *val) {
    mp_reader r;
    if (g_plen == 0) return 0;
    mp_init(&r, g_pl, g_plen);
    return mp_find_key(&r, key, val);
}

/* Each returns 0 (found, value set), 1 (optional and missing) or -1 (an INVAL response is written). */
static int arg_uint(const char *key, int required, uint64_t max, uint32_t *v) {
    mp_reader r;
    int64_t x;
    if (!field(key, &r)) return required ? (begin(GLE_ST_INVAL, 0, "%s: missing", key), -1) : 1;
    if (mp_read_int(&r, &x)) return begin(GLE_ST_INVAL, 0, "%s: must be an integer", key), -1;
    if (x < 0 || (uint64_t)x > max) return begin(GLE_ST_INVAL, 0, "%s: %lld is outside 0..%llu", key, (long long)x, (unsigned long long)max), -1;
    *v = (uint32_t)x;
    return 0;
}

static int arg_bool(const char *key, int required, int *v) {
    mp_reader r;
    if (!field(key, &r)) return required ? (begin(GLE_ST_INVAL, 0, "%s: missing", key), -1) : 1;
    if (mp_read_bool(&r, v)) return begin(GLE_ST_INVAL, 0, "%s: must be true or false", key), -1;
    return 0;
}

static int arg_bin(const char *key, const uint8_t **p, uint32_t *len) {
    mp_reader r;
    if (!field(key, &r)) return begin(GLE_ST_INVAL, 0, "%s: missing", key), -1;
    if (mp_read_bin(&r, p, len)) return begin(GLE_ST_INVAL, 0, "%s: must be binary", key), -1;
    return 0;
}

static int arg_str(const char *key, const uint8_t **p, uint32_t *len) {
    mp_reader r;
    if (!field(key, &r)) return begin(GLE_ST_INVAL, 0, "%s: missing", key), -1;
    if (mp_read_str(&r, p, len)) return begin(GLE_ST_INVAL, 0, "%s: must be a string", key), -1;
    return 0;
}

static int arg_slot(int *s) {
    uint32_t v;
    if (arg_uint("slot", 1, 0xFFFFFFFFu, &v)) return -1;
    if (v >= GLE_PROTO_SLOTS) return begin(GLE_ST_NOENT, 0, "slot %lu: no such slot (the board has %d)", (unsigned long)v, GLE_PROTO_SLOTS), -1;
    *s = (int)v;
    return 0;
}

/* a slot that holds a complete image, else NOENT (empty) or BADSTATE (partial) */
static int arg_complete_slot(int *s) {
    const trailer *t;
    if (arg_slot(s)) return -1;
    t = &g.slot[*s].t;
    if (t->state == SLOT_EMPTY) return begin(GLE_ST_NOENT, 0, "slot %d is empty", *s), -1;
    if (t->state == SLOT_PARTIAL) return begin(GLE_ST_BADSTATE, 0, "slot %d holds %lu of %lu bytes: the upload is not complete", *s, (unsigned long)t->received, (unsigned long)t->len), -1;
    return 0;
}

static int not_active(int s, const char *what) {
    if (s != g.active) return 0;
    return begin(GLE_ST_BADSTATE, 0, "slot %d is running: %s the other slot", s, what), -1;
}

/* the loader's refusal as a protocol status */
static int load_status(gle_status st) {
    return st == GLE_E_VERSION ? GLE_ST_NOTSUP : st == GLE_E_CAPACITY ? GLE_ST_NOMEM : GLE_ST_CORRUPT;
}

/* ---- messages ---- */

static void cancel_steps(void) {
    g.steps_done = 0;
    gle_reset();
    if (g.b->analog && gle_loaded()) g.b->analog->reset(g.b->analog->ctx);
}

static void h_hello(void) {
    uint32_t proto;
    if (arg_uint("proto", 1, 255, &proto)) return;
    cancel_steps();
    begin(GLE_ST_OK, INFO_FIELDS, 0);
    write_info();
}

/* UPLOAD's answer: where slot s's upload stands */
static void upload_reply(int s, int status, const char *fmt, ...) {
    const trailer *t = &g.slot[s].t;
    va_list ap;
    va_start(ap, fmt);
    vbegin(status, 3, fmt, ap);
    va_end(ap);
    mpw_kv_uint(&g_w, "off", t->state == SLOT_EMPTY ? 0u : t->received);
    mpw_kv_uint(&g_w, "len", t->len);
    mpw_kv_bool(&g_w, "done", t->state == SLOT_COMPLETE);
}

/* all len bytes are in: complete when they hash to the declared SHA-256, else erased; -1 on a mismatch */
static int finish_upload(int s) {
    trailer t = g.slot[s].t;
    uint8_t digest[32];
    gle_sha256(slot_bytes(s), t.len, digest);
    if (!same(digest, t.sha, 32)) {
        slot_erase(s);
        return -1;
    }
    t.state = SLOT_COMPLETE;
    return trailer_write(s, &t) ? -2 : 0;
}

static void h_upload(void) {
    int s;
    uint32_t off, dlen;
    const uint8_t *data;
    slot_meta *m;
    if (arg_slot(&s) || arg_uint("off", 1, 0xFFFFFFFFu, &off) || arg_bin("data", &data, &dlen) || not_active(s, "upload to")) return;
    m = &g.slot[s];
    if (off == 0) {
        uint32_t len, shalen;
        const uint8_t *sha;
        if (arg_uint("len", 1, 0xFFFFFFFFu, &len) || arg_bin("sha", &sha, &shalen)) return;
        if (shalen != 32) { begin(GLE_ST_INVAL, 0, "sha: must be 32 bytes, has %lu", (unsigned long)shalen); return; }
        if (len > g.b->slot_size) { begin(GLE_ST_NOMEM, 0, "len %lu is larger than the slot's %lu bytes", (unsigned long)len, (unsigned long)g.b->slot_size); return; }
        if (len == 0) { begin(GLE_ST_INVAL, 0, "len: must be at least 1"); return; }
        if (m->t.state != SLOT_EMPTY && m->t.len == len && same(m->t.sha, sha, 32)) {
            /* resume: keep what is there (with nothing there yet, the chunk is written below) */
            if (m->t.received > 0) { upload_reply(s, GLE_ST_OK, 0); return; }
        } else {
            trailer t;
            empty_trailer(&t);
            t.state = SLOT_PARTIAL;
            t.len = len;
            copy(t.sha, sha, 32);
            m->verdict = -1;
            if (trailer_write(s, &t) || (!erased(slot_base(s), round_up(len)) && g.b->flash_erase(g.b->ctx, slot_base(s), round_up(len)))) {
                begin(GLE_ST_UNKNOWN, 0, "flash: erasing slot %d failed", s);
                return;
            }
        }
    }
    if (m->t.state == SLOT_PARTIAL && off == m->t.received) {
        trailer t = m->t;
        if ((uint64_t)off + dlen > t.len) { begin(GLE_ST_INVAL, 0, "data: %lu bytes at off %lu end beyond len %lu", (unsigned long)dlen, (unsigned long)off, (unsigned long)t.len); return; }
        if (dlen > 0) {
            /* the data first, then the record that claims it */
            t.received += dlen;
            if (g.b->flash_write(g.b->ctx, slot_base(s) + off, data, dlen) || trailer_write(s, &t)) {
                begin(GLE_ST_UNKNOWN, 0, "flash: writing slot %d at %lu failed", s, (unsigned long)off);
                return;
            }
        }
        if (t.received == t.len) {
            const uint32_t len = t.len;
            const int r = finish_upload(s);
            if (r == -1) { upload_reply(s, GLE_ST_CORRUPT, "sha: the %lu bytes received do not hash to the declared SHA-256; slot %d is erased", (unsigned long)len, s); return; }
            if (r) { begin(GLE_ST_UNKNOWN, 0, "flash: writing slot %d's trailer failed", s); return; }
        }
    }
    /* a duplicate, a chunk after a lost one, or the next offset: the offset expected now */
    upload_reply(s, GLE_ST_OK, 0);
}

static void h_erase(void) {
    int s;
    if (arg_slot(&s) || not_active(s, "erase")) return;
    if (g.slot[s].t.state != SLOT_EMPTY && slot_erase(s)) { begin(GLE_ST_UNKNOWN, 0, "flash: erasing slot %d failed", s); return; }
    begin(GLE_ST_OK, 0, 0);
}

static void h_abort(void) {
    int s;
    if (arg_slot(&s) || not_active(s, "abort on")) return;
    if (g.slot[s].t.state == SLOT_COMPLETE) { begin(GLE_ST_BADSTATE, 0, "slot %d holds a complete image, no upload to abort (ERASE removes it)", s); return; }
    if (g.slot[s].t.state == SLOT_PARTIAL) {
        trailer t;
        empty_trailer(&t);
        g.slot[s].verdict = -1;
        if (trailer_write(s, &t)) { begin(GLE_ST_UNKNOWN, 0, "flash: writing slot %d's trailer failed", s); return; }
    }
    begin(GLE_ST_OK, 1, 0);
    mpw_kv_uint(&g_w, "off", 0);
}

static void h_verify(void) {
    int s;
    gle_error err;
    gle_info info;
    gle_status st;
    if (arg_complete_slot(&s)) return;
    st = slot_check(s, &err, &info);
    if (st != GLE_OK) { begin(load_status(st), 0, "%s", err.message); return; }
    begin(GLE_ST_OK, 3, 0);
    mpw_str(&g_w, "hash");
    mpw_bin(&g_w, g.slot[s].t.sha, 32);
    mpw_kv_uint(&g_w, "version", info.format_version);
    mpw_str(&g_w, "network");
    mpw_map(&g_w, 8);
    mpw_kv_uint(&g_w, "layers", info.layers);
    mpw_kv_uint(&g_w, "inputSize", info.input_size);
    mpw_kv_uint(&g_w, "outputSize", info.output_size);
    mpw_kv_uint(&g_w, "stepsPerSample", info.steps_per_sample);
    mpw_kv_uint(&g_w, "settleSteps", info.settle_steps);
    mpw_kv_str(&g_w, "readout", info.readout_sum ? "sum" : "last");
    mpw_kv_str(&g_w, "mode", info.sequence ? "sequence" : "static");
    mpw_kv_uint(&g_w, "bytes", info.bytes_total);
}

/* slot s becomes the confirmed one (and permanent when asked); the other loses its confirmation */
static int confirm_slot(int s, int permanent) {
    int o = 1 - s;
    trailer t = g.slot[s].t;
    t.flags = (t.flags | F_CONFIRMED | (permanent ? F_PERMANENT : 0u)) & ~(uint32_t)F_PENDING;
    t.confirm_seq = g.seq; /* the sequence number this record gets */
    if (trailer_write(s, &t)) return -1;
    /* a power cut here leaves two flagged: the later confirmation (confirm_seq) wins */
    if (g.slot[o].t.flags & (F_CONFIRMED | F_PERMANENT | F_PENDING)) {
        t = g.slot[o].t;
        t.flags &= ~(uint32_t)(F_CONFIRMED | F_PERMANENT | F_PENDING);
        if (trailer_write(o, &t)) return -1;
    }
    return 0;
}

static void h_activate(void) {
    int s, permanent;
    uint32_t boot_id;
    gle_error err;
    gle_status st;
    if (arg_slot(&s) || arg_bool("permanent", 1, &permanent) || arg_uint("bootId", 1, 0xFFFFFFFFu, &boot_id)) return;
    /* the retry of an activation whose reboot already happened */
    if (boot_id != g.boot_id) { respond_state(); return; }
    if (arg_complete_slot(&s)) return;
    st = slot_check(s, &err, 0);
    if (st != GLE_OK) { begin(load_status(st), 0, "%s", err.message); return; }
    if (permanent) {
        if (confirm_slot(s, 1)) { begin(GLE_ST_UNKNOWN, 0, "flash: writing the trailers failed"); return; }
    } else {
        trailer t = g.slot[s].t;
        t.flags |= F_PENDING;
        if (trailer_write(s, &t)) { begin(GLE_ST_UNKNOWN, 0, "flash: writing slot %d's trailer failed", s); return; }
    }
    reboot_after_response();
}

static void h_confirm(void) {
    const int a = g.active;
    if (a < 0) { begin(GLE_ST_OK, STATE_FIELDS, "no image is running: nothing to confirm"); write_state(0); return; }
    if (confirmed_slot() == a) { begin(GLE_ST_OK, STATE_FIELDS, "slot %d is confirmed already: nothing to confirm", a); write_state(0); return; }
    if (confirm_slot(a, 0)) { begin(GLE_ST_UNKNOWN, 0, "flash: writing the trailers failed"); return; }
    respond_state();
}

static void h_reset(void) {
    uint32_t boot_id;
    if (arg_uint("bootId", 1, 0xFFFFFFFFu, &boot_id)) return;
    if (boot_id != g.boot_id) { respond_state(); return; }
    reboot_after_response();
}

/* RUN's inputs: the request's x, row by row */
typedef struct {
    const uint8_t *x;
    uint32_t input_size, steps, sample;
    int sequence;
    uint8_t *states;   /* where the next step's state record goes, or NULL */
    uint32_t state_bytes;
} run_ctx;

static const int32_t *decode_row(const uint8_t *x, uint32_t row, uint32_t n) {
    uint32_t j;
    const uint8_t *p = x + (size_t)row * n * 4u;
    for (j = 0; j < n; j++) g_row[j] = gle_get_i32le(p + 4u * j);
    return g_row;
}

static const int32_t *run_input(void *ctx, uint32_t t) {
    run_ctx *c = (run_ctx *)ctx;
    if (c->sequence) return decode_row(c->x, c->sample * c->steps + t, c->input_size);
    return t == 0 ? decode_row(c->x, c->sample, c->input_size) : g_row; /* held */
}

static void run_record(void *ctx, uint32_t t) {
    run_ctx *c = (run_ctx *)ctx;
    (void)t;
    if (!c->states) return;
    if (g.b->analog) g.b->analog->states(g.b->analog->ctx, c->states);
    else gle_present_put_states(c->states);
    c->states += c->state_bytes;
}

/* One step of what runs the network: the engine, or an analog board's chip, whose read-outs are ADC codes. */
static const int32_t *net_step(const int32_t *x) {
    const gle_analog *a = g.b->analog;
    if (!a) { gle_step(x); return gle_output(); }
    a->step(a->ctx, x, g_acodes);
    return g_acodes;
}

/* an analog board's chip under the one presentation loop (gle_present_sample): read-outs are ADC codes */
static void analog_reset(void *ctx) { (void)ctx; g.b->analog->reset(g.b->analog->ctx); }
static const int32_t *analog_step(void *ctx, const int32_t *x) { (void)ctx; return net_step(x); }

static uint64_t bin_bytes(uint64_t n) { return n + (n <= 0xFFu ? 2u : n <= 0xFFFFu ? 3u : 5u); }

static void h_run(void) {
    const uint8_t *mode, *x;
    uint32_t mlen, first, n, xlen, i;
    int record = 0, reset = 0, steps_mode;
    uint64_t rows, ybytes, sbytes, need;
    gle_info info;
    run_ctx c;
    uint8_t *y;
    if (arg_str("mode", &mode, &mlen)) return;
    steps_mode = mp_str_eq(mode, mlen, "steps");
    if (!steps_mode && !mp_str_eq(mode, mlen, "samples")) { begin(GLE_ST_INVAL, 0, "mode: must be \"samples\" or \"steps\""); return; }
    if (arg_uint("first", 1, 0xFFFFFFFFu, &first) < 0 || arg_uint("n", 1, 0xFFFFFFFFu, &n) < 0 || arg_bin("x", &x, &xlen) < 0 ||
        arg_bool("record", 0, &record) < 0 || arg_bool("reset", 0, &reset) < 0) return;
    if (g.active < 0 || !gle_loaded()) { begin(GLE_ST_NOENT, 0, "no image is running"); return; }
    gle_get_info(&info);
    c.x = x;
    c.input_size = info.input_size;
    c.steps = info.steps_per_sample;
    c.sequence = !steps_mode && info.sequence;
    c.state_bytes = gle_present_state_bytes();
    rows = c.sequence ? (uint64_t)n * info.steps_per_sample : (uint64_t)n;
    if ((uint64_t)xlen != rows * info.input_size * 4u) {
        begin(GLE_ST_INVAL, 0, "x: has %lu bytes, %llu rows of %lu int32 codes need %llu", (unsigned long)xlen, (unsigned long long)rows,
              (unsigned long)info.input_size, (unsigned long long)(rows * info.input_size * 4u));
        return;
    }
    if (steps_mode && first != (reset ? 0u : g.steps_done)) {
        uint32_t expected = reset ? 0u : g.steps_done;
        begin(GLE_ST_BADSTATE, 1, "first: %lu, but the run is at step %lu", (unsigned long)first, (unsigned long)expected);
        mpw_kv_uint(&g_w, "first", expected);
        return;
    }
    ybytes = (uint64_t)n * info.output_size * (steps_mode ? 4u : 8u);
    sbytes = record ? (steps_mode ? (uint64_t)n : (uint64_t)n * info.steps_per_sample) * c.state_bytes : 0u;
    begin(GLE_ST_OK, record ? 4u : 3u, 0);
    mpw_kv_uint(&g_w, "first", first);
    mpw_kv_uint(&g_w, "n", n);
    mpw_str(&g_w, "y");
    /* the response's exact size, before anything runs */
    need = g_w.len + bin_bytes(ybytes) + (record ? 7u + bin_bytes(sbytes) : 0u);
    if (need > g.b->mtu) {
        begin(GLE_ST_MSGSIZE, 0, "the response would take %llu bytes, more than the MTU of %lu: ask for fewer", (unsigned long long)need, (unsigned long)g.b->mtu);
        return;
    }
    y = mpw_bin_reserve(&g_w, (size_t)ybytes);
    c.states = 0;
    if (record) {
        mpw_str(&g_w, "states");
        c.states = mpw_bin_reserve(&g_w, (size_t)sbytes);
    }
    if (!y || (record && !c.states)) { begin(GLE_ST_UNKNOWN, 0, "response size miscounted"); return; }
    if (steps_mode) {
        if (reset) cancel_steps();
        for (i = 0; i < n; i++) {
            uint32_t k;
            const int32_t *o = net_step(decode_row(x, i, info.input_size));
            for (k = 0; k < info.output_size; k++, y += 4) gle_put_i32le(y, o[k]);
            run_record(&c, i);
        }
        g.steps_done += n;
    } else {
        gle_present_io io;
        io.input = run_input;
        io.after_step = run_record;
        io.reset = g.b->analog ? analog_reset : 0;
        io.step = g.b->analog ? analog_step : 0;
        io.ctx = &c;
        for (i = 0; i < n; i++) {
            uint32_t k;
            c.sample = i;
            gle_present_sample(&io, g_y);
            for (k = 0; k < info.output_size; k++, y += 8) gle_put_i64le(y, g_y[k]);
        }
        /* samples leave the network at rest: a steps run starts again at 0 */
        cancel_steps();
    }
}

/* ---- an analog board's trims and probes (PROTOCOL.md section 6) ---- */

/* the chip, when the board has one and an image runs; otherwise the response (NOTSUP, NOENT) is written and NULL returned */
static const gle_analog *analog_chip(void) {
    if (!g.b->analog) { begin(GLE_ST_NOTSUP, 0, "not an analog board: it has no trims and no probes"); return 0; }
    if (g.active < 0 || !gle_loaded()) { begin(GLE_ST_NOENT, 0, "no image is running"); return 0; }
    return g.b->analog;
}

/* the neurons a TRIM_GET or TRIM_SET addresses: off (default 0) and a count that must fit */
static int trim_range(uint32_t neurons, uint32_t count, int count_given, uint32_t *off) {
    int rc = arg_uint("off", 0, 0xFFFFFFFFu, off);
    if (rc < 0) return -1;
    if (rc == 1) *off = 0;
    if (count_given && count == 0) return begin(GLE_ST_INVAL, 0, "no neuron addressed"), -1;
    if ((uint64_t)*off + count > neurons) {
        begin(GLE_ST_INVAL, 0, "off: %lu neurons from %lu go beyond the image's %lu", (unsigned long)count, (unsigned long)*off, (unsigned long)neurons);
        return -1;
    }
    return 0;
}

static void h_trim_get(void) {
    const gle_analog *a = analog_chip();
    uint8_t *codes;
    uint32_t n, off = 0, count;
    int rc;
    if (!a) return;
    n = a->neurons(a->ctx);
    if (arg_uint("off", 0, 0xFFFFFFFFu, &off) < 0) return;
    rc = arg_uint("len", 0, 0xFFFFFFFFu, &count);
    if (rc < 0) return;
    if (rc == 1) count = off <= n ? n - off : 0;  /* every neuron from off */
    if (trim_range(n, count, rc == 0, &off)) return;
    begin(GLE_ST_OK, 1, 0);
    mpw_str(&g_w, "codes");
    codes = mpw_bin_reserve(&g_w, (size_t)count * 8u);
    if (codes) a->get_trims(a->ctx, off, count, codes);
}

static void h_trim_set(void) {
    const gle_analog *a = analog_chip();
    const uint8_t *codes;
    uint32_t len, n, k, off, i;
    int whole;
    mp_reader r;
    if (!a || arg_bin("codes", &codes, &len)) return;
    n = a->neurons(a->ctx);
    whole = !field("off", &r);
    /* without off, every neuron's codes; with it, any whole number of neurons from there */
    if (whole && (uint64_t)len != (uint64_t)n * 8u) {
        begin(GLE_ST_INVAL, 0, "codes: has %lu bytes, 4 x %lu neurons of uint16 need %lu", (unsigned long)len, (unsigned long)n, (unsigned long)n * 8ul);
        return;
    }
    if (!whole && len % 8u != 0) { begin(GLE_ST_INVAL, 0, "codes: has %lu bytes, not whole neurons of 4 uint16 (8 bytes each)", (unsigned long)len); return; }
    k = len / 8u;
    if (trim_range(n, k, 1, &off)) return;
    for (i = 0; i < 4u * k; i++) {
        const uint32_t c = (uint32_t)codes[2u * i] | ((uint32_t)codes[2u * i + 1u] << 8);
        if (c >> a->trim_bits) {
            begin(GLE_ST_INVAL, 0, "codes: %lu at [%lu] (parameter %lu, neuron %lu) is outside 0..%lu", (unsigned long)c, (unsigned long)i, (unsigned long)(i / k),
                  (unsigned long)(off + i % k), (unsigned long)((1ul << a->trim_bits) - 1u));
            return;
        }
    }
    a->set_trims(a->ctx, off, k, codes);
    begin(GLE_ST_OK, 0, 0);
}

static void h_probe(void) {
    const gle_analog *a = analog_chip();
    const uint8_t *idx, *obs;
    uint32_t layer, ilen, olen, steps, n, size, i, count;
    int64_t level;
    int observe;
    mp_reader r;
    if (!a || arg_uint("layer", 1, 0xFFFFFFFFu, &layer) || arg_bin("neurons", &idx, &ilen)) return;
    if (!field("level", &r)) { begin(GLE_ST_INVAL, 0, "level: missing"); return; }
    if (mp_read_int(&r, &level)) { begin(GLE_ST_INVAL, 0, "level: must be an integer"); return; }
    if (level < -2147483647 - 1 || level > 2147483647) { begin(GLE_ST_INVAL, 0, "level: %lld is outside the int32 range", (long long)level); return; }
    if (arg_uint("steps", 1, 0xFFFFFFFFu, &steps) || arg_str("observe", &obs, &olen)) return;
    size = gle_layer_size(layer);
    if (size == 0) {
        gle_info info;
        gle_get_info(&info);
        begin(GLE_ST_INVAL, 0, "layer: %lu, but the image has layers 0..%lu", (unsigned long)layer, (unsigned long)(info.layers - 1u));
        return;
    }
    if (steps < 1 || steps > 4096) { begin(GLE_ST_INVAL, 0, "steps: %lu is outside 1..4096", (unsigned long)steps); return; }
    observe = mp_str_eq(obs, olen, "membrane") ? 1 : mp_str_eq(obs, olen, "rate") ? 2 : mp_str_eq(obs, olen, "both") ? 3 : 0;
    if (!observe) { begin(GLE_ST_INVAL, 0, "observe: must be \"membrane\", \"rate\" or \"both\""); return; }
    if (ilen % 2u) { begin(GLE_ST_INVAL, 0, "neurons: %lu bytes is not a whole number of uint16 indices", (unsigned long)ilen); return; }
    n = ilen / 2u;
    for (i = 0; i < n; i++) {
        const uint32_t k = (uint32_t)idx[2u * i] | ((uint32_t)idx[2u * i + 1u] << 8);
        if (k >= size) { begin(GLE_ST_INVAL, 0, "neurons: index %lu at [%lu] is outside layer %lu's 0..%lu", (unsigned long)k, (unsigned long)i, (unsigned long)layer, (unsigned long)(size - 1u)); return; }
    }
    count = n ? n : size;
    if ((uint64_t)count * steps * (observe == 3 ? 2u : 1u) > a->max_samples) {
        begin(GLE_ST_NOMEM, 0, "%lu neurons x %lu steps%s exceed the %lu samples the board holds", (unsigned long)count, (unsigned long)steps,
              observe == 3 ? " x 2" : "", (unsigned long)a->max_samples);
        return;
    }
    /* the probe leaves the network at rest: a steps run starts again at 0 */
    g.steps_done = 0;
    gle_reset();
    size = a->probe(a->ctx, layer, idx, n, (int32_t)level, steps, observe);
    begin(GLE_ST_OK, 3, 0);
    mpw_kv_uint(&g_w, "n", count);
    mpw_kv_uint(&g_w, "steps", steps);
    mpw_kv_uint(&g_w, "bytes", size);
}

static void h_probe_read(void) {
    const gle_analog *a = analog_chip();
    const uint8_t *p;
    uint32_t off, len, count = 0;
    uint64_t need;
    if (!a || arg_uint("off", 1, 0xFFFFFFFFu, &off) || arg_uint("len", 1, 0xFFFFFFFFu, &len)) return;
    p = a->samples(a->ctx, &count);
    if (!p) { begin(GLE_ST_NOENT, 0, "no samples: no PROBE since the boot"); return; }
    if ((uint64_t)off + len > count) { begin(GLE_ST_INVAL, 0, "off %lu + len %lu is beyond the %lu samples held", (unsigned long)off, (unsigned long)len, (unsigned long)count); return; }
    begin(GLE_ST_OK, 1, 0);
    mpw_str(&g_w, "data");
    need = g_w.len + bin_bytes(len);
    if (need > g.b->mtu) { begin(GLE_ST_MSGSIZE, 0, "the response would take %llu bytes, more than the MTU of %lu: ask for fewer", (unsigned long long)need, (unsigned long)g.b->mtu); return; }
    mpw_bin(&g_w, p + off, len);
}

/* ---- frames ---- */

static int payload_ok(void) {
    mp_reader r;
    if (g_plen == 0) return 1;
    mp_init(&r, g_pl, g_plen);
    return mp_peek(&r) == MP_MAP && mp_skip(&r, 16) == 0 && r.pos == g_plen;
}

static void dispatch(uint8_t type) {
    if (!payload_ok()) { begin(GLE_ST_INVAL, 0, "payload: must be one msgpack map"); return; }
    switch (type) {
    case GLE_MSG_HELLO: h_hello(); break;
    case GLE_MSG_INFO: begin(GLE_ST_OK, INFO_FIELDS, 0); write_info(); break;
    case GLE_MSG_STATE: respond_state(); break;
    case GLE_MSG_UPLOAD: h_upload(); break;
    case GLE_MSG_ERASE: h_erase(); break;
    case GLE_MSG_ABORT: h_abort(); break;
    case GLE_MSG_VERIFY: h_verify(); break;
    case GLE_MSG_ACTIVATE: h_activate(); break;
    case GLE_MSG_CONFIRM: h_confirm(); break;
    case GLE_MSG_RESET: h_reset(); break;
    case GLE_MSG_RUN: h_run(); break;
    case GLE_MSG_TRIM_SET: h_trim_set(); break;
    case GLE_MSG_TRIM_GET: h_trim_get(); break;
    case GLE_MSG_PROBE: h_probe(); break;
    case GLE_MSG_PROBE_READ: h_probe_read(); break;
    default: begin(GLE_ST_NOTSUP, 0, "type 0x%02x: no such message in protocol version %d", (unsigned)type, GLE_PROTO_VERSION); break;
    }
}

static void handle_frame(size_t len) {
    uint8_t type;
    uint16_t seq;
    uint32_t pcrc;
    /* too short, CRC wrong, or a response (not for the board): dropped without an answer */
    if (len < GLE_PROTO_HEADER + GLE_PROTO_CRC || get_u32(g_rx + len - GLE_PROTO_CRC) != gle_crc32(g_rx, len - GLE_PROTO_CRC) || (g_rx[2] & 1u)) {
        g.rx_dropped++;
        return;
    }
    g.rx_frames++;
    type = g_rx[1];
    seq = (uint16_t)(g_rx[3] | (g_rx[4] << 8));
    g_pl = g_rx + GLE_PROTO_HEADER;
    g_plen = len - GLE_PROTO_HEADER - GLE_PROTO_CRC;
    if (g_rx[0] != GLE_PROTO_VERSION) {
        begin(g_rx[0] < GLE_PROTO_VERSION ? GLE_ST_TOO_OLD : GLE_ST_TOO_NEW, 0, "version %u: this board speaks protocol version %d", (unsigned)g_rx[0], GLE_PROTO_VERSION);
        g.cache_valid = 0;
        send_frame(type, seq);
        return;
    }
    pcrc = gle_crc32(g_pl, g_plen);
    if (g.cache_valid && type == g.cache_type && seq == g.cache_seq && pcrc == g.cache_crc) {
        /* a retry: the same answer, not a second execution */
        g.b->write(g.b->ctx, g_txe, g.txe_len);
        g.tx_frames++;
        return;
    }
    dispatch(type);
    if (g_w.overflow) begin(GLE_ST_MSGSIZE, 0, "the response exceeds the MTU of %lu bytes", (unsigned long)g.b->mtu);
    send_frame(type, seq);
    g.cache_valid = 1;
    g.cache_type = type;
    g.cache_seq = seq;
    g.cache_crc = pcrc;
    if (g.reboot_pending) g.b->reboot(g.b->ctx);
}

size_t gle_proto_rx(const uint8_t *p, size_t n) {
    size_t i;
    if (g.reboot_pending) return 0;
    for (i = 0; i < n; i++) {
        int r = gle_cobs_feed(&g.dec, p[i]);
        if (r == GLE_COBS_DROPPED) g.rx_dropped++;
        else if (r == GLE_COBS_FRAME) {
            handle_frame(g.dec.len);
            return i + 1;
        }
    }
    return n;
}
