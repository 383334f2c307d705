/* The memory hotplug controller's register block as the guest sees it
 * (docs/memhp.md): what devices/memhp.c implements and the DSDT's AML
 * (acpi/dsdt.c) reads and writes. memplug/layout.h places the block. */
#ifndef MEMPLUG_HW_MEMHP_H
#define MEMPLUG_HW_MEMHP_H

/* The DSDT names the slots' devices MP00..MPFF. */
#define MEMHP_MAX_SLOTS 256
#define MEMHP_REGS_LEN 0x20

/* Register offsets (read name / write name), DWords. */
#define MEMHP_REG_BASE_LO 0x00 /* write: SEL */
#define MEMHP_REG_BASE_HI 0x04 /* write: OST_EVENT */
#define MEMHP_REG_SIZE_LO 0x08 /* write: OST_STATUS */
#define MEMHP_REG_SIZE_HI 0x0c
#define MEMHP_REG_PXM 0x10
#define MEMHP_REG_STATUS 0x14 /* also byte-accessible */
#define MEMHP_REG_NEXT 0x18
#define MEMHP_REG_COUNT 0x1c
#define MEMHP_REG_SEL MEMHP_REG_BASE_LO
#define MEMHP_REG_OST_EVENT MEMHP_REG_BASE_HI
#define MEMHP_REG_OST_STATUS MEMHP_REG_SIZE_LO

/* STATUS bits. ENABLED/INSERT/REMOVE read; INSERT/REMOVE/EJECT write. */
#define MEMHP_STATUS_ENABLED 0x01
#define MEMHP_STATUS_INSERT 0x02
#define MEMHP_STATUS_REMOVE 0x04
#define MEMHP_STATUS_EJECT 0x08

/* NEXT's answer when no event is pending. */
#define MEMHP_NONE 0xffffffffu

_Static_assert(MEMHP_MAX_SLOTS <= 0x100,
	       "slot device names have two hex digits");
_Static_assert(MEMHP_REG_COUNT + 4 == MEMHP_REGS_LEN,
	       "COUNT is the block's last DWord");

#endif
