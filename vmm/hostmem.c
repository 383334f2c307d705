#include "vmm/hostmem.h"

#include <errno.h>
#include <stddef.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int hostmem_advise(void *hva, uint64_t size, bool merge, bool dump,
		   int policy, uint64_t nodes, const char **what)
{
	if (merge)
		madvise(hva, size, MADV_MERGEABLE);
	if (!dump && madvise(hva, size, MADV_DONTDUMP) < 0) {
		*what = "MADV_DONTDUMP";
		return -errno;
	}
	/* MPOL_MF_STRICT: pages already there must follow the policy too. */
	if (policy != MPOL_DEFAULT &&
	    syscall(SYS_mbind, hva, size, policy, &nodes, 65, MPOL_MF_STRICT) < 0) {
		*what = "mbind";
		return -errno;
	}
	return 0;
}
