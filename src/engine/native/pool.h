/*
 * A fixed pool of native threads for one run's batched work. The caller cuts its work
 * into tasks whose outputs are disjoint and whose results do not depend on which thread
 * runs them; the pool only decides who runs which task. So a result is the same bits for
 * any thread count as long as the caller's cut does not depend on the thread count, or the
 * bits of each output do not depend on the cut (see kernels_impl.h for which is which).
 */
#ifndef GLE_POOL_H
#define GLE_POOL_H

#include <stddef.h>

/* Products smaller than this many multiply-adds run as one task. Measured on the 2-core
   development machine (2026-11-30), whole training steps on 1 and 2 threads: below a few
   million multiply-adds a second thread made steps slower (40-100-100-10 at batch 256,
   2.6 M per product: 4300-4500 steps/s on one thread, 3400-3600 on two), because the
   inputs and outputs of every hand-over move between the cores' caches; at 7.5 M
   (784-300-100-10, batch 32) it gained 3-7 %, at 120 M (batch 512) 60 %. */
#ifndef GLE_PARALLEL_MIN_WORK
#define GLE_PARALLEL_MIN_WORK 4000000u
#endif

typedef void (*gle_task_fn)(void *ctx, size_t task);

/* Threads the pool uses (>= 1; 1 = everything on the calling thread). */
__attribute__((visibility("hidden"))) size_t gle_threads(void);

/* Jobs the pool has handed to its workers since the library was loaded. */
__attribute__((visibility("hidden"))) size_t gle_shared_jobs(void);

/* Sets the thread count (clamped to 1..64); starts or stops workers as needed. Not
   thread-safe: call it from the JS thread between kernel calls. */
__attribute__((visibility("hidden"))) void gle_set_threads(size_t threads);

/* Runs fn(ctx, k) for k in [0, tasks) and returns when all have finished. The calling
   thread takes part. With one thread, or one task, no other thread is involved. */
__attribute__((visibility("hidden"))) void gle_run_tasks(size_t tasks, gle_task_fn fn, void *ctx);

#endif
