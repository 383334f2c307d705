#include "vmm/kernel_image.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

/* Larger files are not bzImages worth unpacking (x86 ones are < 64M). */
#define BZIMAGE_MAX (256u << 20)

int kernel_cache_dir(char *buf, size_t len)
{
	const char *env = getenv("MEMPLUG_CACHE"), *home;
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/var/cache/memplug");
	else if ((home = getenv("XDG_CACHE_HOME")) && *home)
		n = snprintf(buf, len, "%s/memplug", home);
	else if ((home = getenv("HOME")) && *home)
		n = snprintf(buf, len, "%s/.cache/memplug", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = pread(fd, buf + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

/* libcrypto is opened here, by the runs that unpack a kernel, not linked:
 * loaded at start it cost every run, flat guests included, 2 MiB of RSS
 * and 1 ms before the guest's first byte (bench/flat.py on PVM, 6.2 vs
 * 4.2 MiB, 3.9 vs 2.9 ms). Returns 0 or -ENOENT (logged). */
static int sha256(const uint8_t *img, size_t len, unsigned char *md,
		  unsigned int *mdlen)
{
	static int (*digest)(const void *, size_t, unsigned char *,
			     unsigned int *, const EVP_MD *, ENGINE *);
	static const EVP_MD *(*sha)(void);
	void *h;

	if (!digest) {
		h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
		if (h) {
			*(void **)&sha = dlsym(h, "EVP_sha256");
			*(void **)&digest = dlsym(h, "EVP_Digest");
		}
		if (!h || !sha || !digest) {
			log_info("kernel cache: no SHA-256 to name entries by "
				 "(%s; Debian's libssl3)", dlerror());
			digest = NULL;
			return -ENOENT;
		}
	}
	return digest(img, len, md, mdlen, sha(), NULL) ? 0 : -EINVAL;
}

/* <cache>/kernels/<sha256 of the image>.elf */
static int cache_path(const uint8_t *img, size_t len, char *buf, size_t blen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1], dir[4000];
	unsigned int mdlen = 0;
	int r, n;

	if ((r = kernel_cache_dir(dir, sizeof(dir))) < 0 ||
	    (r = sha256(img, len, md, &mdlen)) < 0)
		return r;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	n = snprintf(buf, blen, "%s/kernels/%s.elf", dir, hex);
	return n > 0 && (size_t)n < blen ? 0 : -ENAMETOOLONG;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* Writes the ELF to the cache under a temporary name, then renames it, so
 * a concurrent memplug never reads half a kernel. Returns an fd of it. */
static int cache_store(const char *path, const uint8_t *elf, size_t len)
{
	char tmp[4096 + 16];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((r = mkdirs(tmp)) < 0)
		return r;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_all(fd, elf, len);
	if (r == 0 && (fchmod(fd, 0644) < 0 || rename(tmp, path) < 0))
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		close(fd);
		return r;
	}
	return fd;
}

/* Where the cache cannot be written: the ELF in memory for this run. */
static int memory_copy(const uint8_t *elf, size_t len)
{
	int fd = memfd_create("memplug-kernel", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	if ((r = write_all(fd, elf, len)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The bzImage in img unpacked into k->fd. Returns 0, -ENOTSUP (boot the
 * file as it is) or -errno (logged). */
static int unpack(struct kernel_image *k, const uint8_t *img, size_t len)
{
	const uint8_t *payload;
	enum unpack_format f;
	uint8_t *elf;
	size_t plen, elen;
	char err[256];
	int r, fd;

	if (unpack_payload(img, len, &payload, &plen, err, sizeof(err)) < 0) {
		log_info("kernel %s %s; booting it as it is", k->path, err);
		return -ENOTSUP;
	}
	f = unpack_format_of(payload, plen);
	if (cache_path(img, len, k->cache_path, sizeof(k->cache_path)) == 0) {
		fd = open(k->cache_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			k->fd = fd;
			k->cached = true;
			k->unpacked = f;
			return 0;
		}
	} else {
		k->cache_path[0] = 0;
	}
	r = unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err));
	if (r == -ENOTSUP) {
		log_warn("kernel %s %s: its decompressor runs in the guest",
			 k->path, err);
		return r;
	}
	if (r < 0) {
		log_error("kernel %s %s (--kernel-unpack off leaves it to the "
			  "kernel's own decompressor)", k->path, err);
		return r;
	}
	fd = k->cache_path[0] ? cache_store(k->cache_path, elf, elen) : -ENOENT;
	if (fd < 0) {
		log_info("kernel %s: cannot cache its unpacked ELF at %s (%s); "
			 "kept in memory for this run", k->path,
			 k->cache_path[0] ? k->cache_path : "(no cache directory)",
			 strerror(-fd));
		k->cache_path[0] = 0;
		fd = memory_copy(elf, elen);
	}
	free(elf);
	if (fd < 0) {
		log_error("kernel %s: cannot keep its unpacked ELF: %s", k->path,
			  strerror(-fd));
		return fd;
	}
	k->fd = fd;
	k->unpacked = f;
	return 0;
}

/* The whole file into *img if it is a bzImage; *img NULL if it is not
 * (or there is no memory to hold it: it boots as it is then). Returns 0
 * or -errno of a read. */
static int read_bzimage(int fd, size_t size, uint8_t **img)
{
	uint8_t hdr[UNPACK_HDR_LEN];
	int r;

	*img = NULL;
	if ((r = read_all(fd, hdr, sizeof(hdr))) < 0)
		return r;
	if (!unpack_is_bzimage(hdr, sizeof(hdr)) || !(*img = malloc(size)))
		return 0;
	if ((r = read_all(fd, *img, size)) < 0) {
		free(*img);
		*img = NULL;
	}
	return r;
}

int kernel_image_open(struct kernel_image *k, const char *path, bool unpack_it)
{
	uint8_t *img;
	struct stat st;
	int fd, r;

	memset(k, 0, sizeof(*k));
	k->path = path;
	k->fd = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_error("kernel %s cannot be opened: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("kernel %s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	k->fd = fd;
	/* Only a bzImage is read whole: a vmlinux is loaded as it is. */
	if (!unpack_it || st.st_size < UNPACK_HDR_LEN ||
	    (uint64_t)st.st_size > BZIMAGE_MAX)
		return 0;
	r = read_bzimage(fd, (size_t)st.st_size, &img);
	if (r == 0 && !img)
		return 0;
	if (r < 0) {
		log_error("kernel %s cannot be read: %s", path, strerror(-r));
	} else {
		k->fd = -1;
		r = unpack(k, img, (size_t)st.st_size);
		if (r == 0)
			close(fd);
		else
			k->fd = fd;
		if (r == -ENOTSUP)
			r = 0;
	}
	free(img);
	if (r < 0) {
		kernel_image_close(k);
		return r;
	}
	if (k->unpacked != UNPACK_UNKNOWN)
		log_warn("kernel %s: booting the vmlinux inside it, unpacked on "
			 "the host (%s payload, %s): the kernel's decompressor "
			 "does not run, nor its KASLR (--kernel-unpack off runs "
			 "them in the guest)", path,
			 unpack_format_name(k->unpacked),
			 k->cached ? "from the cache" :
			 k->cache_path[0] ? "cached now" : "not cached");
	return 0;
}

void kernel_image_close(struct kernel_image *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}
