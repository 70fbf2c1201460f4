/*
 * Native implementation of the WeightKernels interface (src/engine/kernels.ts):
 * drive, errorDown, weightGrad and fusedSgd for Float32Array and Float64Array.
 *
 * Built by scripts/build-native.mjs with gcc, no node-gyp. Single-threaded on purpose:
 * the caller owns parallelism (e.g. one worker per network).
 *
 * Every call validates its arguments before touching memory: array types, that all
 * arrays share one element type, that each is long enough for batch/nOut/nIn, and that
 * no output overlaps another argument (the kernels use restrict pointers, so overlap
 * would be undefined behaviour rather than merely a different result).
 */
#define NAPI_VERSION 8
#include <node_api.h>

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bumped whenever the JS-visible calling convention changes, so src/engine/native.ts
   can refuse a stale build instead of calling it wrongly. */
#define GLE_ADDON_ABI 1

#ifndef GLE_VEC_BYTES
#if defined(__AVX512F__)
#define GLE_VEC_BYTES 64
#elif defined(__AVX__)
#define GLE_VEC_BYTES 32
#else
#define GLE_VEC_BYTES 16
#endif
#endif

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

/* Comma-separated M(0) .. M(n-1), for writing per-lane constant vectors. */
#define GLE_LANES_2(M) M(0), M(1)
#define GLE_LANES_4(M) GLE_LANES_2(M), M(2), M(3)
#define GLE_LANES_8(M) GLE_LANES_4(M), M(4), M(5), M(6), M(7)
#define GLE_LANES_16(M) GLE_LANES_8(M), M(8), M(9), M(10), M(11), M(12), M(13), M(14), M(15)

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

/* ------------------------------------------------------- argument checks ---- */

typedef struct {
  const char *name;
  napi_value value;
  bool nullable;
  bool output;
  size_t need; /* elements this call reads or writes */
  /* filled by fetch */
  bool present;
  napi_typedarray_type type;
  size_t length;
  void *data;
} arg_t;

static const char *type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

static void throw_type(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "glekit native %s: %s", fn, what);
  napi_throw_type_error(env, NULL, msg);
}

static void throw_range(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "glekit native %s: %s", fn, what);
  napi_throw_range_error(env, NULL, msg);
}

static bool fetch(napi_env env, const char *fn, arg_t *a) {
  /* Typed arrays are the hot path: one call, and only on failure find out why. */
  if (napi_get_typedarray_info(env, a->value, &a->type, &a->length, &a->data, NULL, NULL) == napi_ok) {
    if (a->type != napi_float32_array && a->type != napi_float64_array) {
      char what[160];
      snprintf(what, sizeof what, "%s must be a Float32Array or Float64Array, got %s", a->name, type_name(a->type));
      throw_type(env, fn, what);
      return false;
    }
    a->present = true;
    return true;
  }
  napi_valuetype vt = napi_undefined;
  napi_typeof(env, a->value, &vt);
  if (a->nullable && (vt == napi_null || vt == napi_undefined)) {
    a->present = false;
    a->data = NULL;
    a->length = 0;
    return true;
  }
  char what[160];
  snprintf(what, sizeof what, "%s must be a Float32Array or Float64Array%s", a->name, a->nullable ? " or null" : "");
  throw_type(env, fn, what);
  return false;
}

static bool get_dim(napi_env env, const char *fn, napi_value v, const char *name, size_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    char what[96];
    snprintf(what, sizeof what, "%s must be a number", name);
    throw_type(env, fn, what);
    return false;
  }
  /* 2^40 elements per dimension is far beyond any typed array, and keeps products of
     two dimensions well inside size_t before the overflow check even matters. */
  if (!(d >= 0 && d <= 1099511627776.0 && d == (double)(uint64_t)d)) {
    char what[128];
    snprintf(what, sizeof what, "%s must be a non-negative integer, got %g", name, d);
    throw_range(env, fn, what);
    return false;
  }
  *out = (size_t)d;
  return true;
}

static bool product(napi_env env, const char *fn, size_t a, size_t b, size_t *out) {
  if (__builtin_mul_overflow(a, b, out)) {
    throw_range(env, fn, "array sizes overflow");
    return false;
  }
  return true;
}

/* Type agreement, lengths and output overlap for args[0..n). */
static bool check(napi_env env, const char *fn, arg_t *args, int n, size_t batch, size_t nOut, size_t nIn) {
  const arg_t *first = NULL;
  for (int k = 0; k < n; k++) {
    if (!args[k].present) continue;
    if (!first) {
      first = &args[k];
    } else if (args[k].type != first->type) {
      char what[192];
      snprintf(what, sizeof what, "all arrays must share one element type, but %s is a %s and %s is a %s",
               first->name, type_name(first->type), args[k].name, type_name(args[k].type));
      throw_type(env, fn, what);
      return false;
    }
    if (args[k].length < args[k].need) {
      char what[224];
      snprintf(what, sizeof what, "%s has %zu elements but batch=%zu, nOut=%zu, nIn=%zu need at least %zu",
               args[k].name, args[k].length, batch, nOut, nIn, args[k].need);
      throw_range(env, fn, what);
      return false;
    }
  }
  const size_t elem = first && first->type == napi_float32_array ? 4 : 8;
  for (int k = 0; k < n; k++) {
    if (!args[k].present || !args[k].output || args[k].need == 0) continue;
    const uintptr_t lo = (uintptr_t)args[k].data, hi = lo + args[k].need * elem;
    for (int j = 0; j < n; j++) {
      if (j == k || !args[j].present || args[j].need == 0) continue;
      const uintptr_t lo2 = (uintptr_t)args[j].data, hi2 = lo2 + args[j].need * elem;
      if (lo < hi2 && lo2 < hi) {
        char what[192];
        snprintf(what, sizeof what, "output %s shares memory with %s; outputs must not overlap any other argument",
                 args[k].name, args[j].name);
        throw_range(env, fn, what);
        return false;
      }
    }
  }
  return true;
}

static bool get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    char what[64];
    snprintf(what, sizeof what, "expected %zu arguments, got %zu", want, argc);
    throw_type(env, fn, what);
    return false;
  }
  return true;
}

#define IS_F64(a) ((a).type == napi_float64_array)

/* ------------------------------------------------------------- bindings ---- */

/* drive(W, bias, x, s, batch, nOut, nIn) */
static napi_value js_drive(napi_env env, napi_callback_info info) {
  static const char fn[] = "drive";
  napi_value argv[7];
  size_t batch, nOut, nIn, nWI, nBI, nBO;
  if (!get_args(env, info, fn, 7, argv)) return NULL;
  if (!get_dim(env, fn, argv[4], "batch", &batch) || !get_dim(env, fn, argv[5], "nOut", &nOut) ||
      !get_dim(env, fn, argv[6], "nIn", &nIn))
    return NULL;
  if (!product(env, fn, nOut, nIn, &nWI) || !product(env, fn, batch, nIn, &nBI) || !product(env, fn, batch, nOut, &nBO))
    return NULL;
  arg_t a[4] = {
      {.name = "W", .value = argv[0], .need = nWI},
      {.name = "bias", .value = argv[1], .nullable = true, .need = nOut},
      {.name = "x", .value = argv[2], .need = nBI},
      {.name = "s", .value = argv[3], .output = true, .need = nBO},
  };
  for (int k = 0; k < 4; k++)
    if (!fetch(env, fn, &a[k])) return NULL;
  if (!check(env, fn, a, 4, batch, nOut, nIn)) return NULL;
  if (IS_F64(a[0]))
    drive_f64(a[0].data, a[1].data, a[2].data, a[3].data, batch, nOut, nIn);
  else
    drive_f32(a[0].data, a[1].data, a[2].data, a[3].data, batch, nOut, nIn);
  return NULL;
}

/* errorDown(W, pv, eb, batch, nOut, nIn) */
static napi_value js_error_down(napi_env env, napi_callback_info info) {
  static const char fn[] = "errorDown";
  napi_value argv[6];
  size_t batch, nOut, nIn, nWI, nBI, nBO;
  if (!get_args(env, info, fn, 6, argv)) return NULL;
  if (!get_dim(env, fn, argv[3], "batch", &batch) || !get_dim(env, fn, argv[4], "nOut", &nOut) ||
      !get_dim(env, fn, argv[5], "nIn", &nIn))
    return NULL;
  if (!product(env, fn, nOut, nIn, &nWI) || !product(env, fn, batch, nIn, &nBI) || !product(env, fn, batch, nOut, &nBO))
    return NULL;
  arg_t a[3] = {
      {.name = "W", .value = argv[0], .need = nWI},
      {.name = "pv", .value = argv[1], .need = nBO},
      {.name = "eb", .value = argv[2], .output = true, .need = nBI},
  };
  for (int k = 0; k < 3; k++)
    if (!fetch(env, fn, &a[k])) return NULL;
  if (!check(env, fn, a, 3, batch, nOut, nIn)) return NULL;
  if (IS_F64(a[0]))
    error_down_f64(a[0].data, a[1].data, a[2].data, batch, nOut, nIn);
  else
    error_down_f32(a[0].data, a[1].data, a[2].data, batch, nOut, nIn);
  return NULL;
}

/* weightGrad(pv, x, gW, batch, nOut, nIn) */
static napi_value js_weight_grad(napi_env env, napi_callback_info info) {
  static const char fn[] = "weightGrad";
  napi_value argv[6];
  size_t batch, nOut, nIn, nWI, nBI, nBO;
  if (!get_args(env, info, fn, 6, argv)) return NULL;
  if (!get_dim(env, fn, argv[3], "batch", &batch) || !get_dim(env, fn, argv[4], "nOut", &nOut) ||
      !get_dim(env, fn, argv[5], "nIn", &nIn))
    return NULL;
  if (!product(env, fn, nOut, nIn, &nWI) || !product(env, fn, batch, nIn, &nBI) || !product(env, fn, batch, nOut, &nBO))
    return NULL;
  arg_t a[3] = {
      {.name = "pv", .value = argv[0], .need = nBO},
      {.name = "x", .value = argv[1], .need = nBI},
      {.name = "gW", .value = argv[2], .output = true, .need = nWI},
  };
  for (int k = 0; k < 3; k++)
    if (!fetch(env, fn, &a[k])) return NULL;
  if (!check(env, fn, a, 3, batch, nOut, nIn)) return NULL;
  if (IS_F64(a[0]))
    weight_grad_f64(a[0].data, a[1].data, a[2].data, batch, nOut, nIn);
  else
    weight_grad_f32(a[0].data, a[1].data, a[2].data, batch, nOut, nIn);
  return NULL;
}

/* fusedSgd(W, bias, x, pv, s, eb, batch, nOut, nIn, scale) */
static napi_value js_fused_sgd(napi_env env, napi_callback_info info) {
  static const char fn[] = "fusedSgd";
  napi_value argv[10];
  size_t batch, nOut, nIn, nWI, nBI, nBO;
  double scale;
  if (!get_args(env, info, fn, 10, argv)) return NULL;
  if (!get_dim(env, fn, argv[6], "batch", &batch) || !get_dim(env, fn, argv[7], "nOut", &nOut) ||
      !get_dim(env, fn, argv[8], "nIn", &nIn))
    return NULL;
  if (napi_get_value_double(env, argv[9], &scale) != napi_ok) {
    throw_type(env, fn, "scale must be a number");
    return NULL;
  }
  if (!product(env, fn, nOut, nIn, &nWI) || !product(env, fn, batch, nIn, &nBI) || !product(env, fn, batch, nOut, &nBO))
    return NULL;
  arg_t a[6] = {
      {.name = "W", .value = argv[0], .output = true, .need = nWI},
      {.name = "bias", .value = argv[1], .nullable = true, .need = nOut},
      {.name = "x", .value = argv[2], .need = nBI},
      {.name = "pv", .value = argv[3], .need = nBO},
      {.name = "s", .value = argv[4], .output = true, .need = nBO},
      {.name = "eb", .value = argv[5], .nullable = true, .output = true, .need = nBI},
  };
  for (int k = 0; k < 6; k++)
    if (!fetch(env, fn, &a[k])) return NULL;
  if (!check(env, fn, a, 6, batch, nOut, nIn)) return NULL;
  if (IS_F64(a[0]))
    fused_sgd_f64(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, batch, nOut, nIn, scale);
  else
    fused_sgd_f32(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, batch, nOut, nIn, (float)scale);
  return NULL;
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
      {"abi", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      {"simd", NULL, NULL, NULL, NULL, simd, napi_enumerable, NULL},
      {"vectorBytes", NULL, NULL, NULL, NULL, vecBytes, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
