/*
 * The portable numerics mode: the four WeightKernels (src/engine/kernels.ts) with one
 * fixed order of every rounding, so that float32 and float64 results are the same bits
 * on any x86-64 machine, for any instruction set this file is compiled for (SSE2, AVX2,
 * AVX-512), any thread count, and equal to the TypeScript portable kernels
 * (src/engine/kernels-portable.ts). Exposed as exports.portable.{drive, errorDown,
 * weightGrad, fusedSgd}, with the arguments of the fast kernels.
 *
 * The order (round() = rounding to the arrays' element type, round to nearest even;
 * every multiply and every add is rounded on its own, no fused multiply-add, no
 * reassociation; sums start from +0 and add their terms one at a time in index order):
 *
 *   drive:      s[b,o]  = S + bias[o]  (just S when bias is null),
 *               S = (((+0 + round(W[o,0]*x[b,0])) + round(W[o,1]*x[b,1])) + ...) + round(W[o,nIn-1]*x[b,nIn-1])
 *   errorDown:  eb[b,i] = sum over o = 0..nOut-1 in order, from +0, of round(pv[b,o]*W[o,i])
 *   weightGrad: gW[o,i] = round(c * S), S = sum over b = 0..batch-1 in order, from +0, of
 *               round(pv[b,o]*x[b,i]), c = round(-1/batch)
 *   fusedSgd:   drive, and errorDown when eb is not null, both with the old W; then
 *               W[o,i] = round(W[o,i] + round(c' * S)), S as for weightGrad, c' = round(scale)
 *
 * (A sum from +0 is never -0, so skipping a zero term would change no bits, except that
 * 0 * inf is NaN; no term is skipped here.) NaN payloads are not part of the contract:
 * which of two NaN operands an x86 instruction passes on depends on operand order.
 *
 * How the machine is kept out of the result:
 * - This unit is compiled with -ffp-contract=off -fno-fast-math (scripts/build-native.mjs),
 *   so the compiler may neither fuse a*b+c nor reorder a sum; on x86-64 float and double
 *   arithmetic is SSE/AVX (never x87), each operation correctly rounded.
 * - Vectors (GCC vector extensions, the same source for every -march; only their width
 *   and the tile shapes follow the instruction set) only ever hold different outputs in
 *   their lanes: errorDown and the gradients vectorise along i; drive along o, on a
 *   transposed copy of W, or for one or two batch rows on T x T tiles of products
 *   transposed in registers (shuffles move values, they do not round). A lane's sum is a
 *   chain of vector adds in the order above, so no lane can see another order than the
 *   TypeScript loop or another build.
 * - Threads get disjoint pieces of the outputs (row and column ranges), each output
 *   computed whole by one task; so the cut, which depends on the thread count, cannot
 *   change any bits. Scratch (W transposed, padded tails) belongs to the calling thread
 *   and is written by one task per part or only read.
 * - Assumed: the default floating-point environment (round to nearest, no flush to zero),
 *   which is what Node runs with; JavaScript has no other. `glekit check-portable` would
 *   show a process that changed it.
 *
 * The kernel bodies are in portable_impl.h, included once per element type.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "addon.h"
#include "pool.h"

#if !defined(__FLT_EVAL_METHOD__) || __FLT_EVAL_METHOD__ != 0
#error "portable.c needs float and double arithmetic evaluated in their own precision (FLT_EVAL_METHOD 0)"
#endif
#if defined(__FAST_MATH__)
#error "portable.c must be compiled without -ffast-math"
#endif

/* Vector bytes and register tile (PMR rows x PNV vectors) per instruction set. They
   change speed only: every output's order is fixed whatever they are. */
#if defined(__AVX512F__)
#define PVB 64
#define PNV 4
#elif defined(__AVX__)
#define PVB 32
#define PNV 2
#else
#define PVB 16
#define PNV 2
#endif
#define PMR 4

/* Bytes of the B operand panel a piece keeps resident in L2 while its rows stream by. */
#define PANEL_BYTES (192u * 1024u)

/* Keeps a vector that several multiplies share in a register: otherwise gcc folds its
   load into each multiply as a memory operand, and a tile is bound by loads. */
#if defined(__x86_64__) || defined(__i386__)
#define PIN(v) __asm__("" : "+v"(v))
#elif defined(__aarch64__)
#define PIN(v) __asm__("" : "+w"(v))
#else
#define PIN(v) ((void)0)
#endif

enum { EPI_STORE, EPI_BIAS, EPI_SCALE, EPI_AXPY };

static size_t round_up(size_t a, size_t b) { return (a + b - 1) / b * b; }

/* Threads worth using for `work` multiply-adds (products of up to three dimensions). */
static size_t useful_threads(size_t a, size_t b, size_t c) {
  const size_t threads = gle_threads();
  if (threads <= 1) return 1;
  size_t work;
  if (__builtin_mul_overflow(a, b, &work) || __builtin_mul_overflow(work, c, &work)) return threads;
  return work < GLE_PARALLEL_MIN_WORK ? 1 : threads;
}

/* The tasks on the pool when more than one thread is worth it, else here one after
   another: pieces cut for the cache alone are not worth a hand-over. */
static void run_tasks(size_t threads, size_t tasks, gle_task_fn fn, void *ctx) {
  if (threads > 1) {
    gle_run_tasks(tasks, fn, ctx);
    return;
  }
  for (size_t k = 0; k < tasks; k++) fn(ctx, k);
}

/* Column piece width: a multiple of nr (or of lanes for narrow panels), with the kk x np
   panel of B within PANEL_BYTES, and narrow enough to give each of `threads` a piece. */
static size_t piece_cols(size_t n, size_t kk, size_t size, size_t lanes, size_t nr, size_t threads) {
  size_t np = PANEL_BYTES / ((kk ? kk : 1) * size);
  np = np >= nr ? np / nr * nr : np >= lanes ? np / lanes * lanes : lanes;
  if (threads > 1) {
    const size_t even = round_up((n + threads - 1) / threads, lanes);
    if (even < np) np = even;
  }
  const size_t all = n ? round_up(n, lanes) : lanes; /* never 0: callers divide by it */
  return np < all ? np : all;
}

/* Row piece height: all rows, unless the column pieces are too few for the threads. */
static size_t piece_rows(size_t m, size_t ncols, size_t threads) {
  const size_t want = threads > 1 ? 2 * threads : 1;
  if (ncols >= want) return m;
  const size_t nrows = (want + ncols - 1) / ncols;
  const size_t mp = round_up((m + nrows - 1) / nrows, PMR);
  return mp < m ? mp : m;
}

/* How drive cuts its work (see drive_plan in portable_impl.h). */
typedef struct {
  size_t ob, blocks, wave;
  bool all, direct;
} drive_plan_t;

/* Up to this many batch rows drive reads W in place (drive_direct in portable_impl.h). */
#ifndef DRIVE_DIRECT_BATCH
#define DRIVE_DIRECT_BATCH 2
#endif

#define REAL float
#define REAL_BYTES 4
#define IREAL int32_t
#define P(name) name##_f32
#include "portable_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef P

#define REAL double
#define REAL_BYTES 8
#define IREAL int64_t
#define P(name) name##_f64
#include "portable_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef P

/* ------------------------------------------------------------- scratch ---- */

/* One growing buffer per calling (JS) thread, never shrunk, freed when the thread ends.
   It is allocated before any task starts; tasks only get disjoint parts of it to write,
   or read it. */
static __thread void *scratch_ptr;
static __thread size_t scratch_bytes;
static pthread_key_t scratch_key;
static bool scratch_key_ok;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_init(void) { scratch_key_ok = pthread_key_create(&scratch_key, free) == 0; }

/* A buffer of at least `elems` elements of `size` bytes, or NULL with a RangeError pending. */
static void *scratch(napi_env env, const char *fn, size_t elems, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(elems, size, &bytes)) {
    throw_range(env, fn, "array sizes overflow");
    return NULL;
  }
  if (bytes <= scratch_bytes && scratch_ptr) return scratch_ptr;
  pthread_once(&scratch_once, scratch_key_init);
  const size_t want = round_up(bytes + bytes / 4 + 64, 64);
  void *p = aligned_alloc(64, want);
  if (!p) {
    throw_range(env, fn, "out of memory for the portable kernels' scratch buffer");
    return NULL;
  }
  free(scratch_ptr);
  scratch_ptr = p;
  scratch_bytes = want;
  if (scratch_key_ok) pthread_setspecific(scratch_key, p);
  return p;
}

/* ------------------------------------------------------------- bindings ---- */

/* drive(W, bias, x, s, batch, nOut, nIn) */
static napi_value js_drive(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_drive(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  drive_plan_t plan;
  if (IS_F64(a[0])) {
    double *wt = scratch(env, "drive", drive_plan_f64(p.batch, p.nOut, p.nIn, &plan), sizeof(double));
    if (!wt) return NULL;
    drive_f64(a[0].data, a[1].data, a[2].data, a[3].data, p.batch, p.nOut, p.nIn, wt, &plan);
  } else {
    float *wt = scratch(env, "drive", drive_plan_f32(p.batch, p.nOut, p.nIn, &plan), sizeof(float));
    if (!wt) return NULL;
    drive_f32(a[0].data, a[1].data, a[2].data, a[3].data, p.batch, p.nOut, p.nIn, wt, &plan);
  }
  return NULL;
}

/* errorDown(W, pv, eb, batch, nOut, nIn) */
static napi_value js_error_down(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_error_down(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  if (IS_F64(a[0])) {
    double *sc = scratch(env, "errorDown", error_down_scratch_f64(p.nOut, p.nIn), sizeof(double));
    if (!sc) return NULL;
    error_down_f64(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn, sc);
  } else {
    float *sc = scratch(env, "errorDown", error_down_scratch_f32(p.nOut, p.nIn), sizeof(float));
    if (!sc) return NULL;
    error_down_f32(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn, sc);
  }
  return NULL;
}

/* weightGrad(pv, x, gW, batch, nOut, nIn) */
static napi_value js_weight_grad(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_weight_grad(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  /* c = round(-1 / batch): the quotient in double, then rounded once more for float32
     (a double rounding that is exact for a quotient, as Math.fround(-1 / batch) is) */
  const double c = -1.0 / (double)p.batch;
  if (IS_F64(a[0])) {
    double *sc = scratch(env, "weightGrad", outer_scratch_f64(p.batch, p.nIn), sizeof(double));
    if (!sc) return NULL;
    outer_f64(EPI_SCALE, a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn, c, sc);
  } else {
    float *sc = scratch(env, "weightGrad", outer_scratch_f32(p.batch, p.nIn), sizeof(float));
    if (!sc) return NULL;
    outer_f32(EPI_SCALE, a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn, (float)c, sc);
  }
  return NULL;
}

/* fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale) */
static napi_value js_fused_sgd(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_fused_sgd(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  drive_plan_t plan;
  if (IS_F64(a[0])) {
    double *sc = scratch(env, "fusedSgd", fused_sgd_scratch_f64(p.batch, p.nOut, p.nIn, &plan), sizeof(double));
    if (!sc) return NULL;
    fused_sgd_f64(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, p.batch, p.nOut, p.nIn, p.scale, sc, &plan);
  } else {
    float *sc = scratch(env, "fusedSgd", fused_sgd_scratch_f32(p.batch, p.nOut, p.nIn, &plan), sizeof(float));
    if (!sc) return NULL;
    fused_sgd_f32(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, p.batch, p.nOut, p.nIn, (float)p.scale,
                  sc, &plan);
  }
  return NULL;
}

bool gle_register_portable(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"drive", NULL, js_drive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errorDown", NULL, js_error_down, NULL, NULL, NULL, napi_enumerable, NULL},
      {"weightGrad", NULL, js_weight_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fusedSgd", NULL, js_fused_sgd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return export_object(env, exports, "portable", props, sizeof props / sizeof props[0]);
}
