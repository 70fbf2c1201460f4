/*
 * Whole and partial vector loads and stores for one instantiation (element type REAL of
 * REAL_BYTES, integer IREAL of the same width, VB vector bytes; V, UV, IV the vector,
 * unaligned-vector and integer-vector types; LANES). VEC(name) names them for the
 * includer, e.g. K(name) in kernels_impl.h, D(name) in dynamics_impl.h.
 *
 * Rows whose length is not a multiple of the vector width end in a partial vector, read
 * and written with masked loads and stores (ld_part / st_part) that leave memory past
 * the row alone. Lanes past the end load as zero, which adds nothing to sums, and no lane
 * is ever computed twice (as with a last vector overlapping the one before), so in-place
 * updates need no blending.
 */
#if VB / REAL_BYTES == 2
#define GLE_LANE_LIST(M) GLE_LANES_2(M)
#elif VB / REAL_BYTES == 4
#define GLE_LANE_LIST(M) GLE_LANES_4(M)
#elif VB / REAL_BYTES == 8
#define GLE_LANE_LIST(M) GLE_LANES_8(M)
#elif VB / REAL_BYTES == 16
#define GLE_LANE_LIST(M) GLE_LANES_16(M)
#else
#error "unsupported vector width"
#endif

static inline __attribute__((always_inline)) V VEC(ld)(const REAL *p) { return *(const UV *)p; }
static inline __attribute__((always_inline)) void VEC(st)(REAL *p, V v) { *(UV *)p = v; }

/* The first n (< LANES) values at p, zero in the other lanes; nothing past p + n is read. */
static inline __attribute__((always_inline)) V VEC(ld_part)(const REAL *p, size_t n) {
#if defined(__AVX512F__) && VB == 64
#if REAL_BYTES == 8
  return (V)_mm512_maskz_loadu_pd((__mmask8)((1u << n) - 1), p);
#else
  return (V)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
#endif
#elif defined(__AVX512VL__) && VB == 32
#if REAL_BYTES == 8
  return (V)_mm256_maskz_loadu_pd((__mmask8)((1u << n) - 1), p);
#else
  return (V)_mm256_maskz_loadu_ps((__mmask8)((1u << n) - 1), p);
#endif
#elif defined(__AVX__) && VB == 32
#define LANE_ID(k) ((IREAL)(k))
  const IV ids = {GLE_LANE_LIST(LANE_ID)};
#undef LANE_ID
  const IV mask = ids < (IREAL)n;
#if REAL_BYTES == 8
  return (V)_mm256_maskload_pd(p, (__m256i)mask);
#else
  return (V)_mm256_maskload_ps(p, (__m256i)mask);
#endif
#else
  V v = {0};
  for (size_t k = 0; k < n; k++) v[k] = p[k];
  return v;
#endif
}

/* Stores the first n (< LANES) lanes of v at p; nothing past p + n is written. */
static inline __attribute__((always_inline)) void VEC(st_part)(REAL *p, V v, size_t n) {
#if defined(__AVX512F__) && VB == 64
#if REAL_BYTES == 8
  _mm512_mask_storeu_pd(p, (__mmask8)((1u << n) - 1), (__m512d)v);
#else
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#endif
#elif defined(__AVX512VL__) && VB == 32
#if REAL_BYTES == 8
  _mm256_mask_storeu_pd(p, (__mmask8)((1u << n) - 1), (__m256d)v);
#else
  _mm256_mask_storeu_ps(p, (__mmask8)((1u << n) - 1), (__m256)v);
#endif
#else
  /* AVX masked stores are microcoded and slow on AMD; a tail store happens once per tile or row. */
  for (size_t k = 0; k < n; k++) p[k] = v[k];
#endif
}
