/*
 * The thread pool of pool.h: threads - 1 workers plus the calling thread.
 *
 * A job is published by bumping a generation number. Tasks are claimed from one 64-bit
 * ticket holding (generation << 32 | task count << 16 | next task) by compare-and-swap,
 * so a worker that arrives late can never claim a task of a newer job with an older
 * job's function: the swap fails as soon as the generation has moved on, and the count
 * it compares with comes from the same word. A job's function and context are read only
 * after a task is claimed, and the caller rewrites them only after every task has
 * finished. The caller takes part in its own job and returns when all are done.
 *
 * Idle workers spin for a short while (the next kernel call of a training step usually
 * follows within microseconds) and then sleep on a condition variable, so a pool left
 * idle between epochs or runs costs no CPU.
 */
#include "pool.h"

#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_THREADS 64
/* How long an idle worker spins before it sleeps. Waking a sleeping thread costs tens
   of microseconds on bare metal and up to milliseconds in a virtual machine whose idle
   vCPU the host has descheduled, while the gaps between the kernel calls of a training
   step (the per-neuron work) are about a millisecond; so workers spin through them. */
#ifndef GLE_SPIN_NS
#define GLE_SPIN_NS 5000000L
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

typedef struct {
  gle_task_fn fn;
  void *ctx;
} job_t;

#define MAX_TASKS 0xffffu

static size_t thread_count = 1;
static size_t worker_count = 0;
static pthread_t workers[MAX_THREADS];

static job_t job;
static atomic_uint_fast64_t ticket;  /* generation << 32 | tasks << 16 | next task */
static atomic_uint generation;
static atomic_size_t finished;        /* tasks of the current job finished */
static atomic_bool quitting;
static atomic_int sleepers;
/* Node worker threads share this library: one JS thread at a time owns the pool, any
   other runs its tasks on its own thread (the same tasks, so the same bits). */
static atomic_flag in_use = ATOMIC_FLAG_INIT;
/* Jobs handed to the workers so far (tests use it to know the threaded path ran). */
static atomic_size_t shared_jobs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

/* Runs tasks of job `gen` until none is left or the job is no longer current. */
static void work_on(unsigned gen) {
  for (;;) {
    uint64_t t = atomic_load_explicit(&ticket, memory_order_acquire);
    if ((unsigned)(t >> 32) != gen) return;
    const size_t k = (size_t)(t & MAX_TASKS);
    if (k >= (size_t)((t >> 16) & MAX_TASKS)) return;
    if (!atomic_compare_exchange_weak_explicit(&ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    /* The job cannot change while one of its tasks is unfinished, so fn and ctx are this job's. */
    job.fn(job.ctx, k);
    atomic_fetch_add_explicit(&finished, 1, memory_order_release);
  }
}

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static unsigned await_generation(unsigned seen) {
  const long until = now_ns() + GLE_SPIN_NS;
  for (unsigned spins = 1;; spins++) {
    const unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
    if (gen != seen || atomic_load(&quitting)) return gen;
    cpu_relax();
    if (spins % 256 == 0 && now_ns() > until) break;
  }
  pthread_mutex_lock(&lock);
  atomic_fetch_add(&sleepers, 1);
  while (atomic_load(&generation) == seen && !atomic_load(&quitting)) pthread_cond_wait(&wake, &lock);
  atomic_fetch_sub(&sleepers, 1);
  pthread_mutex_unlock(&lock);
  return atomic_load(&generation);
}

static void *worker_main(void *arg) {
  unsigned seen = (unsigned)(uintptr_t)arg;
  for (;;) {
    seen = await_generation(seen);
    if (atomic_load(&quitting)) return NULL;
    work_on(seen);
  }
}

static void stop_workers(void) {
  pthread_mutex_lock(&lock);
  atomic_store(&quitting, true);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  for (size_t w = 0; w < worker_count; w++) pthread_join(workers[w], NULL);
  worker_count = 0;
  atomic_store(&quitting, false);
}

size_t gle_threads(void) { return thread_count; }

size_t gle_shared_jobs(void) { return atomic_load_explicit(&shared_jobs, memory_order_relaxed); }

void gle_set_threads(size_t threads) {
  threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
  if (threads == thread_count) return;
  stop_workers();
  thread_count = 1;
  const unsigned gen = atomic_load(&generation);
  for (size_t w = 0; w + 1 < threads; w++) {
    if (pthread_create(&workers[w], NULL, worker_main, (void *)(uintptr_t)gen) != 0) break;
    worker_count++;
  }
  /* Fewer workers than asked (the system refused a thread) still run every job correctly. */
  thread_count = worker_count + 1;
}

void gle_run_tasks(size_t tasks, gle_task_fn fn, void *ctx) {
  if (tasks == 0) return;
  if (worker_count == 0 || tasks == 1 || tasks > MAX_TASKS || atomic_flag_test_and_set(&in_use)) {
    for (size_t k = 0; k < tasks; k++) fn(ctx, k);
    return;
  }
  atomic_fetch_add_explicit(&shared_jobs, 1, memory_order_relaxed);
  const unsigned gen = atomic_load(&generation) + 1;
  job.fn = fn;
  job.ctx = ctx;
  atomic_store(&finished, 0);
  atomic_store_explicit(&ticket, (uint64_t)gen << 32 | (uint64_t)tasks << 16, memory_order_release);
  atomic_store(&generation, gen);
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
  }
  work_on(gen);
  while (atomic_load_explicit(&finished, memory_order_acquire) < tasks) cpu_relax();
  atomic_flag_clear(&in_use);
}
