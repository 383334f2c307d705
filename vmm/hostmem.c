#include "vmm/hostmem.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

void *hostmem_map(uint64_t size, int flags, int fd, uint64_t align)
{
	uint64_t span = size + align;
	uint8_t *res, *p, *at;
	int e;

	/* Reserve size + align of address space, unbacked and uncharged,
	 * then put the mapping at the aligned address inside it. */
	res = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	at = (uint8_t *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	p = mmap(at, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		e = errno;
		munmap(res, span);
		errno = e;
		return NULL;
	}
	if (at > res)
		munmap(res, (size_t)(at - res));
	if (res + span > at + size)
		munmap(at + size, (size_t)(res + span - (at + size)));
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}
