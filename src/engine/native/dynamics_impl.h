/*
 * Per-neuron dynamics for one element type. dynamics.c includes this file once per
 * REAL (double, float), so both dtypes share one source. Expected from the includer:
 * REAL, REAL_BYTES, IREAL / UREAL (same-width signed / unsigned integers), VB (vector bytes), D(name)
 * (suffixes the instantiation) and the PHI_* codes.
 *
 * Everything is computed in REAL on whole vectors. The last, partial vector of a row or
 * an array is read and written with masked loads and stores (ld_part / st_part), so every
 * element goes through the same vector code wherever it sits, and nothing past the end
 * of an array is read or written.
 *
 * The unit is compiled with -fassociative-math, which lets the compiler regroup sums. The
 * few steps of the elementary functions whose accuracy depends on the grouping (the
 * rounding constant of the range reduction, the two-part ln 2, 2^k - 1) pass through
 * OPAQUE, an empty asm that the optimiser cannot see through.
 */

#define LANES ((size_t)(VB / REAL_BYTES))

typedef REAL D(vec) __attribute__((vector_size(VB)));
typedef REAL D(uvec) __attribute__((vector_size(VB), aligned(REAL_BYTES), may_alias));
typedef IREAL D(ivec) __attribute__((vector_size(VB)));
typedef UREAL D(uivec) __attribute__((vector_size(VB)));
#define V D(vec)
#define UV D(uvec)
#define IV D(ivec)
#define UIV D(uivec) /* exponent arithmetic: unsigned, so that NaN's garbage exponents wrap instead of overflowing */
#define INLINE static inline __attribute__((always_inline))

#if REAL_BYTES == 8
#define MANT_BITS 52
#define EXP_BIAS 1023
#define SIGN_BIT ((IREAL)INT64_MIN)
#define ROUND_MAGIC 0x1.8p52 /* adding it rounds |y| < 2^51 to an integer, held in the low bits */
#define LN2_HI 0x1.62e42fee00000p-1 /* 32 significant bits: k * LN2_HI is exact for |k| < 2^21 */
#define LN2_LO 1.9082149292705877e-10
#define EXP_MIN (-760.0) /* exp of anything below is 0 in double */
/* Polynomial coefficients, highest degree first, fitted at Chebyshev nodes in 60-digit
   arithmetic. expm1(r) = r + r^2 Q(r) on |r| <= 1.01 ln2 / 2 (Q to a relative 3e-18). */
static const REAL D(expm1_q)[] = {
    2.09154422977801152162e-9, 2.51062747335732946873e-8, 2.75572718102197995695e-7, 2.75572528335169097481e-6,
    2.48015873270071867310e-5, 1.98412698768643549295e-4, 1.38888888888833266744e-3, 8.33333333332554469956e-3,
    4.16666666666666700744e-2, 1.66666666666666714384e-1, 0.5};
/* log(1 + f) = f - f^2/2 + s (f^2/2 + z T(z)) with s = f / (2 + f), z = s^2 <= 1.01 / 25
   (T to a relative 4e-17). */
static const REAL D(log1p_t)[] = {
    1.36240872693839212415e-1, 1.32077400033995691278e-1, 1.53889682728975923277e-1, 1.81817351013829918243e-1,
    2.22222230806501421850e-1, 2.85714285670812087377e-1, 4.00000000000083757004e-1, 6.66666666666666640223e-1};
#else
#define MANT_BITS 23
#define EXP_BIAS 127
#define SIGN_BIT ((IREAL)INT32_MIN)
#define ROUND_MAGIC 0x1.8p23f
#define LN2_HI 0x1.62ep-1f /* 12 significant bits: k * LN2_HI is exact for |k| < 2^12 */
#define LN2_LO 3.1946184945309415e-05f
#define EXP_MIN (-110.0f)
/* as above, Q to a relative 3e-9 and T to 6e-9 */
static const REAL D(expm1_q)[] = {1.98919813139776902115e-4f, 1.39345419282702644773e-3f, 8.33331002422529242993e-3f,
                                  4.16664568096778760339e-2f, 1.66666666825343560713e-1f, 5.00000001428622341715e-1f};
static const REAL D(log1p_t)[] = {2.37633392039717951832e-1f, 2.85319424307934424003e-1f, 4.00003209018845501443e-1f,
                                  6.66666662610940463773e-1f};
#endif
#define R(x) ((REAL)(x))
#define LOG2E R(1.4426950408889634)
#define LN2 R(0.6931471805599453)
/* tanh(x) rounds to +-1 beyond |x| = 19.1 (double) or 9.1 (float); 2|x| is clamped to twice this */
#define TANH_CLAMP R(20.0)

#if defined(__aarch64__)
#define OPAQUE(v) __asm__("" : "+w"(v))
#else
#define OPAQUE(v) __asm__("" : "+v"(v))
#endif

/* ------------------------------------------------------ vector helpers ---- */

#define VEC(name) D(name)
#include "vec_impl.h"
#undef VEC

INLINE V D(splat)(REAL x) {
  V v = {0};
  return v + x;
}

/* cnt values at p: a whole vector when cnt == LANES (a constant in the main loops, so the
   test folds away), else a masked partial one. */
INLINE V D(ldn)(const REAL *p, size_t cnt) { return cnt == LANES ? D(ld)(p) : D(ld_part)(p, cnt); }
INLINE void D(stn)(REAL *p, V v, size_t cnt) {
  if (cnt == LANES)
    D(st)(p, v);
  else
    D(st_part)(p, v, cnt);
}

/* Lanewise m ? a : b for a comparison mask m (all ones or all zeros per lane). */
INLINE V D(sel)(IV m, V a, V b) { return (V)((m & (IV)a) | (~m & (IV)b)); }

INLINE V D(sqrt)(V x) {
#if defined(__AVX512F__) && VB == 64
#if REAL_BYTES == 8
  return (V)_mm512_sqrt_pd((__m512d)x);
#else
  return (V)_mm512_sqrt_ps((__m512)x);
#endif
#elif defined(__AVX__) && VB == 32
#if REAL_BYTES == 8
  return (V)_mm256_sqrt_pd((__m256d)x);
#else
  return (V)_mm256_sqrt_ps((__m256)x);
#endif
#elif defined(__SSE2__) && VB == 16
#if REAL_BYTES == 8
  return (V)_mm_sqrt_pd((__m128d)x);
#else
  return (V)_mm_sqrt_ps((__m128)x);
#endif
#else
  V r;
  for (size_t k = 0; k < LANES; k++) r[k] = REAL_BYTES == 8 ? __builtin_sqrt(x[k]) : __builtin_sqrtf((float)x[k]);
  return r;
#endif
}

/* ------------------------------------------------ elementary functions ---- */

/* k = round(y / ln 2) as an integer, and r = y - k ln 2 (|r| <= ln2 / 2 + rounding), for
   |y| < 2^(MANT_BITS - 1) or NaN (then r is NaN and k is of no concern). */
INLINE V D(reduce)(V y, IV *k) {
  V t = y * LOG2E + ROUND_MAGIC;
  OPAQUE(t);
  const V kf = t - ROUND_MAGIC;
  *k = (IV)((UIV)t - (UIV)D(splat)(ROUND_MAGIC));
  V hi = y - kf * LN2_HI;
  OPAQUE(hi);
  return hi - kf * LN2_LO;
}

/* 2^k for a normal-range k (EXP_BIAS + k in 1 .. 2 EXP_BIAS). */
INLINE V D(pow2)(IV k) { return (V)(((UIV)k + EXP_BIAS) << MANT_BITS); }

/* c[0] x^(n-1) + ... + c[n-1] */
#define HORNER(c, x)                                                    \
  ({                                                                    \
    V h_ = D(splat)((c)[0]);                                            \
    _Pragma("GCC unroll 16") for (size_t i_ = 1; i_ < sizeof(c) / sizeof((c)[0]); i_++) h_ = h_ * (x) + (c)[i_]; \
    h_;                                                                 \
  })

INLINE V D(expm1_kernel)(V r) { return r + r * r * HORNER(D(expm1_q), r); }

/* exp(y) for y <= 0 (and NaN); gradual underflow to subnormals and 0. */
INLINE V D(exp_nonpos)(V y) {
  y = D(sel)(y < EXP_MIN, D(splat)(EXP_MIN), y);
  IV k;
  const V r = D(reduce)(y, &k);
  const V p = D(expm1_kernel)(r) + R(1.0);
  /* k can be below the normal exponent range: scale in two halves */
  const IV k1 = k >> 1;
  return p * D(pow2)(k1) * D(pow2)((IV)((UIV)k - (UIV)k1));
}

/* log(1 + w) for w in [0, 1] (and NaN). */
INLINE V D(log1p01)(V w) {
  const IV big = w > R(0.5);
  /* 1 + w = 2 (1 + f): w - 1 is exact for w in [0.5, 1] */
  const V f = D(sel)(big, (w - R(1.0)) * R(0.5), w);
  const V s = f / (f + R(2.0));
  const V z = s * s;
  const V hfsq = R(0.5) * f * f;
  const V l = f - hfsq + s * (hfsq + z * HORNER(D(log1p_t), z));
  return l + (V)(big & (IV)D(splat)(LN2));
}

/* tanh(x) and its derivative 1 - tanh(x)^2, both accurate to a few ulp for every x:
   with E = expm1(2|x|), tanh|x| = E / (E + 2) and 1 - tanh^2 = 2 d (1 + tanh|x|) for
   d = 1 / (E + 2); above tanh = 1/2, 1 - 2d is the more accurate form of the same value.
   |x| is clamped to 20, where tanh is 1 in both precisions; the derivative is 0 beyond,
   as 1 - tanh^2 is in TypeScript once tanh rounds to 1 (|x| > 19.1). */
INLINE void D(tanh_pair)(V x, V *t, V *dt) {
  const IV sign = (IV)x & SIGN_BIT;
  const V ax = (V)((IV)x & ~SIGN_BIT);
  V y = ax + ax;
  y = D(sel)(y > R(2.0) * TANH_CLAMP, D(splat)(R(2.0) * TANH_CLAMP), y);
  IV k;
  const V r = D(reduce)(y, &k);
  const V s = D(pow2)(k);
  V sm1 = s - R(1.0);
  OPAQUE(sm1);
  const V e = s * D(expm1_kernel)(r) + sm1;
  const V d = R(1.0) / (e + R(2.0));
  const V th = D(sel)(e > R(2.0), R(1.0) - (d + d), e * d);
  *t = (V)((IV)th | sign);
  *dt = D(sel)(ax > TANH_CLAMP, D(splat)(R(0.0)), (d + d) * (th + R(1.0)));
}

/* The logistic sigmoid of x and its derivative, from w = exp(-|x|) (never overflows):
   sigmoid(|x|) = 1 / (1 + w), sigmoid(-|x|) = w / (1 + w), derivative w / (1 + w)^2. */
INLINE void D(sigmoid_pair)(V x, V w, V *sig, V *dsig) {
  const V d = R(1.0) / (w + R(1.0));
  const V wd = w * d;
  *sig = D(sel)(x >= R(0.0), d, wd);
  *dsig = wd * d;
}

INLINE V D(abs)(V x) { return (V)((IV)x & ~SIGN_BIT); }

/* r = phi(x), rp = phi'(x) with the conventions of src/engine/activations.ts. */
INLINE void D(phi)(const int phi, V x, V *r, V *rp) {
  const V zero = D(splat)(R(0.0)), one = D(splat)(R(1.0));
  switch (phi) {
    case PHI_LINEAR:
      *r = x;
      *rp = one;
      return;
    case PHI_TANH:
      D(tanh_pair)(x, r, rp);
      return;
    case PHI_SIGMOID:
      D(sigmoid_pair)(x, D(exp_nonpos)(-D(abs)(x)), r, rp);
      return;
    case PHI_HARD_SIGMOID: {
      /* slope 1 on the closed interval [0, 1]; NaN passes through with slope 1 */
      const IV below = x < R(0.0), above = x > R(1.0);
      *r = D(sel)(below, zero, D(sel)(above, one, x));
      *rp = D(sel)(below | above, zero, one);
      return;
    }
    case PHI_RELU: {
      const IV pos = x > R(0.0);
      *r = D(sel)(pos, x, zero);
      *rp = D(sel)(pos, one, zero);
      return;
    }
    case PHI_SOFTPLUS: {
      /* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|); x itself above 20 (torch's threshold) */
      const V w = D(exp_nonpos)(-D(abs)(x));
      D(sigmoid_pair)(x, w, rp, r);
      const V sp = D(sel)(x > R(0.0), x, zero) + D(log1p01)(w);
      *r = D(sel)(x > R(20.0), x, sp);
      return;
    }
    default:
      *r = x;
      *rp = one;
      return;
  }
}

/* -------------------------------------------------------- layer passes ---- */

/* Runs body(j, cnt) over 0 .. len in vectors: whole ones, then one partial. */
#define OVER_VECTORS(len, body)                                        \
  do {                                                                 \
    size_t j_ = 0;                                                     \
    for (; j_ + LANES <= (len); j_ += LANES) body(j_, LANES);          \
    if (j_ < (len)) body(j_, (len) - j_);                              \
  } while (0)

INLINE void D(filter_vec)(const REAL *restrict in, const REAL *restrict rp, const REAL *restrict v,
                          const REAL *restrict tauM, const REAL *restrict tauR, REAL *restrict e,
                          REAL *restrict vNext, REAL *restrict pv, REAL dt, size_t j, size_t k, size_t cnt) {
  const V ev = D(ldn)(in + k, cnt) * D(ldn)(rp + k, cnt);
  const V vv = D(ldn)(v + k, cnt);
  const V vDot = (ev - vv) / D(ldn)(tauR + j, cnt);
  D(stn)(e + k, ev, cnt);
  D(stn)(vNext + k, vv + dt * vDot, cnt);
  D(stn)(pv + k, vv + D(ldn)(tauM + j, cnt) * vDot, cnt);
}

INLINE void D(copy_error_vec)(const REAL *restrict in, const REAL *restrict rp, REAL *restrict e,
                              REAL *restrict vNext, REAL *restrict pv, size_t k, size_t cnt) {
  const V ev = D(ldn)(in + k, cnt) * D(ldn)(rp + k, cnt);
  D(stn)(e + k, ev, cnt);
  D(stn)(vNext + k, ev, cnt);
  D(stn)(pv + k, ev, cnt);
}

/* e = incoming * rp; prospective: vDot = (e - v) / tauR, vNext = v + dt vDot,
   pv = v + tauM vDot; otherwise vNext = pv = e. */
static void D(error_filter)(const REAL *restrict in, const REAL *restrict rp, const REAL *restrict v,
                            const REAL *restrict tauM, const REAL *restrict tauR, REAL *restrict e,
                            REAL *restrict vNext, REAL *restrict pv, size_t batch, size_t nOut, REAL dt,
                            bool prospective) {
  if (!prospective) {
#define COPY_BODY(k, cnt) D(copy_error_vec)(in, rp, e, vNext, pv, (k), (cnt))
    OVER_VECTORS(batch * nOut, COPY_BODY);
#undef COPY_BODY
    return;
  }
  for (size_t b = 0; b < batch; b++) {
    const size_t row = b * nOut;
#define FILTER_BODY(j, cnt) D(filter_vec)(in, rp, v, tauM, tauR, e, vNext, pv, dt, (j), row + (j), (cnt))
    OVER_VECTORS(nOut, FILTER_BODY);
#undef FILTER_BODY
  }
}

typedef struct {
  const REAL *s, *pv, *u, *tauM, *tauR;
  REAL *uDot, *uNext, *pu, *r, *rp;
  REAL dt, gamma;
} D(membrane_t);

INLINE void D(membrane_phi)(const D(membrane_t) *args, size_t batch, size_t nOut, const int phi) {
  const REAL *restrict s = args->s, *restrict pv = args->pv, *restrict u = args->u;
  const REAL *restrict tauM = args->tauM, *restrict tauR = args->tauR;
  REAL *restrict uDot = args->uDot, *restrict uNext = args->uNext, *restrict pu = args->pu;
  REAL *restrict r = args->r, *restrict rp = args->rp;
  const REAL dt = args->dt, gamma = args->gamma;
#define MEMBRANE_BODY(j, cnt)                                                                        \
  do {                                                                                               \
    const size_t k_ = row + (j);                                                                     \
    const V uv = D(ldn)(u + k_, (cnt));                                                              \
    const V du = (D(ldn)(s + k_, (cnt)) + gamma * D(ldn)(pv + k_, (cnt)) - uv) / D(ldn)(tauM + (j), (cnt)); \
    const V puv = uv + D(ldn)(tauR + (j), (cnt)) * du;                                               \
    V r_, rp_;                                                                                       \
    D(stn)(uDot + k_, du, (cnt));                                                                    \
    D(stn)(uNext + k_, uv + dt * du, (cnt));                                                         \
    D(stn)(pu + k_, puv, (cnt));                                                                     \
    D(phi)(phi, puv, &r_, &rp_);                                                                     \
    D(stn)(r + k_, r_, (cnt));                                                                       \
    D(stn)(rp + k_, rp_, (cnt));                                                                     \
  } while (0)
  for (size_t b = 0; b < batch; b++) {
    const size_t row = b * nOut;
    OVER_VECTORS(nOut, MEMBRANE_BODY);
  }
#undef MEMBRANE_BODY
}

/* du = (s + gamma pv - u) / tauM, uDot = du, uNext = u + dt du, pu = u + tauR du,
   r = phi(pu), rp = phi'(pu). */
static void D(membrane)(const D(membrane_t) *a, size_t batch, size_t nOut, int phi) {
  switch (phi) {
    case PHI_LINEAR: D(membrane_phi)(a, batch, nOut, PHI_LINEAR); break;
    case PHI_TANH: D(membrane_phi)(a, batch, nOut, PHI_TANH); break;
    case PHI_SIGMOID: D(membrane_phi)(a, batch, nOut, PHI_SIGMOID); break;
    case PHI_HARD_SIGMOID: D(membrane_phi)(a, batch, nOut, PHI_HARD_SIGMOID); break;
    case PHI_RELU: D(membrane_phi)(a, batch, nOut, PHI_RELU); break;
    case PHI_SOFTPLUS: D(membrane_phi)(a, batch, nOut, PHI_SOFTPLUS); break;
    default: break;
  }
}

INLINE void D(activation_phi)(const REAL *restrict x, REAL *restrict r, REAL *restrict rp, size_t n, const int phi) {
#define ACTIVATION_BODY(k, cnt)                  \
  do {                                           \
    V r_, rp_;                                   \
    D(phi)(phi, D(ldn)(x + (k), (cnt)), &r_, &rp_); \
    D(stn)(r + (k), r_, (cnt));                  \
    D(stn)(rp + (k), rp_, (cnt));                \
  } while (0)
  OVER_VECTORS(n, ACTIVATION_BODY);
#undef ACTIVATION_BODY
}

/* r[i] = phi(x[i]), rp[i] = phi'(x[i]) for i < n. */
static void D(activation)(int phi, const REAL *x, REAL *r, REAL *rp, size_t n) {
  switch (phi) {
    case PHI_LINEAR: D(activation_phi)(x, r, rp, n, PHI_LINEAR); break;
    case PHI_TANH: D(activation_phi)(x, r, rp, n, PHI_TANH); break;
    case PHI_SIGMOID: D(activation_phi)(x, r, rp, n, PHI_SIGMOID); break;
    case PHI_HARD_SIGMOID: D(activation_phi)(x, r, rp, n, PHI_HARD_SIGMOID); break;
    case PHI_RELU: D(activation_phi)(x, r, rp, n, PHI_RELU); break;
    case PHI_SOFTPLUS: D(activation_phi)(x, r, rp, n, PHI_SOFTPLUS); break;
    default: break;
  }
}

INLINE void D(gradients_vec)(const REAL *restrict pv, const REAL *restrict uDot, REAL *restrict gb,
                             REAL *restrict gt, size_t batch, size_t nOut, size_t j, size_t cnt) {
  V sumPv = D(splat)(R(0.0)), sumTau = D(splat)(R(0.0));
  for (size_t b = 0; b < batch; b++) {
    const V p = D(ldn)(pv + b * nOut + j, cnt);
    sumPv += p;
    sumTau += p * D(ldn)(uDot + b * nOut + j, cnt);
  }
  const REAL nb = (REAL)batch;
  if (gb) D(stn)(gb + j, -(sumPv / nb), cnt);
  D(stn)(gt + j, sumTau / nb, cnt);
}

/* gb[j] = -(sum_b pv[b, j]) / batch (gb may be NULL), gt[j] = (sum_b pv[b, j] uDot[b, j]) / batch,
   each sum over b in order. */
static void D(local_gradients)(const REAL *pv, const REAL *uDot, REAL *gb, REAL *gt, size_t batch, size_t nOut) {
#define GRADIENTS_BODY(j, cnt) D(gradients_vec)(pv, uDot, gb, gt, batch, nOut, (j), (cnt))
  OVER_VECTORS(nOut, GRADIENTS_BODY);
#undef GRADIENTS_BODY
}

/* ------------------------------------------------------------ optimizers ---- */

/* p -= lr g */
static void D(sgd)(REAL *restrict p, const REAL *restrict g, size_t n, REAL lr) {
#define SGD_BODY(k, cnt) D(stn)(p + (k), D(ldn)(p + (k), (cnt)) - lr * D(ldn)(g + (k), (cnt)), (cnt))
  OVER_VECTORS(n, SGD_BODY);
#undef SGD_BODY
}

INLINE void D(momentum_vec)(REAL *restrict p, const REAL *restrict g, REAL *restrict buf, REAL lr, REAL mu,
                            const int first, size_t k, size_t cnt) {
  const V gv = D(ldn)(g + k, cnt);
  const V m = first ? gv : mu * D(ldn)(buf + k, cnt) + gv;
  D(stn)(buf + k, m, cnt);
  D(stn)(p + k, D(ldn)(p + k, cnt) - lr * m, cnt);
}

/* buf = first ? g : mu buf + g; p -= lr buf (torch's SGD with momentum) */
static void D(sgd_momentum)(REAL *restrict p, const REAL *restrict g, REAL *restrict buf, size_t n, REAL lr, REAL mu,
                            bool first) {
  if (first) {
#define FIRST_BODY(k, cnt) D(momentum_vec)(p, g, buf, lr, mu, 1, (k), (cnt))
    OVER_VECTORS(n, FIRST_BODY);
#undef FIRST_BODY
  } else {
#define NEXT_BODY(k, cnt) D(momentum_vec)(p, g, buf, lr, mu, 0, (k), (cnt))
    OVER_VECTORS(n, NEXT_BODY);
#undef NEXT_BODY
  }
}

typedef struct {
  REAL b1, b2, eps, stepSize, bias2Sqrt;
} D(adam_t);

INLINE void D(adam_vec)(REAL *restrict p, const REAL *restrict g, REAL *restrict m, REAL *restrict v,
                        const D(adam_t) c, size_t k, size_t cnt) {
  const V gv = D(ldn)(g + k, cnt);
  const V mv = c.b1 * D(ldn)(m + k, cnt) + (R(1.0) - c.b1) * gv;
  const V vv = c.b2 * D(ldn)(v + k, cnt) + (R(1.0) - c.b2) * gv * gv;
  D(stn)(m + k, mv, cnt);
  D(stn)(v + k, vv, cnt);
  D(stn)(p + k, D(ldn)(p + k, cnt) - c.stepSize * (mv / (D(sqrt)(vv) / c.bias2Sqrt + c.eps)), cnt);
}

/* m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= stepSize (m / (sqrt(v) / bias2Sqrt + eps)) */
static void D(adam)(REAL *restrict p, const REAL *restrict g, REAL *restrict m, REAL *restrict v, size_t n,
                    const D(adam_t) *c) {
  const D(adam_t) h = *c;
#define ADAM_BODY(k, cnt) D(adam_vec)(p, g, m, v, h, (k), (cnt))
  OVER_VECTORS(n, ADAM_BODY);
#undef ADAM_BODY
}

/* a = max(a, min), NaN kept */
static void D(clamp_below)(REAL *a, size_t n, REAL min) {
#define CLAMP_BODY(k, cnt)                                             \
  do {                                                                 \
    const V x_ = D(ldn)(a + (k), (cnt));                               \
    D(stn)(a + (k), D(sel)(x_ < min, D(splat)(min), x_), (cnt));       \
  } while (0)
  OVER_VECTORS(n, CLAMP_BODY);
#undef CLAMP_BODY
}

#undef OVER_VECTORS
#undef INLINE
#undef V
#undef UV
#undef IV
#undef UIV
#undef LANES
#undef MANT_BITS
#undef EXP_BIAS
#undef SIGN_BIT
#undef ROUND_MAGIC
#undef LN2_HI
#undef LN2_LO
#undef EXP_MIN
#undef HORNER
#undef R
#undef LOG2E
#undef LN2
#undef TANH_CLAMP
#undef OPAQUE
#undef GLE_LANE_LIST
