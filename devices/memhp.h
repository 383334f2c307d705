/* Memory hotplug controller: the port-I/O register block through which the
 * DSDT's AML finds hot-added DIMMs, collects insert/remove events, reports
 * _OST and ejects. The guest-visible interface is docs/memhp.md.
 *
 * The VMM owns the memory; this device only holds what the guest is told
 * about each slot. Hot-add: map the memory, memhp_plug(); the device raises
 * its event line (the VMM wires it to GPE0 bit GPE_MEMHP, whose _E03 scans
 * the slots). Hot-remove: memhp_unplug_request(), which raises it too; when
 * the guest ejects, ev.eject runs and the VMM unmaps the memory and calls
 * memhp_clear(). */
#ifndef MEMPLUG_DEVICES_MEMHP_H
#define MEMPLUG_DEVICES_MEMHP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "include/memplug/hw/memhp.h"

struct memhp_slot {
	uint64_t base, size;
	uint32_t pxm;
	bool enabled;      /* a DIMM is present */
	bool insert;       /* insert event pending (cleared by the guest scan) */
	bool remove;       /* remove event pending (cleared by the guest scan) */
	bool eject_ok;     /* remove requested and notified: _EJ0 is honoured */
	bool read_seen;    /* guest has read base/size since the last plug */
};

struct memhp_events {   /* called WITHOUT the device lock held, from vCPU threads */
	void (*ost)(void *ctx, unsigned int slot, uint32_t event, uint32_t status);
	/* Guest wrote EJECT on an eject_ok slot. Linux reads _STA right after
	 * _EJ0 and warns "Eject incomplete" if ENABLED is still set, so the
	 * VMM should remove the memory and call memhp_clear() before
	 * returning. */
	void (*eject)(void *ctx, unsigned int slot);
	void (*first_read)(void *ctx, unsigned int slot);     /* first read of BASE/SIZE after a plug (timeline) */
	/* Guest misuse, for a log line; slot is MEMHP_NONE when the access
	 * concerned no slot. what names the access and its value. */
	void (*refused)(void *ctx, unsigned int slot, const char *what);
	void *ctx;
};

struct memhp {
	pthread_mutex_t lock;
	unsigned int nslots;
	uint32_t sel;        /* selected slot, or >= nslots for none */
	uint32_t ost_event;  /* last OST_EVENT written */
	struct memhp_events ev;
	/* Set to 1 (a pulse: the GPE status bit latches it) whenever a slot
	 * gets an event for the guest's scan. */
	struct irq_line event;
	struct memhp_slot slots[MEMHP_MAX_SLOTS];
};

extern const struct bus_ops memhp_ops; /* MEMHP_REGS_LEN bytes */

/* -EINVAL if nslots > MEMHP_MAX_SLOTS. Nothing is selected. */
int memhp_init(struct memhp *m, unsigned int nslots, struct memhp_events ev,
	       struct irq_line event);
/* Marks a slot present with insert pending (hot-add) and raises the event
 * line. -EINVAL bad slot, size 0 or a range that wraps, -EBUSY slot in
 * use (no event then). */
int memhp_plug(struct memhp *m, unsigned int slot, uint64_t base,
	       uint64_t size, uint32_t pxm);
/* Present without an event: coldplugged DIMMs the guest finds at boot
 * (no first_read callback either). Errors as memhp_plug. */
int memhp_coldplug(struct memhp *m, unsigned int slot, uint64_t base,
		   uint64_t size, uint32_t pxm);
/* Requests removal: REMOVE pending, eject_ok set, the event line raised.
 * -EINVAL bad slot, -ENOENT empty slot, -EALREADY already requested. */
int memhp_unplug_request(struct memhp *m, unsigned int slot);
/* Asks again for a removal already requested and not yet ejected (QEMU
 * answers a repeated device_del so): REMOVE pending again, the event line
 * raised. -EINVAL bad slot, -ENOENT empty, -EALREADY no removal pending
 * or the guest is ejecting. */
int memhp_unplug_renotify(struct memhp *m, unsigned int slot);
/* Cancels a pending removal (clears remove and eject_ok), e.g. after the
 * guest reported a failed eject. -EINVAL bad slot or no removal pending,
 * -ENOENT empty slot. */
int memhp_unplug_cancel(struct memhp *m, unsigned int slot);
/* Empties the slot (after the VMM handled an eject). -EINVAL bad slot,
 * -ENOENT already empty. */
int memhp_clear(struct memhp *m, unsigned int slot);
/* Copy of a slot's state under the lock (for queries). -EINVAL bad slot. */
int memhp_get(struct memhp *m, unsigned int slot, struct memhp_slot *out);
/* True while any slot has an insert or remove event the guest has not
 * collected yet (its scan clears them). */
bool memhp_pending(struct memhp *m);

#endif
