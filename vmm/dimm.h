/* Memory backends and DIMMs: what the control socket creates and the guest
 * sees as PNP0C80 devices. This module keeps the table, checks every
 * request against the rules before anything changes, places DIMMs in the
 * hotplug window and owns the host mappings. It does not touch KVM; the
 * VMM installs the memory slots. */
#ifndef MEMPLUG_VMM_DIMM_H
#define MEMPLUG_VMM_DIMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/memmap.h"

#define DIMM_ID_MAX 64
/* A DIMM's QOM path: /machine/peripheral/ID, or for one added without an
 * id (QEMU invents none) /machine/peripheral-anon/device[N]. */
#define DIMM_PATH_MAX (DIMM_ID_MAX + 32)
#define DIMM_MAX_BACKENDS MEMHP_MAX_SLOTS

enum backend_kind { BACKEND_RAM, BACKEND_MEMFD, BACKEND_FILE };

struct backend {
	bool used;            /* this table entry holds a backend */
	char id[DIMM_ID_MAX];
	enum backend_kind kind;
	uint64_t size;
	bool share, prealloc, reserve, merge, dump, discard_data;
	unsigned int prealloc_threads;
	int policy;
	uint64_t host_nodes;
	bool preallocating;   /* not usable until backend_prealloc_end() */
	bool created;         /* mem_path is a file memplug created */
	char *mem_path;       /* file backend only */
	int fd;               /* memfd or file, -1 for anonymous */
	uint8_t *hva;
	int dimm;             /* slot of the DIMM using it, -1 if none */
};

enum dimm_state { DIMM_EMPTY, DIMM_INSERTING, DIMM_PRESENT, DIMM_REMOVING };

/* Monotonic nanoseconds of each hot-add step; 0 = not reached. */
struct dimm_timeline {
	/* slot_call: KVM_SET_USER_MEMORY_REGION called; memslot: it returned */
	uint64_t request, slot_call, memslot, sci, guest_read, ost;
};

struct dimm {
	enum dimm_state state;
	char id[DIMM_ID_MAX]; /* "" for an anonymous DIMM */
	char path[DIMM_PATH_MAX];
	int backend;
	uint64_t addr, size;
	unsigned int node;
	bool hotplugged;
	struct dimm_timeline t;
};

struct backend_args {
	enum backend_kind kind;
	const char *id;
	uint64_t size;
	bool share, prealloc;
	/* QEMU's merge (MADV_MERGEABLE), dump (else MADV_DONTDUMP), seal and
	 * hugetlb (memfd), discard-data (file: dropped at delete) */
	bool merge, dump, seal, hugetlb, discard_data;
	uint64_t hugetlbsize, align; /* 0: the default */
	unsigned int prealloc_threads;
	int policy;          /* MPOL_* of <linux/mempolicy.h> */
	uint64_t host_nodes; /* bit n: host node n */
	/* QEMU's "reserve" (default on): map with the host's commit charge
	 * (or huge page reservation), so the host's overcommit policy
	 * refuses memory it cannot back now, not the OOM killer later. */
	bool reserve;
	const char *mem_path;
};

struct dimm_args {
	const char *id, *memdev; /* id NULL: anonymous */
	unsigned int node;
	int slot;         /* -1: first free */
	uint64_t addr;    /* 0: first free range */
};

/* The last _OST the guest sent about a slot. It outlives an eject (Linux
 * answers _EJ0 with _OST(3, 0) once the slot is empty) and is cleared when
 * a DIMM is plugged there, as QEMU keeps it for query-acpi-ospm-status. */
struct dimm_ost {
	bool has;
	uint32_t source, status;
};

struct dimms {
	const struct memmap *map;
	unsigned int nodes;
	uint64_t block; /* guest memory block size */
	struct backend backends[DIMM_MAX_BACKENDS];
	struct dimm slots[MEMHP_MAX_SLOTS];
	struct dimm_ost ost[MEMHP_MAX_SLOTS];
	unsigned int anon_next; /* N of the next anonymous DIMM's path */
};

void dimms_init(struct dimms *d, const struct memmap *map, unsigned int nodes,
		uint64_t block);
/* Frees every backend (memplug exits). */
void dimms_free(struct dimms *d);

/* Creates and maps a backend. Returns 0 or -errno with a message in err
 * that names the rule; nothing is left behind on failure. With prealloc
 * it is left preallocating: the caller populates the mapping (vmm/
 * prealloc.h) and then calls backend_prealloc_end. */
int backend_add(struct dimms *d, const struct backend_args *a, char *err,
		size_t errlen);
/* Ends the preallocation of backend id with the populate's result r: the
 * backend becomes usable, or (r < 0) is deleted as if never added, with
 * the message in err. Returns r. */
int backend_prealloc_end(struct dimms *d, const char *id, int r, char *err,
			 size_t errlen);
int backend_del(struct dimms *d, const char *id, char *err, size_t errlen);
struct backend *backend_find(struct dimms *d, const char *id);

/* Checks a DIMM request and picks its slot and address, changing nothing.
 * Returns the slot, or -errno with a message in err. */
int dimm_check(struct dimms *d, const struct dimm_args *a, uint64_t *addr,
	       char *err, size_t errlen);
/* Records a checked DIMM in its slot (state INSERTING if hotplugged,
 * PRESENT otherwise). */
void dimm_commit(struct dimms *d, int slot, const struct dimm_args *a,
		 uint64_t addr, bool hotplugged);
/* Slot of the DIMM with this id or QOM path, or -1. */
int dimm_find(const struct dimms *d, const char *name);
/* What messages call a DIMM: its id, or its path when it has none. */
const char *dimm_name(const struct dimm *m);

const char *backend_kind_name(enum backend_kind k);
const char *dimm_state_name(enum dimm_state s);

#endif
