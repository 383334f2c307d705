/* The main thread's event loop: epoll over file descriptors, each with a
 * callback. It outlives a guest reset, as does the control socket. */
#ifndef MEMPLUG_VMM_LOOP_H
#define MEMPLUG_VMM_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct watch {
	int fd;
	void (*fn)(struct watch *w, uint32_t events);
	void *ctx;
};

struct loop {
	int ep;
	struct epoll_event *batch; /* the events being dispatched */
	int batch_n;
};

int loop_init(struct loop *l);
void loop_fini(struct loop *l);
/* Watches w->fd for input. Returns 0 or -errno. */
int loop_add(struct loop *l, struct watch *w);
/* Sets what w->fd is watched for (EPOLLIN, EPOLLOUT). Returns 0 or -errno. */
int loop_mod(struct loop *l, struct watch *w, uint32_t events);
/* Stops watching w; after it, w may be freed, even by a callback of
 * another watch in the same batch. */
void loop_del(struct loop *l, struct watch *w);
/* Waits for events and runs their callbacks once. */
void loop_run_once(struct loop *l);

#endif
