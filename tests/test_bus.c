#include <errno.h>

#include "devices/bus.h"
#include "tests/unit.h"

struct fake {
	uint64_t last_off;
	unsigned int last_size;
	uint8_t last_data[8];
	int reads, writes;
};

static void fake_read(void *dev, uint64_t off, uint8_t *data, unsigned int size)
{
	struct fake *f = dev;

	f->reads++;
	f->last_off = off;
	f->last_size = size;
	for (unsigned int i = 0; i < size; i++)
		data[i] = (uint8_t)(off + i);
}

static void fake_write(void *dev, uint64_t off, const uint8_t *data,
		       unsigned int size)
{
	struct fake *f = dev;

	f->writes++;
	f->last_off = off;
	f->last_size = size;
	memcpy(f->last_data, data, size);
}

static const struct bus_ops fake_ops = { fake_read, fake_write };

static void register_rejects_overlap_and_empty(void)
{
	struct bus b;
	struct fake f = { 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x100, 8, &fake_ops, &f, "a"), 0);
	CHECK_EQ(bus_register(&b, 0x104, 8, &fake_ops, &f, "b"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0xfc, 5, &fake_ops, &f, "c"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0xf8, 8, &fake_ops, &f, "d"), 0);
	CHECK_EQ(bus_register(&b, 0x108, 1, &fake_ops, &f, "e"), 0);
	CHECK_EQ(bus_register(&b, 0x200, 0, &fake_ops, &f, "f"), -EINVAL);
	CHECK_EQ(bus_register(&b, UINT64_MAX - 1, 4, &fake_ops, &f, "g"), -EINVAL);
	CHECK_EQ(b.n, 3);
	/* Kept sorted for the binary search. */
	CHECK_EQ(b.ranges[0].base, 0xf8);
	CHECK_EQ(b.ranges[1].base, 0x100);
	CHECK_EQ(b.ranges[2].base, 0x108);
}

static void register_fills_up(void)
{
	struct bus b;
	struct fake f = { 0 };

	bus_init(&b, "pio");
	for (int i = 0; i < BUS_MAX_RANGES; i++)
		CHECK_EQ(bus_register(&b, 0x1000 - 0x10 * (uint64_t)i, 0x10,
				      &fake_ops, &f, "x"), 0);
	CHECK_EQ(bus_register(&b, 0x5000, 1, &fake_ops, &f, "y"), -ENOSPC);
}

static void dispatch_gives_offsets(void)
{
	struct bus b;
	struct fake a = { 0 }, c = { 0 };
	uint8_t data[4] = { 0x11, 0x22, 0, 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x3f8, 8, &fake_ops, &a, "a"), 0);
	CHECK_EQ(bus_register(&b, 0x600, 16, &fake_ops, &c, "c"), 0);
	CHECK(bus_access(&b, 0x3fd, data, 1, false));
	CHECK_EQ(a.reads, 1);
	CHECK_EQ(a.last_off, 5);
	CHECK_EQ(data[0], 5);
	CHECK(bus_access(&b, 0x604, data, 2, true));
	CHECK_EQ(c.writes, 1);
	CHECK_EQ(c.last_off, 4);
	CHECK_EQ(c.last_size, 2);
	CHECK_EQ(c.last_data[0], 5);
}

static void unclaimed_reads_all_ones(void)
{
	struct bus b;
	struct fake f = { 0 };
	uint8_t data[4] = { 0 };

	bus_init(&b, "pio");
	CHECK_EQ(bus_register(&b, 0x60, 1, &fake_ops, &f, "kbd"), 0);
	CHECK(!bus_access(&b, 0x80, data, 4, false));
	CHECK_EQ(bus_get(data, 4), 0xffffffff);
	/* An access that starts inside a range but runs past its end is
	 * not the device's: it would read beyond its registers. */
	CHECK(!bus_access(&b, 0x60, data, 2, false));
	CHECK_EQ(f.reads, 0);
	CHECK(!bus_access(&b, 0x80, data, 1, true));
	CHECK_EQ(f.writes, 0);
}

static void le_helpers(void)
{
	uint8_t d[8];

	bus_put(d, 4, 0x12345678);
	CHECK_EQ(d[0], 0x78);
	CHECK_EQ(d[3], 0x12);
	CHECK_EQ(bus_get(d, 2), 0x5678);
}

UNIT_MAIN(UNIT_CASE(register_rejects_overlap_and_empty),
	  UNIT_CASE(register_fills_up), UNIT_CASE(dispatch_gives_offsets),
	  UNIT_CASE(unclaimed_reads_all_ones), UNIT_CASE(le_helpers))
