/*
 * Kernel bodies of the portable mode for one element type (see portable.c for the
 * order they implement and why it cannot depend on the machine). portable.c includes
 * this file once per type with REAL (float or double) and P(name) (suffixes names).
 *
 * Everything is one operation, an ordered matrix product
 *
 *   C[m, n] = epi( sum_{k = 0 .. kk-1, in order, from +0} round(A[m, k] * B[k, n]) )
 *
 * with A read as scalars at A[m*sm + k*sk], B contiguous along n (row stride ldb) and C
 * contiguous along n (row stride ldc). Lanes of a vector are different n, so a vector
 * add is just L independent scalar adds; k is never split, reordered or fused. (drive's
 * paths for one or two batch rows, below, transpose products in registers instead.)
 */

typedef REAL P(vec) __attribute__((vector_size(PVB)));
typedef REAL P(uvec) __attribute__((vector_size(PVB), aligned(sizeof(REAL)), may_alias));
#define V P(vec)
#define UV P(uvec)
#define L ((size_t)(PVB / sizeof(REAL)))
#define NR ((size_t)PNV * L)

static inline __attribute__((always_inline)) V P(ld)(const REAL *p) { return *(const UV *)p; }
static inline __attribute__((always_inline)) void P(st)(REAL *p, V v) { *(UV *)p = v; }

/* C = epi(s) for the first `last` (< L) lanes of one vector of C (cv; bias at bias_v):
   only those lanes are read and written. Once per tile at most, so not inlined. */
static __attribute__((noinline)) void P(epilogue_part)(int epi, V s, REAL *restrict cv, const REAL *restrict bias_v, REAL coef, size_t last) {
  for (size_t j = 0; j < last; j++) {
    switch (epi) {
      case EPI_STORE: cv[j] = s[j]; break;
      case EPI_BIAS: cv[j] = s[j] + bias_v[j]; break;
      case EPI_SCALE: cv[j] = coef * s[j]; break;
      default: cv[j] = cv[j] + coef * s[j]; break;
    }
  }
}

/* One register tile: mr rows of C, nv vectors of columns (the last with `last` valid
   lanes, 1..L). mr and nv are constants at every call, so the loops unroll and the
   accumulators live in registers; the epilogue (runtime epi) runs once per tile. */
static inline __attribute__((always_inline)) void P(tile)(const int mr, const int nv, int epi, size_t kk, const REAL *restrict A, size_t sm, size_t sk,
                                                          const REAL *restrict B, size_t ldb, REAL *restrict C, size_t ldc, size_t last,
                                                          const REAL *restrict bias, REAL coef) {
  V acc[PMR][2 * PNV];
  const V zero = {0};
#pragma GCC unroll 8
  for (int m = 0; m < mr; m++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) acc[m][v] = zero; /* +0 in every lane */
  for (size_t k = 0; k < kk; k++) {
    V b[2 * PNV];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      b[v] = P(ld)(B + k * ldb + (size_t)v * L);
      if (mr > 1) PIN(b[v]);
    }
#pragma GCC unroll 8
    for (int m = 0; m < mr; m++) {
      const REAL a = A[(size_t)m * sm + k * sk];
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++) acc[m][v] = acc[m][v] + a * b[v]; /* product rounded, then sum rounded */
    }
  }
  /* the epilogue, one switch per tile (not per vector: with a short sum, as a weight
     gradient over one batch row, the epilogue is most of the tile's work) */
#define EPI_LOOP(store)                                                                                                    \
  for (int m = 0; m < mr; m++)                                                                                             \
    for (int v = 0; v < nv; v++) {                                                                                         \
      REAL *cv = C + (size_t)m * ldc + (size_t)v * L;                                                                      \
      const V s = acc[m][v];                                                                                               \
      if (v == nv - 1 && last != L)                                                                                        \
        P(epilogue_part)(epi, s, cv, bias ? bias + (size_t)v * L : NULL, coef, last);                                      \
      else                                                                                                                 \
        store;                                                                                                             \
    }
  switch (epi) {
    case EPI_STORE: EPI_LOOP(P(st)(cv, s)) break;
    case EPI_BIAS: EPI_LOOP(P(st)(cv, s + P(ld)(bias + (size_t)v * L))) break;
    case EPI_SCALE: EPI_LOOP(P(st)(cv, coef * s)) break;
    default: EPI_LOOP(P(st)(cv, P(ld)(cv) + coef * s)) break;
  }
#undef EPI_LOOP
}

/* Rows [m0, m1) of one strip of nv vectors (columns at B, C, bias), tiles of PMR rows. */
static inline __attribute__((always_inline)) void P(strip)(const int nv, int epi, size_t m0, size_t m1, size_t kk, const REAL *A, size_t sm, size_t sk,
                                                           const REAL *B, size_t ldb, REAL *C, size_t ldc, size_t last, const REAL *bias, REAL coef) {
  size_t m = m0;
  for (; m + PMR <= m1; m += PMR) P(tile)(PMR, nv, epi, kk, A + m * sm, sm, sk, B, ldb, C + m * ldc, ldc, last, bias, coef);
  const REAL *a = A + m * sm;
  REAL *c = C + m * ldc;
  switch (m1 - m) {
    case 1: P(tile)(1, nv, epi, kk, a, sm, sk, B, ldb, c, ldc, last, bias, coef); break;
    case 2: P(tile)(2, nv, epi, kk, a, sm, sk, B, ldb, c, ldc, last, bias, coef); break;
    case 3: P(tile)(3, nv, epi, kk, a, sm, sk, B, ldb, c, ldc, last, bias, coef); break;
    default: break;
  }
}

/* The rows [m0, m1) x columns [0, n) of C (C, B and bias point at column 0) in strips
   of PNV vectors; a single row in strips of 2 * PNV, as it has no other rows' sums to
   hide the latency of its adds behind. B must hold whole vectors: when n is not a
   multiple of L, the last partial vector is read from `tail` (kk rows of L values, row
   stride L) if it is not NULL, else from B itself, which must then be padded to a
   multiple of L. */
static void P(piece)(int epi, size_t m0, size_t m1, size_t n, size_t kk, const REAL *A, size_t sm, size_t sk, const REAL *B, size_t ldb, const REAL *tail,
                     REAL *C, size_t ldc, const REAL *bias, REAL coef) {
#define BI(off) (bias ? bias + (off) : NULL)
#define ROW(nv, last) P(tile)(1, nv, epi, kk, A + m0 * sm, sm, sk, B + j, ldb, C + m0 * ldc + j, ldc, last, BI(j), coef)
#define STRIP(nv, last) P(strip)(nv, epi, m0, m1, kk, A, sm, sk, B + j, ldb, C + j, ldc, last, BI(j), coef)
  const bool row = m1 - m0 == 1;
  size_t j = 0;
  if (row)
    for (; j + 2 * NR <= n; j += 2 * NR) ROW(2 * PNV, L);
  else
    for (; j + NR <= n; j += NR) STRIP(PNV, L);
  const size_t whole = (n - j) / L, part = (n - j) % L;
  /* the rest in one strip, the partial vector included when B is padded */
  const size_t nv = whole + (part && !tail), last = part && !tail ? part : L;
  if (row) {
    switch (nv) {
      case 1: ROW(1, last); break;
      case 2: ROW(2, last); break;
      case 3: ROW(3, last); break;
      case 4: ROW(4, last); break;
#if PNV > 2
      case 5: ROW(5, last); break;
      case 6: ROW(6, last); break;
      case 7: ROW(7, last); break;
      case 8: ROW(8, last); break;
#endif
      default: break; /* nv <= 2 * PNV <= 8 */
    }
  } else {
    switch (nv) {
      case 1: STRIP(1, last); break;
      case 2: STRIP(2, last); break;
#if PNV > 2
      case 3: STRIP(3, last); break;
      case 4: STRIP(4, last); break;
#endif
      default: break; /* nv <= PNV <= 4 */
    }
  }
  if (part && tail) {
    j += whole * L;
    P(strip)(1, epi, m0, m1, kk, A, sm, sk, tail, L, C + j, ldc, part, BI(j), coef);
  }
#undef STRIP
#undef ROW
#undef BI
}

/* ------------------------------------------------------------------ jobs ---- */

/* One product cut into pieces: row ranges of mp rows x column ranges of np columns
   (np a multiple of L). Piece c of the columns reads B at B + c * bstep (so B may be a
   packed copy whose pieces are stored one after another) and, if it holds the partial
   last vector, that vector from `tail` (NULL: B is padded). A task is one piece, or with
   `whole_rows` one row range across every column piece (columns in order, so each
   column panel of B serves all the task's rows while in cache). */
typedef struct {
  int epi;
  const REAL *A;
  size_t sm, sk;
  const REAL *B;
  size_t ldb, bstep;
  const REAL *tail;
  REAL *C;
  size_t ldc;
  const REAL *bias;
  REAL coef;
  size_t m, n, kk, mp, np, ncols;
  bool whole_rows;
} P(job_t);

static void P(job_piece)(const P(job_t) *j, size_t r, size_t c) {
  const size_t m0 = r * j->mp, m1 = m0 + j->mp < j->m ? m0 + j->mp : j->m;
  const size_t n0 = c * j->np, n = n0 + j->np < j->n ? j->np : j->n - n0;
  const REAL *B = j->B + c * j->bstep;
  const REAL *tail = n0 + n == j->n ? j->tail : NULL;
  REAL *C = j->C + n0;
  P(piece)(j->epi, m0, m1, n, j->kk, j->A, j->sm, j->sk, B, j->ldb, tail, C, j->ldc, j->epi == EPI_BIAS ? j->bias + n0 : NULL, j->coef);
}

static void P(job_task)(void *ctx, size_t task) {
  const P(job_t) *j = ctx;
  if (j->whole_rows) {
    for (size_t c = 0; c < j->ncols; c++) P(job_piece)(j, task, c);
  } else {
    P(job_piece)(j, task / j->ncols, task % j->ncols);
  }
}

/* Cuts the job (whose np, if already set, fixes the column pieces) and runs it. With
   enough rows for the threads, tasks are row ranges: a task then writes whole rows of C,
   contiguous memory, where column ranges would share cache lines at their edges with
   the neighbouring task's (ping-pong when C is read and written, as W in the update). */
static void P(run)(P(job_t) *j) {
  if (j->m == 0 || j->n == 0) return;
  const size_t threads = useful_threads(j->m, j->n, j->kk);
  const bool rows = threads > 1 && j->m >= 2 * threads * PMR;
  if (j->np == 0) {
    j->np = piece_cols(j->n, j->kk, sizeof(REAL), L, NR, rows ? 1 : threads);
    j->bstep = j->np;
  }
  j->ncols = (j->n + j->np - 1) / j->np;
  j->whole_rows = rows;
  j->mp = rows ? round_up((j->m + 2 * threads - 1) / (2 * threads), PMR) : piece_rows(j->m, j->ncols, threads);
  const size_t nrows = (j->m + j->mp - 1) / j->mp;
  run_tasks(threads, rows ? nrows : nrows * j->ncols, P(job_task), j);
}

/* Copies the last n % L columns of B (kk rows, row stride ldb) to tail, kk rows of L
   values with zeros after them. Returns NULL (no tail needed) when n % L == 0. */
static const REAL *P(pack_tail)(const REAL *B, size_t ldb, size_t n, size_t kk, REAL *tail) {
  const size_t part = n % L;
  if (part == 0) return NULL;
  const REAL *src = B + (n - part);
  for (size_t k = 0; k < kk; k++) {
    for (size_t j = 0; j < L; j++) tail[k * L + j] = j < part ? src[k * ldb + j] : 0;
  }
  return tail;
}

/* ----------------------------------------------------------- the kernels ---- */

/* Transposing W for drive moves values and computes nothing, so its shape is free: it
   works on 32-byte vectors of T = 32 / sizeof(REAL) values whatever the build's width,
   T x T tiles by interleaving shuffles within 16-byte halves and then one exchange of
   halves (unpck, shufps, vperm2f128 on AVX; on SSE2 the exchange is free, each half being
   a register), where a tile of a build's full width would need costly lane-crossing
   permutes. */
#define T (32 / sizeof(REAL))
typedef REAL P(t32) __attribute__((vector_size(32)));
typedef REAL P(ut32) __attribute__((vector_size(32), aligned(sizeof(REAL)), may_alias));
typedef IREAL P(it32) __attribute__((vector_size(32)));
#define LD32(p) ((P(t32)) * (const P(ut32) *)(p))
#define ST32(p, v) (*(P(ut32) *)(p) = (v))

/* r[k][j] <-> r[j][k] for the T x T tile in r[0..T). */
static inline __attribute__((always_inline)) void P(transpose32)(P(t32) *r) {
#if REAL_BYTES == 4
  /* rows r0..r7; columns 4h..4h+3 in half h */
  const P(it32) lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
  const P(it32) lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
  const P(it32) h0 = {0, 1, 2, 3, 8, 9, 10, 11}, h1 = {4, 5, 6, 7, 12, 13, 14, 15};
  P(t32) t[8], u[8];
  /* t[2p] = (r[2p][4h], r[2p+1][4h], r[2p][4h+1], r[2p+1][4h+1]) per half, t[2p+1] the same for 4h+2, 4h+3 */
#pragma GCC unroll 4
  for (int p = 0; p < 4; p++) {
    t[2 * p] = __builtin_shuffle(r[2 * p], r[2 * p + 1], lo);
    t[2 * p + 1] = __builtin_shuffle(r[2 * p], r[2 * p + 1], hi);
  }
  /* u[4g + j] = column 4h + j, rows 4g..4g+3, per half */
#pragma GCC unroll 2
  for (int g = 0; g < 2; g++) {
    u[4 * g + 0] = __builtin_shuffle(t[4 * g + 0], t[4 * g + 2], lo2);
    u[4 * g + 1] = __builtin_shuffle(t[4 * g + 0], t[4 * g + 2], hi2);
    u[4 * g + 2] = __builtin_shuffle(t[4 * g + 1], t[4 * g + 3], lo2);
    u[4 * g + 3] = __builtin_shuffle(t[4 * g + 1], t[4 * g + 3], hi2);
  }
  /* column j: half 0 of u[j] and of u[4 + j]; column 4 + j: their halves 1 */
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    r[j] = __builtin_shuffle(u[j], u[4 + j], h0);
    r[4 + j] = __builtin_shuffle(u[j], u[4 + j], h1);
  }
#else
  /* rows r0..r3; columns 2h, 2h+1 in half h */
  const P(it32) lo = {0, 4, 2, 6}, hi = {1, 5, 3, 7}, h0 = {0, 1, 4, 5}, h1 = {2, 3, 6, 7};
  /* t0 = column 2h rows 0-1, t1 = column 2h+1 rows 0-1, t2, t3 the same for rows 2-3 */
  const P(t32) t0 = __builtin_shuffle(r[0], r[1], lo), t1 = __builtin_shuffle(r[0], r[1], hi);
  const P(t32) t2 = __builtin_shuffle(r[2], r[3], lo), t3 = __builtin_shuffle(r[2], r[3], hi);
  r[0] = __builtin_shuffle(t0, t2, h0);
  r[1] = __builtin_shuffle(t1, t3, h0);
  r[2] = __builtin_shuffle(t0, t2, h1);
  r[3] = __builtin_shuffle(t1, t3, h1);
#endif
}

/* dst[i*ob + k] = w[k*nIn + i] for i in [i0, i0 + T), k in [0, rows), rows a multiple of
   T; with `full` 0, rows is T and only the first `valid` rows of w are read, the others
   taken as zeros. */
static inline __attribute__((always_inline)) void P(transpose_cols)(const REAL *restrict w, size_t nIn, size_t i0, REAL *restrict dst, size_t ob,
                                                                    size_t rows, const int full, size_t valid) {
  const P(t32) zero = {0};
  for (size_t c = 0; c < rows; c += T) {
    P(t32) r[T];
#pragma GCC unroll 8
    for (size_t k = 0; k < T; k++) r[k] = full || k < valid ? LD32(w + (c + k) * nIn + i0) : zero;
    P(transpose32)(r);
#pragma GCC unroll 8
    for (size_t k = 0; k < T; k++) ST32(dst + (i0 + k) * ob + c, r[k]);
  }
}

/* Rows of W per pass of transpose_block: each pass reads G rows from start to end (G
   streams the prefetcher follows) and writes G values = 64 bytes into each row of dst. */
#define G (64 / sizeof(REAL))

/* Block q of W transposed: dst[i*ob + c] = W[(q*ob + c), i] for the block's outputs c,
   zeros after them up to a whole vector (drive reads no further). G rows at a time, all
   columns for each, so that the reads are G sequential streams and each row of dst gets
   64 contiguous bytes. */
static void P(transpose_block)(const REAL *W, size_t nOut, size_t nIn, size_t ob, size_t q, REAL *dst) {
  const size_t o0 = q * ob, rows = o0 + ob <= nOut ? ob : nOut - o0;
  const size_t whole = rows - rows % T, width = (rows + L - 1) / L * L;
  W += o0 * nIn;
  for (size_t c = 0; c < whole; c += G) {
    const size_t g = whole - c < G ? whole - c : G;
    size_t i = 0;
    if (g == G)
      for (; i + T <= nIn; i += T) P(transpose_cols)(W + c * nIn, nIn, i, dst + c, ob, G, 1, 0);
    else
      for (; i + T <= nIn; i += T) P(transpose_cols)(W + c * nIn, nIn, i, dst + c, ob, g, 1, 0);
    for (; i < nIn; i++)
      for (size_t k = c; k < c + g; k++) dst[i * ob + k] = W[k * nIn + i];
  }
  /* the last rows (fewer than T) and zeros, T columns of dst at a time */
  for (size_t c = whole; c < width; c += T) {
    const size_t valid = c < rows ? rows - c : 0;
    if (valid == 0) {
      const P(t32) zero = {0};
      for (size_t i = 0; i < nIn; i++) ST32(dst + i * ob + c, zero);
      continue;
    }
    size_t i = 0;
    for (; i + T <= nIn; i += T) P(transpose_cols)(W + c * nIn, nIn, i, dst + c, ob, T, 0, valid);
    for (; i < nIn; i++)
      for (size_t k = 0; k < T; k++) dst[i * ob + c + k] = k < valid ? W[(c + k) * nIn + i] : 0;
  }
}

/* ---- drive for one or two batch rows: W is not copied. T rows of W are multiplied by
   the x row T columns at a time, the T x T products transposed in registers, and their
   columns added to the T outputs' sums one after another: the same order as any other
   path, at one read of W. (Copying W transposed costs two more passes over W, which for
   a batch row or two is most of the work.) */

/* Groups of T outputs whose sums are carried at once: independent chains of adds. */
#define DG 4

/* s[b, o] for b < mb (1 or 2, constant) and o in [o0, o1), o1 - o0 <= DG * T. With `fuse`
   (constant) also fusedSgd's rest for these rows, on the W vectors drive has just loaded:
   eb[b, i] += pv[b, o] W[o, i] (eb NULL: not) and then W[o, i] += coef * S with
   S = (+0 + pv[0, o] x[0, i]) + pv[1, o] x[1, i]. For eb's order the caller goes through
   the row groups in order; within one, rows are added in order here. */
static inline __attribute__((always_inline)) void P(direct_tile)(const int mb, const int fuse, REAL *restrict W, const REAL *restrict bias,
                                                                 const REAL *restrict x, REAL *restrict s, size_t nOut, size_t nIn, size_t o0, size_t o1,
                                                                 const REAL *restrict pv, REAL *restrict eb, REAL coef) {
  const P(t32) zero = {0};
  const size_t ng = (o1 - o0 + T - 1) / T;
  P(t32) acc[DG][2];
#pragma GCC unroll 4
  for (size_t g = 0; g < DG; g++) acc[g][0] = acc[g][1] = zero;
  size_t i = 0;
  for (; i + T <= nIn; i += T) {
    P(t32) xv[2], ebv[2] = {zero, zero};
#pragma GCC unroll 2
    for (int b = 0; b < mb; b++) {
      xv[b] = LD32(x + (size_t)b * nIn + i);
      if (fuse && eb) ebv[b] = LD32(eb + (size_t)b * nIn + i);
    }
#pragma GCC unroll 4
    for (size_t g = 0; g < DG; g++) {
      if (g >= ng) break;
      const size_t og = o0 + g * T, valid = o1 - og < T ? o1 - og : T;
      P(t32) w[T];
#pragma GCC unroll 8
      for (size_t k = 0; k < T; k++) w[k] = k < valid ? LD32(W + (og + k) * nIn + i) : zero;
#pragma GCC unroll 2
      for (int b = 0; b < mb; b++) {
        P(t32) p[T];
#pragma GCC unroll 8
        for (size_t k = 0; k < T; k++) p[k] = w[k] * xv[b]; /* p[k][j] = W[og+k, i+j] x[b, i+j] */
        P(transpose32)(p);                                   /* p[j][k] = the same product */
#pragma GCC unroll 8
        for (size_t j = 0; j < T; j++) acc[g][b] = acc[g][b] + p[j]; /* columns i, i+1, ... in order */
      }
      if (fuse) {
#pragma GCC unroll 8
        for (size_t k = 0; k < T; k++) {
          if (k >= valid) break;
          const size_t o = og + k;
          if (eb) {
            ebv[0] = ebv[0] + pv[o] * w[k];
            if (mb > 1) ebv[1] = ebv[1] + pv[nOut + o] * w[k];
          }
          P(t32) sum = zero + pv[o] * xv[0];
          if (mb > 1) sum = sum + pv[nOut + o] * xv[1];
          ST32(W + o * nIn + i, w[k] + coef * sum);
        }
      }
    }
    if (fuse && eb)
      for (int b = 0; b < mb; b++) ST32(eb + (size_t)b * nIn + i, ebv[b]);
  }
  for (; i < nIn; i++) {
    /* the last columns (fewer than T): one column of each group at a time */
#pragma GCC unroll 4
    for (size_t g = 0; g < DG; g++) {
      if (g >= ng) break;
      const size_t og = o0 + g * T, valid = o1 - og < T ? o1 - og : T;
      P(t32) w = zero;
      for (size_t k = 0; k < valid; k++) w[k] = W[(og + k) * nIn + i];
#pragma GCC unroll 2
      for (int b = 0; b < mb; b++) acc[g][b] = acc[g][b] + w * x[(size_t)b * nIn + i];
      if (fuse) {
        for (size_t k = 0; k < valid; k++) {
          const size_t o = og + k;
          if (eb) {
            eb[i] = eb[i] + pv[o] * w[k];
            if (mb > 1) eb[nIn + i] = eb[nIn + i] + pv[nOut + o] * w[k];
          }
          REAL sum = 0;
          sum = sum + pv[o] * x[i];
          if (mb > 1) sum = sum + pv[nOut + o] * x[nIn + i];
          W[o * nIn + i] = w[k] + coef * sum;
        }
      }
    }
  }
  for (size_t g = 0; g < ng; g++) {
    const size_t og = o0 + g * T, valid = o1 - og < T ? o1 - og : T;
    for (int b = 0; b < mb; b++)
      for (size_t k = 0; k < valid; k++) s[(size_t)b * nOut + og + k] = bias ? acc[g][b][k] + bias[og + k] : acc[g][b][k];
  }
}

static void P(drive_direct_1)(const REAL *W, const REAL *bias, const REAL *x, REAL *s, size_t nOut, size_t nIn, size_t o0, size_t o1) {
  P(direct_tile)(1, 0, (REAL *)W, bias, x, s, nOut, nIn, o0, o1, NULL, NULL, 0);
}
static void P(drive_direct_2)(const REAL *W, const REAL *bias, const REAL *x, REAL *s, size_t nOut, size_t nIn, size_t o0, size_t o1) {
  P(direct_tile)(2, 0, (REAL *)W, bias, x, s, nOut, nIn, o0, o1, NULL, NULL, 0);
}
static void P(fused_direct_1)(REAL *W, const REAL *bias, const REAL *x, const REAL *pv, REAL *s, REAL *eb, size_t nOut, size_t nIn, size_t o0, size_t o1,
                              REAL coef) {
  P(direct_tile)(1, 1, W, bias, x, s, nOut, nIn, o0, o1, pv, eb, coef);
}
static void P(fused_direct_2)(REAL *W, const REAL *bias, const REAL *x, const REAL *pv, REAL *s, REAL *eb, size_t nOut, size_t nIn, size_t o0, size_t o1,
                              REAL coef) {
  P(direct_tile)(2, 1, W, bias, x, s, nOut, nIn, o0, o1, pv, eb, coef);
}

typedef struct {
  const REAL *W, *bias, *x;
  REAL *s;
  size_t batch, nOut, nIn, per;
} P(direct_t);

/* Outputs [task * per, (task + 1) * per) for every batch row. */
static void P(drive_direct_task)(void *ctx, size_t task) {
  const P(direct_t) *d = ctx;
  const size_t begin = task * d->per, end = begin + d->per < d->nOut ? begin + d->per : d->nOut;
  for (size_t o0 = begin; o0 < end; o0 += DG * T) {
    const size_t o1 = o0 + DG * T < end ? o0 + DG * T : end;
    size_t b = 0;
    for (; b + 2 <= d->batch; b += 2) P(drive_direct_2)(d->W, d->bias, d->x + b * d->nIn, d->s + b * d->nOut, d->nOut, d->nIn, o0, o1);
    if (b < d->batch) P(drive_direct_1)(d->W, d->bias, d->x + b * d->nIn, d->s + b * d->nOut, d->nOut, d->nIn, o0, o1);
  }
}

static void P(drive_direct)(const REAL *W, const REAL *bias, const REAL *x, REAL *s, size_t batch, size_t nOut, size_t nIn) {
  const size_t threads = useful_threads(batch, nOut, nIn), tile = DG * T;
  const size_t tiles = (nOut + tile - 1) / tile, tasks = threads > 1 ? (tiles < 2 * threads ? tiles : 2 * threads) : 1;
  P(direct_t) d = {.W = W, .bias = bias, .x = x, .s = s, .batch = batch, .nOut = nOut, .nIn = nIn};
  d.per = (tiles + tasks - 1) / tasks * tile;
  gle_run_tasks((nOut + d.per - 1) / d.per, P(drive_direct_task), &d);
}
/* How drive cuts its work for more than DRIVE_DIRECT_BATCH rows, and the scratch elements
   it needs (returned). W is transposed in blocks of ob outputs (a multiple of L and of T;
   a block within the L2 panel). Usually each task transposes one block into its own slot
   and computes that block's outputs for every batch row while the block is still in
   cache; tasks run in waves of `wave` blocks, the slots reused from wave to wave. When
   the blocks are too few to keep the threads busy, all of W is transposed first and the
   batch rows are cut too. */
static size_t P(drive_plan)(size_t batch, size_t nOut, size_t nIn, drive_plan_t *plan) {
  plan->direct = batch <= DRIVE_DIRECT_BATCH;
  if (plan->direct) return 0;
  const size_t threads = useful_threads(batch, nOut, nIn);
  /* a multiple of the transposing tile's T too (T > L with 16-byte vectors) */
  plan->ob = round_up(piece_cols(nOut, nIn, sizeof(REAL), L, NR, threads), 32 / sizeof(REAL));
  plan->blocks = (nOut + plan->ob - 1) / plan->ob;
  plan->all = threads > 1 && plan->blocks < 2 * threads;
  plan->wave = threads == 1 ? 1 : plan->all ? plan->blocks : 2 * threads;
  return plan->wave * plan->ob * nIn;
}

typedef struct {
  const REAL *W, *bias, *x;
  REAL *s, *wt;
  size_t batch, nOut, nIn, ob, first;
} P(drive_t);

static void P(transpose_task)(void *ctx, size_t k) {
  const P(drive_t) *d = ctx;
  P(transpose_block)(d->W, d->nOut, d->nIn, d->ob, k, d->wt + k * d->nIn * d->ob);
}

/* Block first + k: transposed into slot k, then its outputs for every batch row. */
static void P(drive_block_task)(void *ctx, size_t k) {
  const P(drive_t) *d = ctx;
  const size_t q = d->first + k, o0 = q * d->ob, rows = o0 + d->ob <= d->nOut ? d->ob : d->nOut - o0;
  REAL *wt = d->wt + k * d->nIn * d->ob;
  P(transpose_block)(d->W, d->nOut, d->nIn, d->ob, q, wt);
  /* C = s (rows b, columns o), A = x (A[b, i]), B = the block (B[i, o - o0]) */
  P(piece)(d->bias ? EPI_BIAS : EPI_STORE, 0, d->batch, rows, d->nIn, d->x, d->nIn, 1, wt, d->ob, NULL, d->s + o0, d->nOut, d->bias ? d->bias + o0 : NULL, 0);
}

/* s[b, o] = (sum_i W[o, i] x[b, i]) + bias[o]. wt: the elements P(drive_plan) returned. */
static void P(drive)(const REAL *W, const REAL *bias, const REAL *x, REAL *s, size_t batch, size_t nOut, size_t nIn, REAL *wt, const drive_plan_t *plan) {
  if (batch == 0 || nOut == 0) return;
  if (plan->direct) {
    P(drive_direct)(W, bias, x, s, batch, nOut, nIn);
    return;
  }
  P(drive_t) d = {.W = W, .bias = bias, .x = x, .s = s, .wt = wt, .batch = batch, .nOut = nOut, .nIn = nIn, .ob = plan->ob};
  if (!plan->all) {
    for (d.first = 0; d.first < plan->blocks; d.first += plan->wave) {
      const size_t left = plan->blocks - d.first;
      gle_run_tasks(left < plan->wave ? left : plan->wave, P(drive_block_task), &d);
    }
    return;
  }
  gle_run_tasks(plan->blocks, P(transpose_task), &d);
  /* C = s (rows b, columns o), A = x (A[b, i]), B = block q of wt (B[i, o - q*ob]) */
  P(job_t) j = {.epi = bias ? EPI_BIAS : EPI_STORE,
                .A = x,
                .sm = nIn,
                .sk = 1,
                .B = wt,
                .ldb = plan->ob,
                .bstep = nIn * plan->ob,
                .tail = NULL,
                .C = s,
                .ldc = nOut,
                .bias = bias,
                .m = batch,
                .n = nOut,
                .kk = nIn,
                .np = plan->ob};
  P(run)(&j);
}

/* The errorDown job: eb[b, i] = sum_o pv[b, o] W[o, i].
   C = eb (rows b, columns i), A = pv (A[b, o]), B = W (B[o, i]). */
static P(job_t) P(error_down_job)(const REAL *W, const REAL *pv, REAL *eb, size_t batch, size_t nOut, size_t nIn, REAL *scratch) {
  return (P(job_t)){.epi = EPI_STORE,
                    .A = pv,
                    .sm = nOut,
                    .sk = 1,
                    .B = W,
                    .ldb = nIn,
                    .tail = P(pack_tail)(W, nIn, nIn, nOut, scratch),
                    .C = eb,
                    .ldc = nIn,
                    .m = batch,
                    .n = nIn,
                    .kk = nOut};
}

/* The gradient job: C[o, i] = epi(sum_b pv[b, o] x[b, i]), gW = coef * S (EPI_SCALE) or
   W = W + coef * S (EPI_AXPY). C = gW or W (rows o, columns i), A = pv (A[o, b] = pv[b, o]),
   B = x (B[b, i]). */
static P(job_t) P(outer_job)(int epi, const REAL *pv, const REAL *x, REAL *C, size_t batch, size_t nOut, size_t nIn, REAL coef, REAL *scratch) {
  return (P(job_t)){.epi = epi,
                    .A = pv,
                    .sm = 1,
                    .sk = nOut,
                    .B = x,
                    .ldb = nIn,
                    .tail = P(pack_tail)(x, nIn, nIn, batch, scratch),
                    .C = C,
                    .ldc = nIn,
                    .coef = coef,
                    .m = nOut,
                    .n = nIn,
                    .kk = batch};
}

/* Scratch elements errorDown needs (the partial last vector of W's columns). */
static size_t P(error_down_scratch)(size_t nOut, size_t nIn) { return nIn % L ? nOut * L : 0; }

static void P(error_down)(const REAL *W, const REAL *pv, REAL *eb, size_t batch, size_t nOut, size_t nIn, REAL *scratch) {
  P(job_t) j = P(error_down_job)(W, pv, eb, batch, nOut, nIn, scratch);
  P(run)(&j);
}

/* Scratch elements the weight gradient / update needs (the partial last vector of x's columns). */
static size_t P(outer_scratch)(size_t batch, size_t nIn) { return nIn % L ? batch * L : 0; }

static void P(outer)(int epi, const REAL *pv, const REAL *x, REAL *C, size_t batch, size_t nOut, size_t nIn, REAL coef, REAL *scratch) {
  P(job_t) j = P(outer_job)(epi, pv, x, C, batch, nOut, nIn, coef, scratch);
  P(run)(&j);
}

/* Column piece c of errorDown, then of the update: the update overwrites W's columns
   only after errorDown has read them, and no other task touches them. */
static void P(pair_task)(void *ctx, size_t c) {
  P(job_t) *j = ctx;
  P(job_task)(&j[0], c);
  P(job_task)(&j[1], c);
}

/* fusedSgd after drive: errorDown with the old W, then W = W + coef * sum_b pv x. On one
   thread in column pieces, each doing both while its columns of W are in cache; on
   several, one after the other, each cut on its own (the update in row ranges: columns
   of W shared between threads would ping-pong their edge cache lines). scratch:
   error_down_scratch + outer_scratch elements. */
static void P(error_down_update)(const REAL *W, const REAL *pv, const REAL *x, REAL *eb, size_t batch, size_t nOut, size_t nIn, REAL coef,
                                 REAL *scratch) {
  P(job_t) j[2] = {P(error_down_job)(W, pv, eb, batch, nOut, nIn, scratch),
                   P(outer_job)(EPI_AXPY, pv, x, (REAL *)W, batch, nOut, nIn, coef, scratch + P(error_down_scratch)(nOut, nIn))};
  /* both products: 2 x batch x nOut x nIn multiply-adds; both panels (W's and x's columns) in cache */
  const size_t threads = useful_threads(2 * batch, nOut, nIn);
  const size_t np = piece_cols(nIn, batch + nOut, sizeof(REAL), L, NR, threads);
  const size_t ncols = (nIn + np - 1) / np;
  if (batch == 0 || nOut == 0 || nIn == 0 || threads > 1) {
    P(run)(&j[0]);
    P(run)(&j[1]);
    return;
  }
  for (int k = 0; k < 2; k++) {
    j[k].np = j[k].bstep = np;
    j[k].ncols = ncols;
    j[k].mp = j[k].m;
    j[k].whole_rows = false;
  }
  run_tasks(1, ncols, P(pair_task), j);
}

/* fusedSgd for one or two batch rows on one thread, in one pass over W: the direct
   drive's tiles, in order of their rows, each also adding its rows' terms to eb and
   updating its rows (fused_direct_*) while their W vectors are in registers. */
static void P(fused_small)(REAL *W, const REAL *bias, const REAL *x, const REAL *pv, REAL *s, REAL *eb, size_t batch, size_t nOut, size_t nIn, REAL coef) {
  if (eb)
    for (size_t k = 0; k < batch * nIn; k++) eb[k] = 0;
  const size_t group = DG * T;
  for (size_t o0 = 0; o0 < nOut; o0 += group) {
    const size_t o1 = o0 + group < nOut ? o0 + group : nOut;
    if (batch == 2)
      P(fused_direct_2)(W, bias, x, pv, s, eb, nOut, nIn, o0, o1, coef);
    else
      P(fused_direct_1)(W, bias, x, pv, s, eb, nOut, nIn, o0, o1, coef);
  }
}

/* fusedSgd: drive and errorDown with the old W, then W = W + coef * sum_b pv x. scratch:
   the elements of P(fused_sgd_scratch). */
static size_t P(fused_sgd_scratch)(size_t batch, size_t nOut, size_t nIn, drive_plan_t *plan) {
  const size_t d = P(drive_plan)(batch, nOut, nIn, plan), rest = P(error_down_scratch)(nOut, nIn) + P(outer_scratch)(batch, nIn);
  return d > rest ? d : rest;
}

static void P(fused_sgd)(REAL *W, const REAL *bias, const REAL *x, const REAL *pv, REAL *s, REAL *eb, size_t batch, size_t nOut, size_t nIn, REAL coef,
                         REAL *scratch, const drive_plan_t *plan) {
  /* one or two rows: one pass on one thread, as the fast kernels do (a pass over W is
     memory bound, and a hand-over to another thread costs more than it saves) */
  if (batch >= 1 && batch <= 2) {
    P(fused_small)(W, bias, x, pv, s, eb, batch, nOut, nIn, coef);
    return;
  }
  /* drive first (scratch: W transposed), then errorDown and the update (scratch: their tails) */
  P(drive)(W, bias, x, s, batch, nOut, nIn, scratch, plan);
  if (eb)
    P(error_down_update)(W, pv, x, eb, batch, nOut, nIn, coef, scratch);
  else
    P(outer)(EPI_AXPY, pv, x, W, batch, nOut, nIn, coef, scratch);
}

#undef V
#undef UV
#undef L
#undef NR
#undef T
#undef G
#undef DG
#undef LD32
#undef ST32
