/* ACPI fixed hardware: PM1a event block (status/enable), PM1a control,
 * the 3.579545 MHz PM timer, the GPE0 block (status/enable) and the reset
 * register. It drives the SCI line: asserted exactly while a status bit is
 * set whose enable bit is set too (level-triggered, active high). */
#ifndef MEMPLUG_DEVICES_ACPI_PM_H
#define MEMPLUG_DEVICES_ACPI_PM_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define ACPI_PM_GPE0_BYTES 4 /* status half; the enable half follows */
#define ACPI_PM1_PWRBTN 0x0100
#define ACPI_PM1_WAK 0x8000

struct acpi_pm_events {
	/* The guest wrote SLP_EN with this SLP_TYP (5 means S5, off). */
	void (*sleep)(void *ctx, unsigned int slp_typ);
	/* The guest wrote the reset value to the reset register. */
	void (*reset)(void *ctx);
	void *ctx;
};

struct acpi_pm {
	pthread_mutex_t lock;
	struct irq_line sci;
	struct acpi_pm_events ev;
	uint8_t reset_value;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t gpe_sts[ACPI_PM_GPE0_BYTES], gpe_en[ACPI_PM_GPE0_BYTES];
	struct timespec t0; /* PM timer epoch */
	int sci_level;
};

/* Ranges to register: pm1/timer/reset block and GPE0 block. */
extern const struct bus_ops acpi_pm_pm1_ops; /* PM1 evt(4) cnt(2) pad(2) tmr(4) reset(1) */
extern const struct bus_ops acpi_pm_gpe_ops; /* GPE0 status(4) enable(4) */
#define ACPI_PM_PM1_BLOCK_LEN 13
#define ACPI_PM_PM1_CNT_OFF 4
#define ACPI_PM_TMR_OFF 8
#define ACPI_PM_RESET_OFF 12

void acpi_pm_init(struct acpi_pm *pm, struct irq_line sci,
		  struct acpi_pm_events ev, uint8_t reset_value);
void acpi_pm_reset(struct acpi_pm *pm);
/* Set a GPE0 status bit (0..31); returns -EINVAL for a bit out of range. */
int acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned int bit);
/* Set a PM1 status bit, e.g. ACPI_PM1_PWRBTN for a power-button press. */
void acpi_pm_pm1_raise(struct acpi_pm *pm, uint16_t bits);
/* The PM timer value at now (exposed for tests). */
uint32_t acpi_pm_timer(const struct acpi_pm *pm, const struct timespec *now);

#endif
