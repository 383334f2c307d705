/* The host memory behind a backend: an anonymous mapping, a memfd (on
 * huge pages if asked, sealed as QEMU seals it) or a file (absolute path,
 * no symbolic link, never grown; in a directory such as hugetlbfs an
 * unlinked file of its own), mapped aligned for huge pages and advised as
 * asked; refusals name the size and what the host has. */
#ifndef MEMPLUG_VMM_BACKING_H
#define MEMPLUG_VMM_BACKING_H

#include "vmm/dimm.h"

/* b's memory for the request a (b's fields already set from it). 0 or
 * -errno with the message in err; the caller discards b on failure. */
int backing_create(struct backend *b, const struct backend_args *a,
		   char *err, size_t errlen);
/* Unmaps and closes b's memory (discard-data honoured) and clears b. */
void backing_release(struct backend *b);
/* backing_release for a request that failed: a mem-path file the request
 * created goes too (a temporary file in a directory is already unlinked). */
void backing_discard(struct backend *b);

#endif
