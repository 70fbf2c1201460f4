/* Argument checks shared by every binding of the addon (see addon.h). */
#include "addon.h"

#include <stdint.h>
#include <stdio.h>


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

void throw_type(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "glekit native %s: %s", fn, what);
  napi_throw_type_error(env, NULL, msg);
}

void throw_range(napi_env env, const char *fn, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "glekit native %s: %s", fn, what);
  napi_throw_range_error(env, NULL, msg);
}

bool fetch(napi_env env, const char *fn, arg_t *a) {
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

bool get_dim(napi_env env, const char *fn, napi_value v, const char *name, size_t *out) {
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

bool product(napi_env env, const char *fn, size_t a, size_t b, size_t *out) {
  if (__builtin_mul_overflow(a, b, out)) {
    throw_range(env, fn, "array sizes overflow");
    return false;
  }
  return true;
}

/* Type agreement, lengths and output overlap for args[0..n). */
bool check(napi_env env, const char *fn, arg_t *args, int n, size_t batch, size_t nOut, size_t nIn) {
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

bool get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < want) {
    char what[96];
    snprintf(what, sizeof what, "expected %zu arguments, got %zu", want, argc);
    throw_type(env, fn, what);
    return false;
  }
  return true;
}


