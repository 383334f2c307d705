/* Guest physical memory map and I/O ports of a memplug VM (x86-64).
 *
 *   0x0000_0000  real-mode IVT/BDA (RAM, left alone)
 *   0x0000_0500  GDT used for the 64-bit entry
 *   0x0000_7000  boot_params ("zero page")
 *   0x0000_8ff0  initial stack (grows down)
 *   0x0000_9000  identity page tables: PML4, PDPT, 4 page directories
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  EBDA (reserved)
 *   0x000a_0000  legacy video/ROM hole (reserved)
 *   0x000e_0000  ACPI tables, RSDP first (reserved, inside the BIOS scan area)
 *   0x0010_0000  boot RAM ... up to 3 GiB
 *   0xc000_0000  MMIO hole: IOAPIC 0xfec00000, LAPIC 0xfee00000
 *   0x1_0000_0000 the rest of boot RAM
 *   then, 1 GiB aligned: the hotplug window (never in e820)
 */
#ifndef MEMPLUG_LAYOUT_H
#define MEMPLUG_LAYOUT_H

/* Also included by the test guests' assembly (tests/guests/common.h):
 * macros only, each a constant expression that C and GNU as both take. */
#include "include/memplug/hw/pm.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_BOOT_PARAMS 0x7000ULL
#define LAYOUT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 pages: identity map of the first 4 GiB */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_HOLE_LOW 0xa0000ULL
#define LAYOUT_ACPI 0xe0000ULL
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIGH_RAM 0x100000ULL
#define LAYOUT_MMIO_HOLE (3 * GiB)
#define LAYOUT_4G (4 * GiB)
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
/* KVM needs three pages for the VMX real-mode TSS and one for its identity map;
 * both sit just below the BIOS area at the top of the 32-bit space. */
#define LAYOUT_KVM_TSS 0xfffbd000ULL
#define LAYOUT_KVM_IDENTITY 0xfffbc000ULL

/* Port I/O. The ACPI registers are the FADT's fixed-hardware blocks; their
 * layout within each block is memplug/hw/pm.h's. */
#define PORT_COM1 0x3f8
#define PORT_COM1_LEN 8
#define IRQ_COM1 4
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_ACPI_PM1 0x600 /* PM1a event, PM1a control, PM timer, reset */
#define PORT_ACPI_PM1A_EVT (PORT_ACPI_PM1 + ACPI_PM1_EVT_OFF)
#define PORT_ACPI_PM1A_CNT (PORT_ACPI_PM1 + ACPI_PM1_CNT_OFF)
#define PORT_ACPI_PM_TMR (PORT_ACPI_PM1 + ACPI_PM_TMR_OFF)
#define PORT_ACPI_RESET (PORT_ACPI_PM1 + ACPI_PM_RESET_OFF)
#define PORT_ACPI_GPE0 0x620 /* ACPI_GPE0_LEN bytes */
#define PORT_MEMHP 0xa00 /* memory hotplug controller, memplug/hw/memhp.h */
#define GPE_MEMHP 3       /* GPE0 bit whose _E03 scans the DIMM slots */
#define ACPI_SCI_IRQ 9

#endif
