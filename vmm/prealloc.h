/* Preallocation of backend memory on worker threads: populating gigabytes
 * takes seconds (2G froze the control socket for 6.9 s when it ran on the
 * main loop), so each request gets a thread, the main loop goes on, and
 * the owner hears of progress once a second and of the end. */
#ifndef MEMPLUG_VMM_PREALLOC_H
#define MEMPLUG_VMM_PREALLOC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/loop.h"

struct prealloc_job {
	struct prealloc *p;
	struct prealloc_job *next;
	uint8_t *hva;
	uint64_t size;
	unsigned int threads;
	void *cookie;
	pthread_t thread;
	uint64_t done;  /* bytes populated; atomic */
	int cancel;     /* atomic */
	int finished;   /* atomic: result is set */
	int result;     /* 0 or -errno */
};

struct prealloc_ops {
	/* Main thread, once a second while a job runs. */
	void (*progress)(void *ctx, void *cookie, uint64_t done, uint64_t size);
	/* Main thread, when a job ended: r is 0, -ECANCELED (prealloc_fini)
	 * or the -errno of the populate. */
	void (*finished)(void *ctx, void *cookie, int r);
	void *ctx;
};

struct prealloc {
	struct loop *loop;
	struct prealloc_ops ops;
	struct watch done_w; /* eventfd: a worker finished */
	struct watch tick_w; /* timerfd: progress */
	struct prealloc_job *jobs;
	/* MEMPLUG_TEST_PREALLOC_STEP_MS, a test-only hook (README): each
	 * step of a job waits this long first, so a test sees a populate in
	 * progress whatever the host's speed. */
	unsigned int test_step_ms;
};

/* QEMU's prealloc-threads, at most. */
#define PREALLOC_MAX_THREADS 16

int prealloc_init(struct prealloc *p, struct loop *loop,
		  struct prealloc_ops ops);
/* Cancels and joins every job (each finishes with -ECANCELED). */
void prealloc_fini(struct prealloc *p);
/* Populates [hva, hva + size) on a new thread, split over threads
 * threads (QEMU's prealloc-threads, 1 to PREALLOC_MAX_THREADS). Returns 0
 * or -errno. */
int prealloc_start(struct prealloc *p, uint8_t *hva, uint64_t size,
		   unsigned int threads, void *cookie);
/* The populate itself, in steps of 1G (done and cancel may be NULL): 0,
 * -errno, or -ECANCELED when *cancel became set. */
int prealloc_populate(uint8_t *hva, uint64_t size, uint64_t *done,
		      const int *cancel);

#endif
