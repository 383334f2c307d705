/* Guest RAM planning: where boot RAM goes around the 3-4 GiB MMIO hole,
 * what the e820 table says, and where the hotplug window starts. Pure
 * arithmetic, unit-tested without KVM. */
#ifndef MEMPLUG_VMM_MEMMAP_H
#define MEMPLUG_VMM_MEMMAP_H

#include <stddef.h>
#include <stdint.h>

#include "include/memplug/e820.h"
#include "include/memplug/hw/memhp.h"

#define MEMMAP_MIN_RAM (32ULL << 20)
/* The guest's memory block size: Linux on x86-64 uses 128M below 64G of
 * boot RAM and up to 2G above; DIMMs are placed and sized in these units. */
#define MEMMAP_BLOCK_SIZE (128ULL << 20)
#define MEMMAP_BLOCK_MAX (2ULL << 30)

struct memmap {
	uint64_t ram;        /* boot RAM in bytes */
	uint64_t low_size;   /* boot RAM mapped from GPA 0 (below the hole) */
	uint64_t high_size;  /* boot RAM mapped from 4 GiB */
	uint64_t maxmem;     /* boot RAM + everything that may be hot-added */
	unsigned int slots;  /* DIMM slots; 0 = no hotplug */
	uint64_t block;      /* guest memory block size */
	uint64_t hp_base, hp_size; /* hotplug window; size 0 without slots */
};

/* Plans the map. Returns 0, or -EINVAL with a message in err naming the
 * rule that was broken. */
int memmap_plan(struct memmap *m, uint64_t ram, unsigned int slots,
		uint64_t maxmem, char *err, size_t errlen);
/* The same with another memory block size (a power of two, 128M-2G). */
int memmap_plan_block(struct memmap *m, uint64_t ram, unsigned int slots,
		      uint64_t maxmem, uint64_t block, char *err,
		      size_t errlen);

/* Fills the e820 table for boot RAM (the hotplug window is never in it).
 * Returns the number of entries. */
size_t memmap_e820(const struct memmap *m, struct e820_entry *e, size_t max);

#define MEMMAP_MAX_NODES 4
#define MEMMAP_MAX_RANGES (MEMMAP_MAX_NODES + 1)

struct memmap_range {
	uint64_t base, size;
	unsigned int node;
};

/* Splits boot RAM over nodes in equal, block-aligned parts (the last node
 * takes the remainder), as guest-physical ranges cut at the MMIO hole.
 * Returns the number of ranges, or -EINVAL with a message in err. */
int memmap_numa(const struct memmap *m, unsigned int nodes,
		struct memmap_range *r, size_t max, char *err, size_t errlen);

#endif
