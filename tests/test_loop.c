/* The main loop's dispatch: a callback may remove (and free) another watch
 * whose event is in the same batch (issue 10, finding 1: a failed event
 * send closed a client whose hangup was next in the batch). */
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit.h"
#include "vmm/loop.h"

struct pair {
	struct loop *l;
	struct watch a, b;
	int a_calls, b_calls;
	int b_removed;
};

static void a_removes_b(struct watch *w, uint32_t events)
{
	struct pair *p = w->ctx;

	(void)events;
	p->a_calls++;
	if (!p->b_removed) {
		loop_del(p->l, &p->b);
		p->b_removed = 1;
	}
}

static void b_counts(struct watch *w, uint32_t events)
{
	struct pair *p = w->ctx;

	(void)events;
	p->b_calls++;
}

/* a's event first, b's second, in one batch (epoll reports ready fds in
 * the order they became ready). */
static void event_after_removal_is_dropped(void)
{
	struct loop l;
	struct pair p = { .l = &l };
	uint64_t one = 1;
	int fa = eventfd(0, EFD_NONBLOCK), fb = eventfd(0, EFD_NONBLOCK);

	CHECK(fa >= 0 && fb >= 0);
	CHECK_EQ(loop_init(&l), 0);
	p.a = (struct watch){ fa, a_removes_b, &p };
	p.b = (struct watch){ fb, b_counts, &p };
	CHECK_EQ(loop_add(&l, &p.a), 0);
	CHECK_EQ(loop_add(&l, &p.b), 0);
	CHECK(write(fa, &one, 8) == 8 && write(fb, &one, 8) == 8);
	for (int tries = 0; tries < 100 && !p.b_removed; tries++)
		loop_run_once(&l);
	CHECK(p.b_removed);
	CHECK_EQ(p.b_calls, 0);
	loop_fini(&l);
	close(fa);
	close(fb);
}

static void mod_watches_for_output(void)
{
	struct loop l;
	struct pair p = { .l = &l };
	int fd = eventfd(0, EFD_NONBLOCK);

	CHECK(fd >= 0);
	CHECK_EQ(loop_init(&l), 0);
	p.b = (struct watch){ fd, b_counts, &p };
	CHECK_EQ(loop_add(&l, &p.b), 0);
	/* An eventfd is always writable: with EPOLLOUT it fires at once. */
	CHECK_EQ(loop_mod(&l, &p.b, EPOLLIN | EPOLLOUT), 0);
	loop_run_once(&l);
	CHECK_EQ(p.b_calls, 1);
	loop_del(&l, &p.b);
	CHECK_EQ(loop_mod(&l, &p.b, EPOLLIN), -ENOENT);
	loop_fini(&l);
	close(fd);
}

UNIT_MAIN(UNIT_CASE(event_after_removal_is_dropped),
	  UNIT_CASE(mod_watches_for_output))
