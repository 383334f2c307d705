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
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "acpi/ost.h"
#include "include/memplug/layout.h"
#include "lib/log.h"
#include "lib/size.h"
#include "vmm/sandbox.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- events from any thread to the control clients ---- */

/* Called with m->lock held. Takes the data reference. */
static void push_event(struct machine *m, const char *name, json_t *data)
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
}

/* ---- the memory hotplug controller's callbacks (vCPU threads) ---- */

static json_t *ost_info(const struct dimm *d, unsigned int slot,
			uint32_t source, uint32_t status)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", slot);
	return json_pack("{s:s,s:s,s:s,s:I,s:I}", "device",
			 d->state != DIMM_EMPTY ? d->id : "", "slot", s,
			 "slot-type", "DIMM", "source", (json_int_t)source,
			 "status", (json_int_t)status);
}

static void on_ost(void *ctx, unsigned int slot, uint32_t source,
		   uint32_t status)
{
	struct machine *m = ctx;
	struct dimm *d = &m->dimms.slots[slot];

	pthread_mutex_lock(&m->lock);
	d->has_ost = true;
	d->ost_source = source;
	d->ost_status = status;
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
		 d->state != DIMM_EMPTY ? d->id : "-", slot, source, status,
		 acpi_ost_status_name(source, status));
	push_event(m, "ACPI_DEVICE_OST",
		   json_pack("{s:o}", "info", ost_info(d, slot, source, status)));
	pthread_mutex_unlock(&m->lock);
}

static void on_eject(void *ctx, unsigned int slot)
{
	struct machine *m = ctx;
	struct dimm *d = &m->dimms.slots[slot];
	char path[128];

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
		snprintf(path, sizeof(path), "/machine/peripheral/%s", d->id);
		log_info("DIMM %s (slot %u) ejected by the guest", d->id, slot);
		push_event(m, "DEVICE_DELETED",
			   json_pack("{s:s,s:s}", "device", d->id, "path", path));
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

static void log_refused_held_back(uint64_t n)
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
	log_refused_held_back(held_back);
	if (slot == MEMHP_NONE)
		log_warn("memory hotplug controller: guest %s; ignored", what);
	else
		log_warn("memory hotplug controller, slot %u: guest %s; ignored",
			 slot, what);
}

/* ---- control commands ---- */

/* Refuses arguments the command does not know, as QEMU does. */
static int check_keys(json_t *args, const char *const *allowed, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a) {
			snprintf(err, errlen, "Parameter '%s' is unexpected", key);
			return -EINVAL;
		}
	}
	return 0;
}

static int arg_str(json_t *args, const char *key, bool required,
		   const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (required) {
			snprintf(err, errlen, "Parameter '%s' is missing", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "Invalid parameter type for '%s', "
			 "expected: string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int arg_uint(json_t *args, const char *key, uint64_t *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, errlen, "Invalid parameter type for '%s', "
			 "expected: a non-negative integer", key);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int arg_bool(json_t *args, const char *key, bool *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "Invalid parameter type for '%s', "
			 "expected: boolean", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static json_t *cmd_capabilities(void *ctx, json_t *args, char *err,
				size_t errlen)
{
	static const char *const keys[] = { "enable", NULL };

	(void)ctx;
	if (check_keys(args, keys, err, errlen) < 0)
		return NULL;
	return json_object();
}

static json_t *cmd_query_version(void *ctx, json_t *args, char *err,
				 size_t errlen)
{
	(void)ctx;
	(void)args;
	(void)err;
	(void)errlen;
	return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "major", 0, "minor",
			 1, "micro", 0, "package", "memplug 0.1.0");
}

static json_t *cmd_query_status(void *ctx, json_t *args, char *err,
				size_t errlen)
{
	(void)ctx;
	(void)args;
	(void)err;
	(void)errlen;
	return json_pack("{s:b,s:b,s:s}", "running", 1, "singlestep", 0,
			 "status", "running");
}

static json_t *cmd_query_commands(void *ctx, json_t *args, char *err,
				  size_t errlen);

/* A backend being preallocated on a worker thread; its object-add reply
 * waits for the end. */
struct prealloc_req {
	struct qmp_ticket *t;
	char id[DIMM_ID_MAX];
};

static json_t *prealloc_begin(struct machine *m, const char *id, char *err,
			      size_t errlen)
{
	struct prealloc_req *req = calloc(1, sizeof(*req));
	struct backend *b;
	int r;

	if (!req || !(req->t = qmp_defer(&m->qmp))) {
		free(req);
		pthread_mutex_lock(&m->lock);
		backend_prealloc_end(&m->dimms, id, -ENOMEM, err, errlen);
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	snprintf(req->id, sizeof(req->id), "%s", id);
	pthread_mutex_lock(&m->lock);
	b = backend_find(&m->dimms, id);
	r = prealloc_start(&m->prealloc, b->hva, b->size, req);
	if (r < 0)
		backend_prealloc_end(&m->dimms, id, r, err, errlen);
	pthread_mutex_unlock(&m->lock);
	if (r < 0) {
		qmp_complete(req->t, NULL, err);
		free(req);
	}
	return QMP_DEFERRED;
}

static void prealloc_progress(void *ctx, void *cookie, uint64_t done,
			      uint64_t size)
{
	struct machine *m = ctx;
	struct prealloc_req *req = cookie;

	qmp_event(&m->qmp, "MEMPLUG_PREALLOC_PROGRESS",
		  json_pack("{s:s,s:I,s:I}", "id", req->id, "done",
			    (json_int_t)done, "size", (json_int_t)size));
}

static void prealloc_finished(void *ctx, void *cookie, int r)
{
	struct machine *m = ctx;
	struct prealloc_req *req = cookie;
	char err[512] = "";

	pthread_mutex_lock(&m->lock);
	r = backend_prealloc_end(&m->dimms, req->id, r, err, sizeof(err));
	pthread_mutex_unlock(&m->lock);
	qmp_complete(req->t, r == 0 ? json_object() : NULL, err);
	free(req);
}

static json_t *cmd_object_add(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	static const char *const keys[] = { "qom-type", "id", "size", "prealloc",
					    "share", "reserve", "mem-path",
					    "props", NULL };
	struct machine *m = ctx;
	struct backend_args a = { .reserve = true };
	const char *type = NULL, *size_str = NULL;
	json_t *props = json_object_get(args, "props"), *sz;
	int r;

	/* Older QEMU clients put the properties in "props". */
	if (check_keys(args, keys, err, errlen) < 0 ||
	    (props && check_keys(props, keys, err, errlen) < 0) ||
	    arg_str(args, "qom-type", true, &type, err, errlen) < 0 ||
	    arg_str(args, "id", true, &a.id, err, errlen) < 0)
		return NULL;
	if (!props)
		props = args;
	if (!strcmp(type, "memory-backend-ram"))
		a.kind = BACKEND_RAM;
	else if (!strcmp(type, "memory-backend-memfd"))
		a.kind = BACKEND_MEMFD;
	else if (!strcmp(type, "memory-backend-file"))
		a.kind = BACKEND_FILE;
	else {
		snprintf(err, errlen, "qom-type '%s' is not supported: memplug "
			 "has memory-backend-ram, -memfd and -file", type);
		return NULL;
	}
	sz = json_object_get(props, "size");
	if (!sz) {
		snprintf(err, errlen, "Parameter 'size' is missing");
		return NULL;
	}
	/* QEMU takes the size as a number of bytes or as a string "1G". */
	if (json_is_string(sz)) {
		size_str = json_string_value(sz);
		if (size_parse(size_str, SIZE_BYTES, &a.size) < 0) {
			snprintf(err, errlen, "size '%s' is not a size", size_str);
			return NULL;
		}
	} else if (arg_uint(props, "size", &a.size, err, errlen) < 0) {
		return NULL;
	}
	if (arg_bool(props, "prealloc", &a.prealloc, err, errlen) < 0 ||
	    arg_bool(props, "share", &a.share, err, errlen) < 0 ||
	    arg_bool(props, "reserve", &a.reserve, err, errlen) < 0 ||
	    arg_str(props, "mem-path", false, &a.mem_path, err, errlen) < 0)
		return NULL;
	if (a.mem_path && a.kind != BACKEND_FILE) {
		snprintf(err, errlen, "mem-path is only for memory-backend-file");
		return NULL;
	}
	/* memfd memory is shared unless told otherwise, as in QEMU. */
	if (a.kind == BACKEND_MEMFD && !json_object_get(props, "share"))
		a.share = true;
	pthread_mutex_lock(&m->lock);
	r = backend_add(&m->dimms, &a, err, errlen);
	pthread_mutex_unlock(&m->lock);
	if (r < 0)
		return NULL;
	return a.prealloc ? prealloc_begin(m, a.id, err, errlen) : json_object();
}

static json_t *cmd_object_del(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	static const char *const keys[] = { "id", NULL };
	struct machine *m = ctx;
	const char *id = NULL;
	int r;

	if (check_keys(args, keys, err, errlen) < 0 ||
	    arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	r = backend_del(&m->dimms, id, err, errlen);
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? NULL : json_object();
}

/* Plugs a checked DIMM into the running VM: memory slot, controller, SCI.
 * Called with the lock held; on failure nothing is left changed. */
static int plug_dimm(struct machine *m, int slot, const struct dimm_args *a,
		     uint64_t addr, uint64_t t_request, char *err,
		     size_t errlen)
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
	acpi_pm_gpe_raise(&m->vm.pm, GPE_MEMHP);
	d->t.sci = now_ns();
	return 0;
}

static json_t *cmd_device_add(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	static const char *const keys[] = { "driver", "id", "memdev", "node",
					    "slot", "addr", NULL };
	uint64_t t0 = now_ns(), node = 0, slot = UINT64_MAX, addr = 0, place;
	struct machine *m = ctx;
	struct dimm_args a = { 0 };
	const char *driver = NULL;
	int s, r;

	if (check_keys(args, keys, err, errlen) < 0 ||
	    arg_str(args, "driver", true, &driver, err, errlen) < 0)
		return NULL;
	if (strcmp(driver, "pc-dimm")) {
		snprintf(err, errlen, "driver '%s' is not supported: memplug "
			 "plugs pc-dimm devices only", driver);
		return NULL;
	}
	if (arg_str(args, "id", true, &a.id, err, errlen) < 0 ||
	    arg_str(args, "memdev", true, &a.memdev, err, errlen) < 0 ||
	    arg_uint(args, "node", &node, err, errlen) < 0 ||
	    arg_uint(args, "slot", &slot, err, errlen) < 0 ||
	    arg_uint(args, "addr", &addr, err, errlen) < 0)
		return NULL;
	if (node > UINT32_MAX || (slot != UINT64_MAX && slot > INT32_MAX)) {
		snprintf(err, errlen, "node or slot out of range");
		return NULL;
	}
	a.node = (unsigned int)node;
	a.slot = slot == UINT64_MAX ? -1 : (int)slot;
	a.addr = addr;
	pthread_mutex_lock(&m->lock);
	s = dimm_check(&m->dimms, &a, &place, err, errlen);
	if (s >= 0 && !m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		s = -EAGAIN;
	}
	r = s < 0 ? s : plug_dimm(m, s, &a, place, t0, err, errlen);
	pthread_mutex_unlock(&m->lock);
	if (r < 0)
		return NULL;
	log_info("DIMM %s: slot %d at 0x%" PRIx64 ", node %u; guest notified",
		 a.id, s, place, a.node);
	return json_object();
}

static json_t *cmd_device_del(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	static const char *const keys[] = { "id", NULL };
	struct machine *m = ctx;
	const char *id = NULL;
	int s, r = -ENOENT;

	if (check_keys(args, keys, err, errlen) < 0 ||
	    arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	s = dimm_find(&m->dimms, id);
	if (s < 0) {
		snprintf(err, errlen, "Device '%s' not found", id);
	} else if (m->dimms.slots[s].state == DIMM_REMOVING) {
		snprintf(err, errlen, "DIMM %s is already being removed", id);
		r = -EALREADY;
	} else if (!m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		r = -EAGAIN;
	} else if ((r = memhp_unplug_request(&m->vm.memhp, (unsigned int)s)) < 0) {
		snprintf(err, errlen, "the hotplug controller refused to remove "
			 "slot %d: %s", s, strerror(-r));
	} else {
		m->dimms.slots[s].state = DIMM_REMOVING;
		acpi_pm_gpe_raise(&m->vm.pm, GPE_MEMHP);
	}
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? NULL : json_object();
}

/* x-memplug-device-del-cancel: withdraws a device_del the guest has not
 * acted on yet. The guest then reads REMOVE clear and EJECT is refused. */
static json_t *cmd_device_del_cancel(void *ctx, json_t *args, char *err,
				     size_t errlen)
{
	static const char *const keys[] = { "id", NULL };
	struct machine *m = ctx;
	const char *id = NULL;
	int s, r = -ENOENT;

	if (check_keys(args, keys, err, errlen) < 0 ||
	    arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	s = dimm_find(&m->dimms, id);
	if (s < 0) {
		snprintf(err, errlen, "Device '%s' not found", id);
	} else if (m->dimms.slots[s].state != DIMM_REMOVING) {
		snprintf(err, errlen, "DIMM %s is not being removed (state %s)",
			 id, dimm_state_name(m->dimms.slots[s].state));
		r = -EINVAL;
	} else if (!m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		r = -EAGAIN;
	} else if ((r = memhp_unplug_cancel(&m->vm.memhp, (unsigned int)s)) < 0) {
		snprintf(err, errlen, "cannot cancel the removal of DIMM %s: "
			 "%s", id, r == -EINVAL ? "the guest has already "
			 "ejected it" : strerror(-r));
	} else {
		m->dimms.slots[s].state = DIMM_PRESENT;
		log_info("DIMM %s (slot %d): removal cancelled", id, s);
	}
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? NULL : json_object();
}

static json_t *cmd_query_memory_devices(void *ctx, json_t *args, char *err,
					size_t errlen)
{
	struct machine *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->map.slots; i++) {
		const struct dimm *d = &m->dimms.slots[i];
		char memdev[DIMM_ID_MAX + 16];

		if (d->state == DIMM_EMPTY)
			continue;
		snprintf(memdev, sizeof(memdev), "/objects/%s",
			 m->dimms.backends[d->backend].id);
		json_array_append_new(list, json_pack(
			"{s:s,s:{s:s,s:I,s:I,s:I,s:I,s:s,s:b,s:b}}", "type",
			"dimm", "data", "id", d->id, "slot", (json_int_t)i,
			"addr", (json_int_t)d->addr, "size", (json_int_t)d->size,
			"node", (json_int_t)d->node, "memdev", memdev,
			"hotplugged", d->hotplugged, "hotpluggable", 1));
	}
	pthread_mutex_unlock(&m->lock);
	return list;
}

static json_t *cmd_query_ospm(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	struct machine *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->map.slots; i++) {
		const struct dimm *d = &m->dimms.slots[i];

		if (d->state != DIMM_EMPTY)
			json_array_append_new(list, ost_info(d, i, d->ost_source,
							     d->ost_status));
	}
	pthread_mutex_unlock(&m->lock);
	return list;
}

static json_t *cmd_query_size_summary(void *ctx, json_t *args, char *err,
				      size_t errlen)
{
	struct machine *m = ctx;
	uint64_t plugged = 0;

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->map.slots; i++)
		if (m->dimms.slots[i].state != DIMM_EMPTY)
			plugged += m->dimms.slots[i].size;
	pthread_mutex_unlock(&m->lock);
	return json_pack("{s:I,s:I}", "base-memory", (json_int_t)m->map.ram,
			 "plugged-memory", (json_int_t)plugged);
}

static json_t *cmd_query_dimms(void *ctx, json_t *args, char *err,
			       size_t errlen)
{
	struct machine *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->map.slots; i++) {
		const struct dimm *d = &m->dimms.slots[i];
		const struct backend *b = &m->dimms.backends[d->backend];
		json_t *ost = json_null();

		if (d->state == DIMM_EMPTY)
			continue;
		if (d->has_ost)
			ost = json_pack("{s:I,s:I,s:s}", "source",
					(json_int_t)d->ost_source, "status",
					(json_int_t)d->ost_status, "name",
					acpi_ost_status_name(d->ost_source,
						      d->ost_status));
		json_array_append_new(list, json_pack(
			"{s:s,s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:o}", "id", d->id,
			"slot", (json_int_t)i, "addr", (json_int_t)d->addr,
			"size", (json_int_t)d->size, "node", (json_int_t)d->node,
			"memdev", b->id, "backend", backend_kind_name(b->kind),
			"state", dimm_state_name(d->state), "ost", ost));
	}
	pthread_mutex_unlock(&m->lock);
	return list;
}

static json_t *since(uint64_t t0, uint64_t t)
{
	return t && t >= t0 ? json_integer((json_int_t)((t - t0) / 1000))
			    : json_null();
}

static json_t *cmd_timeline(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->map.slots; i++) {
		const struct dimm *d = &m->dimms.slots[i];

		if (d->state == DIMM_EMPTY || !d->t.request)
			continue;
		json_array_append_new(list, json_pack(
			"{s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "device", d->id, "slot",
			(json_int_t)i, "slot-call-us",
			since(d->t.request, d->t.slot_call), "slot-installed-us",
			since(d->t.request, d->t.memslot), "sci-raised-us",
			since(d->t.request, d->t.sci), "guest-first-read-us",
			since(d->t.request, d->t.guest_read), "ost-us",
			since(d->t.request, d->t.ost)));
	}
	pthread_mutex_unlock(&m->lock);
	return list;
}

static json_t *cmd_system_powerdown(void *ctx, json_t *args, char *err,
				    size_t errlen)
{
	struct machine *m = ctx;

	(void)args;
	if (!m->vm_live) {
		snprintf(err, errlen, "the guest is restarting; try again");
		return NULL;
	}
	acpi_pm_pm1_raise(&m->vm.pm, ACPI_PM1_PWRBTN);
	return json_object();
}

static json_t *cmd_system_reset(void *ctx, json_t *args, char *err,
				size_t errlen)
{
	struct machine *m = ctx;

	(void)args;
	(void)err;
	(void)errlen;
	if (m->vm_live)
		vm_request_stop(&m->vm, VM_RESET);
	return json_object();
}

static json_t *cmd_quit(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;

	(void)args;
	(void)err;
	(void)errlen;
	m->quit = true;
	if (m->vm_live)
		vm_request_stop(&m->vm, VM_KILLED);
	return json_object();
}

static const struct qmp_command commands[] = {
	{ "qmp_capabilities", cmd_capabilities },
	{ "query-version", cmd_query_version },
	{ "query-status", cmd_query_status },
	{ "query-commands", cmd_query_commands },
	{ "object-add", cmd_object_add },
	{ "object-del", cmd_object_del },
	{ "device_add", cmd_device_add },
	{ "device_del", cmd_device_del },
	{ "x-memplug-device-del-cancel", cmd_device_del_cancel },
	{ "query-memory-devices", cmd_query_memory_devices },
	{ "query-acpi-ospm-status", cmd_query_ospm },
	{ "query-memory-size-summary", cmd_query_size_summary },
	{ "x-memplug-query-dimms", cmd_query_dimms },
	{ "x-memplug-timeline", cmd_timeline },
	{ "system_powerdown", cmd_system_powerdown },
	{ "system_reset", cmd_system_reset },
	{ "quit", cmd_quit },
};

static json_t *cmd_query_commands(void *ctx, json_t *args, char *err,
				  size_t errlen)
{
	json_t *list = json_array();

	(void)ctx;
	(void)args;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		json_array_append_new(list, json_pack("{s:s}", "name",
						      commands[i].name));
	return list;
}

/* ---- DIMMs given on the command line ---- */

/* A --dimm as config_parse left it: its backend, then the DIMM. */
static int coldplug_one(struct machine *m, const struct config_dimm *c)
{
	char err[256];
	uint64_t addr;
	int s;

	s = backend_add(&m->dimms, &c->backend, err, sizeof(err));
	/* Before boot nothing waits on the main loop: populate right here. */
	if (s == 0 && c->backend.prealloc) {
		struct backend *be = backend_find(&m->dimms, c->memdev);

		s = backend_prealloc_end(&m->dimms, c->memdev,
					 prealloc_populate(be->hva, be->size,
							   NULL, NULL),
					 err, sizeof(err));
	}
	if (s < 0) {
		log_error("--dimm %s: %s", c->spec, err);
		return -EINVAL;
	}
	s = dimm_check(&m->dimms, &c->dimm, &addr, err, sizeof(err));
	if (s < 0) {
		log_error("--dimm %s: %s", c->spec, err);
		backend_del(&m->dimms, c->memdev, err, sizeof(err));
		return -EINVAL;
	}
	dimm_commit(&m->dimms, s, &c->dimm, addr, false);
	return 0;
}

/* Every DIMM the machine has goes into a new boot as present: coldplugged
 * ones, and hot-added ones the guest finds again after a reset. */
static int attach_dimms(struct machine *m)
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

/* ---- the main loop's other inputs ---- */

static void on_signal(struct watch *w, uint32_t events)
{
	struct machine *m = w->ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) == sizeof(si))
		log_info("terminating on signal %u", si.ssi_signo);
	m->quit = true;
	if (m->vm_live)
		vm_request_stop(&m->vm, VM_KILLED);
}

static void on_stdin(struct watch *w, uint32_t events)
{
	struct machine *m = w->ctx;
	uint8_t buf[64];
	ssize_t r;

	(void)events;
	r = read(w->fd, buf, sizeof(buf));
	if (r <= 0) {
		loop_del(&m->loop, w);
		m->stdin_open = false;
		return;
	}
	/* The UART FIFO is small; what does not fit is dropped, as on
	 * real hardware. */
	if (m->vm_live)
		serial_input(&m->vm.com1, buf, (size_t)r);
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
	    (r = prealloc_init(&m->prealloc, &m->loop, (struct prealloc_ops){
		     prealloc_progress, prealloc_finished, m })) < 0) {
		log_error("cannot set up the main loop: %s", strerror(-r));
		return r;
	}
	for (unsigned int i = 0; i < cfg->ndimms; i++)
		if ((r = coldplug_one(m, &cfg->dimms[i])) < 0)
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
		r = qmp_open(&m->qmp, cfg->control, &m->loop, commands,
			     sizeof(commands) / sizeof(commands[0]), m);
		if (r < 0)
			return r;
		m->have_qmp = true;
	}
	return 0;
}

struct memhp_events machine_memhp_events(struct machine *m)
{
	return (struct memhp_events){ on_ost, on_eject, on_first_read,
				      on_refused, m };
}

int machine_run(struct machine *m)
{
	struct memhp_events ev = machine_memhp_events(m);
	enum vm_state why;
	int r;

	for (;;) {
		r = vm_create(&m->vm, m->kvm_fd, m->cfg, &m->kernel, &m->map, ev);
		if (r == 0) {
			pthread_mutex_lock(&m->lock);
			r = attach_dimms(m);
			m->vm_live = r == 0;
			pthread_mutex_unlock(&m->lock);
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
		/* The count of a flood still being held back when it ends. */
		log_refused_held_back(m->refused_log.suppressed);
		m->refused_log.suppressed = 0;
		if (why == VM_RESET) {
			push_event(m, "RESET", json_pack("{s:b,s:s}", "guest", 1,
							 "reason", "guest-reset"));
			pthread_mutex_unlock(&m->lock);
			log_info("restarting the guest");
			continue;
		}
		push_event(m, "SHUTDOWN", json_pack(
			"{s:b,s:s}", "guest", why == VM_POWEROFF, "reason",
			why == VM_POWEROFF ? "guest-shutdown" :
			why == VM_KILLED ? "host-qmp-quit" : "guest-panic"));
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
