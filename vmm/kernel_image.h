/* The kernel image memplug boots, opened once for every boot of the run.
 * A bzImage whose payload memplug can unpack (firmware/unpack.h) is booted
 * as the vmlinux ELF inside it, unpacked on the host and cached by the
 * image's SHA-256, so its decompressor does not run in the guest on every
 * boot; anything else is loaded as it is. */
#ifndef MEMPLUG_VMM_KERNEL_IMAGE_H
#define MEMPLUG_VMM_KERNEL_IMAGE_H

#include <stdbool.h>

#include "firmware/unpack.h"

struct kernel_image {
	const char *path;   /* as given (--kernel), for messages */
	int fd;             /* what boots: the file, or the unpacked ELF */
	enum unpack_format unpacked; /* UNPACK_UNKNOWN: loaded as it is */
	bool cached;        /* the ELF came from the cache */
	char cache_path[4096]; /* where it is (or would be) cached, or "" */
};

/* Opens path; with unpack, unpacks a bzImage's payload (from the cache
 * when it is there; where the cache cannot be written, into memory).
 * Returns 0 or -errno with the message logged. */
int kernel_image_open(struct kernel_image *k, const char *path, bool unpack);
void kernel_image_close(struct kernel_image *k);
/* The cache directory: $MEMPLUG_CACHE, /var/cache/memplug as root, else
 * $XDG_CACHE_HOME/memplug or ~/.cache/memplug; kernels go in kernels/. */
int kernel_cache_dir(char *buf, size_t len);

#endif
