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
#include "include/memplug/hw/pm.h"

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
	uint8_t gpe_sts[ACPI_GPE0_HALF], gpe_en[ACPI_GPE0_HALF];
	struct timespec t0; /* PM timer epoch */
	int sci_level;
};

/* Ranges to register: the PM1 block (ACPI_PM1_BLOCK_LEN bytes) and the
 * GPE0 block (ACPI_GPE0_LEN bytes), laid out as memplug/hw/pm.h says. */
extern const struct bus_ops acpi_pm_pm1_ops;
extern const struct bus_ops acpi_pm_gpe_ops;

void acpi_pm_init(struct acpi_pm *pm, struct irq_line sci,
		  struct acpi_pm_events ev, uint8_t reset_value);
void acpi_pm_reset(struct acpi_pm *pm);
/* Set a GPE0 status bit (0..31); returns -EINVAL for a bit out of range. */
int acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned int bit);
/* A device's event line on GPE0 (an irq_line's set, ctx the acpi_pm, gsi
 * the bit): level 1 sets the status bit; the guest clears it. */
void acpi_pm_gpe_line(void *ctx, unsigned int bit, int level);
/* Set a PM1 status bit, e.g. ACPI_PM1_PWRBTN for a power-button press. */
void acpi_pm_pm1_raise(struct acpi_pm *pm, uint16_t bits);
/* The PM timer value at now (exposed for tests). */
uint32_t acpi_pm_timer(const struct acpi_pm *pm, const struct timespec *now);

#endif
