#include "include/memplug/layout.h"
#include "tests/unit.h"
#include "vmm/memmap.h"

static char err[256];

static void small_guest_fits_below_hole(void)
{
	struct memmap m;
	struct e820_entry e[8];
	size_t n;

	CHECK_EQ(memmap_plan(&m, 256 * MiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(m.low_size, 256 * MiB);
	CHECK_EQ(m.high_size, 0);
	CHECK_EQ(m.hp_size, 0);
	n = memmap_e820(&m, e, 8);
	CHECK_EQ(n, 3);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, LAYOUT_EBDA);
	CHECK_EQ(e[0].type, E820_RAM);
	/* EBDA, VGA hole and the BIOS area with the ACPI tables: reserved. */
	CHECK_EQ(e[1].addr, LAYOUT_EBDA);
	CHECK_EQ(e[1].addr + e[1].size, 1 * MiB);
	CHECK_EQ(e[1].type, E820_RESERVED);
	CHECK_EQ(e[2].addr, 1 * MiB);
	CHECK_EQ(e[2].size, 255 * MiB);
}

static void large_guest_splits_around_hole(void)
{
	struct memmap m;
	struct e820_entry e[8];
	size_t n;

	CHECK_EQ(memmap_plan(&m, 5 * GiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(m.low_size, 3 * GiB);
	CHECK_EQ(m.high_size, 2 * GiB);
	n = memmap_e820(&m, e, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(e[2].addr + e[2].size, 3 * GiB);
	CHECK_EQ(e[3].addr, 4 * GiB);
	CHECK_EQ(e[3].size, 2 * GiB);
	/* Nothing in the MMIO hole. */
	for (size_t i = 0; i < n; i++)
		CHECK(e[i].addr + e[i].size <= 3 * GiB || e[i].addr >= 4 * GiB);
}

static void exactly_3g_has_no_high_part(void)
{
	struct memmap m;
	struct e820_entry e[8];

	CHECK_EQ(memmap_plan(&m, 3 * GiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(m.high_size, 0);
	CHECK_EQ(memmap_e820(&m, e, 8), 3);
	CHECK_EQ(memmap_plan(&m, 3 * GiB + MiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(m.high_size, MiB);
	CHECK_EQ(memmap_e820(&m, e, 8), 4);
}

static void hotplug_window_above_4g_aligned(void)
{
	struct memmap m;

	CHECK_EQ(memmap_plan(&m, 256 * MiB, 32, 16 * GiB, err, sizeof(err)), 0);
	CHECK_EQ(m.hp_base, 4 * GiB);
	CHECK_EQ(m.hp_size, 16 * GiB - 256 * MiB);
	CHECK_EQ(memmap_plan(&m, 5 * GiB + 512 * MiB, 4, 8 * GiB, err,
			     sizeof(err)), 0);
	/* Boot RAM ends at 6.5 GiB: the window starts at the next GiB. */
	CHECK_EQ(m.hp_base, 7 * GiB);
	CHECK_EQ(m.hp_base % GiB, 0);
}

static void refusals_name_the_rule(void)
{
	struct memmap m;

	CHECK_EQ(memmap_plan(&m, 16 * MiB, 0, 0, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "memory size 16M is below the minimum of 32M");
	CHECK_EQ(memmap_plan(&m, 64 * MiB + 4096, 0, 0, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "memory size 65540K is not a multiple of 1M");
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 4, 128 * MiB, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "maxmem=128M is below the memory size 256M");
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 4, 0, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "slots=4 needs maxmem above the memory size 256M");
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 0, GiB, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "maxmem=1G needs slots=N for the DIMMs that fill it");
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 4, GiB + 64 * MiB, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "maxmem - memory = 832M is not a multiple of the 128M "
		       "memory block size");
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 300, 2 * GiB, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "slots=300 is above the maximum of 256");
}

static void block_size_is_settable(void)
{
	struct memmap m;

	CHECK_EQ(memmap_plan_block(&m, 256 * MiB, 4, 256 * MiB + 4 * GiB,
				   GiB, err, sizeof(err)), 0);
	CHECK_EQ(m.block, GiB);
	CHECK_EQ(memmap_plan_block(&m, 256 * MiB, 4, 256 * MiB + 1536 * MiB,
				   GiB, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "maxmem - memory = 1536M is not a multiple of the 1G "
		       "memory block size");
	CHECK_EQ(memmap_plan_block(&m, 256 * MiB, 0, 0, 96 * MiB, err,
				   sizeof(err)), -EINVAL);
	CHECK_STR(err, "block size 96M is not one Linux uses: a power of two "
		       "from 128M to 2G");
	CHECK_EQ(memmap_plan_block(&m, 256 * MiB, 0, 0, 4 * GiB, err,
				   sizeof(err)), -EINVAL);
	CHECK_EQ(memmap_plan(&m, 256 * MiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(m.block, 128 * MiB);
}

static void e820_respects_capacity(void)
{
	struct memmap m;
	struct e820_entry e[2];

	CHECK_EQ(memmap_plan(&m, 5 * GiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(memmap_e820(&m, e, 2), 2);
}

UNIT_MAIN(UNIT_CASE(small_guest_fits_below_hole),
	  UNIT_CASE(large_guest_splits_around_hole),
	  UNIT_CASE(exactly_3g_has_no_high_part),
	  UNIT_CASE(hotplug_window_above_4g_aligned),
	  UNIT_CASE(refusals_name_the_rule), UNIT_CASE(e820_respects_capacity),
	  UNIT_CASE(block_size_is_settable))
