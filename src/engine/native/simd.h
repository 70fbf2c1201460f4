/*
 * What the vector code of the fast units (kernels.c, dynamics.c) shares: the vector width
 * this build uses and per-lane constant lists. Per instantiation, vec_impl.h adds the
 * loads and stores.
 */
#ifndef GLE_SIMD_H
#define GLE_SIMD_H

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

/* The widest vectors the target has (GCC vector extensions lower narrower targets). */
#ifndef GLE_VEC_BYTES
#if defined(__AVX512F__)
#define GLE_VEC_BYTES 64
#elif defined(__AVX__)
#define GLE_VEC_BYTES 32
#else
#define GLE_VEC_BYTES 16
#endif
#endif

/* Comma-separated M(0) .. M(n-1), for writing per-lane constant vectors. */
#define GLE_LANES_2(M) M(0), M(1)
#define GLE_LANES_4(M) GLE_LANES_2(M), M(2), M(3)
#define GLE_LANES_8(M) GLE_LANES_4(M), M(4), M(5), M(6), M(7)
#define GLE_LANES_16(M) GLE_LANES_8(M), M(8), M(9), M(10), M(11), M(12), M(13), M(14), M(15)

#endif
