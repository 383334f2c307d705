#include "vmm/dimm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/size.h"
#include "vmm/backing.h"

void dimms_init(struct dimms *d, const struct memmap *map, unsigned int nodes,
		uint64_t block)
{
	memset(d, 0, sizeof(*d));
	d->map = map;
	d->nodes = nodes ? nodes : 1;
	d->block = block;
	for (int i = 0; i < DIMM_MAX_BACKENDS; i++) {
		d->backends[i].fd = -1;
		d->backends[i].dimm = -1;
	}
}

const char *backend_kind_name(enum backend_kind k)
{
	switch (k) {
	case BACKEND_RAM: return "ram";
	case BACKEND_MEMFD: return "memfd";
	default: return "file";
	}
}

const char *dimm_state_name(enum dimm_state s)
{
	switch (s) {
	case DIMM_INSERTING: return "inserting";
	case DIMM_PRESENT: return "present";
	case DIMM_REMOVING: return "removing";
	default: return "empty";
	}
}

/* Ids as QEMU takes them: a letter, then letters, digits, '-', '.', '_'. */
static int check_id(const char *what, const char *id, char *err, size_t errlen)
{
	size_t n = id ? strlen(id) : 0;

	if (!n || n >= DIMM_ID_MAX) {
		snprintf(err, errlen, "%s id must be 1 to %d characters", what,
			 DIMM_ID_MAX - 1);
		return -EINVAL;
	}
	if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
		goto bad;
	for (size_t i = 1; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s id \"%s\" is not valid: it must start with a "
		 "letter and hold only letters, digits, '-', '.' and '_'",
		 what, id);
	return -EINVAL;
}

struct backend *backend_find(struct dimms *d, const char *id)
{
	for (int i = 0; i < DIMM_MAX_BACKENDS; i++)
		if (d->backends[i].used && !strcmp(d->backends[i].id, id))
			return &d->backends[i];
	return NULL;
}

int backend_add(struct dimms *d, const struct backend_args *a, char *err,
		size_t errlen)
{
	struct backend *b = NULL;
	char sz[32];
	int r;

	if ((r = check_id("backend", a->id, err, errlen)) < 0)
		return r;
	if (backend_find(d, a->id)) {
		snprintf(err, errlen, "a backend with id \"%s\" already exists",
			 a->id);
		return -EEXIST;
	}
	if (!a->size || a->size % (uint64_t)sysconf(_SC_PAGESIZE)) {
		snprintf(err, errlen, "backend size %s is not a positive multiple "
			 "of the page size",
			 size_fmt(a->size, sz, sizeof(sz)));
		return -EINVAL;
	}
	if (a->kind == BACKEND_FILE && (!a->mem_path || !*a->mem_path)) {
		snprintf(err, errlen, "memory-backend-file needs mem-path");
		return -EINVAL;
	}
	for (int i = 0; i < DIMM_MAX_BACKENDS && !b; i++)
		if (!d->backends[i].used)
			b = &d->backends[i];
	if (!b) {
		snprintf(err, errlen, "too many backends (%d)", DIMM_MAX_BACKENDS);
		return -ENOSPC;
	}
	b->kind = a->kind;
	b->size = a->size;
	b->share = a->share;
	b->prealloc = a->prealloc;
	b->reserve = a->reserve;
	b->merge = a->merge;
	b->dump = a->dump;
	b->discard_data = a->discard_data;
	b->prealloc_threads = a->prealloc_threads ? a->prealloc_threads : 1;
	b->policy = a->policy;
	b->host_nodes = a->host_nodes;
	if ((r = backing_create(b, a, err, errlen)) < 0) {
		backing_discard(b);
		return r;
	}
	b->preallocating = a->prealloc;
	snprintf(b->id, sizeof(b->id), "%s", a->id);
	b->used = true;
	b->dimm = -1;
	return 0;
}

int backend_prealloc_end(struct dimms *d, const char *id, int r, char *err,
			 size_t errlen)
{
	struct backend *b = backend_find(d, id);
	char sz[32];

	if (!b)
		return -ENOENT;
	b->preallocating = false;
	if (r == 0)
		return 0;
	snprintf(err, errlen, "cannot preallocate %s for backend %s: %s",
		 size_fmt(b->size, sz, sizeof(sz)), id,
		 r == -ECANCELED ? "memplug is stopping" : strerror(-r));
	backing_discard(b);
	return r;
}

static int refuse_preallocating(const struct backend *b, char *err,
				size_t errlen)
{
	snprintf(err, errlen, "backend %s is still being preallocated; wait "
		 "for the reply to its object-add", b->id);
	return -EBUSY;
}

int backend_del(struct dimms *d, const char *id, char *err, size_t errlen)
{
	struct backend *b = backend_find(d, id);

	if (!b) {
		snprintf(err, errlen, "no backend with id \"%s\"", id);
		return -ENOENT;
	}
	if (b->preallocating)
		return refuse_preallocating(b, err, errlen);
	if (b->dimm >= 0) {
		snprintf(err, errlen, "backend %s is in use by DIMM %s; remove the "
			 "DIMM first", id, dimm_name(&d->slots[b->dimm]));
		return -EBUSY;
	}
	backing_release(b);
	return 0;
}

void dimms_free(struct dimms *d)
{
	for (int i = 0; i < DIMM_MAX_BACKENDS; i++)
		if (d->backends[i].used)
			backing_release(&d->backends[i]);
}

int dimm_find(const struct dimms *d, const char *name)
{
	for (unsigned int i = 0; i < d->map->slots; i++) {
		const struct dimm *m = &d->slots[i];

		if (m->state != DIMM_EMPTY && *name &&
		    (!strcmp(m->id, name) || !strcmp(m->path, name)))
			return (int)i;
	}
	return -1;
}

const char *dimm_name(const struct dimm *m)
{
	return m->id[0] ? m->id : m->path;
}

static bool range_free(const struct dimms *d, uint64_t addr, uint64_t size)
{
	for (unsigned int i = 0; i < d->map->slots; i++) {
		const struct dimm *m = &d->slots[i];

		if (m->state != DIMM_EMPTY && addr < m->addr + m->size &&
		    m->addr < addr + size)
			return false;
	}
	return true;
}

/* The slot asked for if it is free, else the first free one. */
static int pick_slot(const struct dimms *d, const struct dimm_args *a,
		     char *err, size_t errlen)
{
	const struct memmap *m = d->map;

	if (a->slot >= 0) {
		if ((unsigned int)a->slot >= m->slots) {
			snprintf(err, errlen, "slot %d does not exist (slots 0-%u)",
				 a->slot, m->slots - 1);
			return -EINVAL;
		}
		if (d->slots[a->slot].state != DIMM_EMPTY) {
			snprintf(err, errlen, "slot %d is in use by DIMM %s",
				 a->slot, dimm_name(&d->slots[a->slot]));
			return -EBUSY;
		}
		return a->slot;
	}
	for (unsigned int i = 0; i < m->slots; i++)
		if (d->slots[i].state == DIMM_EMPTY)
			return (int)i;
	snprintf(err, errlen, "no free DIMM slot (all %u in use)", m->slots);
	return -ENOSPC;
}

/* The address asked for (want) if it is a free aligned range of the
 * window, else the first free range of size. */
static int place(const struct dimms *d, uint64_t want, uint64_t size,
		 uint64_t *addr, char *err, size_t errlen)
{
	const struct memmap *m = d->map;
	uint64_t end = m->hp_base + m->hp_size;
	char s1[32];

	if (want) {
		if (want % d->block || want < m->hp_base || want > end - size ||
		    !range_free(d, want, size)) {
			snprintf(err, errlen, "addr 0x%" PRIx64 " is not a free, "
				 "%s-aligned range of the hotplug window "
				 "0x%" PRIx64 "-0x%" PRIx64, want,
				 size_fmt(d->block, s1, sizeof(s1)),
				 m->hp_base, end);
			return -EINVAL;
		}
		*addr = want;
		return 0;
	}
	/* First fit; the window is as large as maxmem - memory, so a DIMM
	 * that fits the room left can fail only through fragmentation. */
	for (uint64_t at = m->hp_base; at + size <= end; at += d->block) {
		if (range_free(d, at, size)) {
			*addr = at;
			return 0;
		}
	}
	snprintf(err, errlen, "no free range of %s in the hotplug window "
		 "(fragmented by removed DIMMs)", size_fmt(size, s1, sizeof(s1)));
	return -ENOSPC;
}

int dimm_check(struct dimms *d, const struct dimm_args *a, uint64_t *addr,
	       char *err, size_t errlen)
{
	const struct memmap *m = d->map;
	uint64_t used = 0, size;
	struct backend *b;
	char s1[32], s2[32], s3[32];
	int slot, r;

	if (!m->slots) {
		snprintf(err, errlen, "memory hotplug is off: start memplug with "
			 "--memory SIZE,slots=N,maxmem=SIZE");
		return -ENODEV;
	}
	if (a->id && (r = check_id("DIMM", a->id, err, errlen)) < 0)
		return r;
	if (a->id && dimm_find(d, a->id) >= 0) {
		snprintf(err, errlen, "a DIMM with id \"%s\" already exists", a->id);
		return -EEXIST;
	}
	if (!a->memdev || !(b = backend_find(d, a->memdev))) {
		snprintf(err, errlen, "no backend with id \"%s\" (create it with "
			 "object-add first)", a->memdev ? a->memdev : "");
		return -ENOENT;
	}
	if (b->dimm >= 0) {
		snprintf(err, errlen, "backend %s is already used by DIMM %s",
			 b->id, dimm_name(&d->slots[b->dimm]));
		return -EBUSY;
	}
	if (b->preallocating)
		return refuse_preallocating(b, err, errlen);
	if (a->node >= d->nodes) {
		snprintf(err, errlen, "node %u does not exist: the guest has %u "
			 "node%s (0-%u)", a->node, d->nodes,
			 d->nodes == 1 ? "" : "s", d->nodes - 1);
		return -EINVAL;
	}
	size = b->size;
	if (size % d->block) {
		snprintf(err, errlen, "DIMM size %s is not a multiple of the %s "
			 "block size", size_fmt(size, s1, sizeof(s1)),
			 size_fmt(d->block, s2, sizeof(s2)));
		return -EINVAL;
	}
	for (unsigned int i = 0; i < m->slots; i++)
		if (d->slots[i].state != DIMM_EMPTY)
			used += d->slots[i].size;
	if (size > m->hp_size - used) {
		snprintf(err, errlen, "DIMM size %s is larger than the %s left "
			 "under maxmem=%s", size_fmt(size, s1, sizeof(s1)),
			 size_fmt(m->hp_size - used, s2, sizeof(s2)),
			 size_fmt(m->maxmem, s3, sizeof(s3)));
		return -ENOSPC;
	}
	if ((slot = pick_slot(d, a, err, errlen)) < 0)
		return slot;
	r = place(d, a->addr, size, addr, err, errlen);
	return r < 0 ? r : slot;
}

void dimm_commit(struct dimms *d, int slot, const struct dimm_args *a,
		 uint64_t addr, bool hotplugged)
{
	struct dimm *m = &d->slots[slot];
	struct backend *b = backend_find(d, a->memdev);

	memset(m, 0, sizeof(*m));
	d->ost[slot] = (struct dimm_ost){ 0 };
	if (a->id) {
		snprintf(m->id, sizeof(m->id), "%s", a->id);
		snprintf(m->path, sizeof(m->path), "/machine/peripheral/%s",
			 a->id);
	} else {
		snprintf(m->path, sizeof(m->path),
			 "/machine/peripheral-anon/device[%u]", d->anon_next++);
	}
	m->backend = (int)(b - d->backends);
	m->addr = addr;
	m->size = b->size;
	m->node = a->node;
	m->hotplugged = hotplugged;
	m->state = hotplugged ? DIMM_INSERTING : DIMM_PRESENT;
	b->dimm = slot;
}
