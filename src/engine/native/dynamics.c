/*
 * Native per-neuron dynamics of Network.step (src/engine/network.ts, docs/dynamics.md):
 * the error filter, the membrane fused with the rate function, the rate function alone,
 * the local bias and tau_m gradients, and the optimizer updates, for Float32Array and
 * Float64Array. Exported as `dynamics` on the addon (see src/engine/dynamics.ts).
 *
 * Every function works on whole layers (batch x nOut, per-neuron tauM / tauR of nOut),
 * computes in the arrays' own precision with the vector code of dynamics_impl.h, and
 * allocates nothing. tanh, the logistic sigmoid and softplus are computed here (range
 * reduction and polynomials, no libm), to a few ulp; test/dynamics.test.ts measures it.
 *
 * Arguments are checked as the weight kernels' are (addon.h): array types, one element
 * type per call, lengths, and no output overlapping another argument.
 */
#include "addon.h"
#include "simd.h"

#if defined(__AVX__) || defined(__AVX512F__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bumped whenever the JS-visible calling convention of `dynamics` changes; must equal
   DYNAMICS_ABI in src/engine/dynamics.ts. */
#define GLE_DYNAMICS_ABI 1


/* The order of ACTIVATIONS in src/engine/activations.ts. */
enum { PHI_LINEAR, PHI_TANH, PHI_SIGMOID, PHI_HARD_SIGMOID, PHI_RELU, PHI_SOFTPLUS, PHI_COUNT };

#define GLE_DCAT_(a, b) a##_##b
#define GLE_DCAT(a, b) GLE_DCAT_(a, b)
#define D(name) GLE_DCAT(name, DYN_SUFFIX)

#define VB GLE_VEC_BYTES
#define REAL double
#define REAL_BYTES 8
#define IREAL int64_t
#define UREAL uint64_t
#define DYN_SUFFIX f64
#include "dynamics_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef UREAL
#undef DYN_SUFFIX

#define REAL float
#define REAL_BYTES 4
#define IREAL int32_t
#define UREAL uint32_t
#define DYN_SUFFIX f32
#include "dynamics_impl.h"
#undef REAL
#undef REAL_BYTES
#undef IREAL
#undef UREAL
#undef DYN_SUFFIX
#undef VB

/* ------------------------------------------------------------- bindings ---- */

static bool get_number(napi_env env, const char *fn, napi_value v, const char *name, double *out) {
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  char what[96];
  snprintf(what, sizeof what, "%s must be a number", name);
  throw_type(env, fn, what);
  return false;
}

static bool get_flag(napi_env env, const char *fn, napi_value v, const char *name, bool *out) {
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  char what[96];
  snprintf(what, sizeof what, "%s must be a boolean", name);
  throw_type(env, fn, what);
  return false;
}

static bool get_phi(napi_env env, const char *fn, napi_value v, int *out) {
  size_t phi;
  if (!get_dim(env, fn, v, "phi", &phi)) return false;
  if (phi >= PHI_COUNT) {
    char what[96];
    snprintf(what, sizeof what, "phi must be an activation code 0..%d, got %zu", PHI_COUNT - 1, phi);
    throw_range(env, fn, what);
    return false;
  }
  *out = (int)phi;
  return true;
}

static bool fetch_all(napi_env env, const char *fn, arg_t *a, int n, size_t batch, size_t nOut) {
  for (int k = 0; k < n; k++)
    if (!fetch(env, fn, &a[k])) return false;
  return check(env, fn, a, n, batch, nOut, 0);
}

/* errorFilter(incoming, rp, v, tauM, tauR, e, vNext, pv, batch, nOut, dt, prospective) */
static napi_value js_error_filter(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.errorFilter";
  napi_value argv[12];
  size_t batch, nOut, n;
  double dt;
  bool prospective;
  if (!get_args(env, info, fn, 12, argv)) return NULL;
  if (!get_dim(env, fn, argv[8], "batch", &batch) || !get_dim(env, fn, argv[9], "nOut", &nOut) ||
      !product(env, fn, batch, nOut, &n) || !get_number(env, fn, argv[10], "dt", &dt) ||
      !get_flag(env, fn, argv[11], "prospective", &prospective))
    return NULL;
  arg_t a[8] = {
      {.name = "incoming", .value = argv[0], .need = n},
      {.name = "rp", .value = argv[1], .need = n},
      {.name = "v", .value = argv[2], .need = n},
      {.name = "tauM", .value = argv[3], .need = nOut},
      {.name = "tauR", .value = argv[4], .need = nOut},
      {.name = "e", .value = argv[5], .output = true, .need = n},
      {.name = "vNext", .value = argv[6], .output = true, .need = n},
      {.name = "pv", .value = argv[7], .output = true, .need = n},
  };
  if (!fetch_all(env, fn, a, 8, batch, nOut)) return NULL;
  if (IS_F64(a[0]))
    error_filter_f64(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, a[6].data, a[7].data, batch,
                     nOut, dt, prospective);
  else
    error_filter_f32(a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data, a[6].data, a[7].data, batch,
                     nOut, (float)dt, prospective);
  return NULL;
}

/* membrane(s, pv, u, tauM, tauR, uDot, uNext, pu, r, rp, batch, nOut, dt, gamma, phi) */
static napi_value js_membrane(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.membrane";
  napi_value argv[15];
  size_t batch, nOut, n;
  double dt, gamma;
  int phi;
  if (!get_args(env, info, fn, 15, argv)) return NULL;
  if (!get_dim(env, fn, argv[10], "batch", &batch) || !get_dim(env, fn, argv[11], "nOut", &nOut) ||
      !product(env, fn, batch, nOut, &n) || !get_number(env, fn, argv[12], "dt", &dt) ||
      !get_number(env, fn, argv[13], "gamma", &gamma) || !get_phi(env, fn, argv[14], &phi))
    return NULL;
  arg_t a[10] = {
      {.name = "s", .value = argv[0], .need = n},
      {.name = "pv", .value = argv[1], .need = n},
      {.name = "u", .value = argv[2], .need = n},
      {.name = "tauM", .value = argv[3], .need = nOut},
      {.name = "tauR", .value = argv[4], .need = nOut},
      {.name = "uDot", .value = argv[5], .output = true, .need = n},
      {.name = "uNext", .value = argv[6], .output = true, .need = n},
      {.name = "pu", .value = argv[7], .output = true, .need = n},
      {.name = "r", .value = argv[8], .output = true, .need = n},
      {.name = "rp", .value = argv[9], .output = true, .need = n},
  };
  if (!fetch_all(env, fn, a, 10, batch, nOut)) return NULL;
  if (IS_F64(a[0])) {
    const membrane_t_f64 m = {a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data,
                              a[6].data, a[7].data, a[8].data, a[9].data, dt, gamma};
    membrane_f64(&m, batch, nOut, phi);
  } else {
    const membrane_t_f32 m = {a[0].data, a[1].data, a[2].data, a[3].data, a[4].data, a[5].data,
                              a[6].data, a[7].data, a[8].data, a[9].data, (float)dt, (float)gamma};
    membrane_f32(&m, batch, nOut, phi);
  }
  return NULL;
}

/* activation(phi, x, r, rp, n) */
static napi_value js_activation(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.activation";
  napi_value argv[5];
  size_t n;
  int phi;
  if (!get_args(env, info, fn, 5, argv)) return NULL;
  if (!get_phi(env, fn, argv[0], &phi) || !get_dim(env, fn, argv[4], "n", &n)) return NULL;
  arg_t a[3] = {
      {.name = "x", .value = argv[1], .need = n},
      {.name = "r", .value = argv[2], .output = true, .need = n},
      {.name = "rp", .value = argv[3], .output = true, .need = n},
  };
  if (!fetch_all(env, fn, a, 3, 1, n)) return NULL;
  if (IS_F64(a[0]))
    activation_f64(phi, a[0].data, a[1].data, a[2].data, n);
  else
    activation_f32(phi, a[0].data, a[1].data, a[2].data, n);
  return NULL;
}

/* localGradients(pv, uDot, gradBias, gradTauM, batch, nOut); gradBias may be null */
static napi_value js_local_gradients(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.localGradients";
  napi_value argv[6];
  size_t batch, nOut, n;
  if (!get_args(env, info, fn, 6, argv)) return NULL;
  if (!get_dim(env, fn, argv[4], "batch", &batch) || !get_dim(env, fn, argv[5], "nOut", &nOut) ||
      !product(env, fn, batch, nOut, &n))
    return NULL;
  arg_t a[4] = {
      {.name = "pv", .value = argv[0], .need = n},
      {.name = "uDot", .value = argv[1], .need = n},
      {.name = "gradBias", .value = argv[2], .nullable = true, .output = true, .need = nOut},
      {.name = "gradTauM", .value = argv[3], .output = true, .need = nOut},
  };
  if (!fetch_all(env, fn, a, 4, batch, nOut)) return NULL;
  if (IS_F64(a[0]))
    local_gradients_f64(a[0].data, a[1].data, a[2].data, a[3].data, batch, nOut);
  else
    local_gradients_f32(a[0].data, a[1].data, a[2].data, a[3].data, batch, nOut);
  return NULL;
}

/* sgd(param, grad, n, lr) */
static napi_value js_sgd(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.sgd";
  napi_value argv[4];
  size_t n;
  double lr;
  if (!get_args(env, info, fn, 4, argv)) return NULL;
  if (!get_dim(env, fn, argv[2], "n", &n) || !get_number(env, fn, argv[3], "lr", &lr)) return NULL;
  arg_t a[2] = {
      {.name = "param", .value = argv[0], .output = true, .need = n},
      {.name = "grad", .value = argv[1], .need = n},
  };
  if (!fetch_all(env, fn, a, 2, 1, n)) return NULL;
  if (IS_F64(a[0]))
    sgd_f64(a[0].data, a[1].data, n, lr);
  else
    sgd_f32(a[0].data, a[1].data, n, (float)lr);
  return NULL;
}

/* sgdMomentum(param, grad, buf, n, lr, momentum, first) */
static napi_value js_sgd_momentum(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.sgdMomentum";
  napi_value argv[7];
  size_t n;
  double lr, mu;
  bool first;
  if (!get_args(env, info, fn, 7, argv)) return NULL;
  if (!get_dim(env, fn, argv[3], "n", &n) || !get_number(env, fn, argv[4], "lr", &lr) ||
      !get_number(env, fn, argv[5], "momentum", &mu) || !get_flag(env, fn, argv[6], "first", &first))
    return NULL;
  arg_t a[3] = {
      {.name = "param", .value = argv[0], .output = true, .need = n},
      {.name = "grad", .value = argv[1], .need = n},
      {.name = "buf", .value = argv[2], .output = true, .need = n},
  };
  if (!fetch_all(env, fn, a, 3, 1, n)) return NULL;
  if (IS_F64(a[0]))
    sgd_momentum_f64(a[0].data, a[1].data, a[2].data, n, lr, mu, first);
  else
    sgd_momentum_f32(a[0].data, a[1].data, a[2].data, n, (float)lr, (float)mu, first);
  return NULL;
}

/* adam(param, grad, m, v, n, beta1, beta2, eps, stepSize, bias2Sqrt) */
static napi_value js_adam(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.adam";
  napi_value argv[10];
  size_t n;
  double c[5];
  static const char *const names[5] = {"beta1", "beta2", "eps", "stepSize", "bias2Sqrt"};
  if (!get_args(env, info, fn, 10, argv)) return NULL;
  if (!get_dim(env, fn, argv[4], "n", &n)) return NULL;
  for (int k = 0; k < 5; k++)
    if (!get_number(env, fn, argv[5 + k], names[k], &c[k])) return NULL;
  arg_t a[4] = {
      {.name = "param", .value = argv[0], .output = true, .need = n},
      {.name = "grad", .value = argv[1], .need = n},
      {.name = "m", .value = argv[2], .output = true, .need = n},
      {.name = "v", .value = argv[3], .output = true, .need = n},
  };
  if (!fetch_all(env, fn, a, 4, 1, n)) return NULL;
  if (IS_F64(a[0])) {
    const adam_t_f64 h = {c[0], c[1], c[2], c[3], c[4]};
    adam_f64(a[0].data, a[1].data, a[2].data, a[3].data, n, &h);
  } else {
    const adam_t_f32 h = {(float)c[0], (float)c[1], (float)c[2], (float)c[3], (float)c[4]};
    adam_f32(a[0].data, a[1].data, a[2].data, a[3].data, n, &h);
  }
  return NULL;
}

/* clampBelow(a, n, min) */
static napi_value js_clamp_below(napi_env env, napi_callback_info info) {
  static const char fn[] = "dynamics.clampBelow";
  napi_value argv[3];
  size_t n;
  double min;
  if (!get_args(env, info, fn, 3, argv)) return NULL;
  if (!get_dim(env, fn, argv[1], "n", &n) || !get_number(env, fn, argv[2], "min", &min)) return NULL;
  arg_t a[1] = {{.name = "a", .value = argv[0], .output = true, .need = n}};
  if (!fetch_all(env, fn, a, 1, 1, n)) return NULL;
  if (IS_F64(a[0]))
    clamp_below_f64(a[0].data, n, min);
  else
    clamp_below_f32(a[0].data, n, (float)min);
  return NULL;
}

bool gle_register_dynamics(napi_env env, napi_value exports) {
  napi_value abi, vecBytes;
  if (napi_create_uint32(env, GLE_DYNAMICS_ABI, &abi) != napi_ok || napi_create_uint32(env, GLE_VEC_BYTES, &vecBytes) != napi_ok)
    return false;
  napi_property_descriptor props[] = {
      {"errorFilter", NULL, js_error_filter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"membrane", NULL, js_membrane, NULL, NULL, NULL, napi_enumerable, NULL},
      {"activation", NULL, js_activation, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localGradients", NULL, js_local_gradients, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgd", NULL, js_sgd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgdMomentum", NULL, js_sgd_momentum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, js_adam, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clampBelow", NULL, js_clamp_below, NULL, NULL, NULL, napi_enumerable, NULL},
      {"abi", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      {"vectorBytes", NULL, NULL, NULL, NULL, vecBytes, napi_enumerable, NULL},
  };
  return export_object(env, exports, "dynamics", props, sizeof props / sizeof props[0]);
}
