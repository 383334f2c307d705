#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "devices/memhp.h"
#include "tests/unit.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define ALL_ONES(size) ((size) == 8 ? ~0ULL : (1ULL << (8 * (size))) - 1)

/* What the callbacks saw. Every callback also checks that the device lock
 * is free, as the interface promises. */
struct rec {
	struct memhp *m;
	int clear_on_eject; /* behave like the VMM: empty the slot at once */
	int osts, ejects, first_reads, refused, locked, clear_errors, events;
	unsigned int slot; /* of the last callback */
	uint32_t event, status;
	char what[160];
	int slot_ejects[MEMHP_MAX_SLOTS], slot_first_reads[MEMHP_MAX_SLOTS];
};

static void rec_check_unlocked(struct rec *r)
{
	if (pthread_mutex_trylock(&r->m->lock) != 0) {
		r->locked++;
		return;
	}
	pthread_mutex_unlock(&r->m->lock);
}

static void ev_ost(void *ctx, unsigned int slot, uint32_t event,
		   uint32_t status)
{
	struct rec *r = ctx;

	rec_check_unlocked(r);
	r->osts++;
	r->slot = slot;
	r->event = event;
	r->status = status;
}

static void ev_eject(void *ctx, unsigned int slot)
{
	struct rec *r = ctx;

	rec_check_unlocked(r);
	r->ejects++;
	r->slot = slot;
	if (slot < MEMHP_MAX_SLOTS)
		r->slot_ejects[slot]++;
	if (r->clear_on_eject && memhp_clear(r->m, slot) != 0)
		r->clear_errors++;
}

static void ev_first_read(void *ctx, unsigned int slot)
{
	struct rec *r = ctx;

	rec_check_unlocked(r);
	r->first_reads++;
	r->slot = slot;
	if (slot < MEMHP_MAX_SLOTS)
		r->slot_first_reads[slot]++;
}

static void ev_refused(void *ctx, unsigned int slot, const char *what)
{
	struct rec *r = ctx;

	rec_check_unlocked(r);
	r->refused++;
	r->slot = slot;
	snprintf(r->what, sizeof(r->what), "%s", what);
}

/* The event line, as the GPE it is wired to sees it. */
static void ev_line(void *ctx, unsigned int gsi, int level)
{
	struct rec *r = ctx;

	rec_check_unlocked(r);
	CHECK_EQ(gsi, 3);
	CHECK_EQ(level, 1);
	r->events++;
}

static void setup(struct memhp *m, struct rec *r, unsigned int nslots)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	memhp_init(m, nslots, (struct memhp_events){ ev_ost, ev_eject,
		   ev_first_read, ev_refused, r },
		   (struct irq_line){ ev_line, r, 3 });
}

/* Accesses as the bus makes them: a read buffer pre-filled with all-ones. */
static uint64_t rd(struct memhp *m, uint64_t off, unsigned int size)
{
	uint8_t d[8];

	memset(d, 0xff, sizeof(d));
	memhp_ops.read(m, off, d, size);
	return bus_get(d, size);
}

static void wr(struct memhp *m, uint64_t off, unsigned int size, uint64_t v)
{
	uint8_t d[8];

	bus_put(d, size, v);
	memhp_ops.write(m, off, d, size);
}

static void sel(struct memhp *m, uint32_t slot)
{
	wr(m, MEMHP_REG_SEL, 4, slot);
}

static struct memhp_slot get(struct memhp *m, unsigned int slot)
{
	struct memhp_slot s;

	memset(&s, 0xaa, sizeof(s)); /* a failed get cannot look valid */
	memhp_get(m, slot, &s);
	return s;
}

/* Field by field: struct copies need not preserve padding. */
static int slot_same(const struct memhp_slot *a, const struct memhp_slot *b)
{
	return a->base == b->base && a->size == b->size && a->pxm == b->pxm &&
	       a->enabled == b->enabled && a->insert == b->insert &&
	       a->remove == b->remove && a->eject_ok == b->eject_ok &&
	       a->read_seen == b->read_seen;
}

static int slots_same(const struct memhp_slot *a, const struct memhp_slot *b,
		      unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (!slot_same(&a[i], &b[i]))
			return 0;
	return 1;
}

/* The DSDT's MSCN: NEXT until none, notifying and clearing one event per
 * answer (INSERT first). Returns the number of NEXT reads; order[] gets
 * the slots seen. */
static int scan(struct memhp *m, uint32_t *order, int max)
{
	int reads = 0;

	for (;;) {
		uint32_t n = (uint32_t)rd(m, MEMHP_REG_NEXT, 4);
		uint32_t st;

		reads++;
		if (n == MEMHP_NONE || reads > max)
			return reads;
		order[reads - 1] = n;
		st = (uint32_t)rd(m, MEMHP_REG_STATUS, 1);
		if (st & MEMHP_STATUS_INSERT)
			wr(m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_INSERT);
		else if (st & MEMHP_STATUS_REMOVE)
			wr(m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_REMOVE);
	}
}

/* ---- registers ---- */

static void plug_select_and_read(void)
{
	struct memhp m;
	struct rec r;

	setup(&m, &r, 8);
	CHECK_EQ(memhp_plug(&m, 3, 0x140000000ULL, 0x180000000ULL, 1), 0);
	CHECK_EQ(rd(&m, MEMHP_REG_COUNT, 4), 8);
	sel(&m, 3);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1),
		 MEMHP_STATUS_ENABLED | MEMHP_STATUS_INSERT);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 4),
		 MEMHP_STATUS_ENABLED | MEMHP_STATUS_INSERT);
	CHECK_EQ(rd(&m, MEMHP_REG_PXM, 4), 1);
	/* STATUS and PXM are not the DIMM's resources: no timeline event. */
	CHECK_EQ(r.first_reads, 0);
	CHECK(!get(&m, 3).read_seen);
	CHECK_EQ(rd(&m, MEMHP_REG_BASE_LO, 4), 0x40000000);
	CHECK_EQ(r.first_reads, 1);
	CHECK_EQ(r.slot, 3);
	CHECK(get(&m, 3).read_seen);
	CHECK_EQ(rd(&m, MEMHP_REG_BASE_HI, 4), 1);
	CHECK_EQ(rd(&m, MEMHP_REG_SIZE_LO, 4), 0x80000000);
	CHECK_EQ(rd(&m, MEMHP_REG_SIZE_HI, 4), 1);
	CHECK_EQ(r.first_reads, 1);
	/* An empty slot reads as zeros and has no timeline. */
	sel(&m, 2);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), 0);
	CHECK_EQ(rd(&m, MEMHP_REG_BASE_LO, 4), 0);
	CHECK_EQ(rd(&m, MEMHP_REG_SIZE_LO, 4), 0);
	CHECK_EQ(r.first_reads, 1);
	/* Writes to the registers 0x0c-0x1c are refused, not taken as SEL
	 * or anything else. */
	wr(&m, MEMHP_REG_NEXT, 4, 3);
	CHECK_EQ(m.sel, 2);
	CHECK_EQ(r.refused, 1);
	CHECK_STR(r.what, "write of 0x3 to read-only offset 0x18");
	CHECK_EQ(r.locked, 0);
}

static void selector_out_of_range_selects_nothing(void)
{
	struct memhp m;
	struct rec r;
	struct memhp_slot before;

	setup(&m, &r, 8);
	CHECK_EQ(m.sel, MEMHP_NONE); /* nothing selected after init */
	CHECK_EQ(memhp_plug(&m, 7, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_request(&m, 7), 0);
	sel(&m, 7);
	CHECK_EQ(rd(&m, MEMHP_REG_SIZE_LO, 4), 128 * MiB);
	CHECK_EQ(r.first_reads, 1);
	before = get(&m, 7);
	const uint32_t bad[] = { 8, 9, 0x100, 0x80000000, 0xffffffff };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sel(&m, bad[i]);
		CHECK(m.sel >= m.nslots);
		for (uint64_t off = 0; off <= MEMHP_REG_STATUS; off += 4)
			CHECK_EQ(rd(&m, off, 4), 0);
		CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), 0);
		CHECK_EQ(rd(&m, MEMHP_REG_COUNT, 4), 8);
	}
	/* Slot-register writes with nothing selected touch no slot. */
	r.refused = 0;
	wr(&m, MEMHP_REG_STATUS, 1, 0xff);
	CHECK_EQ(r.refused, 1);
	CHECK_EQ(r.slot, MEMHP_NONE);
	CHECK_STR(r.what, "status write 0xff with no slot selected");
	wr(&m, MEMHP_REG_OST_EVENT, 4, 3);
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0);
	CHECK_EQ(r.refused, 2);
	CHECK_STR(r.what, "_OST status 0x0 (event 0x3) with no slot selected");
	CHECK_EQ(r.osts + r.ejects + r.first_reads, 1);
	struct memhp_slot after = get(&m, 7);
	CHECK(slot_same(&after, &before));
	/* NEXT still works and selects. */
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), 7);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1),
		 MEMHP_STATUS_ENABLED | MEMHP_STATUS_INSERT |
		 MEMHP_STATUS_REMOVE);
}

static void next_scan_costs_one_read_per_event(void)
{
	struct memhp m;
	struct rec r;
	uint32_t order[8];

	setup(&m, &r, MEMHP_MAX_SLOTS);
	CHECK(!memhp_pending(&m));
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), MEMHP_NONE);
	/* Added out of order: NEXT goes by slot number. */
	CHECK_EQ(memhp_plug(&m, 255, 8 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_coldplug(&m, 42, 6 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_request(&m, 42), 0);
	CHECK_EQ(memhp_plug(&m, 7, 4 * GiB, 128 * MiB, 0), 0);
	CHECK(memhp_pending(&m));
	CHECK_EQ(scan(&m, order, 8), 4);
	CHECK_EQ(order[0], 7);
	CHECK_EQ(order[1], 42);
	CHECK_EQ(order[2], 255);
	CHECK(!memhp_pending(&m));
	CHECK(m.sel >= m.nslots); /* the final NEXT selected nothing */
	CHECK(get(&m, 42).eject_ok); /* the scan does not eject */
	/* A slot with both events pending answers NEXT twice. */
	CHECK_EQ(memhp_plug(&m, 0, 2 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_request(&m, 0), 0);
	CHECK_EQ(scan(&m, order, 8), 3);
	CHECK_EQ(order[0], 0);
	CHECK_EQ(order[1], 0);
	/* Without the clear, NEXT keeps answering the same slot. */
	CHECK_EQ(memhp_plug(&m, 9, 10 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), 9);
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), 9);
	CHECK_EQ(r.refused + r.ejects, 0);
}

static void status_write_clears_only_what_it_names(void)
{
	struct memhp m;
	struct rec r;

	setup(&m, &r, 4);
	CHECK_EQ(memhp_plug(&m, 1, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_plug(&m, 2, 5 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	sel(&m, 1);
	/* ENABLED is read-only; bits 4-7 and 0 mean nothing. */
	wr(&m, MEMHP_REG_STATUS, 1, 0xf1);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), 0x07);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_INSERT);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1),
		 MEMHP_STATUS_ENABLED | MEMHP_STATUS_REMOVE);
	/* A dword write carries the status in its low byte. */
	wr(&m, MEMHP_REG_STATUS, 4, 0xffffff00 | MEMHP_STATUS_REMOVE);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), MEMHP_STATUS_ENABLED);
	CHECK(get(&m, 1).eject_ok); /* clearing the event is not a cancel */
	CHECK(get(&m, 2).insert);   /* the other slot kept its event */
	CHECK_EQ(r.refused + r.ejects + r.osts, 0);
}

static void ost_is_reported(void)
{
	struct memhp m;
	struct rec r;
	struct memhp_slot s;

	setup(&m, &r, 8);
	CHECK_EQ(memhp_plug(&m, 5, 4 * GiB, 128 * MiB, 0), 0);
	sel(&m, 5);
	wr(&m, MEMHP_REG_OST_EVENT, 4, 1);
	CHECK_EQ(r.osts, 0); /* the event alone reports nothing */
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0);
	CHECK_EQ(r.osts, 1);
	CHECK_EQ(r.slot, 5);
	CHECK_EQ(r.event, 1);
	CHECK_EQ(r.status, 0);
	/* The event register is sticky: a second status reuses it. */
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0x81);
	CHECK_EQ(r.osts, 2);
	CHECK_EQ(r.event, 1);
	CHECK_EQ(r.status, 0x81);
	/* An empty slot takes an _OST too (Linux sends one after _EJ0). */
	sel(&m, 6);
	wr(&m, MEMHP_REG_OST_EVENT, 4, 3);
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0);
	CHECK_EQ(r.osts, 3);
	CHECK_EQ(r.slot, 6);
	CHECK_EQ(r.event, 3);
	/* The report is the callback's: the slot itself is unchanged. */
	s = get(&m, 5);
	CHECK(s.enabled && s.insert && s.base == 4 * GiB);
	CHECK_EQ(r.refused + r.locked, 0);
}

static void eject_needs_a_removal_request(void)
{
	struct memhp m;
	struct rec r;
	struct memhp_slot before, after;

	setup(&m, &r, 8);
	CHECK_EQ(memhp_coldplug(&m, 3, 4 * GiB, 128 * MiB, 0), 0);
	before = get(&m, 3);
	sel(&m, 3);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.ejects, 0);
	CHECK_EQ(r.refused, 1);
	CHECK_EQ(r.slot, 3);
	CHECK_STR(r.what, "eject of slot 3, which has no removal pending");
	after = get(&m, 3);
	CHECK(slot_same(&after, &before));
	/* Empty slot. */
	sel(&m, 4);
	wr(&m, MEMHP_REG_STATUS, 4, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.refused, 2);
	CHECK_STR(r.what, "eject of slot 4, which is empty");
	/* A cancelled request no longer allows it. */
	CHECK_EQ(memhp_unplug_request(&m, 3), 0);
	CHECK_EQ(memhp_unplug_cancel(&m, 3), 0);
	sel(&m, 3);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.refused, 3);
	CHECK_EQ(r.ejects, 0);
	CHECK(get(&m, 3).enabled);
	/* Requested: honoured once. */
	CHECK_EQ(memhp_unplug_request(&m, 3), 0);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.ejects, 1);
	CHECK_EQ(r.slot, 3);
	after = get(&m, 3);
	CHECK(!after.eject_ok);
	CHECK(after.enabled); /* until the VMM clears it */
	CHECK(after.remove);  /* the guest had not collected the event */
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.ejects, 1);
	CHECK_EQ(r.refused, 4);
	/* Ejected but not cleared: no cancel, no second request. */
	CHECK_EQ(memhp_unplug_cancel(&m, 3), -EINVAL);
	CHECK_EQ(memhp_unplug_request(&m, 3), -EALREADY);
	CHECK_EQ(memhp_clear(&m, 3), 0);
	CHECK(!memhp_pending(&m));
	CHECK_EQ(r.locked, 0);
}

/* docs/memhp.md, hot-remove, as the guest drives it. */
static void hot_remove_sequence(void)
{
	struct memhp m;
	struct rec r;
	uint32_t order[4];

	setup(&m, &r, 8);
	r.clear_on_eject = 1;
	CHECK_EQ(memhp_plug(&m, 2, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(scan(&m, order, 4), 2);
	CHECK_EQ(memhp_unplug_request(&m, 2), 0);
	CHECK_EQ(scan(&m, order, 4), 2);
	CHECK_EQ(order[0], 2);
	CHECK(get(&m, 2).eject_ok);
	/* _OST(3, 0x84 eject in progress), then _EJ0, then _STA. */
	sel(&m, 2);
	wr(&m, MEMHP_REG_OST_EVENT, 4, 3);
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0x84);
	CHECK_EQ(r.osts, 1);
	sel(&m, 2);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.ejects, 1);
	CHECK_EQ(r.clear_errors, 0);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), 0); /* _STA: gone */
	sel(&m, 2);
	wr(&m, MEMHP_REG_OST_EVENT, 4, 3);
	wr(&m, MEMHP_REG_OST_STATUS, 4, 0);
	CHECK_EQ(r.osts, 2);
	CHECK_EQ(r.slot, 2);
	CHECK_EQ(r.status, 0);
	CHECK(!get(&m, 2).enabled);
	/* The slot is free for the next DIMM. */
	CHECK_EQ(memhp_plug(&m, 2, 4 * GiB, 256 * MiB, 0), 0);
	CHECK_EQ(r.refused + r.locked, 0);
}

static void unplug_request_and_cancel(void)
{
	struct memhp m;
	struct rec r;
	struct memhp_slot s;
	int events;

	setup(&m, &r, 4);
	CHECK_EQ(memhp_unplug_request(&m, 1), -ENOENT);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), -ENOENT);
	CHECK_EQ(memhp_unplug_request(&m, 4), -EINVAL);
	CHECK_EQ(memhp_unplug_cancel(&m, 4), -EINVAL);
	CHECK_EQ(memhp_coldplug(&m, 1, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), -EINVAL); /* none pending */
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	s = get(&m, 1);
	CHECK(s.remove && s.eject_ok && s.enabled);
	CHECK(memhp_pending(&m));
	CHECK_EQ(memhp_unplug_request(&m, 1), -EALREADY);
	/* Still already requested after the guest collected the event. */
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), 1);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_REMOVE);
	CHECK(!memhp_pending(&m));
	CHECK_EQ(memhp_unplug_request(&m, 1), -EALREADY);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), 0);
	s = get(&m, 1);
	CHECK(!s.remove && !s.eject_ok && s.enabled);
	CHECK_EQ(s.base, 4 * GiB);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), -EINVAL);
	/* Cancel before the guest saw it: the event goes too. */
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), 0);
	CHECK(!memhp_pending(&m));
	/* Asked again while pending: the event again, nothing else. */
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	events = r.events;
	CHECK_EQ(memhp_unplug_renotify(&m, 1), 0);
	CHECK_EQ(r.events, events + 1);
	CHECK(memhp_pending(&m));
	/* After the guest collected it too. */
	wr(&m, MEMHP_REG_SEL, 4, 1);
	wr(&m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_REMOVE);
	CHECK(!memhp_pending(&m));
	CHECK_EQ(memhp_unplug_renotify(&m, 1), 0);
	CHECK(memhp_pending(&m));
	CHECK_EQ(memhp_unplug_cancel(&m, 1), 0);
	CHECK_EQ(memhp_unplug_renotify(&m, 1), -EALREADY); /* none pending */
	CHECK_EQ(memhp_unplug_renotify(&m, 0), -ENOENT);
	CHECK_EQ(memhp_unplug_renotify(&m, 9), -EINVAL);
}

static void coldplug_has_no_event(void)
{
	struct memhp m;
	struct rec r;

	setup(&m, &r, 4);
	CHECK_EQ(memhp_coldplug(&m, 0, 4 * GiB, 512 * MiB, 2), 0);
	CHECK(!memhp_pending(&m));
	CHECK_EQ(r.events, 0);
	CHECK_EQ(rd(&m, MEMHP_REG_NEXT, 4), MEMHP_NONE);
	sel(&m, 0);
	CHECK_EQ(rd(&m, MEMHP_REG_STATUS, 1), MEMHP_STATUS_ENABLED);
	CHECK_EQ(rd(&m, MEMHP_REG_SIZE_LO, 4), 512 * MiB);
	CHECK_EQ(rd(&m, MEMHP_REG_PXM, 4), 2);
	CHECK_EQ(r.first_reads, 0); /* no hot-add timeline */
}

/* The device raises its GPE itself, outside its lock, once per event it
 * gives the guest's scan, never for a refused request. */
static void plug_and_unplug_raise_the_event_line(void)
{
	struct memhp m;
	struct rec r;

	setup(&m, &r, 4);
	CHECK_EQ(memhp_plug(&m, 1, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(r.events, 1);
	CHECK_EQ(memhp_plug(&m, 1, 5 * GiB, 128 * MiB, 0), -EBUSY);
	CHECK_EQ(memhp_plug(&m, 4, 5 * GiB, 128 * MiB, 0), -EINVAL);
	CHECK_EQ(memhp_plug(&m, 2, 5 * GiB, 0, 0), -EINVAL);
	CHECK_EQ(r.events, 1);
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	CHECK_EQ(r.events, 2);
	CHECK_EQ(memhp_unplug_request(&m, 1), -EALREADY);
	CHECK_EQ(memhp_unplug_request(&m, 2), -ENOENT);
	CHECK_EQ(memhp_unplug_cancel(&m, 1), 0);
	CHECK_EQ(r.events, 2);
	CHECK_EQ(r.locked, 0);
}

static void bad_sizes_and_offsets(void)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	struct memhp m;
	struct rec r;
	struct memhp_slot before[4], after[4];
	int bad = 0;

	setup(&m, &r, 4);
	CHECK_EQ(memhp_plug(&m, 1, 4 * GiB, 128 * MiB, 0), 0);
	CHECK_EQ(memhp_unplug_request(&m, 1), 0);
	sel(&m, 1);
	wr(&m, MEMHP_REG_OST_EVENT, 4, 7);
	for (unsigned int i = 0; i < 4; i++)
		before[i] = get(&m, i);
	for (uint64_t off = 0; off < MEMHP_REGS_LEN + 8; off++) {
		for (size_t k = 0; k < 4; k++) {
			unsigned int size = sizes[k];

			if ((size == 4 && off % 4 == 0 && off < MEMHP_REGS_LEN) ||
			    (size == 1 && off == MEMHP_REG_STATUS))
				continue;
			bad++;
			CHECK_EQ(rd(&m, off, size), ALL_ONES(size));
			/* 0 would select slot 0; ff.. would clear and eject. */
			wr(&m, off, size, 0);
			wr(&m, off, size, ~0ULL);
			CHECK_EQ(r.refused, 2 * bad);
			CHECK_EQ(r.slot, MEMHP_NONE);
		}
	}
	CHECK_EQ(m.sel, 1);
	CHECK_EQ(m.ost_event, 7);
	for (unsigned int i = 0; i < 4; i++)
		after[i] = get(&m, i);
	CHECK(slots_same(after, before, 4));
	CHECK_EQ(r.ejects + r.osts + r.first_reads, 0);
	/* Offsets far past the block, where off + size would wrap. */
	CHECK_EQ(rd(&m, ~0ULL, 4), 0xffffffff);
	CHECK_EQ(rd(&m, ~0ULL - 3, 4), 0xffffffff);
	wr(&m, ~0ULL - 3, 4, MEMHP_STATUS_EJECT);
	CHECK_EQ(r.ejects, 0);
	wr(&m, 0, 2, 0x0102);
	CHECK_STR(r.what, "2-byte write of 0x102 at offset 0x0 (registers take "
		  "dwords, STATUS also a byte)");
}

static void api_errors(void)
{
	struct memhp m, m0;
	struct rec r;
	struct memhp_slot s;

	CHECK_EQ(memhp_init(&m0, MEMHP_MAX_SLOTS + 1,
			    (struct memhp_events){ 0 }, (struct irq_line){ 0 }), -EINVAL);
	CHECK_EQ(memhp_init(&m0, 0, (struct memhp_events){ 0 },
			    (struct irq_line){ 0 }), 0);
	CHECK_EQ(memhp_plug(&m0, 0, 4 * GiB, 128 * MiB, 0), -EINVAL);
	CHECK_EQ(rd(&m0, MEMHP_REG_COUNT, 4), 0);
	CHECK_EQ(rd(&m0, MEMHP_REG_NEXT, 4), MEMHP_NONE);
	/* No callbacks set: guest misuse must still be harmless. */
	wr(&m0, MEMHP_REG_STATUS, 1, 0xff);
	wr(&m0, 3, 2, 0);

	setup(&m, &r, 4);
	CHECK_EQ(memhp_plug(&m, 4, 4 * GiB, 128 * MiB, 0), -EINVAL);
	CHECK_EQ(memhp_plug(&m, 0, 4 * GiB, 0, 0), -EINVAL);
	CHECK_EQ(memhp_coldplug(&m, 0, 4 * GiB, 0, 0), -EINVAL);
	CHECK_EQ(memhp_plug(&m, 0, ~0ULL - MiB + 1, 2 * MiB, 0), -EINVAL);
	CHECK(!get(&m, 0).enabled);
	/* Ending exactly at 2^64 is a valid range. */
	CHECK_EQ(memhp_plug(&m, 0, ~0ULL - MiB + 1, MiB, 0), 0);
	CHECK_EQ(memhp_plug(&m, 0, 4 * GiB, 128 * MiB, 0), -EBUSY);
	CHECK_EQ(memhp_coldplug(&m, 0, 4 * GiB, 128 * MiB, 0), -EBUSY);
	CHECK_EQ(get(&m, 0).base, ~0ULL - MiB + 1); /* the failed plug left it */
	CHECK_EQ(memhp_clear(&m, 0), 0);
	CHECK_EQ(memhp_clear(&m, 0), -ENOENT);
	CHECK_EQ(memhp_clear(&m, 4), -EINVAL);
	CHECK_EQ(memhp_get(&m, 4, &s), -EINVAL);
	CHECK_EQ(memhp_get(&m, 3, &s), 0);
	CHECK(!s.enabled);
	CHECK(!memhp_pending(&m));
}

/* ---- garbage ---- */

static uint64_t rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

struct op {
	int write;
	uint64_t off, val;
	unsigned int size;
};

/* Mostly register-shaped accesses, so the rules get exercised, with
 * odd sizes, misaligned and far-away offsets mixed in. */
static struct op random_op(uint64_t *seed)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	uint64_t x = rnd(seed);
	struct op o = { .write = (int)(x & 1) };

	switch ((x >> 1) & 15) {
	case 0:
		o.off = rnd(seed);
		break;
	case 1: case 2: case 3:
		o.off = rnd(seed) % (MEMHP_REGS_LEN + 8);
		break;
	default:
		o.off = (rnd(seed) % (MEMHP_REGS_LEN / 4)) * 4;
		break;
	}
	o.size = (x >> 5) & 1 ? 4 : sizes[(x >> 6) & 3];
	if (o.off == MEMHP_REG_STATUS && (x >> 8) & 1)
		o.size = 1;
	switch ((x >> 9) & 3) {
	case 0:
		o.val = rnd(seed);
		break;
	case 1:
		o.val = rnd(seed) & 0xff;
		break;
	default: /* a slot number, for SEL */
		o.val = rnd(seed) % (MEMHP_MAX_SLOTS + 4);
		break;
	}
	return o;
}

static int op_valid(const struct op *o)
{
	return (o->size == 4 && o->off < MEMHP_REGS_LEN && o->off % 4 == 0) ||
	       (o->size == 1 && o->off == MEMHP_REG_STATUS);
}

/* 256 slots in every state the API can make. */
static void populate(struct memhp *m, uint64_t *seed)
{
	for (unsigned int i = 0; i < m->nslots; i++) {
		uint64_t base = 4 * GiB + i * GiB, size = (i % 7 + 1) * 128 * MiB;

		switch (rnd(seed) % 5) {
		case 0: /* leave as it is */
			break;
		case 1:
			memhp_plug(m, i, base, size, i % 4);
			break;
		case 2:
			memhp_coldplug(m, i, base, size, i % 4);
			break;
		case 3:
			memhp_coldplug(m, i, base, size, i % 4);
			memhp_unplug_request(m, i);
			break;
		case 4:
			memhp_plug(m, i, base, size, i % 4);
			memhp_unplug_request(m, i);
			break;
		}
	}
}

static void report_op(int i, const struct op *o)
{
	printf("  at op %d: %u-byte %s of 0x%" PRIx64 " at 0x%" PRIx64 "\n", i,
	       o->size, o->write ? "write" : "read", o->val, o->off);
}

/* With nothing ever selected, garbage may only be refused: no slot
 * changes, no other callback, reads of slot registers are 0. */
static void garbage_without_selection_changes_nothing(void)
{
	static struct memhp m;
	static struct memhp_slot before[MEMHP_MAX_SLOTS];
	struct rec r;
	uint64_t seed = 0x6d656d6870ULL;
	int refused = 0;

	setup(&m, &r, MEMHP_MAX_SLOTS);
	populate(&m, &seed);
	CHECK(memhp_pending(&m));
	memcpy(before, m.slots, sizeof(before));
	for (int i = 0; i < 100000; i++) {
		struct op o = random_op(&seed);
		int valid = op_valid(&o);

		if (valid && o.off == MEMHP_REG_SEL && o.write)
			o.val |= 0x100; /* >= nslots: selects nothing */
		if (valid && o.off == MEMHP_REG_NEXT && !o.write)
			continue; /* NEXT selects */
		if (o.write) {
			wr(&m, o.off, o.size, o.val);
			refused += !valid || (o.off != MEMHP_REG_SEL &&
					      o.off != MEMHP_REG_OST_EVENT);
		} else {
			uint64_t v = rd(&m, o.off, o.size), want;

			if (!valid)
				want = ALL_ONES(o.size);
			else if (o.off == MEMHP_REG_COUNT)
				want = MEMHP_MAX_SLOTS;
			else
				want = 0;
			if (v != want) {
				report_op(i, &o);
				CHECK_EQ(v, want);
			}
		}
		if (m.sel < m.nslots || r.refused != refused) {
			report_op(i, &o);
			CHECK(m.sel >= m.nslots);
			CHECK_EQ(r.refused, refused);
		}
	}
	CHECK(slots_same(m.slots, before, MEMHP_MAX_SLOTS));
	CHECK_EQ(r.osts + r.ejects + r.first_reads, 0);
	CHECK(refused > 10000); /* the loop did test something */
	CHECK_EQ(r.slot, MEMHP_NONE);
	CHECK_EQ(r.locked, 0);
}

/* What one access may do to the selected slot s (before b, after a): the
 * DIMM itself never changes; events only clear; eject_ok goes only with an
 * eject callback (which empties the slot here, as the VMM does); read_seen
 * only sets with a first_read callback; an _OST changes nothing in it. */
static void check_slot_change(const struct memhp_slot *b,
			      const struct memhp_slot *a, const struct rec *r,
			      unsigned int slot)
{
	static const struct memhp_slot empty;
	int ejected = r->ejects == 1 && r->slot == slot;
	int first = r->first_reads == 1 && r->slot == slot;

	if (ejected) {
		CHECK(b->eject_ok);
		CHECK(slot_same(a, &empty));
		return;
	}
	CHECK_EQ(a->base, b->base);
	CHECK_EQ(a->size, b->size);
	CHECK_EQ(a->pxm, b->pxm);
	CHECK_EQ(a->enabled, b->enabled);
	CHECK(!a->insert || b->insert);
	CHECK(!a->remove || b->remove);
	CHECK_EQ(a->eject_ok, b->eject_ok);
	CHECK_EQ(a->read_seen, b->read_seen || first);
	CHECK(!first || (b->enabled && !b->read_seen));
}

/* The expected value of a valid read, from the state before it. */
static uint64_t expect_read(const struct memhp *m,
			    const struct memhp_slot *b, uint32_t sel_before,
			    const struct op *o)
{
	const struct memhp_slot *s;

	if (o->off == MEMHP_REG_COUNT)
		return m->nslots;
	if (o->off == MEMHP_REG_NEXT) {
		for (unsigned int i = 0; i < m->nslots; i++)
			if (b[i].insert || b[i].remove)
				return i;
		return MEMHP_NONE;
	}
	if (sel_before >= m->nslots)
		return 0;
	s = &b[sel_before];
	switch (o->off) {
	case MEMHP_REG_BASE_LO: return (uint32_t)s->base;
	case MEMHP_REG_BASE_HI: return s->base >> 32;
	case MEMHP_REG_SIZE_LO: return (uint32_t)s->size;
	case MEMHP_REG_SIZE_HI: return s->size >> 32;
	case MEMHP_REG_PXM: return s->pxm;
	}
	return (s->enabled ? MEMHP_STATUS_ENABLED : 0) |
	       (s->insert ? MEMHP_STATUS_INSERT : 0) |
	       (s->remove ? MEMHP_STATUS_REMOVE : 0);
}

/* One garbage access with a slot possibly selected. The test tracks the
 * selection itself (SEL writes, NEXT reads); after the access every slot
 * but that one is unchanged, and that one changed only as the rules
 * allow. */
static void garbage_step(struct memhp *m, struct rec *r,
			 struct memhp_slot *b, uint32_t *model_sel,
			 const struct op *o)
{
	int valid = op_valid(o);
	uint32_t s0 = *model_sel;
	int callbacks;

	memcpy(b, m->slots, sizeof(m->slots));
	r->osts = r->ejects = r->first_reads = r->refused = 0;
	r->slot = MEMHP_NONE - 1;
	if (o->write) {
		wr(m, o->off, o->size, o->val);
		if (valid && o->off == MEMHP_REG_SEL)
			*model_sel = (uint32_t)o->val < m->nslots ?
				     (uint32_t)o->val : MEMHP_NONE;
	} else {
		uint64_t v = rd(m, o->off, o->size);

		CHECK_EQ(v, valid ? expect_read(m, b, s0, o) :
				    ALL_ONES(o->size));
		if (valid && o->off == MEMHP_REG_NEXT)
			*model_sel = (uint32_t)v;
	}
	CHECK_EQ(m->sel < m->nslots ? m->sel : MEMHP_NONE, *model_sel);
	callbacks = r->osts + r->ejects + r->first_reads + r->refused;
	CHECK(callbacks <= 1);
	CHECK_EQ(r->locked, 0);
	CHECK_EQ(r->clear_errors, 0);
	if (!valid)
		CHECK_EQ(r->refused, o->write);
	if (r->refused)
		CHECK(r->slot == MEMHP_NONE || r->slot == s0);
	else if (callbacks)
		CHECK_EQ(r->slot, s0); /* ost/eject/first_read: the selected slot */
	for (unsigned int i = 0; i < m->nslots; i++) {
		if (i == s0)
			check_slot_change(&b[i], &m->slots[i], r, i);
		else
			CHECK(slot_same(&m->slots[i], &b[i]));
		if (unit_failed) {
			printf("  slot %u\n", i);
			return;
		}
	}
}

static void garbage_with_selection_follows_the_rules(void)
{
	static struct memhp m;
	static struct memhp_slot b[MEMHP_MAX_SLOTS];
	struct rec r;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint32_t model_sel = MEMHP_NONE;
	int ejects = 0, first_reads = 0, osts = 0;

	setup(&m, &r, MEMHP_MAX_SLOTS);
	r.clear_on_eject = 1;
	for (int i = 0; i < 100000; i++) {
		struct op o;

		/* Keep events coming; the garbage clears them fast. */
		if (i % 2048 == 0)
			populate(&m, &seed);
		o = random_op(&seed);
		garbage_step(&m, &r, b, &model_sel, &o);
		if (unit_failed) {
			report_op(i, &o);
			return;
		}
		ejects += r.ejects;
		first_reads += r.first_reads;
		osts += r.osts;
	}
	/* The rules were exercised, not just the refusals. */
	CHECK(ejects > 100);
	CHECK(first_reads > 100);
	CHECK(osts > 100);
}

/* ---- threads ---- */

struct vcpu {
	struct memhp *m;
	atomic_int done;
};

/* A guest that keeps scanning, reads each new DIMM and ejects whatever
 * it is asked to remove. */
static void *vcpu_scan(void *arg)
{
	struct vcpu *v = arg;

	for (;;) {
		int done = atomic_load(&v->done);
		uint32_t n = (uint32_t)rd(v->m, MEMHP_REG_NEXT, 4), st;

		if (n == MEMHP_NONE) {
			if (done)
				return NULL;
			sched_yield();
			continue;
		}
		st = (uint32_t)rd(v->m, MEMHP_REG_STATUS, 1);
		if (st & MEMHP_STATUS_INSERT) {
			rd(v->m, MEMHP_REG_BASE_LO, 4);
			wr(v->m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_INSERT);
		}
		if (st & MEMHP_STATUS_REMOVE) {
			wr(v->m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_REMOVE);
			wr(v->m, MEMHP_REG_STATUS, 1, MEMHP_STATUS_EJECT);
		}
	}
}

static void concurrent_plug_and_scan(void)
{
	static struct memhp m;
	struct rec r;
	struct vcpu v = { .m = &m };
	pthread_t t;
	unsigned int gone = 0;

	setup(&m, &r, MEMHP_MAX_SLOTS);
	r.clear_on_eject = 1;
	atomic_init(&v.done, 0);
	CHECK_EQ(pthread_create(&t, NULL, vcpu_scan, &v), 0);
	for (unsigned int i = 0; i < MEMHP_MAX_SLOTS; i++)
		memhp_plug(&m, i, 4 * GiB + i * GiB, GiB, 0);
	for (unsigned int i = 0; i < MEMHP_MAX_SLOTS; i++)
		memhp_unplug_request(&m, i);
	while (gone < MEMHP_MAX_SLOTS) {
		gone = 0;
		for (unsigned int i = 0; i < MEMHP_MAX_SLOTS; i++)
			gone += !get(&m, i).enabled;
		sched_yield();
	}
	atomic_store(&v.done, 1);
	pthread_join(t, NULL);
	CHECK_EQ(r.ejects, MEMHP_MAX_SLOTS);
	CHECK_EQ(r.first_reads, MEMHP_MAX_SLOTS);
	for (unsigned int i = 0; i < MEMHP_MAX_SLOTS; i++) {
		CHECK_EQ(r.slot_ejects[i], 1);
		CHECK_EQ(r.slot_first_reads[i], 1);
	}
	CHECK_EQ(r.refused, 0);
	CHECK_EQ(r.clear_errors, 0);
	CHECK(!memhp_pending(&m));
	/* r.locked is not checked: here the control thread's memhp_get
	 * really may hold the lock while a callback looks. */
}

UNIT_MAIN(UNIT_CASE(plug_select_and_read),
	  UNIT_CASE(plug_and_unplug_raise_the_event_line),
	  UNIT_CASE(selector_out_of_range_selects_nothing),
	  UNIT_CASE(next_scan_costs_one_read_per_event),
	  UNIT_CASE(status_write_clears_only_what_it_names),
	  UNIT_CASE(ost_is_reported),
	  UNIT_CASE(eject_needs_a_removal_request),
	  UNIT_CASE(hot_remove_sequence), UNIT_CASE(unplug_request_and_cancel),
	  UNIT_CASE(coldplug_has_no_event),
	  UNIT_CASE(bad_sizes_and_offsets), UNIT_CASE(api_errors),
	  UNIT_CASE(garbage_without_selection_changes_nothing),
	  UNIT_CASE(garbage_with_selection_follows_the_rules),
	  UNIT_CASE(concurrent_plug_and_scan))
