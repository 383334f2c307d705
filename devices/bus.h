/* An I/O bus: devices register address ranges, the vCPU exit handler
 * dispatches accesses to them. One bus for port I/O, one for MMIO.
 * Ranges are registered before the vCPUs start and never change while they
 * run, so lookups need no lock; each device locks its own state. */
#ifndef MEMPLUG_DEVICES_BUS_H
#define MEMPLUG_DEVICES_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Handlers get the offset into their range and an access of 1, 2, 4 or 8
 * bytes. A read fills data[0..size); unhandled bytes read as all-ones. */
struct bus_ops {
	void (*read)(void *dev, uint64_t off, uint8_t *data, unsigned int size);
	void (*write)(void *dev, uint64_t off, const uint8_t *data,
		      unsigned int size);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *dev;
	const char *name;
};

#define BUS_MAX_RANGES 32

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	size_t n;
	bool debug; /* log unclaimed accesses */
};

void bus_init(struct bus *b, const char *name);
/* -EEXIST if the range overlaps another, -ENOSPC if the table is full,
 * -EINVAL for an empty or wrapping range. */
int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *dev, const char *name);
/* Returns true if a device claimed the address. */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned int size,
		bool is_write);

/* Little-endian helpers for register code. */
static inline uint64_t bus_get(const uint8_t *data, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void bus_put(uint8_t *data, unsigned int size, uint64_t v)
{
	for (unsigned int i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

#endif
