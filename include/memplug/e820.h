/* The BIOS e820 memory map entries of the x86 boot protocol, as the
 * kernel reads them from boot_params: vmm/memmap.c plans them,
 * firmware/boot.c writes them. */
#ifndef MEMPLUG_E820_H
#define MEMPLUG_E820_H

#include <stdint.h>

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

#endif
