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



/* ------------------------------------------- the four products' arguments ---- */

/* argv[at..at+2] as batch, nOut, nIn, and the element counts of W (nOut x nIn), of a
   batch of inputs (batch x nIn) and of a batch of outputs (batch x nOut). */
static bool product_dims(napi_env env, const char *fn, napi_value *argv, int at, product_args_t *p, size_t *nW, size_t *nBI,
                         size_t *nBO) {
  return get_dim(env, fn, argv[at], "batch", &p->batch) && get_dim(env, fn, argv[at + 1], "nOut", &p->nOut) &&
         get_dim(env, fn, argv[at + 2], "nIn", &p->nIn) && product(env, fn, p->nOut, p->nIn, nW) &&
         product(env, fn, p->batch, p->nIn, nBI) && product(env, fn, p->batch, p->nOut, nBO);
}

/* Fetches and checks p->a[0..n) once their names, values and needs are filled. */
static bool fetch_all(napi_env env, const char *fn, product_args_t *p, int n) {
  for (int k = 0; k < n; k++)
    if (!fetch(env, fn, &p->a[k])) return false;
  return check(env, fn, p->a, n, p->batch, p->nOut, p->nIn);
}

bool parse_drive(napi_env env, napi_callback_info info, product_args_t *p) {
  static const char fn[] = "drive";
  napi_value argv[7];
  size_t nW, nBI, nBO;
  if (!get_args(env, info, fn, 7, argv) || !product_dims(env, fn, argv, 4, p, &nW, &nBI, &nBO)) return false;
  p->a[0] = (arg_t){.name = "W", .value = argv[0], .need = nW};
  p->a[1] = (arg_t){.name = "bias", .value = argv[1], .nullable = true, .need = p->nOut};
  p->a[2] = (arg_t){.name = "x", .value = argv[2], .need = nBI};
  p->a[3] = (arg_t){.name = "s", .value = argv[3], .output = true, .need = nBO};
  return fetch_all(env, fn, p, 4);
}

bool parse_error_down(napi_env env, napi_callback_info info, product_args_t *p) {
  static const char fn[] = "errorDown";
  napi_value argv[6];
  size_t nW, nBI, nBO;
  if (!get_args(env, info, fn, 6, argv) || !product_dims(env, fn, argv, 3, p, &nW, &nBI, &nBO)) return false;
  p->a[0] = (arg_t){.name = "W", .value = argv[0], .need = nW};
  p->a[1] = (arg_t){.name = "pv", .value = argv[1], .need = nBO};
  p->a[2] = (arg_t){.name = "eb", .value = argv[2], .output = true, .need = nBI};
  return fetch_all(env, fn, p, 3);
}

bool parse_weight_grad(napi_env env, napi_callback_info info, product_args_t *p) {
  static const char fn[] = "weightGrad";
  napi_value argv[6];
  size_t nW, nBI, nBO;
  if (!get_args(env, info, fn, 6, argv) || !product_dims(env, fn, argv, 3, p, &nW, &nBI, &nBO)) return false;
  p->a[0] = (arg_t){.name = "pv", .value = argv[0], .need = nBO};
  p->a[1] = (arg_t){.name = "x", .value = argv[1], .need = nBI};
  p->a[2] = (arg_t){.name = "gW", .value = argv[2], .output = true, .need = nW};
  return fetch_all(env, fn, p, 3);
}

bool parse_fused_sgd(napi_env env, napi_callback_info info, product_args_t *p) {
  static const char fn[] = "fusedSgd";
  napi_value argv[10];
  size_t nW, nBI, nBO;
  if (!get_args(env, info, fn, 10, argv) || !product_dims(env, fn, argv, 6, p, &nW, &nBI, &nBO)) return false;
  if (napi_get_value_double(env, argv[9], &p->scale) != napi_ok) {
    throw_type(env, fn, "scale must be a number");
    return false;
  }
  p->a[0] = (arg_t){.name = "W", .value = argv[0], .output = true, .need = nW};
  p->a[1] = (arg_t){.name = "bias", .value = argv[1], .nullable = true, .need = p->nOut};
  p->a[2] = (arg_t){.name = "x", .value = argv[2], .need = nBI};
  p->a[3] = (arg_t){.name = "pv", .value = argv[3], .need = nBO};
  p->a[4] = (arg_t){.name = "s", .value = argv[4], .output = true, .need = nBO};
  p->a[5] = (arg_t){.name = "eb", .value = argv[5], .nullable = true, .output = true, .need = nBI};
  return fetch_all(env, fn, p, 6);
}

bool export_object(napi_env env, napi_value exports, const char *name, const napi_property_descriptor *props, size_t count) {
  napi_value object;
  return napi_create_object(env, &object) == napi_ok && napi_define_properties(env, object, count, props) == napi_ok &&
         napi_set_named_property(env, exports, name, object) == napi_ok;
}
