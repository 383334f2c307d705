#include <unistd.h>

#include "include/memplug/layout.h"
#include "tests/unit.h"
#include "vmm/dimm.h"
#include "vmm/prealloc.h"

static struct memmap map;
static struct dimms d;
static char err[256];

static void setup(unsigned int slots, uint64_t maxmem, unsigned int nodes)
{
	dimms_free(&d);
	memmap_plan(&map, 256 * MiB, slots, maxmem, err, sizeof(err));
	dimms_init(&d, &map, nodes, MEMMAP_BLOCK_SIZE);
}

static int add_backend(const char *id, uint64_t size)
{
	struct backend_args b = { .kind = BACKEND_RAM, .id = id, .size = size };

	return backend_add(&d, &b, err, sizeof(err));
}

static int plug(const char *id, const char *memdev, unsigned int node)
{
	struct dimm_args a = { .id = id, .memdev = memdev, .node = node,
			       .slot = -1 };
	uint64_t addr;
	int s = dimm_check(&d, &a, &addr, err, sizeof(err));

	if (s >= 0)
		dimm_commit(&d, s, &a, addr, true);
	return s;
}

static void first_fit_placement(void)
{
	setup(4, 256 * MiB + GiB, 1);
	CHECK_EQ(add_backend("a", 128 * MiB), 0);
	CHECK_EQ(add_backend("b", 256 * MiB), 0);
	CHECK_EQ(plug("da", "a", 0), 0);
	CHECK_EQ(plug("db", "b", 0), 1);
	CHECK_EQ(d.slots[0].addr, 4 * GiB);
	CHECK_EQ(d.slots[1].addr, 4 * GiB + 128 * MiB);
	CHECK_EQ(d.slots[0].state, DIMM_INSERTING);
	CHECK_EQ(dimm_find(&d, "db"), 1);
	CHECK_EQ(dimm_find(&d, "nope"), -1);
	/* A hole left by a removed DIMM is reused when the next one fits. */
	d.backends[d.slots[0].backend].dimm = -1;
	memset(&d.slots[0], 0, sizeof(d.slots[0]));
	CHECK_EQ(add_backend("c", 128 * MiB), 0);
	CHECK_EQ(plug("dc", "c", 0), 0);
	CHECK_EQ(d.slots[0].addr, 4 * GiB);
}

static void rules_refuse_and_change_nothing(void)
{
	struct dimm before[MEMHP_MAX_SLOTS];

	setup(2, 256 * MiB + 512 * MiB, 2);
	CHECK_EQ(add_backend("odd", 100 * MiB), 0);
	CHECK_EQ(add_backend("big", GiB), 0);
	CHECK_EQ(add_backend("ok", 128 * MiB), 0);
	memcpy(before, d.slots, sizeof(before));
	CHECK_EQ(plug("x", "odd", 0), -EINVAL);
	CHECK_STR(err, "DIMM size 100M is not a multiple of the 128M block size");
	CHECK_EQ(plug("x", "big", 0), -ENOSPC);
	CHECK_STR(err, "DIMM size 1G is larger than the 512M left under "
		       "maxmem=768M");
	CHECK_EQ(plug("x", "ok", 2), -EINVAL);
	CHECK_STR(err, "node 2 does not exist: the guest has 2 nodes (0-1)");
	CHECK_EQ(plug("x", "missing", 0), -ENOENT);
	CHECK_EQ(plug("9x", "ok", 0), -EINVAL);
	CHECK_MEM(before, d.slots, sizeof(before));
	CHECK_EQ(plug("x", "ok", 1), 0);
	CHECK_EQ(plug("x", "ok", 1), -EEXIST);
	CHECK_EQ(plug("y", "ok", 1), -EBUSY);
	CHECK_STR(err, "backend ok is already used by DIMM x");
	CHECK_EQ(backend_del(&d, "ok", err, sizeof(err)), -EBUSY);
	CHECK_EQ(add_backend("ok2", 128 * MiB), 0);
	CHECK_EQ(add_backend("ok3", 128 * MiB), 0);
	CHECK_EQ(plug("z", "ok2", 0), 1);
	CHECK_EQ(plug("w", "ok3", 0), -ENOSPC);
	CHECK_STR(err, "no free DIMM slot (all 2 in use)");
}

static void hotplug_off_says_how_to_turn_it_on(void)
{
	setup(0, 0, 1);
	CHECK_EQ(add_backend("a", 128 * MiB), 0);
	CHECK_EQ(plug("da", "a", 0), -ENODEV);
	CHECK(strstr(err, "--memory SIZE,slots=N,maxmem=SIZE"));
}

static void backends_map_and_free(void)
{
	struct backend_args b = { .kind = BACKEND_MEMFD, .id = "mfd",
				  .size = 2 * MiB, .share = true,
				  .prealloc = true };

	setup(2, 512 * MiB, 1);
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), 0);
	CHECK(backend_find(&d, "mfd")->hva != NULL);
	/* Not usable before its preallocation ended. */
	CHECK(backend_find(&d, "mfd")->preallocating);
	CHECK_EQ(backend_del(&d, "mfd", err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "backend mfd is still being preallocated"));
	CHECK_EQ(backend_prealloc_end(&d, "mfd",
				      prealloc_populate(backend_find(&d, "mfd")->hva,
							2 * MiB, NULL, NULL),
				      err, sizeof(err)), 0);
	/* Preallocated: the memory is there and writable. */
	backend_find(&d, "mfd")->hva[2 * MiB - 1] = 1;
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), -EEXIST);
	CHECK_EQ(backend_del(&d, "mfd", err, sizeof(err)), 0);
	CHECK(backend_find(&d, "mfd") == NULL);
	CHECK_EQ(backend_del(&d, "mfd", err, sizeof(err)), -ENOENT);
	b.kind = BACKEND_FILE;
	b.id = "f";
	b.mem_path = "/nonexistent/dir/file";
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "cannot open mem-path /nonexistent/dir/file"));
	CHECK(backend_find(&d, "f") == NULL);
	b.mem_path = "/tmp";
	b.prealloc = false;
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), 0);
	CHECK_EQ(backend_del(&d, "f", err, sizeof(err)), 0);
	b.kind = BACKEND_RAM;
	b.id = "odd";
	b.size = 1000;
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), -EINVAL);
}

/* A failed preallocation deletes the backend and a file it created. */
static void failed_prealloc_leaves_nothing(void)
{
	char path[] = "/tmp/memplug-test-prealloc-XXXXXX";
	struct backend_args b = { .kind = BACKEND_FILE, .id = "f",
				  .size = 2 * MiB, .prealloc = true,
				  .reserve = true, .mem_path = path };
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	setup(2, 512 * MiB, 1);
	CHECK_EQ(backend_add(&d, &b, err, sizeof(err)), 0);
	CHECK(access(path, F_OK) == 0);
	CHECK_EQ(backend_prealloc_end(&d, "f", -ENOMEM, err, sizeof(err)),
		 -ENOMEM);
	CHECK(strstr(err, "cannot preallocate 2M for backend f"));
	CHECK(backend_find(&d, "f") == NULL);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
}

static void numa_split_is_block_aligned(void)
{
	struct memmap_range r[MEMMAP_MAX_RANGES];
	struct memmap m;

	CHECK_EQ(memmap_plan(&m, 3 * GiB + 512 * MiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(memmap_numa(&m, 2, r, MEMMAP_MAX_RANGES, err, sizeof(err)), 3);
	CHECK_EQ(r[0].base, 0);
	CHECK_EQ(r[0].size, 1792 * MiB);
	CHECK_EQ(r[1].base, 1792 * MiB);
	CHECK_EQ(r[1].size, 3 * GiB - 1792 * MiB);
	CHECK_EQ(r[2].base, 4 * GiB);
	CHECK_EQ(r[2].size, 512 * MiB);
	CHECK_EQ(r[2].node, 1);
	CHECK_EQ(memmap_plan(&m, 64 * MiB, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(memmap_numa(&m, 1, r, MEMMAP_MAX_RANGES, err, sizeof(err)), 1);
	CHECK_EQ(memmap_numa(&m, 2, r, MEMMAP_MAX_RANGES, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "--numa nodes=2 needs at least 256M of memory (128M per "
		       "node), not 64M");
	CHECK_EQ(memmap_numa(&m, 5, r, MEMMAP_MAX_RANGES, err, sizeof(err)),
		 -EINVAL);
}

UNIT_MAIN(UNIT_CASE(first_fit_placement),
	  UNIT_CASE(rules_refuse_and_change_nothing),
	  UNIT_CASE(hotplug_off_says_how_to_turn_it_on),
	  UNIT_CASE(backends_map_and_free),
	  UNIT_CASE(failed_prealloc_leaves_nothing),
	  UNIT_CASE(numa_split_is_block_aligned))
