#include "vmm/hotplug.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acpi/ost.h"
#include "include/memplug/layout.h"
#include "lib/log.h"
#include "vmm/machine.h"
#include "vmm/prealloc.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- the memory hotplug controller's callbacks (vCPU threads) ---- */

json_t *hotplug_ost_info(const struct dimm *d, unsigned int slot,
			 uint32_t source, uint32_t status)
{
	char s[16];

	json_t *o;

	snprintf(s, sizeof(s), "%u", slot);
	o = json_pack("{s:s,s:s,s:I,s:I}", "slot", s, "slot-type", "DIMM",
		      "source", (json_int_t)source, "status",
		      (json_int_t)status);
	/* QEMU leaves "device" out for a slot without a DIMM, and for a DIMM
	 * without an id. */
	if (o && d->state != DIMM_EMPTY && d->id[0])
		json_object_set_new(o, "device", json_string(d->id));
	return o;
}

static void on_ost(void *ctx, unsigned int slot, uint32_t source,
		   uint32_t status)
{
	struct machine *m = ctx;
	struct dimm *d = &m->dimms.slots[slot];

	pthread_mutex_lock(&m->lock);
	m->dimms.ost[slot] = (struct dimm_ost){ true, source, status };
	if (!d->t.ost && d->t.request)
		d->t.ost = now_ns();
	/* The insert is over when the guest answered it, whatever it said:
	 * a refused DIMM stays plugged and listed with the answer. */
	if (d->state == DIMM_INSERTING && source == OST_SRC_DEVICE_CHECK &&
	    !acpi_ost_status_pending(source, status))
		d->state = DIMM_PRESENT;
	/* A removal is over when the guest says it failed (anything but
	 * 0x84 in progress and 0 success): the DIMM stays, present, and the
	 * controller forgets the request so a later device_del can ask
	 * again. */
	if (d->state == DIMM_REMOVING && source == OST_SRC_EJECT_REQUEST &&
	    status != 0 && !acpi_ost_status_pending(source, status)) {
		memhp_unplug_cancel(&m->vm.memhp, slot);
		d->state = DIMM_PRESENT;
	}
	log_info("DIMM %s (slot %u): guest _OST source 0x%x status 0x%x (%s)",
		 d->state != DIMM_EMPTY ? dimm_name(d) : "-", slot, source, status,
		 acpi_ost_status_name(source, status));
	machine_push_event(m, "ACPI_DEVICE_OST", json_pack(
		"{s:o}", "info", hotplug_ost_info(d, slot, source, status)));
	pthread_mutex_unlock(&m->lock);
}

static void on_eject(void *ctx, unsigned int slot)
{
	struct machine *m = ctx;
	struct dimm *d = &m->dimms.slots[slot];
	json_t *ev;

	pthread_mutex_lock(&m->lock);
	if (d->state == DIMM_EMPTY) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	/* The guest has offlined the memory and called _EJ0: only now may
	 * the memory leave the guest. The backend stays until object-del. */
	if (vm_set_dimm_memory(&m->vm, slot, d->addr, 0,
			       m->dimms.backends[d->backend].hva) == 0) {
		memhp_clear(&m->vm.memhp, slot);
		m->dimms.backends[d->backend].dimm = -1;
		ev = json_pack("{s:s}", "path", d->path);
		log_info("DIMM %s (slot %u) ejected by the guest", dimm_name(d),
			 slot);
		/* As QEMU: "device" only for a DIMM with an id. */
		if (ev && d->id[0])
			json_object_set_new(ev, "device", json_string(d->id));
		machine_push_event(m, "DEVICE_DELETED", ev);
		memset(d, 0, sizeof(*d));
	}
	pthread_mutex_unlock(&m->lock);
}

static void on_first_read(void *ctx, unsigned int slot)
{
	struct machine *m = ctx;
	struct dimm *d = &m->dimms.slots[slot];

	pthread_mutex_lock(&m->lock);
	if (d->t.request && !d->t.guest_read)
		d->t.guest_read = now_ns();
	pthread_mutex_unlock(&m->lock);
}

static void log_held_back(uint64_t n)
{
	if (n)
		log_warn("memory hotplug controller: %" PRIu64 " more refused "
			 "guest accesses not logged (at most %d lines a second)",
			 n, LOG_LIMIT_BURST);
}

static void on_refused(void *ctx, unsigned int slot, const char *what)
{
	struct machine *m = ctx;
	uint64_t held_back;
	bool allow;

	pthread_mutex_lock(&m->lock);
	allow = log_limit_allow(&m->refused_log, now_ns(), &held_back);
	pthread_mutex_unlock(&m->lock);
	if (!allow)
		return;
	log_held_back(held_back);
	if (slot == MEMHP_NONE)
		log_warn("memory hotplug controller: guest %s; ignored", what);
	else
		log_warn("memory hotplug controller, slot %u: guest %s; ignored",
			 slot, what);
}

struct memhp_events hotplug_events(struct machine *m)
{
	return (struct memhp_events){ on_ost, on_eject, on_first_read,
				      on_refused, m };
}

void hotplug_boot_end(struct machine *m)
{
	log_held_back(m->refused_log.suppressed);
	m->refused_log.suppressed = 0;
}

/* ---- requests ---- */

/* Plugs a checked DIMM into the running VM: memory slot, controller, SCI.
 * Called with the lock held; on failure nothing is left changed. */
static int plug(struct machine *m, int slot, const struct dimm_args *a,
		uint64_t addr, uint64_t t_request, char *err, size_t errlen)
{
	struct backend *b = backend_find(&m->dimms, a->memdev);
	struct dimm *d = &m->dimms.slots[slot];
	uint64_t t_call = now_ns();
	int r;

	r = vm_set_dimm_memory(&m->vm, (unsigned int)slot, addr, b->size, b->hva);
	if (r < 0) {
		snprintf(err, errlen, "KVM refused the memory slot: %s",
			 strerror(-r));
		return r;
	}
	dimm_commit(&m->dimms, slot, a, addr, true);
	d->t.request = t_request;
	d->t.slot_call = t_call;
	d->t.memslot = now_ns();
	r = memhp_plug(&m->vm.memhp, (unsigned int)slot, addr, b->size, a->node);
	if (r < 0) {
		snprintf(err, errlen, "the hotplug controller refused slot %d: %s",
			 slot, strerror(-r));
		vm_set_dimm_memory(&m->vm, (unsigned int)slot, addr, 0, b->hva);
		b->dimm = -1;
		memset(d, 0, sizeof(*d));
		return r;
	}
	/* memhp_plug raised the GPE. */
	d->t.sci = now_ns();
	return 0;
}

int hotplug_add(struct machine *m, const struct dimm_args *a, char *err,
		size_t errlen)
{
	uint64_t t0 = now_ns(), place;
	int s, r;

	pthread_mutex_lock(&m->lock);
	s = dimm_check(&m->dimms, a, &place, err, errlen);
	if (s >= 0 && !m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		s = -EAGAIN;
	}
	r = s < 0 ? s : plug(m, s, a, place, t0, err, errlen);
	pthread_mutex_unlock(&m->lock);
	if (r < 0)
		return r;
	log_info("DIMM %s: slot %d at 0x%" PRIx64 ", node %u; guest notified",
		 dimm_name(&m->dimms.slots[s]), s, place, a->node);
	return s;
}

/* Lock held: the slot of DIMM id in the running VM, or -errno with the
 * reason. */
static int live_dimm(struct machine *m, const char *id, char *err,
		     size_t errlen)
{
	int s = dimm_find(&m->dimms, id);

	if (s < 0) {
		snprintf(err, errlen, "Device '%s' not found", id);
		return -ENOENT;
	}
	if (!m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		return -EAGAIN;
	}
	return s;
}

int hotplug_remove(struct machine *m, const char *id, char *err,
		   size_t errlen)
{
	int s, r;

	pthread_mutex_lock(&m->lock);
	r = s = live_dimm(m, id, err, errlen);
	/* A repeated device_del asks the guest again, as QEMU does. */
	if (s >= 0 && m->dimms.slots[s].state == DIMM_REMOVING) {
		if ((r = memhp_unplug_renotify(&m->vm.memhp, (unsigned int)s)) < 0)
			snprintf(err, errlen, "DIMM %s is already being "
				 "ejected by the guest", id);
	} else if (s >= 0 &&
		   (r = memhp_unplug_request(&m->vm.memhp, (unsigned int)s)) < 0) {
		snprintf(err, errlen, "the hotplug controller refused to remove "
			 "slot %d: %s", s, strerror(-r));
	} else if (s >= 0) {
		m->dimms.slots[s].state = DIMM_REMOVING;
	}
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? r : 0;
}

int hotplug_remove_cancel(struct machine *m, const char *id, char *err,
			  size_t errlen)
{
	int s, r;

	pthread_mutex_lock(&m->lock);
	r = s = live_dimm(m, id, err, errlen);
	if (s >= 0 && m->dimms.slots[s].state != DIMM_REMOVING) {
		snprintf(err, errlen, "DIMM %s is not being removed (state %s)",
			 id, dimm_state_name(m->dimms.slots[s].state));
		r = -EINVAL;
	} else if (s >= 0 &&
		   (r = memhp_unplug_cancel(&m->vm.memhp, (unsigned int)s)) < 0) {
		snprintf(err, errlen, "cannot cancel the removal of DIMM %s: "
			 "%s", id, r == -EINVAL ? "the guest has already "
			 "ejected it" : strerror(-r));
	} else if (s >= 0) {
		m->dimms.slots[s].state = DIMM_PRESENT;
		log_info("DIMM %s (slot %d): removal cancelled", id, s);
	}
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? r : 0;
}

/* ---- DIMMs given on the command line, and every DIMM at each boot ---- */

/* A --dimm as config_parse left it: its backend, then the DIMM. */
static int coldplug_backend(struct machine *m, const struct config_dimm *c)
{
	char err[256];
	int s = backend_add(&m->dimms, &c->backend, err, sizeof(err));

	/* Before boot nothing waits on the main loop: populate right here. */
	if (s == 0 && c->backend.prealloc) {
		struct backend *be = backend_find(&m->dimms, c->backend.id);

		s = backend_prealloc_end(&m->dimms, c->backend.id,
					 prealloc_populate(be->hva, be->size,
							   NULL, NULL),
					 err, sizeof(err));
	}
	if (s < 0)
		log_error("%s %s: %s", c->opt, c->spec, err);
	return s < 0 ? -EINVAL : 0;
}

static int coldplug_dimm(struct machine *m, const struct config_dimm *c)
{
	char err[256];
	uint64_t addr;
	int s = dimm_check(&m->dimms, &c->dimm, &addr, err, sizeof(err));

	if (s < 0) {
		log_error("%s %s: %s", c->opt, c->spec, err);
		return -EINVAL;
	}
	dimm_commit(&m->dimms, s, &c->dimm, addr, false);
	return 0;
}

int hotplug_coldplug(struct machine *m, const struct config *cfg)
{
	/* Every backend first, as QEMU creates -object before -device. */
	for (unsigned int i = 0; i < cfg->ndimms; i++)
		if (cfg->dimms[i].has_backend &&
		    coldplug_backend(m, &cfg->dimms[i]) < 0)
			return -EINVAL;
	for (unsigned int i = 0; i < cfg->ndimms; i++)
		if (cfg->dimms[i].has_dimm &&
		    coldplug_dimm(m, &cfg->dimms[i]) < 0)
			return -EINVAL;
	return 0;
}

/* Every DIMM the machine has goes into a new boot as present: coldplugged
 * ones, and hot-added ones the guest finds again after a reset. */
int hotplug_attach(struct machine *m)
{
	for (unsigned int i = 0; i < m->map.slots; i++) {
		struct dimm *d = &m->dimms.slots[i];
		struct backend *b = &m->dimms.backends[d->backend];
		int r;

		if (d->state == DIMM_EMPTY)
			continue;
		r = vm_set_dimm_memory(&m->vm, i, d->addr, d->size, b->hva);
		if (r < 0)
			return r;
		r = memhp_coldplug(&m->vm.memhp, i, d->addr, d->size, d->node);
		if (r < 0)
			return r;
		d->state = DIMM_PRESENT;
	}
	return 0;
}
