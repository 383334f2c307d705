#include "vmm/backing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/size.h"
#include "vmm/hostmem.h"

static bool is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void backing_release(struct backend *b)
{
	/* QEMU's discard-data: the file's pages go, not written back. */
	if (b->hva && b->discard_data && b->share && b->fd >= 0)
		madvise(b->hva, b->size, MADV_REMOVE);
	if (b->hva)
		munmap(b->hva, b->size);
	if (b->fd >= 0)
		close(b->fd);
	free(b->mem_path);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->dimm = -1;
}

/* A memfd of the backend's size, on huge pages if asked, sealed against
 * growing and shrinking as QEMU seals it. */
static int memfd_backend(struct backend *b, const struct backend_args *a,
			 char *err, size_t errlen)
{
	unsigned int flags = MFD_CLOEXEC | (a->seal ? MFD_ALLOW_SEALING : 0);
	char sz[32];
	int e;

	if (a->hugetlb) {
		flags |= MFD_HUGETLB;
		if (a->hugetlbsize)
			flags |= (unsigned int)__builtin_ctzll(a->hugetlbsize)
				 << MAP_HUGE_SHIFT; /* MFD_HUGE_SHIFT, the same 26 */
	}
	b->fd = memfd_create(a->id, flags);
	if (b->fd < 0 || ftruncate(b->fd, (off_t)a->size) < 0 ||
	    (a->seal && fcntl(b->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK |
			      F_SEAL_SEAL) < 0)) {
		e = errno;
		snprintf(err, errlen, "cannot create a %smemfd of %s: %s",
			 a->hugetlb ? "hugetlb " : "",
			 size_fmt(a->size, sz, sizeof(sz)), strerror(e));
		return -e;
	}
	return 0;
}

void backing_discard(struct backend *b)
{
	if (b->created)
		unlink(b->mem_path);
	backing_release(b);
}

/* A file or a hugetlbfs directory: in a directory, an unlinked file of
 * our own so nothing is left behind. *created says memplug created the
 * named file: the caller removes it if the request fails later. An existing file is
 * used as it is, never grown, and a symbolic link is refused: as root,
 * following one would create or change a file the client did not name. */
static int open_backing_file(const char *path, uint64_t size, bool *created,
			     char *err, size_t errlen)
{
	bool fresh = false; /* ours: sized here */
	struct stat st;
	char sz[32];
	int fd, e;

	*created = false;
	if (path[0] != '/') {
		snprintf(err, errlen, "mem-path %s is relative; give an absolute "
			 "path (memplug's working directory is not the client's)",
			 path);
		return -EINVAL;
	}
	if (is_dir(path)) {
		char tmpl[4096];

		snprintf(tmpl, sizeof(tmpl), "%s/memplug-XXXXXX", path);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
		fresh = fd >= 0;
	} else {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
				  O_CLOEXEC, 0600);
			fresh = *created = fd >= 0;
		}
	}
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			snprintf(err, errlen, "mem-path %s is a symbolic link; "
				 "give the file or directory itself", path);
		else
			snprintf(err, errlen, "cannot open mem-path %s: %s",
				 path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "mem-path %s is not a regular file or a "
			 "directory", path);
		e = EINVAL;
		goto fail;
	}
	if (!fresh && (uint64_t)st.st_size < size) {
		snprintf(err, errlen, "mem-path %s holds %" PRIu64 " bytes, less "
			 "than the backend's %s; memplug does not grow an "
			 "existing file: size it first or name a new file",
			 path, (uint64_t)st.st_size,
			 size_fmt(size, sz, sizeof(sz)));
		e = EINVAL;
		goto fail;
	}
	if (fresh && ftruncate(fd, (off_t)size) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot size mem-path %s to %" PRIu64
			 " bytes: %s", path, size, strerror(e));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	if (*created)
		unlink(path);
	*created = false;
	return -e;
}

/* The page size of a file on hugetlbfs, 0 for any other file. */
static uint64_t hugetlb_page(int fd)
{
	struct statfs fs;

	if (fd < 0 || fstatfs(fd, &fs) < 0 || fs.f_type != HUGETLBFS_MAGIC)
		return 0;
	return (uint64_t)fs.f_bsize;
}

/* Free huge pages of the file's page size, for the error of a hugetlbfs
 * backend the host cannot reserve. -1 if not hugetlbfs or unknown. */
static long hugetlb_free_pages(int fd, uint64_t *page)
{
	char path[96];
	long n = -1;
	FILE *f;

	if (!(*page = hugetlb_page(fd)))
		return -1;
	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/free_hugepages",
		 *page / 1024);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* What the host has, for the error of a mapping it refused to reserve. */
static void host_memory(char *buf, size_t len)
{
	uint64_t avail = 0, swap = 0, v;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	char s1[32], s2[32];

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &v) == 1)
			avail = v * 1024;
		else if (sscanf(line, "SwapFree: %" SCNu64 " kB", &v) == 1)
			swap = v * 1024;
	}
	if (f)
		fclose(f);
	snprintf(buf, len, "%s of memory available and %s of swap free",
		 size_fmt(avail, s1, sizeof(s1)),
		 size_fmt(swap, s2, sizeof(s2)));
}

static void map_error(const struct backend_args *a, int fd, int e, char *err,
		      size_t errlen)
{
	char sz[32], ps[32], have[96];
	uint64_t page = 0;
	long free_pages = fd >= 0 ? hugetlb_free_pages(fd, &page) : -1;

	size_fmt(a->size, sz, sizeof(sz));
	if (e == ENOMEM && free_pages >= 0)
		snprintf(err, errlen, "the host cannot reserve %s for backend %s: "
			 "it needs %" PRIu64 " huge pages of %s and %ld are free",
			 sz, a->id, a->size / page,
			 size_fmt(page, ps, sizeof(ps)), free_pages);
	else if (e == ENOMEM && a->reserve) {
		host_memory(have, sizeof(have));
		snprintf(err, errlen, "the host cannot reserve %s for backend %s "
			 "(it has %s); pass reserve=false to map it without a "
			 "reservation, as QEMU's reserve=off", sz, a->id, have);
	} else
		snprintf(err, errlen, "cannot map %s for backend %s: %s", sz,
			 a->id, strerror(e));
}

int backing_create(struct backend *b, const struct backend_args *a,
			  char *err, size_t errlen)
{
	const char *what = NULL;
	uint64_t page;
	int flags, r;

	if (a->kind == BACKEND_MEMFD) {
		if ((r = memfd_backend(b, a, err, errlen)) < 0)
			return r;
	} else if (a->kind == BACKEND_FILE) {
		if (!(b->mem_path = strdup(a->mem_path))) {
			snprintf(err, errlen, "no memory for backend %s", a->id);
			return -ENOMEM;
		}
		b->fd = open_backing_file(a->mem_path, a->size, &b->created, err,
					  errlen);
		if (b->fd < 0) {
			r = b->fd;
			b->fd = -1;
			return r;
		}
	}
	flags = a->share ? MAP_SHARED : MAP_PRIVATE;
	if (!a->reserve)
		flags |= MAP_NORESERVE;
	if (b->fd < 0)
		flags |= MAP_ANONYMOUS;
	/* Aligned for huge pages: fewer faults and TLB misses, and 2M pages
	 * in KVM's map of the guest (vmm/hostmem.h). */
	page = hugetlb_page(b->fd);
	if (page < HOSTMEM_ALIGN)
		page = HOSTMEM_ALIGN;
	if (page < a->align)
		page = a->align;
	b->hva = hostmem_map(a->size, flags, b->fd, page);
	if (!b->hva) {
		r = -errno;
		map_error(a, b->fd, -r, err, errlen);
		return r;
	}
	/* KSM shares private pages only. */
	r = hostmem_advise(b->hva, a->size, a->merge && !a->share, a->dump,
			   a->policy, a->host_nodes, &what);
	if (r < 0)
		snprintf(err, errlen, "backend %s: %s refused (%s)%s", a->id,
			 what, strerror(-r), r == -EINVAL && a->host_nodes ?
			 ": are all its host-nodes online on this host?" : "");
	return r;
}
