#include "firmware/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "include/memplug/layout.h"

/* Offsets in boot_params and its setup header (Documentation/x86/boot.rst,
 * Documentation/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_HEADER 0x1f1
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260

#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define LOADER_UNDEFINED 0xff
#define BOOT_PROTOCOL_MIN 0x020c /* first with the 64-bit entry */
#define LINUX_CMDLINE_MAX 2047   /* COMMAND_LINE_SIZE on x86 is 2048 */
#define INITRD_ADDR_MAX_DEFAULT 0x37ffffff

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The image may use [LAYOUT_HIGH_RAM, ram_top): below is ours. */
static int check_dest(uint64_t gpa, uint64_t len, uint64_t ram_top,
		      const char *what, char *err, size_t errlen)
{
	if (gpa < LAYOUT_HIGH_RAM || gpa + len < gpa || gpa + len > ram_top) {
		snprintf(err, errlen,
			 "%s at 0x%" PRIx64 "-0x%" PRIx64 " does not fit in "
			 "guest RAM 0x%" PRIx64 "-0x%" PRIx64, what, gpa,
			 gpa + len, (uint64_t)LAYOUT_HIGH_RAM, ram_top);
		return -ENOSPC;
	}
	return 0;
}

static int load_elf(int fd, uint64_t fsize, const struct guest_mem *mem,
		    uint64_t ram_top, struct boot_kernel *k, char *err,
		    size_t errlen)
{
	Elf64_Ehdr eh;
	int entry_ok = 0, nload = 0, r;

	if ((r = read_at(fd, &eh, sizeof(eh), 0)) < 0)
		goto io;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "is an ELF file but not a 64-bit x86 one");
		return -ENOEXEC;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
	    eh.e_phnum > 64 ||
	    eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > fsize) {
		snprintf(err, errlen, "has a broken ELF program header table");
		return -ENOEXEC;
	}
	k->kind = BOOT_ELF;
	k->load_lo = UINT64_MAX;
	k->load_hi = 0;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		r = read_at(fd, &ph, sizeof(ph),
			    (off_t)(eh.e_phoff + i * sizeof(ph)));
		if (r < 0)
			goto io;
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > fsize ||
		    ph.p_filesz > fsize - ph.p_offset) {
			snprintf(err, errlen,
				 "ELF segment %u lies outside the file", i);
			return -ENOEXEC;
		}
		r = check_dest(ph.p_paddr, ph.p_memsz, ram_top, "ELF segment",
			       err, errlen);
		if (r < 0)
			return r;
		dst = guest_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst) {
			snprintf(err, errlen, "ELF segment %u at 0x%" PRIx64
				 " is not in guest RAM", i, (uint64_t)ph.p_paddr);
			return -ENOSPC;
		}
		if ((r = read_at(fd, dst, ph.p_filesz, (off_t)ph.p_offset)) < 0)
			goto io;
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (eh.e_entry >= ph.p_paddr &&
		    eh.e_entry < ph.p_paddr + ph.p_memsz)
			entry_ok = 1;
		if (ph.p_paddr < k->load_lo)
			k->load_lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > k->load_hi)
			k->load_hi = ph.p_paddr + ph.p_memsz;
		nload++;
	}
	/* vmlinux's ELF entry is the physical address of startup_64. */
	if (!nload || !entry_ok) {
		snprintf(err, errlen, "ELF entry 0x%" PRIx64 " is not inside a "
			 "loadable segment (is this an uncompressed vmlinux?)",
			 (uint64_t)eh.e_entry);
		return -ENOEXEC;
	}
	k->entry = eh.e_entry;
	k->initrd_addr_max = INITRD_ADDR_MAX_DEFAULT;
	k->cmdline_max = LINUX_CMDLINE_MAX;
	return 0;
io:
	snprintf(err, errlen, "cannot be read: %s", strerror(-r));
	return r;
}

static int load_bzimage(int fd, uint64_t fsize, const struct guest_mem *mem,
			uint64_t ram_top, struct boot_kernel *k, char *err,
			size_t errlen)
{
	uint8_t hdr[0x1000];
	uint64_t setup_bytes, kernel_size, load = LAYOUT_HIGH_RAM;
	unsigned int sects;
	uint16_t version;
	uint8_t *dst;
	int r;

	if (fsize < sizeof(hdr)) {
		snprintf(err, errlen, "is too small for a bzImage");
		return -ENOEXEC;
	}
	if ((r = read_at(fd, hdr, sizeof(hdr), 0)) < 0)
		goto io;
	version = get16(hdr + HDR_VERSION);
	if (version < BOOT_PROTOCOL_MIN ||
	    !(get16(hdr + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		snprintf(err, errlen, "is a bzImage of boot protocol %u.%02u "
			 "without a 64-bit entry point (needs 2.12 and "
			 "XLF_KERNEL_64)", version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(hdr[HDR_LOADFLAGS] & LOADFLAGS_LOADED_HIGH)) {
		snprintf(err, errlen, "is a zImage (loaded low), not a bzImage");
		return -ENOEXEC;
	}
	sects = hdr[HDR_SETUP_SECTS] ? hdr[HDR_SETUP_SECTS] : 4;
	setup_bytes = (uint64_t)(sects + 1) * 512;
	if (setup_bytes >= fsize) {
		snprintf(err, errlen, "has a setup area larger than the file");
		return -ENOEXEC;
	}
	kernel_size = fsize - setup_bytes;
	/* The decompressor needs init_size bytes from its load address. */
	r = check_dest(load, get32(hdr + HDR_INIT_SIZE) > kernel_size ?
				     get32(hdr + HDR_INIT_SIZE) : kernel_size,
		       ram_top, "bzImage", err, errlen);
	if (r < 0)
		return r;
	dst = guest_ptr(mem, load, kernel_size);
	if (!dst) {
		snprintf(err, errlen, "bzImage does not fit in guest RAM");
		return -ENOSPC;
	}
	if ((r = read_at(fd, dst, kernel_size, (off_t)setup_bytes)) < 0)
		goto io;
	k->kind = BOOT_BZIMAGE;
	/* The 64-bit entry is 0x200 bytes into the protected-mode code. */
	k->entry = load + 0x200;
	k->load_lo = load;
	k->load_hi = load + kernel_size;
	/* Byte 0x201 is the length of the header after the 0x202 magic. */
	k->setup_len = 0x202 + hdr[HDR_JUMP + 1] - BP_SETUP_HEADER;
	if (k->setup_len > sizeof(k->setup))
		k->setup_len = sizeof(k->setup);
	memcpy(k->setup, hdr + BP_SETUP_HEADER, k->setup_len);
	k->initrd_addr_max = get32(hdr + HDR_INITRD_ADDR_MAX);
	k->cmdline_max = version >= 0x0206 ? get32(hdr + HDR_CMDLINE_SIZE) : 255;
	return 0;
io:
	snprintf(err, errlen, "cannot be read: %s", strerror(-r));
	return r;
}

int boot_load_kernel_fd(int fd, const struct guest_mem *mem, uint64_t ram_top,
			struct boot_kernel *k, char *err, size_t errlen)
{
	uint8_t magic[0x206];
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "is not a regular file");
		return -EINVAL;
	}
	memset(magic, 0, sizeof(magic));
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr) ||
	    read_at(fd, magic, st.st_size < (off_t)sizeof(magic) ?
				       (size_t)st.st_size : sizeof(magic), 0) < 0) {
		snprintf(err, errlen, "is %lld bytes, too small to be a kernel",
			 (long long)st.st_size);
		return -ENOEXEC;
	}
	if (!memcmp(magic, ELFMAG, SELFMAG))
		return load_elf(fd, (uint64_t)st.st_size, mem, ram_top, k, err,
				errlen);
	if (!memcmp(magic + HDR_MAGIC, "HdrS", 4) &&
	    get16(magic + HDR_BOOT_FLAG) == 0xaa55)
		return load_bzimage(fd, (uint64_t)st.st_size, mem, ram_top, k,
				    err, errlen);
	snprintf(err, errlen, "is neither an ELF vmlinux nor a bzImage "
		 "(no ELF magic, no \"HdrS\" boot header)");
	return -ENOEXEC;
}

int boot_load_kernel(const char *path, const struct guest_mem *mem,
		     uint64_t ram_top, struct boot_kernel *k, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		memset(k, 0, sizeof(*k));
		snprintf(err, errlen, "cannot be opened: %s", strerror(errno));
		return r;
	}
	r = boot_load_kernel_fd(fd, mem, ram_top, k, err, errlen);
	close(fd);
	return r;
}

int boot_load_initrd(const char *path, const struct guest_mem *mem,
		     uint64_t ram_top, const struct boot_kernel *k,
		     uint64_t *gpa, uint64_t *size, char *err, size_t errlen)
{
	uint64_t top = ram_top, addr;
	struct stat st;
	uint8_t *dst;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot be opened: %s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "is not a regular file");
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)k->initrd_addr_max + 1 < top)
		top = (uint64_t)k->initrd_addr_max + 1;
	addr = (top - (uint64_t)st.st_size) & ~0xfffULL;
	if ((uint64_t)st.st_size > top || addr < k->load_hi) {
		snprintf(err, errlen, "is %lld bytes and does not fit in guest "
			 "RAM between the kernel (ends at 0x%" PRIx64 ") and "
			 "0x%" PRIx64 "; give the guest more memory",
			 (long long)st.st_size, k->load_hi, top);
		r = -E2BIG;
		goto out;
	}
	dst = guest_ptr(mem, addr, (uint64_t)st.st_size);
	if (!dst) {
		snprintf(err, errlen, "does not fit in guest RAM");
		r = -E2BIG;
		goto out;
	}
	r = read_at(fd, dst, (size_t)st.st_size, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(-r));
		goto out;
	}
	*gpa = addr;
	*size = (uint64_t)st.st_size;
out:
	close(fd);
	return r;
}

int boot_write_params(const struct guest_mem *mem, const struct boot_kernel *k,
		      const struct boot_args *a, char *err, size_t errlen)
{
	uint8_t *bp = guest_ptr(mem, LAYOUT_BOOT_PARAMS, 4096);
	size_t len = strlen(a->cmdline);
	char *cl = guest_ptr(mem, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);

	if (!bp || !cl)
		return -EFAULT;
	if (len > k->cmdline_max || len >= LAYOUT_CMDLINE_MAX) {
		snprintf(err, errlen, "kernel command line is %zu bytes, more "
			 "than the kernel's limit of %u", len, k->cmdline_max);
		return -E2BIG;
	}
	memcpy(cl, a->cmdline, len + 1);
	memset(bp, 0, 4096);
	if (k->kind == BOOT_BZIMAGE) {
		memcpy(bp + BP_SETUP_HEADER, k->setup, k->setup_len);
	} else {
		/* A vmlinux has no setup header: write the fields Linux reads. */
		put16(bp + HDR_BOOT_FLAG, 0xaa55);
		memcpy(bp + HDR_MAGIC, "HdrS", 4);
		put16(bp + HDR_VERSION, 0x020f);
		put32(bp + HDR_KERNEL_ALIGNMENT, 0x200000);
		bp[HDR_LOADFLAGS] = LOADFLAGS_LOADED_HIGH;
		put32(bp + HDR_CMDLINE_SIZE, k->cmdline_max);
		put32(bp + HDR_INITRD_ADDR_MAX, k->initrd_addr_max);
	}
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)a->initrd_gpa);
	put32(bp + HDR_RAMDISK_SIZE, (uint32_t)a->initrd_size);
	put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(a->initrd_gpa >> 32));
	put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(a->initrd_size >> 32));
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	put64(bp + BP_ACPI_RSDP_ADDR, a->rsdp_gpa);
	if (a->e820_n > BP_E820_MAX)
		return -E2BIG;
	bp[BP_E820_ENTRIES] = (uint8_t)a->e820_n;
	for (size_t i = 0; i < a->e820_n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		put64(e, a->e820[i].addr);
		put64(e + 8, a->e820[i].size);
		put32(e + 16, a->e820[i].type);
	}
	return 0;
}
