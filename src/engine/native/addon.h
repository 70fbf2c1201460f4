/*
 * What every translation unit of the addon shares: argument checking for the Node-API
 * bindings (typed arrays, dimensions, overlap of outputs) and the registration hooks
 * through which each unit adds its functions to the module's exports.
 */
#ifndef GLE_ADDON_H
#define GLE_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

#define GLE_HIDDEN __attribute__((visibility("hidden")))

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

#define IS_F64(a) ((a).type == napi_float64_array)

GLE_HIDDEN void throw_type(napi_env env, const char *fn, const char *what);
GLE_HIDDEN void throw_range(napi_env env, const char *fn, const char *what);
/* Fills a->type/length/data from a->value; throws and returns false when it is not a float typed array (or null when nullable). */
GLE_HIDDEN bool fetch(napi_env env, const char *fn, arg_t *a);
/* A non-negative integer dimension. */
GLE_HIDDEN bool get_dim(napi_env env, const char *fn, napi_value v, const char *name, size_t *out);
/* a * b without overflow. */
GLE_HIDDEN bool product(napi_env env, const char *fn, size_t a, size_t b, size_t *out);
/* One element type, every array long enough, no output overlapping another argument. */
GLE_HIDDEN bool check(napi_env env, const char *fn, arg_t *args, int n, size_t batch, size_t nOut, size_t nIn);
GLE_HIDDEN bool get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, napi_value *argv);

/* The arguments of one call of a product (drive, errorDown, weightGrad, fusedSgd), as
   every implementation of them takes them: the JS signatures of WeightKernels. */
typedef struct {
  size_t batch, nOut, nIn;
  double scale; /* fusedSgd only */
  arg_t a[6];   /* the arrays in argument order */
} product_args_t;

/* Each reads, validates and fetches its product's arguments; false with a JS exception
   pending when they are wrong. */
GLE_HIDDEN bool parse_drive(napi_env env, napi_callback_info info, product_args_t *p);
GLE_HIDDEN bool parse_error_down(napi_env env, napi_callback_info info, product_args_t *p);
GLE_HIDDEN bool parse_weight_grad(napi_env env, napi_callback_info info, product_args_t *p);
GLE_HIDDEN bool parse_fused_sgd(napi_env env, napi_callback_info info, product_args_t *p);

/* exports[name] = a new object with these properties; false with a JS exception pending on failure. */
GLE_HIDDEN bool export_object(napi_env env, napi_value exports, const char *name, const napi_property_descriptor *props, size_t count);

/* Registration hooks, one per unit besides kernels.c (which owns the module init): each
   adds its functions to exports and returns false with a JS exception pending on failure.
   Weak, so that the addon still builds while a unit is absent. */
GLE_HIDDEN __attribute__((weak)) bool gle_register_dynamics(napi_env env, napi_value exports);
GLE_HIDDEN __attribute__((weak)) bool gle_register_portable(napi_env env, napi_value exports);

#endif
