/* Helpers for the tiny test guests (GNU as, AT&T syntax). Ports come from
 * the VMM's own layout. */
#include "include/memplug/layout.h"
#define COM1 PORT_COM1
#define PM1A_CNT PORT_ACPI_PM1A_CNT
#define RESET_REG PORT_ACPI_RESET
#define S5_OFF ((ACPI_S5_SLP_TYP << ACPI_PM1_CNT_SLP_TYP_SHIFT) | \
		ACPI_PM1_CNT_SLP_EN)

.macro putc c
	mov $COM1, %dx
	mov $\c, %al
	outb %al, %dx
.endm

.macro poweroff
	mov $PM1A_CNT, %dx
	mov $S5_OFF, %ax
	outw %ax, %dx
.endm
