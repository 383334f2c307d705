#include "devices/acpi_pm.h"

#include <errno.h>
#include <string.h>

#define PM_TIMER_HZ 3579545ULL
/* Status bits the hardware implements; the rest read as zero. GBL is the
 * global lock release (BIOS wants the lock): no firmware here ever sets
 * it, but OSPM enables the event at start-up and checks that the bit
 * sticks. */
#define PM1_STS_MASK (ACPI_PM1_PWRBTN | ACPI_PM1_WAK | ACPI_PM1_GBL)
#define PM1_EN_MASK (ACPI_PM1_PWRBTN | ACPI_PM1_GBL)

void acpi_pm_reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts = pm->pm1_en = 0;
	/* SMI_CMD is 0 in the FADT: the machine is always in ACPI mode. */
	pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
	memset(pm->gpe_sts, 0, sizeof(pm->gpe_sts));
	memset(pm->gpe_en, 0, sizeof(pm->gpe_en));
	clock_gettime(CLOCK_MONOTONIC, &pm->t0);
	pm->sci_level = 0;
	pthread_mutex_unlock(&pm->lock);
	irq_set(&pm->sci, 0);
}

void acpi_pm_init(struct acpi_pm *pm, struct irq_line sci,
		  struct acpi_pm_events ev, uint8_t reset_value)
{
	memset(pm, 0, sizeof(*pm));
	pthread_mutex_init(&pm->lock, NULL);
	pm->sci = sci;
	pm->ev = ev;
	pm->reset_value = reset_value;
	acpi_pm_reset(pm);
}

/* Called with the lock held; the line only changes on an edge of the level. */
static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	int level = (pm->pm1_sts & pm->pm1_en) != 0;

	for (int i = 0; i < ACPI_GPE0_HALF; i++)
		level |= (pm->gpe_sts[i] & pm->gpe_en[i]) != 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_set(&pm->sci, level);
	}
}

uint32_t acpi_pm_timer(const struct acpi_pm *pm, const struct timespec *now)
{
	int64_t ns = (int64_t)(now->tv_sec - pm->t0.tv_sec) * 1000000000LL +
		     (now->tv_nsec - pm->t0.tv_nsec);

	/* 128-bit product: ns * 3.58e6 overflows 64 bits after ~85 minutes. */
	return (uint32_t)((unsigned __int128)ns * PM_TIMER_HZ / 1000000000ULL);
}

static uint8_t pm1_read_byte(struct acpi_pm *pm, uint64_t off, uint32_t tmr)
{
	switch (off) {
	case ACPI_PM1_STS_OFF: return (uint8_t)pm->pm1_sts;
	case ACPI_PM1_STS_OFF + 1: return (uint8_t)(pm->pm1_sts >> 8);
	case ACPI_PM1_EN_OFF: return (uint8_t)pm->pm1_en;
	case ACPI_PM1_EN_OFF + 1: return (uint8_t)(pm->pm1_en >> 8);
	case ACPI_PM1_CNT_OFF: return (uint8_t)pm->pm1_cnt;
	case ACPI_PM1_CNT_OFF + 1: return (uint8_t)(pm->pm1_cnt >> 8);
	case ACPI_PM_TMR_OFF: case ACPI_PM_TMR_OFF + 1:
	case ACPI_PM_TMR_OFF + 2: case ACPI_PM_TMR_OFF + 3:
		return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR_OFF)));
	case ACPI_PM_RESET_OFF: return 0;
	}
	return 0xff;
}

static void acpi_pm_pm1_read(void *dev, uint64_t off, uint8_t *data,
			     unsigned int size)
{
	struct acpi_pm *pm = dev;
	struct timespec now;
	uint32_t tmr;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&pm->lock);
	tmr = acpi_pm_timer(pm, &now);
	for (unsigned int i = 0; i < size; i++)
		data[i] = pm1_read_byte(pm, off + i, tmr);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_pm1_write(void *dev, uint64_t off, const uint8_t *data,
			      unsigned int size)
{
	struct acpi_pm *pm = dev;
	unsigned int sleep_typ = 0;
	int sleep = 0, reset = 0;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint16_t v = data[i], shift = (o & 1) ? 8 : 0;

		switch (o) {
		case ACPI_PM1_STS_OFF: /* write 1 to clear */
		case ACPI_PM1_STS_OFF + 1:
			pm->pm1_sts &= (uint16_t)~(v << shift);
			break;
		case ACPI_PM1_EN_OFF: case ACPI_PM1_EN_OFF + 1:
			pm->pm1_en = (uint16_t)((pm->pm1_en & ~(0xff << shift)) |
						(v << shift)) & PM1_EN_MASK;
			break;
		case ACPI_PM1_CNT_OFF: case ACPI_PM1_CNT_OFF + 1: {
			uint16_t cnt = (uint16_t)((pm->pm1_cnt & ~(0xff << shift)) |
						  (v << shift));

			if (cnt & ACPI_PM1_CNT_SLP_EN) {
				sleep = 1;
				sleep_typ = (cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >>
					    ACPI_PM1_CNT_SLP_TYP_SHIFT;
			}
			/* SLP_EN reads as zero; SCI_EN stays set. */
			pm->pm1_cnt = (cnt & ~ACPI_PM1_CNT_SLP_EN) |
				      ACPI_PM1_CNT_SCI_EN;
			break;
		}
		case ACPI_PM_RESET_OFF:
			reset = data[i] == pm->reset_value;
			break;
		}
	}
	pm->pm1_sts &= PM1_STS_MASK;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the VMM may stop vCPUs from these callbacks. */
	if (sleep && pm->ev.sleep)
		pm->ev.sleep(pm->ev.ctx, sleep_typ);
	if (reset && pm->ev.reset)
		pm->ev.reset(pm->ev.ctx);
}

static void acpi_pm_gpe_read(void *dev, uint64_t off, uint8_t *data,
			     unsigned int size)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < ACPI_GPE0_HALF)
			data[i] = pm->gpe_sts[o];
		else if (o < 2 * ACPI_GPE0_HALF)
			data[i] = pm->gpe_en[o - ACPI_GPE0_HALF];
	}
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_gpe_write(void *dev, uint64_t off, const uint8_t *data,
			      unsigned int size)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < ACPI_GPE0_HALF)
			pm->gpe_sts[o] &= (uint8_t)~data[i];
		else if (o < 2 * ACPI_GPE0_HALF)
			pm->gpe_en[o - ACPI_GPE0_HALF] = data[i];
	}
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

const struct bus_ops acpi_pm_pm1_ops = {
	.read = acpi_pm_pm1_read,
	.write = acpi_pm_pm1_write,
};

const struct bus_ops acpi_pm_gpe_ops = {
	.read = acpi_pm_gpe_read,
	.write = acpi_pm_gpe_write,
};

void acpi_pm_gpe_line(void *ctx, unsigned int bit, int level)
{
	if (level)
		acpi_pm_gpe_raise(ctx, bit);
}

int acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned int bit)
{
	if (bit >= 8 * ACPI_GPE0_HALF)
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts[bit / 8] |= (uint8_t)(1u << (bit % 8));
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

void acpi_pm_pm1_raise(struct acpi_pm *pm, uint16_t bits)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= bits & PM1_STS_MASK;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
