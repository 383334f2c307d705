#include "vmm/qom.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/machine.h"
#include "vmm/memdev.h"
#include "vmm/qmp_cmds.h"

#define OBJECTS "/objects"
#define PERIPHERAL "/machine/peripheral"
#define PERIPHERAL_ANON "/machine/peripheral-anon"

static const char *qom_type(enum backend_kind k)
{
	return k == BACKEND_MEMFD ? "memory-backend-memfd"
	       : k == BACKEND_FILE ? "memory-backend-file"
				   : "memory-backend-ram";
}

/* A backend in QEMU's Memdev terms. */
static json_t *memdev_props(const struct backend *b)
{
	json_t *nodes = json_array();

	for (int n = 0; n < 64; n++)
		if (b->host_nodes >> n & 1)
			json_array_append_new(nodes, json_integer(n));
	return json_pack("{s:I,s:b,s:b,s:b,s:b,s:b,s:o,s:s}", "size",
			 (json_int_t)b->size, "merge", b->merge, "dump",
			 b->dump, "prealloc", b->prealloc, "share", b->share,
			 "reserve", b->reserve, "host-nodes", nodes, "policy",
			 memdev_policy_name(b->policy));
}

json_t *qom_query_memdev(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < DIMM_MAX_BACKENDS; i++) {
		const struct backend *b = &m->dimms.backends[i];
		json_t *p;

		if (!b->used)
			continue;
		p = memdev_props(b);
		if (p)
			json_object_set_new(p, "id", json_string(b->id));
		json_array_append_new(list, p);
	}
	pthread_mutex_unlock(&m->lock);
	return list;
}

static json_t *dimm_props(const struct dimms *d, const struct dimm *m,
			  unsigned int slot)
{
	char memdev[DIMM_ID_MAX + 16];

	snprintf(memdev, sizeof(memdev), OBJECTS "/%s",
		 d->backends[m->backend].id);
	return json_pack("{s:I,s:I,s:I,s:I,s:s}", "addr", (json_int_t)m->addr,
			 "slot", (json_int_t)slot, "node", (json_int_t)m->node,
			 "size", (json_int_t)m->size, "memdev", memdev);
}

/* The properties of the object at path (a backend or a DIMM) with its QOM
 * type in *type, or NULL if there is none. Lock held. */
static json_t *object_at(const struct machine *m, const char *path,
			 const char **type)
{
	const struct dimms *d = &m->dimms;

	if (!strncmp(path, OBJECTS "/", sizeof(OBJECTS))) {
		for (int i = 0; i < DIMM_MAX_BACKENDS; i++)
			if (d->backends[i].used &&
			    !strcmp(d->backends[i].id, path + sizeof(OBJECTS))) {
				*type = qom_type(d->backends[i].kind);
				return memdev_props(&d->backends[i]);
			}
		return NULL;
	}
	for (unsigned int s = 0; s < d->map->slots; s++)
		if (d->slots[s].state != DIMM_EMPTY &&
		    !strcmp(d->slots[s].path, path)) {
			*type = "pc-dimm";
			return dimm_props(d, &d->slots[s], s);
		}
	return NULL;
}

static json_t *child(const char *name, const char *type)
{
	char t[64];

	snprintf(t, sizeof(t), "child<%s>", type);
	return json_pack("{s:s,s:s}", "name", name, "type", t);
}

/* The children of a container, or NULL if path is none of memplug's. */
static json_t *container(const struct machine *m, const char *path)
{
	const struct dimms *d = &m->dimms;
	bool anon = !strcmp(path, PERIPHERAL_ANON);
	json_t *list;

	if (strcmp(path, OBJECTS) && strcmp(path, PERIPHERAL) && !anon)
		return NULL;
	/* Every QOM object has its type, a container too. */
	list = json_array();
	json_array_append_new(list, json_pack("{s:s,s:s}", "name", "type",
					      "type", "string"));
	if (!strcmp(path, OBJECTS)) {
		for (int i = 0; i < DIMM_MAX_BACKENDS; i++)
			if (d->backends[i].used)
				json_array_append_new(list, child(
					d->backends[i].id,
					qom_type(d->backends[i].kind)));
		return list;
	}
	for (unsigned int s = 0; s < d->map->slots; s++) {
		const struct dimm *x = &d->slots[s];

		if (x->state != DIMM_EMPTY && (x->id[0] == 0) == anon)
			json_array_append_new(list, child(
				strrchr(x->path, '/') + 1, "pc-dimm"));
	}
	return list;
}

static json_t *no_object(struct machine *m, const char *path, char *err,
			 size_t errlen)
{
	snprintf(err, errlen, "Device '%s' not found", path);
	return qmp_fail(&m->qmp, -ENOENT);
}

json_t *qom_list(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;
	const char *path = NULL, *type = NULL;
	json_t *r, *props;

	if (qmp_arg_str(args, "path", true, &path, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	r = container(m, path);
	if (!r && (props = object_at(m, path, &type))) {
		const char *key;
		json_t *v;

		r = json_array();
		json_array_append_new(r, json_pack("{s:s,s:s}", "name", "type",
						   "type", "string"));
		json_object_foreach(props, key, v)
			json_array_append_new(r, json_pack(
				"{s:s,s:s}", "name", key, "type",
				json_is_string(v) ? "string"
				: json_is_boolean(v) ? "bool"
				: json_is_array(v) ? "uint16List" : "int"));
		json_decref(props);
	}
	pthread_mutex_unlock(&m->lock);
	return r ? r : no_object(m, path, err, errlen);
}

json_t *qom_get(void *ctx, json_t *args, char *err, size_t errlen)
{
	struct machine *m = ctx;
	const char *path = NULL, *prop = NULL, *type = NULL;
	json_t *props, *v = NULL;

	if (qmp_arg_str(args, "path", true, &path, err, errlen) < 0 ||
	    qmp_arg_str(args, "property", true, &prop, err, errlen) < 0)
		return NULL;
	pthread_mutex_lock(&m->lock);
	props = object_at(m, path, &type);
	if (props) {
		v = !strcmp(prop, "type") ? json_string(type)
					  : json_incref(json_object_get(props, prop));
		json_decref(props);
	}
	pthread_mutex_unlock(&m->lock);
	if (!props)
		return no_object(m, path, err, errlen);
	if (!v)
		snprintf(err, errlen, "Property '%s.%s' not found", type, prop);
	return v;
}
