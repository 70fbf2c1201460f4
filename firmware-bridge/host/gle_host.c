/*
 * The host side of the C engine: what `glekit emulate --engine c`, the differential
 * tests and the benchmark run. Reads a descriptor and integer input codes from files,
 * writes integer outputs; no allocation here either (file buffers are static), so it
 * exercises the engine exactly as a board build would.
 *
 *   gle_host check FILE...               validate each; one line per file (ok + SHA-256, or why refused)
 *   gle_host info FILE                   JSON: sizes and the static memory the descriptor needs
 *   gle_host config FILE                 the -D flags of a build sized exactly for FILE
 *   gle_host run FILE INPUTS OUTPUTS     per sample: reset, stepsPerSample steps, read-out
 *   gle_host trace (FILE INPUTS OUTPUTS)...   every step: each layer's membranes, then rates
 *   gle_host bench FILE STEPS            JSON: wall time of STEPS steps
 *
 * INPUTS: int32 little-endian codes, stepsPerSample x inputSize per sample.
 * OUTPUTS (run): int64 little-endian read-out codes, outputSize per sample.
 * OUTPUTS (trace): int32 little-endian, per step of every sample, for each layer its
 * nOut membrane codes then its nOut rate codes.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../src/gle.h"
#include "../src/gle_present.h"

#ifndef GLE_HOST_MAX_FILE
#define GLE_HOST_MAX_FILE (16L * 1024L * 1024L)
#endif

static uint8_t g_file[GLE_HOST_MAX_FILE];
static uint8_t g_bytes[GLE_LIMIT_SIZE * 8];
static int32_t g_x[GLE_LIMIT_SIZE];

static int load_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) { fprintf(stderr, "gle_host: %s: cannot open\n", path); return -1; }
    n = fread(g_file, 1, sizeof g_file, f);
    if (n == sizeof g_file && fgetc(f) != EOF) {
        fclose(f);
        fprintf(stderr, "gle_host: %s: larger than this host build reads (%ld bytes)\n", path, (long)GLE_HOST_MAX_FILE);
        return -1;
    }
    fclose(f);
    *len = n;
    return 0;
}

static int load_descriptor(const char *path) {
    size_t len;
    gle_error err;
    if (load_file(path, &len)) return -1;
    if (gle_load(g_file, len, &err) != GLE_OK) {
        fprintf(stderr, "gle_host: %s: refused (error %d): %s\n", path, (int)err.status, err.message);
        return -1;
    }
    return 0;
}

static void hex(const uint8_t *d, unsigned n, char *out) {
    static const char digits[] = "0123456789abcdef";
    unsigned i;
    for (i = 0; i < n; i++) { out[2 * i] = digits[d[i] >> 4]; out[2 * i + 1] = digits[d[i] & 15]; }
    out[2 * n] = '\0';
}

/* one step's inputs; 1 on a clean end of file before the step, -1 on a short read */
static int read_step(FILE *in, uint32_t n) {
    size_t got = fread(g_bytes, 4, n, in);
    uint32_t j;
    if (got == 0 && feof(in)) return 1;
    if (got != n) return -1;
    for (j = 0; j < n; j++) g_x[j] = gle_get_i32le(g_bytes + 4 * j);
    return 0;
}

static int open_io(const char *ip, const char *op, FILE **in, FILE **out) {
    *in = fopen(ip, "rb");
    if (!*in) { fprintf(stderr, "gle_host: %s: cannot open\n", ip); return -1; }
    *out = fopen(op, "wb");
    if (!*out) { fclose(*in); fprintf(stderr, "gle_host: %s: cannot create\n", op); return -1; }
    return 0;
}

/* the presentation loop's inputs from a file, and its trace to a file */
typedef struct {
    FILE *in, *out;
    uint32_t input_size;
    int rc;
} run_files;

static const int32_t *file_input(void *ctx, uint32_t t) {
    run_files *f = (run_files *)ctx;
    (void)t;
    f->rc = read_step(f->in, f->input_size);
    return f->rc == 0 ? g_x : 0;
}

static uint8_t g_states[8u * GLE_MAX_NEURONS];

static void file_trace(void *ctx, uint32_t t) {
    run_files *f = (run_files *)ctx;
    uint32_t n = gle_present_state_bytes();
    (void)t;
    gle_present_put_states(g_states);
    fwrite(g_states, 1, n, f->out);
}

static int cmd_run(const char *dp, const char *ip, const char *op, int trace) {
    gle_info info;
    run_files f;
    gle_present_io io;
    int64_t y[GLE_MAX_OUTPUTS];
    unsigned long samples = 0;
    int status = 0;
    if (load_descriptor(dp)) return 1;
    gle_get_info(&info);
    if (open_io(ip, op, &f.in, &f.out)) return 1;
    f.input_size = info.input_size;
    f.rc = 0;
    io.input = file_input;
    io.after_step = trace ? file_trace : 0;
    io.reset = 0;
    io.step = 0;
    io.ctx = &f;
    for (;;) {
        uint32_t k, steps = gle_present_sample(&io, y);
        if (f.rc == 1 && steps == 0) break;
        if (f.rc != 0) { fprintf(stderr, "gle_host: %s: ends inside sample %lu\n", ip, samples); status = 1; break; }
        if (!trace) {
            for (k = 0; k < info.output_size; k++) gle_put_i64le(g_bytes + 8 * k, y[k]);
            fwrite(g_bytes, 8, info.output_size, f.out);
        }
        samples++;
    }
    fclose(f.in);
    if (fclose(f.out) != 0) { fprintf(stderr, "gle_host: %s: write failed\n", op); status = 1; }
    if (status == 0 && !trace) printf("{\"samples\":%lu}\n", samples);
    return status;
}

static int cmd_info(const char *dp, int config) {
    gle_info i;
    char h[65];
    if (load_descriptor(dp)) return 1;
    gle_get_info(&i);
    hex(i.sha256, 32, h);
    if (config) {
        printf("-DGLE_MAX_LAYERS=%lu -DGLE_MAX_WEIGHTS=%lu -DGLE_MAX_NEURONS=%lu -DGLE_MAX_RING=%lu -DGLE_MAX_TABLE=%lu -DGLE_MAX_OUTPUTS=%lu\n",
               (unsigned long)i.layers, (unsigned long)i.weights, (unsigned long)i.neurons, (unsigned long)i.ring,
               (unsigned long)(i.table ? i.table : 1), (unsigned long)i.output_size);
        return 0;
    }
    printf("{\"sha256\":\"%s\",\"layers\":%lu,\"inputSize\":%lu,\"outputSize\":%lu,\"weights\":%lu,\"neurons\":%lu,"
           "\"delayLineEntries\":%lu,\"tableEntries\":%lu,\"stepsPerSample\":%lu,"
           "\"footprintBytes\":{\"weights\":%lu,\"bias\":%lu,\"decay\":%lu,\"membrane\":%lu,\"delayLines\":%lu,\"tables\":%lu,"
           "\"outputs\":%lu,\"layerRecords\":%lu,\"total\":%lu},\"buildStaticBytes\":%lu}\n",
           h, (unsigned long)i.layers, (unsigned long)i.input_size, (unsigned long)i.output_size, (unsigned long)i.weights,
           (unsigned long)i.neurons, (unsigned long)i.ring, (unsigned long)i.table, (unsigned long)i.steps_per_sample,
           (unsigned long)i.bytes_weights, (unsigned long)i.bytes_bias, (unsigned long)i.bytes_decay, (unsigned long)i.bytes_membrane,
           (unsigned long)i.bytes_ring, (unsigned long)i.bytes_table, (unsigned long)i.bytes_output, (unsigned long)i.bytes_layers,
           (unsigned long)i.bytes_total, (unsigned long)gle_static_bytes());
    return 0;
}

static int cmd_bench(const char *dp, const char *steps_text) {
    gle_info info;
    long steps = strtol(steps_text, 0, 10), s;
    struct timespec a, b;
    uint32_t j;
    long long ns;
    int64_t check = 0;
    if (steps < 1) { fprintf(stderr, "gle_host: bench: STEPS must be a positive integer\n"); return 1; }
    if (load_descriptor(dp)) return 1;
    gle_get_info(&info);
    /* a fixed, non-trivial input so no path is skipped */
    for (j = 0; j < info.input_size; j++) g_x[j] = (int32_t)((j * 37u) % 23u);
    gle_reset();
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (s = 0; s < steps; s++) {
        gle_step(g_x);
        check += gle_output()[0];
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("{\"steps\":%ld,\"nanoseconds\":%lld,\"checksum\":%lld}\n", steps, ns, (long long)check);
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: gle_host check FILE... | info|config FILE | run FILE INPUTS OUTPUTS | trace (FILE INPUTS OUTPUTS)... | bench FILE STEPS\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    if (strcmp(argv[1], "check") == 0) {
        /* one line per file, so a test can check thousands of damaged files in one process */
        int a, refused = 0;
        for (a = 2; a < argc; a++) {
            size_t len;
            gle_error err;
            if (load_file(argv[a], &len)) { refused++; continue; }
            if (gle_load(g_file, len, &err) != GLE_OK) {
                printf("%s: refused (error %d): %s\n", argv[a], (int)err.status, err.message);
                refused++;
            } else {
                gle_info i;
                char h[65];
                gle_get_info(&i);
                hex(i.sha256, 32, h);
                printf("%s: ok sha256:%s\n", argv[a], h);
            }
        }
        return refused ? 1 : 0;
    }
    if (strcmp(argv[1], "info") == 0 && argc == 3) return cmd_info(argv[2], 0);
    if (strcmp(argv[1], "config") == 0 && argc == 3) return cmd_info(argv[2], 1);
    if (strcmp(argv[1], "run") == 0 && argc == 5) return cmd_run(argv[2], argv[3], argv[4], 0);
    if (strcmp(argv[1], "trace") == 0 && argc >= 5 && (argc - 2) % 3 == 0) {
        int a;
        for (a = 2; a < argc; a += 3) if (cmd_run(argv[a], argv[a + 1], argv[a + 2], 1)) return 1;
        return 0;
    }
    if (strcmp(argv[1], "bench") == 0 && argc == 4) return cmd_bench(argv[2], argv[3]);
    return usage();
}
