/*
 * Kernel bodies for one element type and vector width. kernels.c includes this file
 * once per (REAL, VB) pair, so both dtypes share a single source that cannot drift
 * apart. Expected from the includer: REAL, REAL_BYTES, IREAL (same-width integer), VB
 * (vector bytes), K(name) (suffixes the instantiation), KB1(name) (the instantiation
 * used for batch-1 fusedSgd, possibly this one), GLE_LANES_n and the tile constants.
 * Functions are GLE_FN (static, maybe unused): not every instantiation uses all of them.
 *
 * Shape of the work: with several batch rows every op is a small matrix product, done
 * as register tiles (4 batch rows x 4 W rows for drive, 4 batch rows x 4 vectors of
 * columns for errorDown, 4 W rows x 4 vectors for the gradient) inside loops blocked
 * so the reused operand stays in L2. The gradient of a tile is summed over the whole
 * batch in registers and added to W (or written to gW) once. fusedSgd with one batch
 * row is memory bound and makes a single pass over W instead (sgd1_rows).
 *
 * Rows whose length is not a multiple of the vector width end in a partial vector,
 * read and written with the masked loads and stores of vec_impl.h.
 */

#define LANES ((size_t)(VB / sizeof(REAL)))

typedef REAL K(vec) __attribute__((vector_size(VB)));
typedef REAL K(uvec) __attribute__((vector_size(VB), aligned(sizeof(REAL)), may_alias));
typedef IREAL K(ivec) __attribute__((vector_size(VB)));
#define V K(vec)
#define UV K(uvec)
#define IV K(ivec)

#define VEC(name) K(name)
#include "vec_impl.h"
#undef VEC

static inline __attribute__((always_inline)) V K(zero)(void) { V z = {0}; return z; }

/* Pins a value that several FMAs share in a register. Without this gcc folds the load
   into every FMA as a memory operand, so a tile issues one load per FMA and becomes
   load-port bound instead of FMA bound. */
#define PIN(v) __asm__("" : "+v"(v))
static inline __attribute__((always_inline)) V K(bcast)(REAL p) {
  V v = K(zero)() + p;
  PIN(v);
  return v;
}

static inline __attribute__((always_inline)) REAL K(hsum)(V v) {
  REAL s = 0;
#pragma GCC unroll 16
  for (size_t k = 0; k < LANES; k++) s += v[k];
  return s;
}

/* Folds x and y, which hold LANES/g partial sums of g lanes each, into one vector
   holding x's sums then y's, with g/2 lanes each. The masks are spelled out lane by
   lane (not filled in a loop) so that gcc sees constant vectors and emits a single
   two-source permute per shuffle; filled in a loop they were built at run time. */
#define FOLD_AT(k) \
  ((IREAL)(((k) < LANES / 2 ? 0 : LANES) + ((k) % (LANES / 2)) / (g / 2) * g + ((k) % (LANES / 2)) % (g / 2)))
#define FOLD_AT_HI(k) ((IREAL)(FOLD_AT(k) + g / 2))
static inline __attribute__((always_inline)) V K(fold)(V x, V y, size_t g) {
  const IV lo = {GLE_LANE_LIST(FOLD_AT)};
  const IV hi = {GLE_LANE_LIST(FOLD_AT_HI)};
  return __builtin_shuffle(x, y, lo) + __builtin_shuffle(x, y, hi);
}
#undef FOLD_AT
#undef FOLD_AT_HI

/* Writes the sums of mb x no accumulators acc (row-major, mb*no a power of two,
   no <= LANES) to s[m*nOut + r] (+ bias[r] when bias is not NULL); acc is clobbered.
   Reducing many sums together by a tree of two-input shuffles costs about three
   instructions per accumulator instead of 2 log2(LANES) for reducing each on its own,
   which matters for short rows where reductions rival the dot products. The sums stay
   in registers down to (masked) row stores; going through a scratch array and reading
   single lanes back from a just-stored 512-bit vector was a hot spot in profiles. */
static inline __attribute__((always_inline)) void K(store_sums)(
    V *acc, REAL *restrict s, const REAL *restrict bias, size_t nOut, const int mb, const int no) {
  const int n = mb * no;
  int count = n;
#pragma GCC unroll 8
  for (size_t g = LANES; g > 1; g /= 2) {
    const int pairs = count > 1 ? count / 2 : 1;
#pragma GCC unroll 16
    for (int q = 0; q < pairs; q++) acc[q] = K(fold)(acc[2 * q], count > 1 ? acc[2 * q + 1] : acc[0], g);
    count = pairs;
  }
  /* lane k of acc[q] now holds the sum of input q * LANES + k */
  const V b = bias ? ((size_t)no < LANES ? K(ld_part)(bias, (size_t)no) : K(ld)(bias)) : K(zero)();
#pragma GCC unroll 8
  for (int m = 0; m < mb; m++) {
    const size_t off = (size_t)(m * no) % LANES;
    V row = acc[(size_t)(m * no) / LANES];
    if (off) {
#define ROT(k) ((IREAL)(((k) + off) % LANES))
      const IV rot = {GLE_LANE_LIST(ROT)};
#undef ROT
      row = __builtin_shuffle(row, rot);
    }
    if ((size_t)no < LANES)
      K(st_part)(s + m * nOut, row + b, (size_t)no);
    else
      K(st)(s + m * nOut, row + b);
  }
}

/* Rows that fit an L2-resident panel of GLE_PANEL_BYTES, as a multiple of `step`, at least `step`. */
GLE_FN size_t K(panel_rows)(size_t rowElems, size_t step) {
  size_t rows = GLE_PANEL_BYTES / (rowElems * sizeof(REAL) + 1);
  rows -= rows % step;
  return rows < step ? step : rows;
}

/* ------------------------------------------------------------ errorDown ---- */

/* eb[b+m, i + v*LANES] = init[i + v*LANES] + sum_o pv[b+m, o] W[o, i + v*LANES] (init may be
   NULL for 0); W, pv, eb, init point at column i / row b. With tail set, the last of the
   nv vectors has only rem columns. */
static inline __attribute__((always_inline)) void K(ed_tile)(
    const REAL *restrict W, const REAL *restrict pv, REAL *restrict eb, const REAL *restrict init,
    size_t nOut, size_t nIn, size_t rem, const int mb, const int nv, const int tail) {
#define ED_LD(ptr, v) (tail && (v) == nv - 1 ? K(ld_part)((ptr), rem) : K(ld)(ptr))
  V acc[GLE_MAX_MB][GLE_MAX_NV];
#pragma GCC unroll 8
  for (int m = 0; m < mb; m++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) acc[m][v] = init ? ED_LD(init + (size_t)v * LANES, v) : K(zero)();
  /* No skip for pv == 0 as in the TypeScript loop: with dense FMAs a data-dependent
     branch costs more in mispredictions than the work it saves. */
  for (size_t o = 0; o < nOut; o++) {
    V w[GLE_MAX_NV];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      w[v] = ED_LD(W + o * nIn + (size_t)v * LANES, v);
      if (mb > 1) PIN(w[v]);
    }
#pragma GCC unroll 8
    for (int m = 0; m < mb; m++) {
      const V p = nv > 1 ? K(bcast)(pv[m * nOut + o]) : K(zero)() + pv[m * nOut + o];
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++) acc[m][v] += w[v] * p;
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < mb; m++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      REAL *dst = eb + m * nIn + (size_t)v * LANES;
      if (tail && v == nv - 1)
        K(st_part)(dst, acc[m][v], rem);
      else
        K(st)(dst, acc[m][v]);
    }
#undef ED_LD
}

/* Every column for batch rows [bBegin, bEnd) in blocks of mb. Columns are the outer
   loop so the W column strip of one chunk is reused by all row blocks while in cache. */
static inline __attribute__((always_inline)) void K(ed_cols)(
    const REAL *restrict W, const REAL *restrict pv, REAL *restrict eb, const REAL *restrict init,
    size_t bBegin, size_t bEnd, size_t nOut, size_t nIn, const int mb) {
  const int nv = mb == 1 ? GLE_NV_1 : GLE_NV;
  const size_t rem = nIn % LANES;
  size_t i = 0;
  /* Full-width chunks, then halving widths for the leftover vectors: a leftover of a
     few vectors still gets several independent accumulators per row. */
#define ED_CHUNKS(width)                                                                          \
  for (; (width) <= nv && i + (size_t)(width) * LANES <= nIn; i += (size_t)(width) * LANES)       \
    for (size_t b = bBegin; b < bEnd; b += mb)                                                    \
      K(ed_tile)(W + i, pv + b * nOut, eb + b * nIn + i, init ? init + i : NULL, nOut, nIn, 0, mb, (width), 0);
  ED_CHUNKS(nv)
  ED_CHUNKS(4)
  ED_CHUNKS(2)
  ED_CHUNKS(1)
#undef ED_CHUNKS
  if (rem)
    for (size_t b = bBegin; b < bEnd; b += mb)
      K(ed_tile)(W + i, pv + b * nOut, eb + b * nIn + i, init ? init + i : NULL, nOut, nIn, rem, mb, 1, 1);
}

/* eb = pv W, plus init in every row when init is not NULL, for batch rows [bBegin, bEnd).
   Each element is init + a sum over o in order, whatever the tiles, so any cut of the
   rows gives the same bits. */
GLE_FN void K(axpy_rows)(
    const REAL *restrict W, const REAL *restrict pv, REAL *restrict eb, const REAL *restrict init,
    size_t bBegin, size_t bEnd, size_t nOut, size_t nIn) {
  /* Batch-row panels keep the pv rows they read (panel x nOut) in L2 across all column chunks. */
  const size_t panel = K(panel_rows)(nOut, GLE_MB);
  for (size_t b0 = bBegin; b0 < bEnd; b0 += panel) {
    const size_t pEnd = b0 + panel < bEnd ? b0 + panel : bEnd;
    const size_t bMain = b0 + (pEnd - b0) / GLE_MB * GLE_MB;
    if (bMain > b0) K(ed_cols)(W, pv, eb, init, b0, bMain, nOut, nIn, GLE_MB);
    switch (pEnd - bMain) {
      case 1: K(ed_cols)(W, pv, eb, init, bMain, pEnd, nOut, nIn, 1); break;
      case 2: K(ed_cols)(W, pv, eb, init, bMain, pEnd, nOut, nIn, 2); break;
      case 3: K(ed_cols)(W, pv, eb, init, bMain, pEnd, nOut, nIn, 3); break;
      default: break;
    }
  }
}

typedef struct {
  const REAL *W, *pv, *init;
  REAL *eb;
  size_t nOut, nIn;
  gle_cut_t rows;
} K(axpy_job_t);

static void K(axpy_task)(void *ctx, size_t k) {
  const K(axpy_job_t) *j = ctx;
  size_t begin, end;
  gle_cut_range(&j->rows, k, &begin, &end);
  K(axpy_rows)(j->W, j->pv, j->eb, j->init, begin, end, j->nOut, j->nIn);
}

/* axpy_rows over all batch rows, cut into row ranges for the pool. */
GLE_FN void K(axpy_all)(
    const REAL *restrict W, const REAL *restrict pv, REAL *restrict eb, const REAL *restrict init,
    size_t batch, size_t nOut, size_t nIn) {
  K(axpy_job_t) job = {W, pv, init, eb, nOut, nIn, gle_cut(batch, GLE_MB, batch * nOut * nIn)};
  gle_run_tasks(job.rows.parts, K(axpy_task), &job);
}

GLE_FN void K(error_down)(
    const REAL *restrict W, const REAL *restrict pv, REAL *restrict eb, size_t batch, size_t nOut,
    size_t nIn) {
  K(axpy_all)(W, pv, eb, NULL, batch, nOut, nIn);
}

/* ---------------------------------------------------------------- drive ---- */

/* s[b+m, o+r] = bias[o+r] + dot(W[o+r], x[b+m]) for m < mb, r < no. W and x point at row o / b. */
static inline __attribute__((always_inline)) void K(dot_tile)(
    const REAL *restrict W, const REAL *restrict x, REAL *restrict s, const REAL *restrict bias,
    size_t nOut, size_t nIn, const int mb, const int no) {
  V acc[GLE_MAX_MB][GLE_MAX_NO];
#pragma GCC unroll 8
  for (int m = 0; m < mb; m++)
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) acc[m][r] = K(zero)();

  const size_t full = nIn - nIn % LANES;
  for (size_t i = 0; i < full; i += LANES) {
    V w[GLE_MAX_NO];
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) {
      w[r] = K(ld)(W + r * nIn + i);
      if (mb > 1) PIN(w[r]);
    }
#pragma GCC unroll 8
    for (int m = 0; m < mb; m++) {
      V xv = K(ld)(x + m * nIn + i);
      if (no > 1) PIN(xv);
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) acc[m][r] += w[r] * xv;
    }
  }
  if (full != nIn) {
    const size_t rem = nIn - full;
    V w[GLE_MAX_NO];
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) w[r] = K(ld_part)(W + r * nIn + full, rem);
#pragma GCC unroll 8
    for (int m = 0; m < mb; m++) {
      const V xv = K(ld_part)(x + m * nIn + full, rem);
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) acc[m][r] += w[r] * xv;
    }
  }
  const int n = mb * no;
  if ((n & (n - 1)) == 0 && (no <= (int)LANES)) {
    V flat[GLE_MAX_MB * GLE_MAX_NO];
#pragma GCC unroll 8
    for (int m = 0; m < mb; m++)
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) flat[m * no + r] = acc[m][r];
    K(store_sums)(flat, s, bias, nOut, mb, no);
  } else {
#pragma GCC unroll 8
    for (int m = 0; m < mb; m++)
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) {
        const REAL d = K(hsum)(acc[m][r]);
        s[m * nOut + r] = bias ? d + bias[r] : d;
      }
  }
}

/* Outputs [oBegin, oEnd) of the mb batch rows starting at b. A single row (matvec) takes
   more output rows at once so that enough independent sums are in flight. */
static inline __attribute__((always_inline)) void K(drive_rows)(
    const REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, REAL *restrict s,
    size_t b, size_t oBegin, size_t oEnd, size_t nOut, size_t nIn, const int mb) {
  const int no = mb == 1 ? GLE_NO_1 : GLE_NO;
  size_t o = oBegin;
#define DRIVE_ROWS(width)                                          \
  for (; (width) <= no && o + (width) <= oEnd; o += (width))       \
    K(dot_tile)(W + o * nIn, x + b * nIn, s + b * nOut + o, bias ? bias + o : NULL, nOut, nIn, mb, (width));
  DRIVE_ROWS(no)
  DRIVE_ROWS(4)
  DRIVE_ROWS(2)
  DRIVE_ROWS(1)
#undef DRIVE_ROWS
}

/* wt = W^T. Eight W rows at a time, so each store run into a wt row is eight contiguous values. */
GLE_FN void K(transpose)(const REAL *restrict W, REAL *restrict wt, size_t nOut, size_t nIn) {
  size_t o = 0;
  for (; o + 8 <= nOut; o += 8)
    for (size_t i = 0; i < nIn; i++) {
#pragma GCC unroll 8
      for (size_t r = 0; r < 8; r++) wt[i * nOut + o + r] = W[(o + r) * nIn + i];
    }
  for (; o < nOut; o++)
    for (size_t i = 0; i < nIn; i++) wt[i * nOut + o] = W[o * nIn + i];
}

/* The dot-product form of drive for batch rows [b0, bEnd) (one panel) and outputs
   [oBegin, oEnd). The tiles are those of the whole product: oBegin is a multiple of
   GLE_DRIVE_GRAIN (a multiple of every tile width), the leftover outputs and batch rows
   are handled where the whole product would handle them. A sum's reduction tree depends
   on its tile, so this is what makes the bits independent of how the work is cut. */
static void K(drive_block)(
    const REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, REAL *restrict s,
    size_t b0, size_t bEnd, size_t oBegin, size_t oEnd, size_t nOut, size_t nIn) {
  const size_t bMain = b0 + (bEnd - b0) / GLE_MB * GLE_MB;
  size_t o = oBegin;
  for (; o + GLE_NO <= oEnd; o += GLE_NO)
    for (size_t b = b0; b < bMain; b += GLE_MB)
      K(dot_tile)(W + o * nIn, x + b * nIn, s + b * nOut + o, bias ? bias + o : NULL, nOut, nIn, GLE_MB, GLE_NO);
  for (size_t b = b0; b < bMain; b += GLE_MB) {
    const REAL *bo = bias ? bias + o : NULL;
    switch (oEnd - o) {
      case 1: K(dot_tile)(W + o * nIn, x + b * nIn, s + b * nOut + o, bo, nOut, nIn, GLE_MB, 1); break;
      case 2: K(dot_tile)(W + o * nIn, x + b * nIn, s + b * nOut + o, bo, nOut, nIn, GLE_MB, 2); break;
      case 3: K(dot_tile)(W + o * nIn, x + b * nIn, s + b * nOut + o, bo, nOut, nIn, GLE_MB, 3); break;
      default: break;
    }
  }
  switch (bEnd - bMain) {
    case 1: K(drive_rows)(W, bias, x, s, bMain, oBegin, oEnd, nOut, nIn, 1); break;
    case 2: K(drive_rows)(W, bias, x, s, bMain, oBegin, oEnd, nOut, nIn, 2); break;
    case 3: K(drive_rows)(W, bias, x, s, bMain, oBegin, oEnd, nOut, nIn, 3); break;
    default: break;
  }
}

typedef struct {
  const REAL *W, *bias, *x;
  REAL *s;
  size_t batch, nOut, nIn, panel;
  gle_cut_t outs;
} K(drive_job_t);

static void K(drive_task)(void *ctx, size_t k) {
  const K(drive_job_t) *j = ctx;
  const size_t b0 = k / j->outs.parts * j->panel;
  const size_t bEnd = b0 + j->panel < j->batch ? b0 + j->panel : j->batch;
  size_t oBegin, oEnd;
  gle_cut_range(&j->outs, k % j->outs.parts, &oBegin, &oEnd);
  K(drive_block)(j->W, j->bias, j->x, j->s, b0, bEnd, oBegin, oEnd, j->nOut, j->nIn);
}

GLE_FN void K(drive)(
    const REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, REAL *restrict s,
    size_t batch, size_t nOut, size_t nIn) {
  /* Short rows: every output of the dot-product form ends in a horizontal reduction
     that costs about as much as a short dot product itself. With several batch rows
     it pays to transpose W once into a stack buffer and compute s = x W^T in the
     errorDown form, which vectorises along the outputs and has no reductions. */
  if (batch >= GLE_TRANSPOSE_MIN_BATCH && nOut >= 4 * LANES && nIn <= GLE_TRANSPOSE_MAX_IN &&
      nIn * nOut <= GLE_TRANSPOSE_BYTES / sizeof(REAL)) {
    REAL wt[GLE_TRANSPOSE_BYTES / sizeof(REAL)];
    K(transpose)(W, wt, nOut, nIn);
    K(axpy_all)(wt, x, s, bias, batch, nIn, nOut);
    return;
  }
  /* A panel of x rows stays in L2 while every W row block passes over it, so W is
     streamed batch/panel times instead of batch/GLE_MB times. The tasks are panels times
     ranges of outputs. */
  const size_t panel = K(panel_rows)(nIn, GLE_MB);
  const size_t panels = (batch + panel - 1) / panel;
  K(drive_job_t) job = {W, bias, x, s, batch, nOut, nIn, panel, gle_cut_shared(nOut, GLE_DRIVE_GRAIN, batch * nOut * nIn, panels)};
  gle_run_tasks(panels * job.outs.parts, K(drive_task), &job);
}

/* ------------------------------------------- weightGrad / SGD update ---- */

/* acc[r][v] = sum_b pv[b, o+r] x[b, i + v*LANES], then either gW = coef * acc
   (update == 0) or W += coef * acc (update != 0). pv, x, out point at column o / i
   and row o / column i respectively. With tail set, the last vector has rem columns. */
static inline __attribute__((always_inline)) void K(outer_tile)(
    const REAL *restrict pv, const REAL *restrict x, REAL *restrict out,
    size_t batch, size_t nOut, size_t nIn, REAL coef, size_t rem,
    const int update, const int no, const int nv, const int tail) {
  V acc[GLE_MAX_NO][GLE_MAX_NV];
#pragma GCC unroll 8
  for (int r = 0; r < no; r++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) acc[r][v] = K(zero)();
  for (size_t b = 0; b < batch; b++) {
    V p[GLE_MAX_NO];
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) p[r] = nv > 1 ? K(bcast)(pv[b * nOut + r]) : K(zero)() + pv[b * nOut + r];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      const REAL *src = x + b * nIn + (size_t)v * LANES;
      V xv = tail && v == nv - 1 ? K(ld_part)(src, rem) : K(ld)(src);
      if (no > 1) PIN(xv);
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) acc[r][v] += xv * p[r];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < no; r++)
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
      REAL *dst = out + r * nIn + (size_t)v * LANES;
      const V delta = acc[r][v] * coef;
      if (tail && v == nv - 1)
        K(st_part)(dst, update ? K(ld_part)(dst, rem) + delta : delta, rem);
      else
        K(st)(dst, update ? K(ld)(dst) + delta : delta);
    }
}

/* Every column for output rows [oBegin, oEnd) in blocks of no; see ed_cols for the order. */
static inline __attribute__((always_inline)) void K(outer_cols)(
    const REAL *restrict pv, const REAL *restrict x, REAL *restrict out,
    size_t oBegin, size_t oEnd, size_t batch, size_t nOut, size_t nIn, REAL coef,
    const int update, const int no) {
  const int nv = no == 1 ? GLE_NV_1 : GLE_OUT_NV;
  const size_t rem = nIn % LANES;
  size_t i = 0;
#define OUTER_CHUNKS(width)                                                                 \
  for (; (width) <= nv && i + (size_t)(width) * LANES <= nIn; i += (size_t)(width) * LANES) \
    for (size_t o = oBegin; o < oEnd; o += no)                                              \
      K(outer_tile)(pv + o, x + i, out + o * nIn + i, batch, nOut, nIn, coef, 0, update, no, (width), 0);
  OUTER_CHUNKS(nv)
  OUTER_CHUNKS(4)
  OUTER_CHUNKS(2)
  OUTER_CHUNKS(1)
#undef OUTER_CHUNKS
  if (rem)
    for (size_t o = oBegin; o < oEnd; o += no)
      K(outer_tile)(pv + o, x + i, out + o * nIn + i, batch, nOut, nIn, coef, rem, update, no, 1, 1);
}

/* Output rows [oBegin, oEnd). Each element is a sum over the batch in order, whatever the
   tiles, so any cut of the rows gives the same bits. */
static void K(outer_range)(
    const REAL *restrict pv, const REAL *restrict x, REAL *restrict out, size_t batch, size_t nOut,
    size_t nIn, REAL coef, int update, size_t oBegin, size_t oEnd) {
  /* Output-row panels keep the pv columns they read (batch x panel) in L2 across all column chunks. */
  const size_t panel = K(panel_rows)(batch ? batch : 1, GLE_OUT_NO);
  for (size_t o0 = oBegin; o0 < oEnd; o0 += panel) {
    const size_t pEnd = o0 + panel < oEnd ? o0 + panel : oEnd;
    const size_t oMain = o0 + (pEnd - o0) / GLE_OUT_NO * GLE_OUT_NO;
    /* update and the leftover row count become compile-time constants in each call */
#define OUTER_BLOCK(upd)                                                                           \
    if (oMain > o0) K(outer_cols)(pv, x, out, o0, oMain, batch, nOut, nIn, coef, (upd), GLE_OUT_NO); \
    switch (pEnd - oMain) {                                                                         \
      case 1: K(outer_cols)(pv, x, out, oMain, pEnd, batch, nOut, nIn, coef, (upd), 1); break;      \
      case 2: K(outer_cols)(pv, x, out, oMain, pEnd, batch, nOut, nIn, coef, (upd), 2); break;      \
      case 3: K(outer_cols)(pv, x, out, oMain, pEnd, batch, nOut, nIn, coef, (upd), 3); break;      \
      default: break;                                                                               \
    }
    if (update) {
      OUTER_BLOCK(1)
    } else {
      OUTER_BLOCK(0)
    }
#undef OUTER_BLOCK
  }
}

typedef struct {
  const REAL *pv, *x;
  REAL *out;
  size_t batch, nOut, nIn;
  REAL coef;
  int update;
  gle_cut_t rows;
} K(outer_job_t);

static void K(outer_task)(void *ctx, size_t k) {
  const K(outer_job_t) *j = ctx;
  size_t begin, end;
  gle_cut_range(&j->rows, k, &begin, &end);
  K(outer_range)(j->pv, j->x, j->out, j->batch, j->nOut, j->nIn, j->coef, j->update, begin, end);
}

GLE_FN void K(outer)(
    const REAL *restrict pv, const REAL *restrict x, REAL *restrict out, size_t batch, size_t nOut,
    size_t nIn, REAL coef, int update) {
  K(outer_job_t) job = {pv, x, out, batch, nOut, nIn, coef, update, gle_cut(nOut, GLE_OUT_NO, batch * nOut * nIn)};
  gle_run_tasks(job.rows.parts, K(outer_task), &job);
}

GLE_FN void K(weight_grad)(
    const REAL *restrict pv, const REAL *restrict x, REAL *restrict gW, size_t batch, size_t nOut,
    size_t nIn) {
  K(outer)(pv, x, gW, batch, nOut, nIn, (REAL)(-1.0 / (double)batch), 0);
}

/* ------------------------------------------------------------- fusedSgd ---- */

/* Batch 1, output rows o..o+no-1: dot product, error push-down and weight update in
   one pass over these W rows. Every W vector is loaded once, used for s and eb with
   its old value, and stored updated. */
static inline __attribute__((always_inline)) void K(sgd1_rows)(
    REAL *restrict W, const REAL *restrict x, const REAL *restrict pv, REAL *restrict s,
    const REAL *restrict bias, REAL *restrict eb, V *ebTail, size_t nIn, REAL scale, const int withEb, const int no) {
  V acc[GLE_MAX_NO];
  REAL p[GLE_MAX_NO], a[GLE_MAX_NO];
#pragma GCC unroll 8
  for (int r = 0; r < no; r++) {
    acc[r] = K(zero)();
    p[r] = pv[r];
    a[r] = scale * pv[r];
  }
  const size_t full = nIn - nIn % LANES;
  for (size_t i = 0; i < full; i += LANES) {
    const V xv = K(ld)(x + i);
    V w[GLE_MAX_NO];
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) {
      w[r] = K(ld)(W + r * nIn + i);
      acc[r] += w[r] * xv;
    }
    if (withEb) {
      /* Summed apart from eb so that the chain through eb, which the next row block
         loads again, is one add long instead of no FMAs long. */
      V e = w[0] * p[0];
#pragma GCC unroll 8
      for (int r = 1; r < no; r++) e += w[r] * p[r];
      K(st)(eb + i, K(ld)(eb + i) + e);
    }
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) K(st)(W + r * nIn + i, w[r] + xv * a[r]);
  }
  if (full != nIn) {
    const size_t rem = nIn - full;
    const V xv = K(ld_part)(x + full, rem);
    V w[GLE_MAX_NO];
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) {
      w[r] = K(ld_part)(W + r * nIn + full, rem);
      acc[r] += w[r] * xv;
    }
    if (withEb) {
      /* The partial tail of eb stays in a register across all row blocks: a masked
         load is not forwarded from the masked store before it and would stall. */
#pragma GCC unroll 8
      for (int r = 0; r < no; r++) *ebTail += w[r] * p[r];
    }
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) K(st_part)(W + r * nIn + full, w[r] + xv * a[r], rem);
  }
  if ((no & (no - 1)) == 0 && no <= (int)LANES) {
    K(store_sums)(acc, s, bias, 0, 1, no);
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < no; r++) {
      const REAL d = K(hsum)(acc[r]);
      s[r] = bias ? d + bias[r] : d;
    }
  }
}

static inline __attribute__((always_inline)) void K(sgd1)(
    REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, const REAL *restrict pv,
    REAL *restrict s, REAL *restrict eb, size_t nOut, size_t nIn, REAL scale, const int withEb) {
  size_t o = 0;
  V ebTail = K(zero)();
#define SGD1_ROWS(width)                                              \
  for (; (width) <= GLE_SGD1_NO && o + (width) <= nOut; o += (width)) \
    K(sgd1_rows)(W + o * nIn, x, pv + o, s + o, bias ? bias + o : NULL, eb, &ebTail, nIn, scale, withEb, (width));
  SGD1_ROWS(GLE_SGD1_NO)
  SGD1_ROWS(2)
  SGD1_ROWS(1)
#undef SGD1_ROWS
  const size_t full = nIn - nIn % LANES;
  if (withEb && full != nIn) K(st_part)(eb + full, ebTail, nIn - full);
}

GLE_FN void K(fused_sgd_b1)(
    REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, const REAL *restrict pv,
    REAL *restrict s, REAL *restrict eb, size_t nOut, size_t nIn, REAL scale) {
  if (eb) {
    memset(eb, 0, nIn * sizeof(REAL));
    K(sgd1)(W, bias, x, pv, s, eb, nOut, nIn, scale, 1);
  } else {
    K(sgd1)(W, bias, x, pv, s, NULL, nOut, nIn, scale, 0);
  }
}

GLE_FN void K(fused_sgd)(
    REAL *restrict W, const REAL *restrict bias, const REAL *restrict x, const REAL *restrict pv,
    REAL *restrict s, REAL *restrict eb, size_t batch, size_t nOut, size_t nIn, REAL scale) {
  if (batch == 1) {
    if (nIn * sizeof(REAL) <= GLE_B1_NARROW_ROW_BYTES)
      KB1(fused_sgd_b1)(W, bias, x, pv, s, eb, nOut, nIn, scale);
    else
      K(fused_sgd_b1)(W, bias, x, pv, s, eb, nOut, nIn, scale);
    return;
  }
  /* With several batch rows the work is compute bound, so three cache-blocked passes
     over W (two reading the old weights, one updating) beat one pass that would have
     to stream x, pv and eb once per output row. */
  K(drive)(W, bias, x, s, batch, nOut, nIn);
  if (eb) K(error_down)(W, pv, eb, batch, nOut, nIn);
  K(outer)(pv, x, W, batch, nOut, nIn, scale, 1);
}

#undef V
#undef UV
#undef IV
#undef LANES
#undef GLE_LANE_LIST
