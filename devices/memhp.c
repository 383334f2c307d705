#include "devices/memhp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A callback decided under the lock and made after it is dropped: the VMM
 * calls back into the device from them (memhp_clear from eject) and may
 * block, e.g. while KVM removes a memory slot. One guest access makes at
 * most one callback. */
struct memhp_cb {
	enum { CB_NONE, CB_OST, CB_EJECT, CB_FIRST_READ, CB_REFUSED } kind;
	unsigned int slot;
	uint32_t event, status;
	char what[128];
};

static void memhp_refuse(struct memhp_cb *cb, unsigned int slot,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void memhp_refuse(struct memhp_cb *cb, unsigned int slot,
			 const char *fmt, ...)
{
	va_list ap;

	cb->kind = CB_REFUSED;
	cb->slot = slot;
	va_start(ap, fmt);
	vsnprintf(cb->what, sizeof(cb->what), fmt, ap);
	va_end(ap);
}

static void memhp_call(const struct memhp *m, const struct memhp_cb *cb)
{
	const struct memhp_events *ev = &m->ev;

	switch (cb->kind) {
	case CB_NONE:
		break;
	case CB_OST:
		if (ev->ost)
			ev->ost(ev->ctx, cb->slot, cb->event, cb->status);
		break;
	case CB_EJECT:
		if (ev->eject)
			ev->eject(ev->ctx, cb->slot);
		break;
	case CB_FIRST_READ:
		if (ev->first_read)
			ev->first_read(ev->ctx, cb->slot);
		break;
	case CB_REFUSED:
		if (ev->refused)
			ev->refused(ev->ctx, cb->slot, cb->what);
		break;
	}
}

/* Dword accesses at the eight registers, and the status byte alone: what
 * the DSDT's fields generate. Everything else is a broken guest. */
static bool memhp_access_ok(uint64_t off, unsigned int size)
{
	if (off >= MEMHP_REGS_LEN)
		return false;
	if (size == 4)
		return (off & 3) == 0;
	return size == 1 && off == MEMHP_REG_STATUS;
}

/* Called with the lock held. */
static struct memhp_slot *memhp_selected(struct memhp *m)
{
	return m->sel < m->nslots ? &m->slots[m->sel] : NULL;
}

/* Called with the lock held. A linear walk: at most MEMHP_MAX_SLOTS flags,
 * cheaper than keeping a pending set in step with every path that changes
 * them. */
static uint32_t memhp_next(const struct memhp *m)
{
	for (unsigned int i = 0; i < m->nslots; i++)
		if (m->slots[i].insert || m->slots[i].remove)
			return i;
	return MEMHP_NONE;
}

/* Called with the lock held: registers 0x00-0x14 of the selected slot. */
static uint32_t memhp_read_slot(struct memhp *m, uint64_t off,
				struct memhp_cb *cb)
{
	struct memhp_slot *s = memhp_selected(m);

	if (!s)
		return 0;
	switch (off) {
	case MEMHP_REG_PXM:
		return s->pxm;
	case MEMHP_REG_STATUS:
		return (s->enabled ? MEMHP_STATUS_ENABLED : 0) |
		       (s->insert ? MEMHP_STATUS_INSERT : 0) |
		       (s->remove ? MEMHP_STATUS_REMOVE : 0);
	}
	/* BASE or SIZE: the guest is looking at the DIMM (_CRS), the point
	 * the hot-add timeline wants to see. */
	if (s->enabled && !s->read_seen) {
		s->read_seen = true;
		cb->kind = CB_FIRST_READ;
		cb->slot = m->sel;
	}
	switch (off) {
	case MEMHP_REG_BASE_LO:
		return (uint32_t)s->base;
	case MEMHP_REG_BASE_HI:
		return (uint32_t)(s->base >> 32);
	case MEMHP_REG_SIZE_LO:
		return (uint32_t)s->size;
	default: /* MEMHP_REG_SIZE_HI */
		return (uint32_t)(s->size >> 32);
	}
}

static void memhp_read(void *dev, uint64_t off, uint8_t *data,
		       unsigned int size)
{
	struct memhp *m = dev;
	struct memhp_cb cb = { .kind = CB_NONE };
	uint32_t v;

	/* Left as the bus pre-filled it: all-ones. */
	if (!memhp_access_ok(off, size))
		return;
	pthread_mutex_lock(&m->lock);
	switch (off) {
	case MEMHP_REG_NEXT:
		v = memhp_next(m);
		m->sel = v;
		break;
	case MEMHP_REG_COUNT:
		v = m->nslots;
		break;
	default:
		v = memhp_read_slot(m, off, &cb);
		break;
	}
	pthread_mutex_unlock(&m->lock);
	bus_put(data, size, v);
	memhp_call(m, &cb);
}

/* Called with the lock held. */
static void memhp_write_status(struct memhp *m, uint32_t v, struct memhp_cb *cb)
{
	struct memhp_slot *s = memhp_selected(m);

	if (!s) {
		memhp_refuse(cb, MEMHP_NONE,
			     "status write 0x%02" PRIx32 " with no slot selected",
			     v);
		return;
	}
	/* ENABLED is read-only: a Preserve field update writes it back. */
	if (v & MEMHP_STATUS_INSERT)
		s->insert = false;
	if (v & MEMHP_STATUS_REMOVE)
		s->remove = false;
	if (!(v & MEMHP_STATUS_EJECT))
		return;
	if (s->eject_ok) {
		/* Cleared before the callback runs: a second EJECT from
		 * another vCPU is refused instead of ejecting twice. */
		s->eject_ok = false;
		cb->kind = CB_EJECT;
		cb->slot = m->sel;
	} else {
		memhp_refuse(cb, m->sel, "eject of slot %" PRIu32 ", which %s",
			     m->sel, s->enabled ? "has no removal pending" :
						  "is empty");
	}
}

/* Called with the lock held. */
static void memhp_write_ost(struct memhp *m, uint32_t v, struct memhp_cb *cb)
{
	struct memhp_slot *s = memhp_selected(m);

	if (!s) {
		memhp_refuse(cb, MEMHP_NONE,
			     "_OST status 0x%" PRIx32 " (event 0x%" PRIx32
			     ") with no slot selected", v, m->ost_event);
		return;
	}
	/* Reported even for an empty slot: Linux sends _OST(3, 0) after _EJ0,
	 * when the VMM has already cleared the slot. The VMM keeps the
	 * answer (the DIMM table). */
	cb->kind = CB_OST;
	cb->slot = m->sel;
	cb->event = m->ost_event;
	cb->status = v;
}

static void memhp_write(void *dev, uint64_t off, const uint8_t *data,
			unsigned int size)
{
	struct memhp *m = dev;
	struct memhp_cb cb = { .kind = CB_NONE };
	uint64_t v = bus_get(data, size);

	if (!memhp_access_ok(off, size)) {
		memhp_refuse(&cb, MEMHP_NONE,
			     "%u-byte write of 0x%" PRIx64 " at offset 0x%" PRIx64
			     " (registers take dwords, STATUS also a byte)",
			     size, v, off);
		memhp_call(m, &cb);
		return;
	}
	pthread_mutex_lock(&m->lock);
	switch (off) {
	case MEMHP_REG_SEL:
		m->sel = v < m->nslots ? (uint32_t)v : MEMHP_NONE;
		break;
	case MEMHP_REG_OST_EVENT:
		m->ost_event = (uint32_t)v;
		break;
	case MEMHP_REG_OST_STATUS:
		memhp_write_ost(m, (uint32_t)v, &cb);
		break;
	case MEMHP_REG_STATUS:
		/* A dword write carries the status byte in bits 7-0. */
		memhp_write_status(m, (uint8_t)v, &cb);
		break;
	default:
		memhp_refuse(&cb, MEMHP_NONE,
			     "write of 0x%" PRIx64 " to read-only offset 0x%"
			     PRIx64, v, off);
		break;
	}
	pthread_mutex_unlock(&m->lock);
	memhp_call(m, &cb);
}

const struct bus_ops memhp_ops = {
	.read = memhp_read,
	.write = memhp_write,
};

int memhp_init(struct memhp *m, unsigned int nslots, struct memhp_events ev,
	       struct irq_line event)
{
	if (nslots > MEMHP_MAX_SLOTS)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->nslots = nslots;
	m->sel = MEMHP_NONE;
	m->ev = ev;
	m->event = event;
	return 0;
}

static int memhp_fill(struct memhp *m, unsigned int slot, uint64_t base,
		      uint64_t size, uint32_t pxm, bool hot)
{
	struct memhp_slot *s;
	int r = 0;

	/* base + size may be 2^64 exactly (a DIMM ending at the top). */
	if (slot >= m->nslots || !size || base + size - 1 < base)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = &m->slots[slot];
	if (s->enabled) {
		r = -EBUSY;
	} else {
		*s = (struct memhp_slot){
			.base = base, .size = size, .pxm = pxm,
			.enabled = true, .insert = hot,
			/* Only a hot-add has a timeline to end. */
			.read_seen = !hot,
		};
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

int memhp_plug(struct memhp *m, unsigned int slot, uint64_t base,
	       uint64_t size, uint32_t pxm)
{
	int r = memhp_fill(m, slot, base, size, pxm, true);

	/* Outside the lock, as the other callbacks. */
	if (r == 0)
		irq_set(&m->event, 1);
	return r;
}

int memhp_coldplug(struct memhp *m, unsigned int slot, uint64_t base,
		   uint64_t size, uint32_t pxm)
{
	return memhp_fill(m, slot, base, size, pxm, false);
}

/* A removal request (again: repeated while pending), event line raised. */
static int unplug_request(struct memhp *m, unsigned int slot, bool again)
{
	struct memhp_slot *s;
	int r = 0;

	if (slot >= m->nslots)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = &m->slots[slot];
	if (!s->enabled)
		r = -ENOENT;
	/* remove without eject_ok: the guest has ejected and the VMM has not
	 * cleared the slot yet. */
	else if (again ? !s->eject_ok : s->eject_ok || s->remove)
		r = -EALREADY;
	else
		s->remove = s->eject_ok = true;
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		irq_set(&m->event, 1);
	return r;
}

int memhp_unplug_request(struct memhp *m, unsigned int slot)
{
	return unplug_request(m, slot, false);
}

int memhp_unplug_renotify(struct memhp *m, unsigned int slot)
{
	return unplug_request(m, slot, true);
}

int memhp_unplug_cancel(struct memhp *m, unsigned int slot)
{
	struct memhp_slot *s;
	int r = 0;

	if (slot >= m->nslots)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = &m->slots[slot];
	if (!s->enabled) {
		r = -ENOENT;
	} else if (!s->eject_ok) {
		/* Never requested, or the guest has already ejected. */
		r = -EINVAL;
	} else {
		s->remove = false;
		s->eject_ok = false;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

int memhp_clear(struct memhp *m, unsigned int slot)
{
	int r = 0;

	if (slot >= m->nslots)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (!m->slots[slot].enabled)
		r = -ENOENT;
	else
		memset(&m->slots[slot], 0, sizeof(m->slots[slot]));
	pthread_mutex_unlock(&m->lock);
	return r;
}

int memhp_get(struct memhp *m, unsigned int slot, struct memhp_slot *out)
{
	if (slot >= m->nslots)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	*out = m->slots[slot];
	pthread_mutex_unlock(&m->lock);
	return 0;
}

bool memhp_pending(struct memhp *m)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = memhp_next(m) != MEMHP_NONE;
	pthread_mutex_unlock(&m->lock);
	return r;
}
