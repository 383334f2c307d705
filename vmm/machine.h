/* The machine as memplug's user sees it: configuration, DIMMs and their
 * backends, the control socket, and the VM of the current boot. It
 * outlives guest resets (DIMMs stay plugged, clients stay connected) and
 * carries out the control commands. */
#ifndef MEMPLUG_VMM_MACHINE_H
#define MEMPLUG_VMM_MACHINE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "lib/log.h"
#include "vmm/config.h"
#include "vmm/dimm.h"
#include "vmm/kernel_image.h"
#include "vmm/loop.h"
#include "vmm/memmap.h"
#include "vmm/prealloc.h"
#include "vmm/qmp.h"
#include "vmm/vm.h"

struct machine_event {
	struct machine_event *next;
	const char *name;
	json_t *data;
};

struct machine {
	const struct config *cfg;
	struct kernel_image kernel; /* opened (unpacked) once for every boot */
	struct memmap map;
	int kvm_fd;
	struct loop loop;
	struct qmp_server qmp;
	bool have_qmp;
	/* Guards dimms, the event queue and vm (taken by vCPU threads in the
	 * controller's callbacks and by the main thread). */
	pthread_mutex_t lock;
	struct dimms dimms;
	struct vm vm;
	bool vm_live;
	/* Events raised on vCPU threads, sent by the main thread. */
	struct machine_event *events, **events_tail;
	int notify_fd;
	struct watch notify_w, sig_w, stdin_w, vm_w;
	bool stdin_open;
	/* Console input the UART's 64-byte FIFO has no room for yet: fed to
	 * it as the guest reads, so a pasted or piped script arrives whole
	 * (as QEMU does it); stdin is not read while this is full. */
	uint8_t console[4096];
	size_t console_len;
	bool stdin_paused;
	bool quit; /* a client asked for quit or a signal came */
	/* The SHUTDOWN event's reason for quit (QEMU's words), and whether
	 * the coming reset is a client's system_reset. */
	const char *quit_reason;
	bool host_reset;
	struct log_limit refused_log; /* guest misuse lines, under lock */
	struct prealloc prealloc; /* object-add prealloc=true in progress */
	bool sandboxed; /* sandbox_enter() done */
};

/* Sets up everything that outlives a boot: the loop, coldplugged DIMMs
 * (--dimm), the control socket. Returns 0 or -errno (message logged). */
int machine_init(struct machine *m, const struct config *cfg,
		 const struct memmap *map, int kvm_fd);
/* Queues an event for the control clients from any thread, sent by the
 * main loop. Called with the lock held; takes the data reference. */
void machine_push_event(struct machine *m, const char *name, json_t *data);
/* Boots the guest, rebooting it as asked, until it powers off or memplug
 * is told to stop. Returns the process exit status. */
int machine_run(struct machine *m);
void machine_fini(struct machine *m);

#endif
