#include <fcntl.h>
#include <unistd.h>

#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "tests/unit.h"

struct line {
	int level, changes, calls;
	unsigned int gsi;
};

static void line_set(void *ctx, unsigned int gsi, int level)
{
	struct line *l = ctx;

	l->calls++;
	l->gsi = gsi;
	if (l->level != level)
		l->changes++;
	l->level = level;
}

static uint64_t rd(const struct bus_ops *ops, void *dev, uint64_t off,
		   unsigned int size)
{
	uint8_t d[8];

	ops->read(dev, off, d, size);
	return bus_get(d, size);
}

static void wr(const struct bus_ops *ops, void *dev, uint64_t off,
	       unsigned int size, uint64_t v)
{
	uint8_t d[8];

	bus_put(d, size, v);
	ops->write(dev, off, d, size);
}

/* ---- 16550 ---- */

/* The serial port's room line of the last pipe_serial. */
static struct line room;

static int pipe_serial(struct serial *s, struct line *l, int fds[2])
{
	if (pipe(fds) < 0)
		return -1;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	room = (struct line){ 0 };
	serial_init(s, fds[1], (struct irq_line){ line_set, l, 4 },
		    (struct irq_line){ line_set, &room, 0 });
	return 0;
}

static void serial_transmits_bytes(void)
{
	struct serial s;
	struct line l = { 0 };
	int fds[2];
	char buf[8] = { 0 };

	CHECK(pipe_serial(&s, &l, fds) == 0);
	CHECK_EQ(rd(&serial_ops, &s, 5, 1) & 0x60, 0x60); /* THRE, TEMT */
	wr(&serial_ops, &s, 0, 1, 'o');
	wr(&serial_ops, &s, 0, 1, 'k');
	CHECK_EQ(read(fds[0], buf, sizeof(buf)), 2);
	CHECK_STR(buf, "ok");
	close(fds[0]);
	close(fds[1]);
}

static void serial_scratch_and_divisor(void)
{
	struct serial s;
	struct line l = { 0 };
	int fds[2];

	CHECK(pipe_serial(&s, &l, fds) == 0);
	wr(&serial_ops, &s, 7, 1, 0xa5);
	CHECK_EQ(rd(&serial_ops, &s, 7, 1), 0xa5);
	wr(&serial_ops, &s, 3, 1, 0x83); /* DLAB on, 8N1 */
	wr(&serial_ops, &s, 0, 1, 0x01);
	wr(&serial_ops, &s, 1, 1, 0x00);
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 0x01);
	wr(&serial_ops, &s, 3, 1, 0x03);
	/* With DLAB off, offset 0 is the data register again: nothing sent. */
	CHECK_EQ(read(fds[0], (char[4]){ 0 }, 4), -1);
	close(fds[0]);
	close(fds[1]);
}

static void serial_thr_interrupt_needs_out2(void)
{
	struct serial s;
	struct line l = { 0 };
	int fds[2];

	CHECK(pipe_serial(&s, &l, fds) == 0);
	wr(&serial_ops, &s, 1, 1, 0x02); /* IER: THRI */
	CHECK_EQ(l.level, 0);            /* OUT2 clear: line not wired */
	wr(&serial_ops, &s, 4, 1, 0x08); /* MCR: OUT2 */
	CHECK_EQ(l.level, 1);
	CHECK_EQ(l.gsi, 4);
	CHECK_EQ(rd(&serial_ops, &s, 2, 1) & 0x0f, 0x02); /* IIR: THRI */
	CHECK_EQ(l.level, 0); /* reading IIR acknowledged it */
	CHECK_EQ(rd(&serial_ops, &s, 2, 1) & 0x0f, 0x01); /* no interrupt */
	wr(&serial_ops, &s, 0, 1, 'x');
	CHECK_EQ(l.level, 1); /* THR empty again after the byte went out */
	close(fds[0]);
	close(fds[1]);
}

static void serial_receive_and_loopback(void)
{
	struct serial s;
	struct line l = { 0 };
	int fds[2];

	CHECK(pipe_serial(&s, &l, fds) == 0);
	wr(&serial_ops, &s, 4, 1, 0x08);
	wr(&serial_ops, &s, 1, 1, 0x01); /* IER: RDI */
	CHECK_EQ(serial_input(&s, (const uint8_t *)"ab", 2), 2);
	CHECK_EQ(l.level, 1);
	CHECK_EQ(rd(&serial_ops, &s, 2, 1) & 0x0f, 0x04);
	CHECK_EQ(rd(&serial_ops, &s, 5, 1) & 1, 1);
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 'a');
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 'b');
	CHECK_EQ(rd(&serial_ops, &s, 5, 1) & 1, 0);
	CHECK_EQ(l.level, 0);
	/* Loopback: what is sent comes back and never reaches the output. */
	wr(&serial_ops, &s, 4, 1, 0x18);
	wr(&serial_ops, &s, 0, 1, 0x5a);
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 0x5a);
	CHECK_EQ(read(fds[0], (char[4]){ 0 }, 4), -1);
	close(fds[0]);
	close(fds[1]);
}

static void serial_touches_the_line_only_on_a_change(void)
{
	struct serial s;
	struct line l = { 0 };
	int fds[2];
	char buf[256];

	CHECK(pipe_serial(&s, &l, fds) == 0);
	l.calls = 0;
	wr(&serial_ops, &s, 4, 1, 0x08); /* OUT2, no interrupt enabled */
	for (int i = 0; i < 100; i++)
		wr(&serial_ops, &s, 0, 1, 'x');
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(read(fds[0], buf, sizeof(buf)), 100);
	close(fds[0]);
	close(fds[1]);
}

/* The FIFO takes what fits and says how much; the VMM keeps the rest
 * until the room line says the guest has read the FIFO empty. */
static void serial_input_waits_for_room(void)
{
	struct serial s;
	struct line l = { 0 };
	uint8_t big[SERIAL_RX_FIFO + 10];
	int fds[2];

	CHECK(pipe_serial(&s, &l, fds) == 0);
	memset(big, 'z', sizeof(big));
	CHECK_EQ(serial_input(&s, big, sizeof(big)), SERIAL_RX_FIFO);
	CHECK_EQ(serial_input(&s, big, 1), 0);
	for (int i = 0; i < SERIAL_RX_FIFO - 1; i++)
		CHECK_EQ(rd(&serial_ops, &s, 0, 1), 'z');
	CHECK_EQ(room.calls, 0);
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 'z');
	CHECK_EQ(room.calls, 1);
	CHECK_EQ(room.level, 1);
	/* Reading an empty FIFO again is no new room. */
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 0);
	CHECK_EQ(room.calls, 1);
	CHECK_EQ(serial_input(&s, big, 1), 1);
	CHECK_EQ(rd(&serial_ops, &s, 0, 1), 'z');
	CHECK_EQ(room.calls, 2);
	close(fds[0]);
	close(fds[1]);
}

/* ---- ACPI PM ---- */

struct pm_events {
	int sleeps, resets;
	unsigned int typ;
};

static void ev_sleep(void *ctx, unsigned int typ)
{
	struct pm_events *e = ctx;

	e->sleeps++;
	e->typ = typ;
}

static void ev_reset(void *ctx)
{
	((struct pm_events *)ctx)->resets++;
}

static void pm_setup(struct acpi_pm *pm, struct line *l, struct pm_events *e)
{
	acpi_pm_init(pm, (struct irq_line){ line_set, l, 9 },
		     (struct acpi_pm_events){ ev_sleep, ev_reset, e }, 1);
}

static void pm_sci_en_always_set(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };

	pm_setup(&pm, &l, &e);
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2) & 1, 1);
	wr(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2, 0);
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2) & 1, 1);
}

static void pm_gpe_drives_sci_level(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };

	pm_setup(&pm, &l, &e);
	CHECK_EQ(acpi_pm_gpe_raise(&pm, 3), 0);
	CHECK_EQ(l.level, 0); /* status without enable: no SCI */
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 0, 1), 0x08);
	wr(&acpi_pm_gpe_ops, &pm, 4, 1, 0x08); /* enable bit 3 */
	CHECK_EQ(l.level, 1);
	CHECK_EQ(l.gsi, 9);
	wr(&acpi_pm_gpe_ops, &pm, 0, 1, 0x01); /* clearing another bit */
	CHECK_EQ(l.level, 1);
	wr(&acpi_pm_gpe_ops, &pm, 0, 1, 0x08); /* write 1 to clear */
	CHECK_EQ(l.level, 0);
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 0, 4), 0);
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 4, 4), 0x08);
	CHECK_EQ(acpi_pm_gpe_raise(&pm, 32), -EINVAL);
	CHECK_EQ(acpi_pm_gpe_raise(&pm, 31), 0);
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 3, 1), 0x80);
	/* A device's event line: 1 latches the status bit, 0 leaves it to
	 * the guest. */
	acpi_pm_gpe_line(&pm, 3, 1);
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 0, 1), 0x08);
	CHECK_EQ(l.level, 1);
	acpi_pm_gpe_line(&pm, 3, 0);
	CHECK_EQ(rd(&acpi_pm_gpe_ops, &pm, 0, 1), 0x08);
}

static void pm_power_button(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };

	pm_setup(&pm, &l, &e);
	wr(&acpi_pm_pm1_ops, &pm, 2, 2, ACPI_PM1_PWRBTN);
	acpi_pm_pm1_raise(&pm, ACPI_PM1_PWRBTN);
	CHECK_EQ(l.level, 1);
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, 0, 2), ACPI_PM1_PWRBTN);
	wr(&acpi_pm_pm1_ops, &pm, 0, 2, ACPI_PM1_PWRBTN);
	CHECK_EQ(l.level, 0);
	/* Bits the hardware lacks cannot be enabled; GBL_EN (bit 5) sticks
	 * because ACPICA checks it at start-up. */
	wr(&acpi_pm_pm1_ops, &pm, 2, 2, 0xffff);
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, 2, 2), ACPI_PM1_PWRBTN | 0x20);
}

static void pm_sleep_and_reset(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };

	pm_setup(&pm, &l, &e);
	/* SLP_TYP without SLP_EN does nothing. */
	wr(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2, 5 << 10);
	CHECK_EQ(e.sleeps, 0);
	wr(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2, (5 << 10) | (1 << 13));
	CHECK_EQ(e.sleeps, 1);
	CHECK_EQ(e.typ, 5);
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, ACPI_PM1_CNT_OFF, 2) & (1 << 13), 0);
	wr(&acpi_pm_pm1_ops, &pm, ACPI_PM_RESET_OFF, 1, 2);
	CHECK_EQ(e.resets, 0); /* not the reset value */
	wr(&acpi_pm_pm1_ops, &pm, ACPI_PM_RESET_OFF, 1, 1);
	CHECK_EQ(e.resets, 1);
}

static void pm_timer_counts_at_3_58_mhz(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };
	struct timespec t;
	uint32_t a, b;

	pm_setup(&pm, &l, &e);
	t = pm.t0;
	t.tv_sec += 1;
	CHECK_EQ(acpi_pm_timer(&pm, &t), 3579545);
	t.tv_sec += 3600 * 3; /* far past 64-bit overflow of ns * Hz */
	CHECK_EQ(acpi_pm_timer(&pm, &t), (uint32_t)(3579545ULL * 10801));
	a = (uint32_t)rd(&acpi_pm_pm1_ops, &pm, ACPI_PM_TMR_OFF, 4);
	usleep(2000);
	b = (uint32_t)rd(&acpi_pm_pm1_ops, &pm, ACPI_PM_TMR_OFF, 4);
	CHECK(b - a >= 7000); /* at least 2 ms worth of ticks */
}

static void pm_garbage_writes_change_nothing_else(void)
{
	struct acpi_pm pm;
	struct line l = { 0 };
	struct pm_events e = { 0 };

	pm_setup(&pm, &l, &e);
	for (uint64_t off = 0; off < ACPI_PM1_BLOCK_LEN; off++)
		if (off != ACPI_PM1_CNT_OFF + 1 && off != ACPI_PM_RESET_OFF)
			wr(&acpi_pm_pm1_ops, &pm, off, 1, 0xff);
	for (uint64_t off = 0; off < 8; off++)
		wr(&acpi_pm_gpe_ops, &pm, off, 1, 0x00);
	CHECK_EQ(e.sleeps, 0);
	CHECK_EQ(e.resets, 0);
	CHECK_EQ(l.level, 0);
	/* Reads past the registers are all-ones (the pad at 6-7). */
	CHECK_EQ(rd(&acpi_pm_pm1_ops, &pm, 6, 2), 0xffff);
}

/* ---- i8042 ---- */

static void kbd_reset(void)
{
	struct pm_events e = { 0 };
	struct i8042 k = { ev_reset, &e };

	CHECK_EQ(rd(&i8042_cmd_ops, &k, 0, 1), 0); /* buffers empty */
	wr(&i8042_cmd_ops, &k, 0, 1, 0xad);
	CHECK_EQ(e.resets, 0);
	wr(&i8042_cmd_ops, &k, 0, 1, 0xfe);
	CHECK_EQ(e.resets, 1);
}

UNIT_MAIN(UNIT_CASE(serial_transmits_bytes),
	  UNIT_CASE(serial_scratch_and_divisor),
	  UNIT_CASE(serial_thr_interrupt_needs_out2),
	  UNIT_CASE(serial_receive_and_loopback),
	  UNIT_CASE(serial_input_waits_for_room),
	  UNIT_CASE(serial_touches_the_line_only_on_a_change), UNIT_CASE(pm_sci_en_always_set),
	  UNIT_CASE(pm_gpe_drives_sci_level), UNIT_CASE(pm_power_button),
	  UNIT_CASE(pm_sleep_and_reset), UNIT_CASE(pm_timer_counts_at_3_58_mhz),
	  UNIT_CASE(pm_garbage_writes_change_nothing_else), UNIT_CASE(kbd_reset))
