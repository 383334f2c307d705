/* The view of guest RAM that firmware code writes into: a few regions,
 * each a guest-physical range backed by host memory. */
#ifndef MEMPLUG_FIRMWARE_GUEST_MEM_H
#define MEMPLUG_FIRMWARE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem {
	struct {
		uint64_t gpa, size;
		uint8_t *hva;
	} r[GUEST_MEM_MAX_REGIONS];
	unsigned int n;
};

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
static inline void *guest_ptr(const struct guest_mem *m, uint64_t gpa,
			      uint64_t len)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (gpa >= m->r[i].gpa && len <= m->r[i].size &&
		    gpa - m->r[i].gpa <= m->r[i].size - len)
			return m->r[i].hva + (gpa - m->r[i].gpa);
	return NULL;
}

#endif
