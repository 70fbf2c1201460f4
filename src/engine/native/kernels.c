/*
 * Native implementation of the WeightKernels interface (src/engine/kernels.ts):
 * drive, errorDown, weightGrad and fusedSgd for Float32Array and Float64Array.
 *
 * Built by scripts/build-native.mjs with gcc, no node-gyp. Batched products are cut into
 * tasks for the thread pool of pool.c (setThreads; 1 = the calling thread only). The cut
 * never changes a result's bits: see kernels_impl.h for why, per product.
 *
 * Every call validates its arguments before touching memory: array types, that all
 * arrays share one element type, that each is long enough for batch/nOut/nIn, and that
 * no output overlaps another argument (the kernels use restrict pointers, so overlap
 * would be undefined behaviour rather than merely a different result).
 */
#define NAPI_VERSION 8
#include <node_api.h>


#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addon.h"
#include "pool.h"
#include "simd.h"

/* Bumped whenever the JS-visible calling convention changes, so src/engine/native.ts
   can refuse a stale build instead of calling it wrongly. */
#define GLE_ADDON_ABI 2


/* Tile shapes are chosen so accumulators plus operands fit the register file:
   32 vector registers with AVX-512 (and on AArch64), 16 otherwise. A single batch
   row gets wider tiles so enough independent FMA chains hide the FMA latency. */
#if defined(__AVX512F__) || defined(__aarch64__)
#define GLE_MB 4      /* batch rows per drive / errorDown tile */
#define GLE_NO 4      /* W rows per drive tile */
#define GLE_NO_1 8    /* W rows per drive tile when only one batch row is left */
#define GLE_NV 4      /* vectors of columns per errorDown tile */
#define GLE_NV_1 8    /* vectors of columns per tile with a single row */
#define GLE_OUT_NO 4  /* W rows per gradient tile */
#define GLE_OUT_NV 4  /* vectors of columns per gradient tile */
#else
#define GLE_MB 4
#define GLE_NO 2
#define GLE_NO_1 4
#define GLE_NV 2
#define GLE_NV_1 4
#define GLE_OUT_NO 4
#define GLE_OUT_NV 2
#endif
#ifndef GLE_SGD1_NO
#define GLE_SGD1_NO 8 /* W rows per pass in the batch-1 fused update */
#endif
#define GLE_MAX_MB 4
#define GLE_MAX_NO 8
#define GLE_MAX_NV 8

/* drive() with several batch rows and short W rows works on a transposed copy of W
   kept on the stack (see drive in kernels_impl.h); these bound when that happens. */
#ifndef GLE_TRANSPOSE_BYTES
#define GLE_TRANSPOSE_BYTES (64u * 1024u)
#endif
#ifndef GLE_TRANSPOSE_MAX_IN
#define GLE_TRANSPOSE_MAX_IN 128
#endif
#ifndef GLE_TRANSPOSE_MIN_BATCH
#define GLE_TRANSPOSE_MIN_BATCH 16
#endif

/* Bytes of the operand panel that blocked loops keep resident in L2 (>= 512 KiB on
   current x86 and ARM server cores; a quarter leaves room for the streamed side). */
#ifndef GLE_PANEL_BYTES
#define GLE_PANEL_BYTES (256u * 1024u)
#endif

/* ------------------------------------------------------ cutting the work ---- */

/* Tasks per thread: a few more than one, so a thread slowed by the machine does not hold
   the others up. */
#define GLE_TASKS_PER_THREAD 2
/* Output ranges of drive start at multiples of this, a multiple of every tile width. */
#define GLE_DRIVE_GRAIN 8

/* n items cut into `parts` ranges whose boundaries are multiples of grain. */
typedef struct {
  size_t n, grain, parts;
} gle_cut_t;

static size_t gle_wanted_tasks(size_t work) {
  const size_t threads = gle_threads();
  return threads == 1 || work < GLE_PARALLEL_MIN_WORK ? 1 : GLE_TASKS_PER_THREAD * threads;
}

/* A cut into about `wanted` ranges (at least 1, at most one per grain). */
static gle_cut_t gle_cut_into(size_t n, size_t grain, size_t wanted) {
  const size_t units = (n + grain - 1) / grain;
  gle_cut_t cut = {n, grain, wanted < units ? wanted : units};
  if (cut.parts == 0) cut.parts = 1;
  return cut;
}

static __attribute__((unused)) gle_cut_t gle_cut(size_t n, size_t grain, size_t work) {
  return gle_cut_into(n, grain, gle_wanted_tasks(work));
}

/* A cut for a product already split `others` ways along another dimension. */
static __attribute__((unused)) gle_cut_t gle_cut_shared(size_t n, size_t grain, size_t work, size_t others) {
  const size_t wanted = gle_wanted_tasks(work);
  return gle_cut_into(n, grain, (wanted + others - 1) / others);
}

static void gle_cut_range(const gle_cut_t *cut, size_t k, size_t *begin, size_t *end) {
  const size_t units = (cut->n + cut->grain - 1) / cut->grain;
  const size_t b = k * units / cut->parts * cut->grain, e = (k + 1) * units / cut->parts * cut->grain;
  *begin = b < cut->n ? b : cut->n;
  *end = e < cut->n ? e : cut->n;
}


#define GLE_CAT_(a, b) a##_##b
#define GLE_CAT2_(a, b) a##b
#define GLE_CAT2(a, b) GLE_CAT2_(a, b)
#define GLE_CAT(a, b) GLE_CAT_(a, b)
#define K(name) GLE_CAT(name, GLE_SUFFIX)
#define GLE_FN static __attribute__((unused))

/* Each instantiation of kernels_impl.h is one (element type, vector width) pair.
   With 512-bit vectors the one-pass batch-1 update of short rows runs on 256-bit
   vectors instead: per-row overhead (reductions, partial tail vectors) grows with the
   vector width, and on Zen 4 rows up to ~1 KiB ran 1.3-2x faster that way, while
   longer rows were 10-15% faster with 512 bits. GLE_B1_NARROW=0 turns this off. */
#ifndef GLE_B1_NARROW
#define GLE_B1_NARROW 1
#endif
#ifndef GLE_B1_NARROW_ROW_BYTES
#define GLE_B1_NARROW_ROW_BYTES 1024
#endif
#if GLE_VEC_BYTES == 64 && GLE_B1_NARROW
#define VB 32
#define KB1(name) K(name)
#define REAL double
#define REAL_BYTES 8
#define IREAL int64_t
#define GLE_SUFFIX f64n
#include "kernels_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef GLE_SUFFIX
#define REAL float
#define REAL_BYTES 4
#define IREAL int32_t
#define GLE_SUFFIX f32n
#include "kernels_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef GLE_SUFFIX
#undef VB
#undef KB1
#define KB1(name) GLE_CAT(name, GLE_CAT2(GLE_SUFFIX, n))
#else
#define KB1(name) K(name)
#endif

#define VB GLE_VEC_BYTES
#define REAL double
#define REAL_BYTES 8
#define IREAL int64_t
#define GLE_SUFFIX f64
#include "kernels_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef GLE_SUFFIX

#define REAL float
#define REAL_BYTES 4
#define IREAL int32_t
#define GLE_SUFFIX f32
#include "kernels_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef GLE_SUFFIX
#undef VB


/* ------------------------------------------------------------- bindings ---- */

/* drive(W, bias, x, s, batch, nOut, nIn) */
static napi_value js_drive(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_drive(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  if (IS_F64(a[0]))
    drive_f64(a[0].data, a[1].data, a[2].data, a[3].data, p.batch, p.nOut, p.nIn);
  else
    drive_f32(a[0].data, a[1].data, a[2].data, a[3].data, p.batch, p.nOut, p.nIn);
  return NULL;
}

/* errorDown(W, pv, eb, batch, nOut, nIn) */
static napi_value js_error_down(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_error_down(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  if (IS_F64(a[0]))
    error_down_f64(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn);
  else
    error_down_f32(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn);
  return NULL;
}

/* weightGrad(pv, x, gW, batch, nOut, nIn) */
static napi_value js_weight_grad(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_weight_grad(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  if (IS_F64(a[0]))
    weight_grad_f64(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn);
  else
    weight_grad_f32(a[0].data, a[1].data, a[2].data, p.batch, p.nOut, p.nIn);
  return NULL;
}

/* fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale) */
static napi_value js_fused_sgd(napi_env env, napi_callback_info info) {
  product_args_t p;
  if (!parse_fused_sgd(env, info, &p)) return NULL;
  const arg_t *a = p.a;
  if (IS_F64(a[0]))
    fused_sgd_f64(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, p.batch, p.nOut, p.nIn, p.scale);
  else
    fused_sgd_f32(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, p.batch, p.nOut, p.nIn, (float)p.scale);
  return NULL;
}

/* setThreads(n): the pool's thread count (1..64); returns the count in use. */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  static const char fn[] = "setThreads";
  napi_value argv[1], result;
  size_t threads;
  if (!get_args(env, info, fn, 1, argv) || !get_dim(env, fn, argv[0], "threads", &threads)) return NULL;
  if (threads < 1 || threads > 64) {
    throw_range(env, fn, "threads must be between 1 and 64");
    return NULL;
  }
  gle_set_threads(threads);
  if (napi_create_uint32(env, (uint32_t)gle_threads(), &result) != napi_ok) return NULL;
  return result;
}

/* The machine's multiply-add ceiling: each of `threads` tasks runs iterations x 12
   independent float32 vector FMA chains in registers (enough to cover FMA latency x
   throughput on current cores), touching no memory. No product can beat this. */
typedef float gle_peak_vec __attribute__((vector_size(GLE_VEC_BYTES)));
#define GLE_PEAK_CHAINS 12

static void peak_task(void *ctx, size_t k) {
  (void)k;
  const size_t iterations = *(const size_t *)ctx;
  gle_peak_vec acc[GLE_PEAK_CHAINS], a, b;
  for (int c = 0; c < GLE_PEAK_CHAINS; c++) acc[c] = (gle_peak_vec){0} + (float)c;
  a = (gle_peak_vec){0} + 0.999999f;
  b = (gle_peak_vec){0} + 1e-7f;
  __asm__("" : "+v"(a), "+v"(b));
  for (size_t i = 0; i < iterations; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < GLE_PEAK_CHAINS; c++) acc[c] = acc[c] * a + b;
  }
  for (int c = 0; c < GLE_PEAK_CHAINS; c++) __asm__ volatile("" : : "v"(acc[c]));
}

/* fmaPeak(iterations): runs the peak loop on every pool thread; returns the float32
   operations done (2 per lane per multiply-add), for the caller to time. */
static napi_value js_fma_peak(napi_env env, napi_callback_info info) {
  static const char fn[] = "fmaPeak";
  napi_value argv[1], result;
  size_t iterations;
  if (!get_args(env, info, fn, 1, argv) || !get_dim(env, fn, argv[0], "iterations", &iterations)) return NULL;
  const size_t threads = gle_threads();
  gle_run_tasks(threads, peak_task, &iterations);
  const double flops = 2.0 * (double)threads * (double)iterations * GLE_PEAK_CHAINS * (GLE_VEC_BYTES / sizeof(float));
  if (napi_create_double(env, flops, &result) != napi_ok) return NULL;
  return result;
}

/* threads(): the pool's thread count. */
static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_uint32(env, (uint32_t)gle_threads(), &result) != napi_ok) return NULL;
  return result;
}

/* sharedJobs(): jobs handed to the pool's workers so far. */
static napi_value js_shared_jobs(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_double(env, (double)gle_shared_jobs(), &result) != napi_ok) return NULL;
  return result;
}

static const char *simd_name(void) {
#if defined(__AVX512F__)
  return GLE_VEC_BYTES == 64 ? "avx512" : "avx512 (narrow vectors)";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "generic";
#endif
}

NAPI_MODULE_INIT() {
  napi_value abi, simd, vecBytes;
  if (napi_create_uint32(env, GLE_ADDON_ABI, &abi) != napi_ok ||
      napi_create_string_utf8(env, simd_name(), NAPI_AUTO_LENGTH, &simd) != napi_ok ||
      napi_create_uint32(env, GLE_VEC_BYTES, &vecBytes) != napi_ok)
    return NULL;
  napi_property_descriptor props[] = {
      {"drive", NULL, js_drive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errorDown", NULL, js_error_down, NULL, NULL, NULL, napi_enumerable, NULL},
      {"weightGrad", NULL, js_weight_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fusedSgd", NULL, js_fused_sgd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threads", NULL, js_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fmaPeak", NULL, js_fma_peak, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sharedJobs", NULL, js_shared_jobs, NULL, NULL, NULL, napi_enumerable, NULL},
      {"abi", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      {"simd", NULL, NULL, NULL, NULL, simd, napi_enumerable, NULL},
      {"vectorBytes", NULL, NULL, NULL, NULL, vecBytes, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (gle_register_dynamics && !gle_register_dynamics(env, exports)) return NULL;
  if (gle_register_portable && !gle_register_portable(env, exports)) return NULL;
  return exports;
}
