/* What firmware hands a Linux kernel: the kernel image loaded (ELF vmlinux
 * or bzImage through the x86 boot protocol's 64-bit entry), the initrd, the
 * command line and boot_params with the e820 map and the RSDP address. */
#ifndef MEMPLUG_FIRMWARE_BOOT_H
#define MEMPLUG_FIRMWARE_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/guest_mem.h"
#include "include/memplug/e820.h"

enum boot_kind { BOOT_ELF, BOOT_BZIMAGE };

struct boot_kernel {
	enum boot_kind kind;
	uint64_t entry;     /* guest-physical 64-bit entry point */
	uint64_t load_lo, load_hi; /* guest-physical extent of the image */
	uint8_t setup[0x280]; /* bzImage: the setup header sector (0x1f1..) */
	size_t setup_len;
	uint32_t initrd_addr_max;
	uint32_t cmdline_max; /* bytes, without the NUL */
};

struct boot_args {
	const char *cmdline;
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_gpa;
	const struct e820_entry *e820;
	size_t e820_n;
};

/* Loads the kernel file into guest RAM. Returns 0 or a negative errno with
 * a message in err (e.g. "not an ELF vmlinux or a bzImage"). */
int boot_load_kernel(const char *path, const struct guest_mem *mem,
		     uint64_t ram_top, struct boot_kernel *k, char *err,
		     size_t errlen);
/* The same from an open file (read with pread; the offset is unchanged). */
int boot_load_kernel_fd(int fd, const struct guest_mem *mem, uint64_t ram_top,
			struct boot_kernel *k, char *err, size_t errlen);

/* Loads the initrd as high as it can below ram_top and the kernel's limit.
 * Returns 0 or -E2BIG / -errno with a message in err. */
int boot_load_initrd(const char *path, const struct guest_mem *mem,
		     uint64_t ram_top, const struct boot_kernel *k,
		     uint64_t *gpa, uint64_t *size, char *err, size_t errlen);

/* Writes the command line and boot_params ("zero page"). */
int boot_write_params(const struct guest_mem *mem, const struct boot_kernel *k,
		      const struct boot_args *a, char *err, size_t errlen);

#endif
