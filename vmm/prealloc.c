#include "vmm/prealloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/config.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* A step: small enough for progress and a prompt cancel, a multiple of
 * every huge page size up to 1G. */
#define STEP (1024ull << 20)

/* delay_ms: the test hook's pause before each step. */
static int populate(uint8_t *hva, uint64_t size, uint64_t *done,
		    const int *cancel, unsigned int delay_ms)
{
	for (uint64_t off = 0; off < size; off += STEP) {
		uint64_t n = size - off < STEP ? size - off : STEP;

		if (delay_ms)
			usleep(delay_ms * 1000u);
		if (cancel && atomic_load((_Atomic int *)cancel))
			return -ECANCELED;
		/* An empty huge page pool or a memory limit is this call's
		 * error, never a SIGBUS while the guest runs. */
		if (madvise(hva + off, n, MADV_POPULATE_WRITE) < 0)
			return -errno;
		if (done)
			atomic_fetch_add((_Atomic uint64_t *)done, n);
	}
	return 0;
}

int prealloc_populate(uint8_t *hva, uint64_t size, uint64_t *done,
		      const int *cancel)
{
	return populate(hva, size, done, cancel, 0);
}

/* One slice of a job, on a helper thread (QEMU's prealloc-threads). */
struct slice {
	struct prealloc_job *j;
	uint8_t *hva;
	uint64_t size;
	pthread_t thread;
	bool started; /* on a helper thread, to be joined */
	int result;
};

static void *slice_thread(void *arg)
{
	struct slice *s = arg;

	s->result = populate(s->hva, s->size, &s->j->done, &s->j->cancel,
			     s->j->p->test_step_ms);
	return NULL;
}

/* The job in threads slices of whole 2M (every huge page size divides
 * the slices' starts but 1G; a 1G page is populated by one thread). */
static int populate_job(struct prealloc_job *j)
{
	struct slice s[PREALLOC_MAX_THREADS];
	uint64_t chunk = (j->size / j->threads + (2u << 20) - 1) &
			 ~((2ull << 20) - 1);
	unsigned int n = 0;
	int r = 0;

	for (uint64_t off = 0; off < j->size && n < j->threads; off += chunk) {
		s[n] = (struct slice){ .j = j, .hva = j->hva + off,
				       .size = j->size - off < chunk ?
					       j->size - off : chunk };
		/* Slice 0 runs here; a helper that cannot start runs here too. */
		s[n].started = n > 0 && pthread_create(&s[n].thread, NULL,
						       slice_thread, &s[n]) == 0;
		n++;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].started)
			pthread_join(s[i].thread, NULL);
		else
			slice_thread(&s[i]);
		if (s[i].result && !r)
			r = s[i].result;
	}
	return r;
}

static void *job_thread(void *arg)
{
	struct prealloc_job *j = arg;
	uint64_t one = 1;

	j->result = populate_job(j);
	atomic_store((_Atomic int *)&j->finished, 1);
	/* The main loop reads the eventfd; a failed write would lose only
	 * the wake-up, and the next one finds this job finished too. */
	if (write(j->p->done_w.fd, &one, sizeof(one)) < 0)
		return NULL;
	return NULL;
}

static void set_ticking(struct prealloc *p, bool on)
{
	struct itimerspec t = { 0 };

	if (on) {
		t.it_value.tv_sec = 1;
		t.it_interval.tv_sec = 1;
	}
	timerfd_settime(p->tick_w.fd, 0, &t, NULL);
}

/* Joins finished jobs (all of them with wait) and reports each. */
static void reap(struct prealloc *p, bool wait)
{
	struct prealloc_job **pj = &p->jobs;

	while (*pj) {
		struct prealloc_job *j = *pj;

		if (!wait && !atomic_load((_Atomic int *)&j->finished)) {
			pj = &j->next;
			continue;
		}
		pthread_join(j->thread, NULL);
		*pj = j->next;
		p->ops.finished(p->ops.ctx, j->cookie, j->result);
		free(j);
	}
	if (!p->jobs)
		set_ticking(p, false);
}

/* Reads the count of an eventfd or timerfd; false if it failed. */
static bool drain(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) >= 0 || errno == EAGAIN;
}

static void on_done(struct watch *w, uint32_t events)
{
	(void)events;
	if (drain(w->fd))
		reap(w->ctx, false);
}

static void on_tick(struct watch *w, uint32_t events)
{
	struct prealloc *p = w->ctx;

	(void)events;
	if (!drain(w->fd))
		return;
	for (struct prealloc_job *j = p->jobs; j; j = j->next)
		if (!atomic_load((_Atomic int *)&j->finished))
			p->ops.progress(p->ops.ctx, j->cookie,
					atomic_load((_Atomic uint64_t *)&j->done),
					j->size);
}

int prealloc_init(struct prealloc *p, struct loop *loop,
		  struct prealloc_ops ops)
{
	int r;

	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->ops = ops;
	p->test_step_ms = config_test_ms("MEMPLUG_TEST_PREALLOC_STEP_MS");
	p->done_w = (struct watch){ eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
				    on_done, p };
	p->tick_w = (struct watch){
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
		on_tick, p };
	if (p->done_w.fd < 0 || p->tick_w.fd < 0)
		return -errno;
	if ((r = loop_add(loop, &p->done_w)) < 0 ||
	    (r = loop_add(loop, &p->tick_w)) < 0)
		return r;
	return 0;
}

void prealloc_fini(struct prealloc *p)
{
	for (struct prealloc_job *j = p->jobs; j; j = j->next)
		atomic_store((_Atomic int *)&j->cancel, 1);
	reap(p, true);
	if (p->done_w.fd >= 0) {
		loop_del(p->loop, &p->done_w);
		close(p->done_w.fd);
	}
	if (p->tick_w.fd >= 0) {
		loop_del(p->loop, &p->tick_w);
		close(p->tick_w.fd);
	}
	p->done_w.fd = p->tick_w.fd = -1;
}

int prealloc_start(struct prealloc *p, uint8_t *hva, uint64_t size,
		   unsigned int threads, void *cookie)
{
	struct prealloc_job *j = calloc(1, sizeof(*j));
	int r;

	if (!j)
		return -ENOMEM;
	j->p = p;
	j->hva = hva;
	j->size = size;
	j->threads = threads < 1 ? 1 : threads > PREALLOC_MAX_THREADS ?
		     PREALLOC_MAX_THREADS : threads;
	j->cookie = cookie;
	r = pthread_create(&j->thread, NULL, job_thread, j);
	if (r) {
		free(j);
		return -r;
	}
	j->next = p->jobs;
	p->jobs = j;
	set_ticking(p, true);
	return 0;
}
