#include "vmm/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int loop_init(struct loop *l)
{
	l->ep = epoll_create1(EPOLL_CLOEXEC);
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

void loop_del(struct loop *l, struct watch *w)
{
	epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

void loop_run_once(struct loop *l)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->ep, evs, 16, -1);

	/* A watch is only ever removed by its own callback, so the events
	 * of this batch stay valid while it runs. */
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;

		w->fn(w, evs[i].events);
	}
}
