#include "vmm/machine.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/hotplug.h"
#include "vmm/qmp_cmds.h"
#include "vmm/sandbox.h"

static void feed_console(struct machine *m);

/* ---- events from any thread to the control clients ---- */

void machine_push_event(struct machine *m, const char *name, json_t *data)
{
	struct machine_event *e = calloc(1, sizeof(*e));
	uint64_t one = 1;

	if (!e) {
		json_decref(data);
		return;
	}
	e->name = name;
	e->data = data;
	*m->events_tail = e;
	m->events_tail = &e->next;
	if (write(m->notify_fd, &one, sizeof(one)) < 0)
		log_error("cannot wake the main loop: %s", strerror(errno));
}

static void flush_events(struct watch *w, uint32_t events)
{
	struct machine *m = w->ctx;
	struct machine_event *e;
	uint64_t n;

	(void)events;
	if (read(m->notify_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("notify: %s", strerror(errno));
	pthread_mutex_lock(&m->lock);
	e = m->events;
	m->events = NULL;
	m->events_tail = &m->events;
	pthread_mutex_unlock(&m->lock);
	while (e) {
		struct machine_event *next = e->next;

		if (m->have_qmp)
			qmp_event(&m->qmp, e->name, e->data);
		else
			json_decref(e->data);
		free(e);
		e = next;
	}
	feed_console(m);
}

/* ---- the main loop's other inputs ---- */

static void on_signal(struct watch *w, uint32_t events)
{
	struct machine *m = w->ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) == sizeof(si))
		log_info("terminating on signal %u", si.ssi_signo);
	m->quit = true;
	m->quit_reason = "host-signal";
	if (m->vm_live)
		vm_request_stop(&m->vm, VM_KILLED);
}

/* Moves waiting console input into the UART's FIFO; watches stdin while
 * there is room to read it into. */
static void feed_console(struct machine *m)
{
	size_t n = m->vm_live && m->console_len ?
		   serial_input(&m->vm.com1, m->console, m->console_len) : 0;
	bool full;

	memmove(m->console, m->console + n, m->console_len - n);
	m->console_len -= n;
	full = m->console_len == sizeof(m->console);
	if (!m->stdin_open || full == m->stdin_paused)
		return;
	if (full)
		loop_del(&m->loop, &m->stdin_w);
	else if (loop_add(&m->loop, &m->stdin_w) < 0)
		m->stdin_open = false;
	m->stdin_paused = full && m->stdin_open;
}

/* vCPU thread: the guest read the FIFO empty; the main loop feeds it. */
static void console_room(void *ctx, unsigned int gsi, int level)
{
	struct machine *m = ctx;
	uint64_t one = 1;

	(void)gsi;
	(void)level;
	if (write(m->notify_fd, &one, sizeof(one)) < 0)
		log_error("cannot wake the main loop: %s", strerror(errno));
}

static void on_stdin(struct watch *w, uint32_t events)
{
	struct machine *m = w->ctx;
	ssize_t r;

	(void)events;
	r = read(w->fd, m->console + m->console_len,
		 sizeof(m->console) - m->console_len);
	if (r <= 0) {
		loop_del(&m->loop, w);
		m->stdin_open = false;
		return;
	}
	m->console_len += (size_t)r;
	feed_console(m);
}

static void on_vm_stop(struct watch *w, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(w->fd, &n, sizeof(n)) < 0)
		log_debug("vm event: %s", strerror(errno));
}

/* stdin can feed the console when epoll can watch it (tty, pipe, socket). */
static bool stdin_pollable(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return false;
	return S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
	       S_ISSOCK(st.st_mode);
}

int machine_init(struct machine *m, const struct config *cfg,
		 const struct memmap *map, int kvm_fd)
{
	sigset_t sigs;
	int r;

	memset(m, 0, sizeof(*m));
	/* machine_fini() must find nothing to undo wherever this fails. */
	m->kernel.fd = m->loop.ep = -1;
	m->prealloc.done_w.fd = m->prealloc.tick_w.fd = -1;
	m->cfg = cfg;
	m->map = *map;
	m->kvm_fd = kvm_fd;
	m->events_tail = &m->events;
	pthread_mutex_init(&m->lock, NULL);
	if ((r = kernel_image_open(&m->kernel, cfg->kernel,
				   cfg->kernel_unpack)) < 0)
		return r;
	dimms_init(&m->dimms, &m->map, cfg->numa_nodes, m->map.block);
	if ((r = loop_init(&m->loop)) < 0 ||
	    (r = prealloc_init(&m->prealloc, &m->loop,
				qmp_cmds_prealloc_ops(m))) < 0) {
		log_error("cannot set up the main loop: %s", strerror(-r));
		return r;
	}
	if ((r = hotplug_coldplug(m, cfg)) < 0)
		return r;

	/* Signals become events on the main loop; vCPU threads inherit the
	 * blocked mask and never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->sig_w = (struct watch){ signalfd(-1, &sigs, SFD_CLOEXEC), on_signal, m };
	m->notify_w = (struct watch){ eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
				      flush_events, m };
	m->notify_fd = m->notify_w.fd;
	if (m->sig_w.fd < 0 || m->notify_fd < 0 ||
	    loop_add(&m->loop, &m->sig_w) < 0 ||
	    loop_add(&m->loop, &m->notify_w) < 0) {
		r = -errno;
		log_error("cannot watch signals and events in the main loop: %s",
			  strerror(-r));
		return r;
	}
	if (stdin_pollable()) {
		m->stdin_w = (struct watch){ STDIN_FILENO, on_stdin, m };
		m->stdin_open = loop_add(&m->loop, &m->stdin_w) == 0;
	}
	if (cfg->control) {
		size_t n;
		const struct qmp_command *cmds = qmp_cmds(&n);

		r = qmp_open(&m->qmp, cfg->control, &m->loop, cmds, n, m);
		if (r < 0)
			return r;
		m->have_qmp = true;
	}
	return 0;
}

int machine_run(struct machine *m)
{
	struct memhp_events ev = hotplug_events(m);
	struct irq_line room = { console_room, m, 0 };
	enum vm_state why;
	int r;

	for (;;) {
		r = vm_create(&m->vm, m->kvm_fd, m->cfg, &m->kernel, &m->map, ev,
			      room);
		if (r == 0) {
			pthread_mutex_lock(&m->lock);
			r = hotplug_attach(m);
			m->vm_live = r == 0;
			pthread_mutex_unlock(&m->lock);
			feed_console(m);
		}
		/* Once: the filter then covers every later boot too. */
		if (r == 0 && m->cfg->sandbox && !m->sandboxed) {
			r = sandbox_enter();
			m->sandboxed = r == 0;
		}
		if (r == 0)
			r = vm_start(&m->vm);
		if (r < 0) {
			vm_destroy(&m->vm);
			return 1;
		}
		m->vm_w = (struct watch){ m->vm.event_fd, on_vm_stop, m };
		loop_add(&m->loop, &m->vm_w);
		/* At least once per boot: a guest that resets before this
		 * point must not keep signals and clients waiting forever (the
		 * VM's event_fd is readable by then, so this does not block). */
		do
			loop_run_once(&m->loop);
		while (atomic_load((_Atomic int *)&m->vm.state) == VM_RUNNING &&
		       !m->quit);
		why = m->quit ? VM_KILLED
			      : (enum vm_state)atomic_load((_Atomic int *)&m->vm.state);
		loop_del(&m->loop, &m->vm_w);
		pthread_mutex_lock(&m->lock);
		m->vm_live = false;
		pthread_mutex_unlock(&m->lock);
		vm_destroy(&m->vm);
		pthread_mutex_lock(&m->lock);
		hotplug_boot_end(m);
		if (why == VM_RESET) {
			/* QEMU's -no-reboot: a reset ends the run as a
			 * shutdown, with the reset's reason. */
			bool stop = m->cfg->no_reboot;

			machine_push_event(m, stop ? "SHUTDOWN" : "RESET",
					   json_pack("{s:b,s:s}", "guest",
						     !m->host_reset, "reason",
						     m->host_reset ?
						     "host-qmp-system-reset" :
						     "guest-reset"));
			m->host_reset = false;
			pthread_mutex_unlock(&m->lock);
			if (!stop) {
				log_info("restarting the guest");
				continue;
			}
			flush_events(&m->notify_w, 0);
			log_info("the guest reset; -no-reboot: stopping");
			return 0;
		}
		machine_push_event(m, "SHUTDOWN", json_pack(
			"{s:b,s:s}", "guest", why == VM_POWEROFF, "reason",
			why == VM_POWEROFF ? "guest-shutdown" :
			why != VM_KILLED ? "guest-panic" :
			m->quit_reason ? m->quit_reason : "host-qmp-quit"));
		pthread_mutex_unlock(&m->lock);
		flush_events(&m->notify_w, 0);
		return why == VM_POWEROFF || why == VM_KILLED ? 0 : 1;
	}
}

void machine_fini(struct machine *m)
{
	prealloc_fini(&m->prealloc);
	if (m->have_qmp)
		qmp_close(&m->qmp);
	dimms_free(&m->dimms);
	loop_fini(&m->loop);
	kernel_image_close(&m->kernel);
}
