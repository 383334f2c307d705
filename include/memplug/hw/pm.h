/* ACPI fixed hardware as the guest sees it (ACPI 6.3 section 4.8): the
 * PM1a event and control registers, the PM timer and the reset register
 * in one block of ports, and a GPE0 block. The FADT describes them
 * (acpi/tables.c), devices/acpi_pm.c implements them, memplug/layout.h
 * places the blocks.
 *
 * Macros only: the test guests' assembly includes this through layout.h. */
#ifndef MEMPLUG_HW_PM_H
#define MEMPLUG_HW_PM_H

/* The PM1 block, offsets from its first port. */
#define ACPI_PM1_EVT_OFF 0 /* status (2 bytes), then enable (2 bytes) */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_STS_OFF ACPI_PM1_EVT_OFF
#define ACPI_PM1_EN_OFF (ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN / 2)
#define ACPI_PM1_CNT_OFF 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_OFF 8 /* 2 bytes of padding before it */
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_RESET_OFF 12
#define ACPI_PM_RESET_LEN 1
#define ACPI_PM1_BLOCK_LEN 13

/* PM1 status and enable bits. */
#define ACPI_PM1_GBL 0x0020
#define ACPI_PM1_PWRBTN 0x0100
#define ACPI_PM1_WAK 0x8000 /* status only */

/* PM1 control. */
#define ACPI_PM1_CNT_SCI_EN 0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_CNT_SLP_EN 0x2000
#define ACPI_S5_SLP_TYP 5 /* \_S5's SLP_TYP: power off */

#define ACPI_PM_RESET_VALUE 0x1 /* written to the reset register */

/* GPE0: a status half, then an enable half of the same size. */
#define ACPI_GPE0_LEN 8
#define ACPI_GPE0_HALF (ACPI_GPE0_LEN / 2)

#ifndef __ASSEMBLER__
_Static_assert(ACPI_PM1_EVT_LEN == 4 && ACPI_PM1_CNT_LEN == 2 &&
		       ACPI_PM_TMR_LEN == 4,
	       "the FADT gives PM1 event and control word access, the timer dword");
_Static_assert(ACPI_PM1_EVT_OFF + ACPI_PM1_EVT_LEN <= ACPI_PM1_CNT_OFF &&
		       ACPI_PM1_CNT_OFF + ACPI_PM1_CNT_LEN <= ACPI_PM_TMR_OFF &&
		       ACPI_PM_TMR_OFF + ACPI_PM_TMR_LEN <= ACPI_PM_RESET_OFF,
	       "the PM1 block's registers do not overlap");
_Static_assert(ACPI_PM_RESET_OFF + ACPI_PM_RESET_LEN == ACPI_PM1_BLOCK_LEN,
	       "the reset register ends the PM1 block");
_Static_assert(ACPI_GPE0_LEN % 2 == 0 && ACPI_GPE0_LEN <= 255,
	       "GPE0 is two equal halves and its FADT length is one byte");
_Static_assert((ACPI_S5_SLP_TYP << ACPI_PM1_CNT_SLP_TYP_SHIFT &
		~ACPI_PM1_CNT_SLP_TYP_MASK) == 0,
	       "S5's SLP_TYP fits the SLP_TYP field");
#endif

#endif
