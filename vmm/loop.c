#include "vmm/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int loop_init(struct loop *l)
{
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->batch = NULL;
	l->batch_n = 0;
	return l->ep < 0 ? -errno : 0;
}

void loop_fini(struct loop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}

int loop_add(struct loop *l, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(l->ep, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

int loop_mod(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->ep, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, struct watch *w)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
	/* Any callback may remove and free any watch, not only its own (an
	 * event that fails to reach a client closes that client): events of
	 * the running batch for w must not reach it. */
	for (int i = 0; i < l->batch_n; i++)
		if (l->batch[i].data.ptr == w)
			l->batch[i].data.ptr = NULL;
}

void loop_run_once(struct loop *l)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->ep, evs, 16, -1);

	l->batch = evs;
	l->batch_n = n > 0 ? n : 0;
	for (int i = 0; i < l->batch_n; i++) {
		struct watch *w = evs[i].data.ptr;

		if (w)
			w->fn(w, evs[i].events);
	}
	l->batch = NULL;
	l->batch_n = 0;
}
