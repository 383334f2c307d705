#include "devices/bus.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *dev, const char *name)
{
	size_t i;

	if (!len || base + len < base) {
		log_error("%s bus: %s at 0x%" PRIx64 "+0x%" PRIx64 " is empty "
			  "or wraps", b->name, name, base, len);
		return -EINVAL;
	}
	if (b->n == BUS_MAX_RANGES) {
		log_error("%s bus: no room for %s, it has the most ranges (%d)",
			  b->name, name, BUS_MAX_RANGES);
		return -ENOSPC;
	}
	for (i = 0; i < b->n; i++) {
		struct bus_range *r = &b->ranges[i];

		if (base < r->base + r->len && r->base < base + len) {
			log_error("%s bus: %s at 0x%" PRIx64 "+0x%" PRIx64
				  " overlaps %s", b->name, name, base, len,
				  r->name);
			return -EEXIST;
		}
		if (r->base > base)
			break;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i],
		(b->n - i) * sizeof(b->ranges[0]));
	b->ranges[i] = (struct bus_range){ base, len, ops, dev, name };
	b->n++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct bus_range *r = &b->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned int size,
		bool is_write)
{
	const struct bus_range *r = bus_find(b, addr);

	if (!r || addr - r->base + size > r->len) {
		if (b->debug)
			log_info("%s bus: unclaimed %s of %u bytes at 0x%" PRIx64,
				  b->name, is_write ? "write" : "read", size,
				  addr);
		if (!is_write)
			memset(data, 0xff, size);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->dev, addr - r->base, data, size);
	} else {
		memset(data, 0xff, size);
		if (r->ops->read)
			r->ops->read(r->dev, addr - r->base, data, size);
	}
	return true;
}
