/* Host mappings for guest memory, aligned so KVM can map the guest with
 * huge pages: KVM uses a 2M page only where the host address and the
 * guest address agree modulo 2M and the host has a huge page there. A
 * plain mmap gives 4K alignment: the real-KVM bench counted 513 4K pages
 * mapped per 128M hot-add, where QEMU (which aligns) had one 2M page
 * (bench/realkvm.md). */
#ifndef MEMPLUG_VMM_HOSTMEM_H
#define MEMPLUG_VMM_HOSTMEM_H

#include <stdbool.h>
#include <stdint.h>

#define HOSTMEM_ALIGN (2ull << 20)

/* mmap(size, PROT_READ | PROT_WRITE, flags, fd) at an address aligned to
 * align (a power of two, at least HOSTMEM_ALIGN: a hugetlbfs file's page
 * size), with transparent huge pages advised. Returns the address, or
 * NULL with errno set. */
void *hostmem_map(uint64_t size, int flags, int fd, uint64_t align);
/* QEMU's backend policies on a mapping: merge (MADV_MERGEABLE: KSM may
 * share its pages; the kernel may not have KSM, which is no error), dump
 * (false: MADV_DONTDUMP), and the NUMA policy (an MPOL_* of
 * <linux/mempolicy.h>) over the host nodes in the mask. Returns 0 or
 * -errno of what failed, with *what naming it. */
int hostmem_advise(void *hva, uint64_t size, bool merge, bool dump,
		   int policy, uint64_t nodes, const char **what);

#endif
