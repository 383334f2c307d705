/* libFuzzer target: the guest-facing device models (memory hotplug
 * controller, ACPI PM1 and GPE0 blocks, COM1, the i8042 reset ports) on a
 * port bus laid out as memplug's, fed sequences of guest accesses with
 * sizes and offsets, mixed with what the VMM does to them (plug, unplug
 * request, cancel, a GPE or the power button). Every input starts from
 * freshly initialised devices.
 *
 * Checked after every step: the SCI line is high exactly while an enabled
 * status bit is set; the interrupt lines only change level; no slot
 * without a DIMM has an event or an eject pending; the controller's COUNT
 * reads the slot count; callbacks name real slots; an eject comes only
 * for a slot whose removal was requested. A violation aborts. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi_pm.h"
#include "devices/bus.h"
#include "devices/i8042.h"
#include "devices/memhp.h"
#include "devices/serial.h"
#include "include/memplug/layout.h"

#define SLOTS 8

static struct bus pio;
static struct memhp hp;
static struct acpi_pm pm;
static struct serial com1;
static struct i8042 kbd;
static int line_level[16];
static bool ejecting;
static bool removal_asked[SLOTS]; /* memhp_unplug_request succeeded */

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_devices: invariant broken: %s\n", what);
		abort();
	}
}

static void irq(void *ctx, unsigned int gsi, int level)
{
	(void)ctx;
	check(gsi < 16 && (level == 0 || level == 1), "a bad interrupt line");
	line_level[gsi] = level;
}

static void on_ost(void *ctx, unsigned int slot, uint32_t ev, uint32_t st)
{
	(void)ctx;
	(void)ev;
	(void)st;
	check(slot < SLOTS, "_OST for a slot that does not exist");
}

/* As the VMM does: the memory leaves, the slot empties. */
static void on_eject(void *ctx, unsigned int slot)
{
	struct memhp_slot s;

	(void)ctx;
	/* eject_ok is cleared before the callback: a second EJECT is
	 * refused. */
	check(slot < SLOTS && memhp_get(&hp, slot, &s) == 0 && s.enabled &&
	      !s.eject_ok && removal_asked[slot],
	      "an eject of a slot whose removal nobody asked for");
	removal_asked[slot] = false;
	check(!ejecting, "an eject inside an eject");
	ejecting = true;
	check(memhp_clear(&hp, slot) == 0, "memhp_clear refused an eject");
	ejecting = false;
}

static void on_first_read(void *ctx, unsigned int slot)
{
	(void)ctx;
	check(slot < SLOTS, "first read of a slot that does not exist");
}

static void on_refused(void *ctx, unsigned int slot, const char *what)
{
	(void)ctx;
	check((slot < SLOTS || slot == MEMHP_NONE) && what && *what,
	      "a refused access without a slot or a reason");
}

static void on_sleep(void *ctx, unsigned int typ)
{
	(void)ctx;
	check(typ < 8, "SLP_TYP out of its 3 bits");
}

static void on_reset(void *ctx)
{
	(void)ctx;
}

static void setup(void)
{
	struct memhp_events ev = { on_ost, on_eject, on_first_read, on_refused,
				   NULL };

	memset(line_level, 0, sizeof(line_level));
	memset(removal_asked, 0, sizeof(removal_asked));
	bus_init(&pio, "pio");
	serial_init(&com1, -1, (struct irq_line){ irq, NULL, IRQ_COM1 },
		    (struct irq_line){ 0 });
	acpi_pm_init(&pm, (struct irq_line){ irq, NULL, ACPI_SCI_IRQ },
		     (struct acpi_pm_events){ on_sleep, on_reset, NULL },
		     ACPI_PM_RESET_VALUE);
	kbd = (struct i8042){ on_reset, NULL };
	memhp_init(&hp, SLOTS, ev, (struct irq_line){ acpi_pm_gpe_line, &pm,
						    GPE_MEMHP });
	if (bus_register(&pio, PORT_COM1, PORT_COM1_LEN, &serial_ops, &com1,
			 "com1") < 0 ||
	    bus_register(&pio, PORT_ACPI_PM1, ACPI_PM1_BLOCK_LEN,
			 &acpi_pm_pm1_ops, &pm, "acpi-pm1") < 0 ||
	    bus_register(&pio, PORT_ACPI_GPE0, ACPI_GPE0_LEN,
			 &acpi_pm_gpe_ops, &pm, "acpi-gpe0") < 0 ||
	    bus_register(&pio, PORT_I8042_DATA, 1, &i8042_data_ops, &kbd,
			 "i8042-data") < 0 ||
	    bus_register(&pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, &kbd,
			 "i8042-cmd") < 0 ||
	    bus_register(&pio, PORT_MEMHP, MEMHP_REGS_LEN, &memhp_ops, &hp,
			 "memhp") < 0)
		abort();
}

static void teardown(void)
{
	pthread_mutex_destroy(&hp.lock);
	pthread_mutex_destroy(&pm.lock);
	pthread_mutex_destroy(&com1.lock);
}

static void check_state(void)
{
	bool sci = (pm.pm1_sts & pm.pm1_en) != 0, pending = false;

	for (int i = 0; i < ACPI_GPE0_HALF; i++)
		sci |= (pm.gpe_sts[i] & pm.gpe_en[i]) != 0;
	check(line_level[ACPI_SCI_IRQ] == sci && pm.sci_level == sci,
	      "the SCI line does not follow the enabled status bits");
	check(line_level[IRQ_COM1] == com1.irq_level,
	      "COM1's line and its recorded level differ");
	check(com1.rx_len <= SERIAL_RX_FIFO, "COM1's receive FIFO overflowed");
	for (unsigned int s = 0; s < SLOTS; s++) {
		const struct memhp_slot *h = &hp.slots[s];

		pending |= h->insert || h->remove;
		check(h->enabled || (!h->insert && !h->remove && !h->eject_ok),
		      "an empty slot with an event or an eject pending");
		check(!h->eject_ok || h->enabled,
		      "eject allowed on an empty slot");
	}
	check(memhp_pending(&hp) == pending,
	      "memhp_pending disagrees with the slots");
}

/* Ports the accesses aim at: each device's base; offsets run a little past
 * each range so the bus's edges are hit too. */
static const uint16_t bases[] = {
	PORT_MEMHP, PORT_ACPI_GPE0, PORT_ACPI_PM1, PORT_COM1,
	PORT_I8042_DATA, PORT_I8042_CMD,
};

/* A step is 6 bytes: kind, target, then 4 bytes of value. */
static void step(const uint8_t *p)
{
	static const unsigned int sizes[] = { 1, 2, 4, 1 };
	uint32_t v = (uint32_t)p[2] | (uint32_t)p[3] << 8 |
		     (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
	unsigned int slot = p[1] % SLOTS;
	uint8_t data[4];

	switch (p[0] % 8) {
	case 0: /* guest read */
	case 1: /* guest write */ {
		uint16_t port = (uint16_t)(bases[(p[0] >> 3) % 6] + (p[1] & 0x3f) - 4);
		unsigned int size = sizes[(p[1] >> 6) & 3];

		bus_put(data, 4, v);
		bus_access(&pio, port, data, size, p[0] % 8 == 1);
		if (p[0] % 8 == 0 && port == PORT_MEMHP + MEMHP_REG_COUNT &&
		    size == 4)
			check(bus_get(data, 4) == SLOTS, "COUNT is not the slot "
			      "count");
		break;
	}
	case 2: /* VMM: hot-add, 128M blocks */
		memhp_plug(&hp, slot, (uint64_t)(p[2] + 32) << 27,
			   (uint64_t)(p[3] % 4 + 1) << 27, p[4] % 2);
		break;
	case 3: /* VMM: device_del */
		if (memhp_unplug_request(&hp, slot) == 0)
			removal_asked[slot] = true;
		break;
	case 4:
		if (memhp_unplug_cancel(&hp, slot) == 0)
			removal_asked[slot] = false;
		break;
	case 5:
		check(acpi_pm_gpe_raise(&pm, p[2] % 40) == (p[2] % 40 < 32 ? 0 : -EINVAL),
		      "acpi_pm_gpe_raise took a bit out of range");
		break;
	case 6:
		acpi_pm_pm1_raise(&pm, (uint16_t)v);
		break;
	case 7:
		serial_input(&com1, p + 2, p[1] % 5);
		break;
	}
	check_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	for (; size >= 6; data += 6, size -= 6)
		step(data);
	teardown();
	return 0;
}
