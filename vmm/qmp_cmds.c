#include "vmm/qmp_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/ost.h"
#include "lib/size.h"
#include "vmm/hmp.h"
#include "vmm/hotplug.h"
#include "vmm/machine.h"
#include "vmm/memdev.h"
#include "vmm/qmp_schema.h"
#include "vmm/qom.h"

int qmp_arg_str(json_t *args, const char *key, bool required,
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

int qmp_arg_uint(json_t *args, const char *key, uint64_t *out, char *err,
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

int qmp_arg_bool(json_t *args, const char *key, bool *out, char *err,
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
	json_t *enable = json_object_get(args, "enable"), *cap;
	size_t i;

	(void)ctx;
	if (enable && !json_is_array(enable)) {
		snprintf(err, errlen, "Invalid parameter type for 'enable', "
			 "expected: array");
		return NULL;
	}
	/* QEMU's one capability is oob, which the greeting does not offer. */
	json_array_foreach(enable, i, cap) {
		if (json_is_string(cap) && !strcmp(json_string_value(cap), "oob"))
			snprintf(err, errlen, "Capability oob not available");
		else if (json_is_string(cap))
			snprintf(err, errlen, "Parameter 'enable[%zu]' does not "
				 "accept value '%s'", i, json_string_value(cap));
		else
			snprintf(err, errlen, "Invalid parameter type for "
				 "'enable[%zu]', expected: string", i);
		return NULL;
	}
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
static json_t *cmd_query_schema(void *ctx, json_t *args, char *err,
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
	r = prealloc_start(&m->prealloc, b->hva, b->size, b->prealloc_threads,
			   req);
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
	struct machine *m = ctx;
	struct backend_args a;
	const char *type = NULL, *id = NULL;
	json_t *props = json_object_get(args, "props"), *own;
	int r;

	if (qmp_arg_str(args, "qom-type", true, &type, err, errlen) < 0 ||
	    qmp_arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	/* Older QEMU clients put the properties in "props". */
	if (props && !json_is_object(props)) {
		snprintf(err, errlen, "Invalid parameter type for 'props', "
			 "expected: object");
		return NULL;
	}
	own = json_deep_copy(props ? props : args);
	json_object_del(own, "qom-type");
	json_object_del(own, "id");
	if (props && json_object_size(args) > 3) {
		snprintf(err, errlen, "give the properties in \"props\" or "
			 "beside qom-type and id, not both");
		json_decref(own);
		return NULL;
	}
	/* a's strings (mem-path) point into own until backend_add. */
	r = memdev_parse(type, own, &a, err, errlen);
	a.id = id;
	if (r == 0) {
		pthread_mutex_lock(&m->lock);
		r = backend_add(&m->dimms, &a, err, errlen);
		pthread_mutex_unlock(&m->lock);
	}
	json_decref(own);
	if (r < 0)
		return NULL;
	return a.prealloc ? prealloc_begin(m, a.id, err, errlen) : json_object();
}

static json_t *cmd_object_del(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	struct machine *m = ctx;
	const char *id = NULL;
	int r;

	if (qmp_arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	r = backend_del(&m->dimms, id, err, errlen);
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? NULL : json_object();
}

static json_t *cmd_device_add(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	uint64_t node = 0, slot = UINT64_MAX, addr = 0;
	struct machine *m = ctx;
	struct dimm_args a = { 0 };
	const char *driver = NULL;
	int r;

	if (qmp_arg_str(args, "driver", true, &driver, err, errlen) < 0)
		return NULL;
	if (strcmp(driver, "pc-dimm")) {
		snprintf(err, errlen, "driver '%s' is not supported: memplug "
			 "plugs pc-dimm devices only", driver);
		return NULL;
	}
	/* As in QEMU: id is optional, memdev may be a QOM path, slot -1 is
	 * "any". */
	if (json_integer_value(json_object_get(args, "slot")) == -1)
		json_object_del(args, "slot");
	if (qmp_arg_str(args, "id", false, &a.id, err, errlen) < 0 ||
	    qmp_arg_str(args, "memdev", true, &a.memdev, err, errlen) < 0 ||
	    qmp_arg_uint(args, "node", &node, err, errlen) < 0 ||
	    qmp_arg_uint(args, "slot", &slot, err, errlen) < 0 ||
	    qmp_arg_uint(args, "addr", &addr, err, errlen) < 0)
		return NULL;
	if (!strncmp(a.memdev, "/objects/", 9))
		a.memdev += 9;
	if (node > UINT32_MAX || (slot != UINT64_MAX && slot > INT32_MAX)) {
		snprintf(err, errlen, "node or slot out of range");
		return NULL;
	}
	a.node = (unsigned int)node;
	a.slot = slot == UINT64_MAX ? -1 : (int)slot;
	a.addr = addr;
	r = hotplug_add(m, &a, err, errlen);
	return r < 0 ? qmp_fail(&m->qmp, r) : json_object();
}

/* device_del and x-memplug-device-del-cancel: {"id": ID} to op. */
static json_t *by_id(void *ctx, json_t *args, char *err, size_t errlen,
		     int (*op)(struct machine *, const char *, char *, size_t))
{
	struct machine *m = ctx;
	const char *id = NULL;
	int r;

	if (qmp_arg_str(args, "id", true, &id, err, errlen) < 0)
		return NULL;
	r = op(m, id, err, errlen);
	return r < 0 ? qmp_fail(&m->qmp, r) : json_object();
}

static json_t *cmd_device_del(void *ctx, json_t *args, char *err,
			      size_t errlen)
{
	return by_id(ctx, args, err, errlen, hotplug_remove);
}

/* x-memplug-device-del-cancel: withdraws a device_del the guest has not
 * acted on yet. The guest then reads REMOVE clear and EJECT is refused. */
static json_t *cmd_device_del_cancel(void *ctx, json_t *args, char *err,
				     size_t errlen)
{
	return by_id(ctx, args, err, errlen, hotplug_remove_cancel);
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
		json_t *data;

		if (d->state == DIMM_EMPTY)
			continue;
		snprintf(memdev, sizeof(memdev), "/objects/%s",
			 m->dimms.backends[d->backend].id);
		data = json_pack("{s:I,s:I,s:I,s:I,s:s,s:b,s:b}", "slot",
				 (json_int_t)i, "addr", (json_int_t)d->addr,
				 "size", (json_int_t)d->size, "node",
				 (json_int_t)d->node, "memdev", memdev,
				 "hotplugged", d->hotplugged, "hotpluggable", 1);
		/* QEMU lists a DIMM without an id without the member. */
		if (data && d->id[0])
			json_object_set_new(data, "id", json_string(d->id));
		json_array_append_new(list, json_pack("{s:s,s:o}", "type",
						      "dimm", "data", data));
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
	/* Every slot, as QEMU lists them. */
	for (unsigned int i = 0; i < m->map.slots; i++)
		json_array_append_new(list, hotplug_ost_info(
			&m->dimms.slots[i], i, m->dimms.ost[i].source,
			m->dimms.ost[i].status));
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
		const struct dimm_ost *o = &m->dimms.ost[i];
		json_t *ost = json_null();

		if (d->state == DIMM_EMPTY)
			continue;
		if (o->has)
			ost = json_pack("{s:I,s:I,s:s}", "source",
					(json_int_t)o->source, "status",
					(json_int_t)o->status, "name",
					acpi_ost_status_name(o->source, o->status));
		json_array_append_new(list, json_pack(
			"{s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:o}", "id",
			dimm_name(d), "path", d->path, "slot", (json_int_t)i, "addr", (json_int_t)d->addr,
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
			"{s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "device", dimm_name(d),
			"slot",
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
	qmp_event(&m->qmp, "POWERDOWN", NULL);
	return json_object();
}

static json_t *cmd_system_reset(void *ctx, json_t *args, char *err,
				size_t errlen)
{
	struct machine *m = ctx;

	(void)args;
	(void)err;
	(void)errlen;
	if (m->vm_live) {
		m->host_reset = true;
		vm_request_stop(&m->vm, VM_RESET);
	}
	return json_object();
}

static json_t *cmd_quit(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;

	(void)args;
	(void)err;
	(void)errlen;
	m->quit = true;
	m->quit_reason = "host-qmp-quit";
	if (m->vm_live)
		vm_request_stop(&m->vm, VM_KILLED);
	return json_object();
}

static json_t *cmd_hmp(void *ctx, json_t *args, char *err, size_t errlen)
{
	const char *line = NULL;
	uint64_t cpu = 0;
	json_t *r;

	if (qmp_arg_str(args, "command-line", true, &line, err, errlen) < 0 ||
	    qmp_arg_uint(args, "cpu-index", &cpu, err, errlen) < 0)
		return NULL;
	r = hmp_run(ctx, line);
	if (!r)
		snprintf(err, errlen, "no memory for the command's output");
	return r;
}

static const struct qmp_arg id_arg[] = { { "id", "str", false }, { 0 } };
static const struct qmp_arg capabilities_args[] = {
	{ "enable", "[str]", true }, { 0 },
};
static const struct qmp_arg object_add_args[] = {
	{ "qom-type", "str", false }, { "id", "str", false }, { 0 },
};
static const struct qmp_arg device_add_args[] = {
	{ "driver", "str", false }, { "id", "str", true },
	{ "memdev", "str", false }, { "node", "int", true },
	{ "slot", "int", true },    { "addr", "int", true },
	{ 0 },
};
static const struct qmp_arg hmp_args[] = {
	{ "command-line", "str", false }, { "cpu-index", "int", true }, { 0 },
};
static const struct qmp_arg qom_list_args[] = {
	{ "path", "str", false }, { 0 },
};
static const struct qmp_arg qom_get_args[] = {
	{ "path", "str", false }, { "property", "str", false }, { 0 },
};

static const struct qmp_command commands[] = {
	{ "qmp_capabilities", cmd_capabilities, capabilities_args, false },
	{ "query-version", cmd_query_version, NULL, false },
	{ "query-status", cmd_query_status, NULL, false },
	{ "query-commands", cmd_query_commands, NULL, false },
	{ "query-qmp-schema", cmd_query_schema, NULL, false },
	/* Its other members are those of the backend's type (memdev.h). */
	{ "object-add", cmd_object_add, object_add_args, true },
	{ "object-del", cmd_object_del, id_arg, false },
	{ "device_add", cmd_device_add, device_add_args, false },
	{ "device_del", cmd_device_del, id_arg, false },
	{ "x-memplug-device-del-cancel", cmd_device_del_cancel, id_arg, false },
	{ "query-memory-devices", cmd_query_memory_devices, NULL, false },
	{ "query-acpi-ospm-status", cmd_query_ospm, NULL, false },
	{ "query-memory-size-summary", cmd_query_size_summary, NULL, false },
	{ "x-memplug-query-dimms", cmd_query_dimms, NULL, false },
	{ "x-memplug-timeline", cmd_timeline, NULL, false },
	{ "system_powerdown", cmd_system_powerdown, NULL, false },
	{ "system_reset", cmd_system_reset, NULL, false },
	{ "quit", cmd_quit, NULL, false },
	{ "human-monitor-command", cmd_hmp, hmp_args, false },
	{ "query-memdev", qom_query_memdev, NULL, false },
	{ "qom-list", qom_list, qom_list_args, false },
	{ "qom-get", qom_get, qom_get_args, false },
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

static json_t *cmd_query_schema(void *ctx, json_t *args, char *err,
				size_t errlen)
{
	json_t *r = qmp_schema(commands, sizeof(commands) / sizeof(commands[0]));

	(void)ctx;
	(void)args;
	if (!r)
		snprintf(err, errlen, "cannot build the schema (no memory, or "
			 "an argument type it cannot name)");
	return r;
}

const struct qmp_command *qmp_cmds(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

struct prealloc_ops qmp_cmds_prealloc_ops(struct machine *m)
{
	return (struct prealloc_ops){ prealloc_progress, prealloc_finished, m };
}
