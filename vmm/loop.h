/* The main thread's event loop: epoll over file descriptors, each with a
 * callback. It outlives a guest reset, as does the control socket. */
#ifndef MEMPLUG_VMM_LOOP_H
#define MEMPLUG_VMM_LOOP_H

#include <stdint.h>

struct watch {
	int fd;
	void (*fn)(struct watch *w, uint32_t events);
	void *ctx;
};

struct loop {
	int ep;
};

int loop_init(struct loop *l);
void loop_fini(struct loop *l);
/* Watches w->fd for input. Returns 0 or -errno. */
int loop_add(struct loop *l, struct watch *w);
void loop_del(struct loop *l, struct watch *w);
/* Waits for events and runs their callbacks once. */
void loop_run_once(struct loop *l);

#endif
