#include "vmm/memmap.h"

#include <errno.h>
#include <stdio.h>

#include "include/memplug/layout.h"
#include "lib/size.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

int memmap_plan(struct memmap *m, uint64_t ram, unsigned int slots,
		uint64_t maxmem, char *err, size_t errlen)
{
	return memmap_plan_block(m, ram, slots, maxmem, MEMMAP_BLOCK_SIZE, err,
				 errlen);
}

/* The rules a plan must keep; maxmem is already defaulted to ram. */
static int plan_check(uint64_t ram, unsigned int slots, uint64_t maxmem,
		      uint64_t block, char *err, size_t errlen)
{
	char a[32], b[32];

	if (block < MEMMAP_BLOCK_SIZE || block > MEMMAP_BLOCK_MAX ||
	    (block & (block - 1))) {
		snprintf(err, errlen, "block size %s is not one Linux uses: a "
			 "power of two from 128M to 2G",
			 size_fmt(block, a, sizeof(a)));
		return -EINVAL;
	}
	if (ram < MEMMAP_MIN_RAM) {
		snprintf(err, errlen, "memory size %s is below the minimum of %s",
			 size_fmt(ram, a, sizeof(a)),
			 size_fmt(MEMMAP_MIN_RAM, b, sizeof(b)));
		return -EINVAL;
	}
	if (ram % MiB) {
		snprintf(err, errlen, "memory size %s is not a multiple of 1M",
			 size_fmt(ram, a, sizeof(a)));
		return -EINVAL;
	}
	if (slots > MEMHP_MAX_SLOTS) {
		snprintf(err, errlen, "slots=%u is above the maximum of %u",
			 slots, MEMHP_MAX_SLOTS);
		return -EINVAL;
	}
	if (maxmem < ram) {
		snprintf(err, errlen, "maxmem=%s is below the memory size %s",
			 size_fmt(maxmem, a, sizeof(a)),
			 size_fmt(ram, b, sizeof(b)));
		return -EINVAL;
	}
	if (slots && maxmem == ram) {
		snprintf(err, errlen,
			 "slots=%u needs maxmem above the memory size %s",
			 slots, size_fmt(ram, a, sizeof(a)));
		return -EINVAL;
	}
	if (!slots && maxmem != ram) {
		snprintf(err, errlen,
			 "maxmem=%s needs slots=N for the DIMMs that fill it",
			 size_fmt(maxmem, a, sizeof(a)));
		return -EINVAL;
	}
	if ((maxmem - ram) % block) {
		snprintf(err, errlen,
			 "maxmem - memory = %s is not a multiple of the %s "
			 "memory block size",
			 size_fmt(maxmem - ram, a, sizeof(a)),
			 size_fmt(block, b, sizeof(b)));
		return -EINVAL;
	}
	/* Keep every address inside the 46 bits of guest-physical space
	 * that current x86 CPUs and Linux's direct map handle. */
	if (maxmem > (1ULL << 45)) {
		snprintf(err, errlen, "maxmem=%s is above the limit of 32T",
			 size_fmt(maxmem, a, sizeof(a)));
		return -EINVAL;
	}
	return 0;
}

int memmap_plan_block(struct memmap *m, uint64_t ram, unsigned int slots,
		      uint64_t maxmem, uint64_t block, char *err,
		      size_t errlen)
{
	uint64_t ram_end;
	int rc;

	*m = (struct memmap){ 0 };
	if (!maxmem)
		maxmem = ram;
	rc = plan_check(ram, slots, maxmem, block, err, errlen);
	if (rc)
		return rc;
	m->ram = ram;
	m->slots = slots;
	m->block = block;
	m->maxmem = maxmem;
	m->low_size = ram < LAYOUT_MMIO_HOLE ? ram : LAYOUT_MMIO_HOLE;
	m->high_size = ram - m->low_size;
	ram_end = m->high_size ? LAYOUT_4G + m->high_size : m->low_size;
	if (slots) {
		/* Above 4 GiB even for small guests, so the window never
		 * collides with the MMIO hole, and 1 GiB aligned so a guest
		 * can map it with large pages. */
		m->hp_base = align_up(ram_end, GiB);
		if (m->hp_base < LAYOUT_4G)
			m->hp_base = LAYOUT_4G;
		m->hp_size = maxmem - ram;
	}
	return 0;
}

static size_t e820_add(struct e820_entry *e, size_t n, size_t max,
		       uint64_t addr, uint64_t size, uint32_t type)
{
	if (n < max && size)
		e[n++] = (struct e820_entry){ addr, size, type };
	return n;
}

size_t memmap_e820(const struct memmap *m, struct e820_entry *e, size_t max)
{
	size_t n = 0;

	n = e820_add(e, n, max, 0, LAYOUT_EBDA, E820_RAM);
	n = e820_add(e, n, max, LAYOUT_EBDA, LAYOUT_HIGH_RAM - LAYOUT_EBDA,
		     E820_RESERVED);
	n = e820_add(e, n, max, LAYOUT_HIGH_RAM,
		     m->low_size - LAYOUT_HIGH_RAM, E820_RAM);
	n = e820_add(e, n, max, LAYOUT_4G, m->high_size, E820_RAM);
	return n;
}

/* Guest-physical address of byte `off` of boot RAM. */
static uint64_t ram_gpa(const struct memmap *m, uint64_t off)
{
	return off < m->low_size ? off : LAYOUT_4G + (off - m->low_size);
}

int memmap_numa(const struct memmap *m, unsigned int nodes,
		struct memmap_range *r, size_t max, char *err, size_t errlen)
{
	uint64_t per, start = 0;
	char a[32], b[32], c[32];
	size_t n = 0;

	if (!nodes || nodes > MEMMAP_MAX_NODES) {
		snprintf(err, errlen, "--numa nodes=%u: between 1 and %u nodes",
			 nodes, MEMMAP_MAX_NODES);
		return -EINVAL;
	}
	/* One node takes all RAM; more split it at block boundaries, so no
	 * memory block spans two nodes. */
	per = nodes == 1 ? m->ram : m->ram / nodes / m->block * m->block;
	if (!per) {
		snprintf(err, errlen, "--numa nodes=%u needs at least %s of "
			 "memory (%s per node), not %s", nodes,
			 size_fmt(nodes * m->block, a, sizeof(a)),
			 size_fmt(m->block, b, sizeof(b)),
			 size_fmt(m->ram, c, sizeof(c)));
		return -EINVAL;
	}
	for (unsigned int node = 0; node < nodes; node++) {
		uint64_t end = node == nodes - 1 ? m->ram : start + per;

		/* A node's part may straddle the MMIO hole: two ranges. */
		if (start < m->low_size && end > m->low_size) {
			if (n + 2 > max)
				return -ENOSPC;
			r[n++] = (struct memmap_range){ start, m->low_size - start,
							node };
			r[n++] = (struct memmap_range){ LAYOUT_4G,
							end - m->low_size, node };
		} else {
			if (n + 1 > max)
				return -ENOSPC;
			r[n++] = (struct memmap_range){ ram_gpa(m, start),
							end - start, node };
		}
		start = end;
	}
	return (int)n;
}
