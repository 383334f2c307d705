/* DSDT contents. Each block of the machine gets its own function here so
 * the DSDT reads as a list of what the guest sees.
 *
 * Names at the root are written without the '\' prefix (Scope (_SB), not
 * Scope (\_SB)): that is the same object, and it is how iasl encodes them,
 * so a DSDT disassembled and recompiled by iasl gives back the same bytes. */
#include "acpi/dsdt.h"

#include <stdio.h>

#include "acpi/ost.h"
#include "include/memplug/hw/memhp.h"

/* \_S5: the SLP_TYP values OSPM writes to PM1a_CNT and PM1b_CNT to power
 * off; the last two elements are reserved. */
static void sleep_states(struct aml *a, const struct acpi_config *cfg)
{
	size_t pkg;

	aml_name_def(a, "_S5");
	pkg = aml_package_begin(a);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, cfg->s5_slp_typ);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a, pkg);
}

/* One processor device per vCPU. Linux matches a device to its MADT Local
 * APIC entry through _UID = ACPI processor UID, which is the CPU index. */
static void processors(struct aml *a, const struct acpi_config *cfg)
{
	size_t sb = aml_scope_begin(a, "_SB");

	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		char name[5];
		size_t dev;

		/* C000, C001, ...: acpi_build allows at most 255 vCPUs */
		snprintf(name, sizeof(name), "C%03X", (uint8_t)i);
		dev = aml_device_begin(a, name);
		aml_name_def(a, "_HID");
		aml_string(a, "ACPI0007");
		aml_name_def(a, "_UID");
		aml_int(a, i);
		aml_end(a, dev);
	}
	aml_end(a, sb);
}

/* Memory hotplug: \_SB.MHPC drives the register block of docs/memhp.md.
 *
 * The registers are shared by all slots through SEL, so every helper
 * selects and accesses them under MLCK: in Linux the scan runs in the GPE
 * worker while the hotplug worker evaluates _STA, _CRS, _OST of a slot it
 * was told about, and a sysfs read can evaluate _STA at any time. Each slot
 * device MPnn only calls a helper with its own number, so the per-slot AML
 * stays small and all port I/O is in one place. */

/* Acquire (MLCK, 0xFFFF): wait forever, the lock is only held for a few
 * port accesses. */
static void lock(struct aml *a)
{
	aml_acquire(a, "MLCK", 0xffff);
}

static void unlock(struct aml *a)
{
	aml_release(a, "MLCK");
}

/* SEL = Arg0 */
static void select_arg0(struct aml *a)
{
	aml_op(a, AML_STORE);
	aml_arg(a, 0);
	aml_name(a, "SEL");
}

/* A DWord register field at its offset in the block (the Offset emits
 * nothing where the previous field ends). */
static void reg_field(struct aml *a, const char *name, uint32_t off)
{
	aml_field_offset(a, off);
	aml_field_unit(a, name, 32);
}

/* STATUS as 1-bit fields from bit 0 up, in this order. */
_Static_assert(MEMHP_STATUS_ENABLED == 1 << 0 && MEMHP_STATUS_INSERT == 1 << 1 &&
		       MEMHP_STATUS_REMOVE == 1 << 2 && MEMHP_STATUS_EJECT == 1 << 3,
	       "STATUS bits ENAB, INSR, REMV, EJCT are bits 0 to 3");

/* Name (_CRS, ...), the OperationRegion and the Fields over it. */
static void memhp_registers(struct aml *a, const struct acpi_config *cfg)
{
	size_t r, f;

	aml_name_def(a, "_CRS");
	r = aml_restemplate_begin(a);
	aml_res_io(a, true, cfg->memhp_port, cfg->memhp_port, 1,
		   MEMHP_REGS_LEN);
	aml_end(a, r);
	aml_op_region(a, "MHPR", AML_SPACE_IO, cfg->memhp_port,
		      MEMHP_REGS_LEN);
	/* Read side. The registers are DWords and every name covers a whole
	 * one, so Preserve never turns into a read-modify-write. */
	f = aml_field_begin(a, "MHPR", AML_DWORD_ACC, false, AML_PRESERVE);
	reg_field(a, "BALO", MEMHP_REG_BASE_LO);
	reg_field(a, "BAHI", MEMHP_REG_BASE_HI);
	reg_field(a, "SZLO", MEMHP_REG_SIZE_LO);
	reg_field(a, "SZHI", MEMHP_REG_SIZE_HI);
	reg_field(a, "PXM", MEMHP_REG_PXM);
	reg_field(a, "NEXT", MEMHP_REG_NEXT); /* also selects */
	aml_end(a, f);
	/* Write side of the same offsets. */
	f = aml_field_begin(a, "MHPR", AML_DWORD_ACC, false, AML_PRESERVE);
	reg_field(a, "SEL", MEMHP_REG_SEL);
	reg_field(a, "OEVT", MEMHP_REG_OST_EVENT);
	reg_field(a, "OSTA", MEMHP_REG_OST_STATUS); /* records the pair */
	aml_end(a, f);
	/* STATUS: a write of one bit must not be merged with the others read
	 * back (Preserve would write INSERT back as 1 and clear it by
	 * accident when clearing REMOVE), so unnamed bits are written as 0. */
	f = aml_field_begin(a, "MHPR", AML_BYTE_ACC, false, AML_WRITE_AS_ZEROS);
	aml_field_offset(a, MEMHP_REG_STATUS);
	aml_field_unit(a, "ENAB", 1); /* bit 0 ENABLED */
	aml_field_unit(a, "INSR", 1); /* bit 1 INSERT: write 1 to clear */
	aml_field_unit(a, "REMV", 1); /* bit 2 REMOVE: write 1 to clear */
	aml_field_unit(a, "EJCT", 1); /* bit 3 EJECT: write 1 to eject */
	aml_end(a, f);
	aml_mutex(a, "MLCK", 0);
}

/* MSTA (slot): _STA, 0x0F (present, enabled, shown, functioning) while a
 * DIMM is in the slot, else 0 (Linux skips the device). */
static void method_msta(struct aml *a)
{
	size_t m = aml_method_begin(a, "MSTA", 1, false), i;

	lock(a);
	select_arg0(a);
	aml_op(a, AML_STORE);
	aml_int(a, 0);
	aml_local(a, 0);
	i = aml_if_begin(a);
	aml_name(a, "ENAB");
	aml_op(a, AML_STORE);
	aml_int(a, 0x0f);
	aml_local(a, 0);
	aml_end(a, i);
	unlock(a);
	aml_op(a, AML_RETURN);
	aml_local(a, 0);
	aml_end(a, m);
}

/* Dst = (hi << 32) | lo, reading hi first. */
static void read_qword(struct aml *a, const char *hi, const char *lo,
		       const char *dst)
{
	aml_op(a, AML_OR);
	aml_op(a, AML_SHIFT_LEFT);
	aml_name(a, hi);
	aml_int(a, 32);
	aml_no_target(a);
	aml_name(a, lo);
	aml_name(a, dst);
}

/* QWordMemory descriptor: byte offsets of _MIN, _MAX and _LEN. */
#define QWORD_MIN 14
#define QWORD_MAX 22
#define QWORD_LEN 38

/* MCRS (slot): _CRS, one QWordMemory range [BASE, BASE + SIZE). Linux's
 * acpi_memhotplug only takes address space descriptors of memory type and
 * uses their minimum and length. The template is a Name inside the method
 * so that each call patches its own copy; that creates named objects, so
 * the method is Serialized. */
static void method_mcrs(struct aml *a)
{
	const struct aml_addr_space zero = {
		.flags = AML_RES_CONSUMER | AML_RES_MIN_FIXED |
			 AML_RES_MAX_FIXED,
		.type_flags = AML_MEM_CACHEABLE | AML_MEM_READ_WRITE,
	};
	static const struct {
		const char *name;
		unsigned int offset;
	} fields[] = {
		{ "MMIN", QWORD_MIN },
		{ "MMAX", QWORD_MAX },
		{ "MLEN", QWORD_LEN },
	};
	size_t m = aml_method_begin(a, "MCRS", 1, true), r, i;

	aml_name_def(a, "MR64");
	r = aml_restemplate_begin(a);
	aml_res_qword_memory(a, &zero);
	aml_end(a, r);
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		aml_op(a, AML_CREATE_QWORD_FIELD);
		aml_name(a, "MR64");
		aml_int(a, fields[k].offset);
		aml_name(a, fields[k].name);
	}
	lock(a);
	select_arg0(a);
	read_qword(a, "BAHI", "BALO", "MMIN");
	read_qword(a, "SZHI", "SZLO", "MLEN");
	unlock(a);
	/* An empty slot reads size 0: leave _MAX at 0 rather than wrap. */
	i = aml_if_begin(a);
	aml_name(a, "MLEN");
	aml_op(a, AML_SUBTRACT);
	aml_op(a, AML_ADD);
	aml_name(a, "MMIN");
	aml_name(a, "MLEN");
	aml_no_target(a);
	aml_int(a, 1);
	aml_name(a, "MMAX");
	aml_end(a, i);
	aml_op(a, AML_RETURN);
	aml_name(a, "MR64");
	aml_end(a, m);
}

/* MPXM (slot): _PXM. */
static void method_mpxm(struct aml *a)
{
	size_t m = aml_method_begin(a, "MPXM", 1, false);

	lock(a);
	select_arg0(a);
	aml_op(a, AML_STORE);
	aml_name(a, "PXM");
	aml_local(a, 0);
	unlock(a);
	aml_op(a, AML_RETURN);
	aml_local(a, 0);
	aml_end(a, m);
}

/* MOST (slot, event, status): _OST. The status write is the one that
 * records the pair, so the event goes first. */
static void method_most(struct aml *a)
{
	size_t m = aml_method_begin(a, "MOST", 3, false);

	lock(a);
	select_arg0(a);
	aml_op(a, AML_STORE);
	aml_arg(a, 1);
	aml_name(a, "OEVT");
	aml_op(a, AML_STORE);
	aml_arg(a, 2);
	aml_name(a, "OSTA");
	unlock(a);
	aml_end(a, m);
}

/* MEJ0 (slot): _EJ0. Linux reads _STA right after _EJ0 and warns if the
 * device is still enabled, so the controller must clear ENABLED by the
 * time this write returns. */
static void method_mej0(struct aml *a)
{
	size_t m = aml_method_begin(a, "MEJ0", 1, false);

	lock(a);
	select_arg0(a);
	aml_op(a, AML_STORE);
	aml_int(a, 1);
	aml_name(a, "EJCT");
	unlock(a);
	aml_end(a, m);
}

/* Notify (MPnn, Arg1) for the slot number Arg0 in [lo, hi). Notify needs
 * the device's name written out: given a reference computed at run time,
 * such as DerefOf (Index (Package () {MP00, ...}, Arg0)), iasl refuses to
 * compile it and ACPICA fails with AE_AML_OPERAND_TYPE. So the slot is
 * found by halving the range: log2(slots) comparisons per event, not one
 * per slot, which matters where the guest's AML interpreter is emulated
 * (each If costs milliseconds there). MSCN passes only slot numbers. */
static void mtfy_range(struct aml *a, unsigned int lo, unsigned int hi)
{
	unsigned int mid = lo + (hi - lo) / 2;
	size_t i;

	if (hi - lo == 1) {
		char name[5];

		snprintf(name, sizeof(name), "MP%02X", (uint8_t)lo);
		aml_op(a, AML_NOTIFY);
		aml_name(a, name);
		aml_arg(a, 1);
		return;
	}
	i = aml_if_begin(a);
	aml_op(a, AML_LLESS);
	aml_arg(a, 0);
	aml_int(a, mid);
	mtfy_range(a, lo, mid);
	aml_end(a, i);
	i = aml_else_begin(a);
	mtfy_range(a, mid, hi);
	aml_end(a, i);
}

static void method_mtfy(struct aml *a, unsigned int slots)
{
	size_t m = aml_method_begin(a, "MTFY", 2, false);

	mtfy_range(a, 0, slots);
	aml_end(a, m);
}

/* If (flag) { MTFY (Local0, code); flag = One } */
static void scan_event(struct aml *a, const char *flag, unsigned int code)
{
	size_t i = aml_if_begin(a);

	aml_name(a, flag);
	aml_call(a, "MTFY", 2);
	aml_local(a, 0);
	aml_int(a, code);
	aml_op(a, AML_STORE);
	aml_int(a, 1);
	aml_name(a, flag);
	aml_end(a, i);
}

/* Local0 = NEXT: the lowest slot with an event, now selected. */
static void read_next(struct aml *a)
{
	aml_op(a, AML_STORE);
	aml_name(a, "NEXT");
	aml_local(a, 0);
}

/* MSCN: notify every slot with a pending event, clearing the event as it
 * goes, so a slot is notified once per event (depending on the version,
 * Linux answers a second device check for a slot it has already added with
 * a failure _OST).
 *
 * NEXT reads 0xFFFFFFFF when nothing is pending; the loop stops at any
 * value that is not a slot, so a controller returning garbage cannot send
 * it into MTFY. It also stops after 2 * slots events (Local1): each slot
 * has two event bits, so that is every event that can be pending when the
 * scan starts, and an event raised during the scan sets the GPE again and
 * gets a scan of its own. Without the bound, a controller that failed to
 * clear a bit would keep the guest's ACPI thread in this loop until
 * ACPICA's loop timeout (30 s in Linux) aborts it. */
static void method_mscn(struct aml *a, unsigned int slots)
{
	size_t m = aml_method_begin(a, "MSCN", 0, false), w, e;

	lock(a);
	aml_op(a, AML_STORE);
	aml_int(a, 0);
	aml_local(a, 1);
	read_next(a);
	w = aml_while_begin(a);
	aml_op(a, AML_LAND);
	aml_op(a, AML_LLESS);
	aml_local(a, 0);
	aml_int(a, slots);
	aml_op(a, AML_LLESS);
	aml_local(a, 1);
	aml_int(a, 2 * slots);
	/* Device Check for an insert, Eject Request for a remove (a Notify
	 * value is also the source event of the _OST that answers it). */
	scan_event(a, "INSR", OST_SRC_DEVICE_CHECK);
	e = aml_else_begin(a);
	scan_event(a, "REMV", OST_SRC_EJECT_REQUEST);
	aml_end(a, e);
	aml_op(a, AML_INCREMENT);
	aml_local(a, 1);
	read_next(a);
	aml_end(a, w);
	unlock(a);
	aml_end(a, m);
}

/* Method (name, nargs) { [Return] (helper (slot, Arg0, ...)) } */
static void slot_method(struct aml *a, const char *name, unsigned int nargs,
			const char *helper, unsigned int helper_args,
			bool ret, unsigned int slot)
{
	size_t m = aml_method_begin(a, name, nargs, false);

	if (ret)
		aml_op(a, AML_RETURN);
	aml_call(a, helper, helper_args);
	aml_int(a, slot);
	for (unsigned int i = 0; i + 1 < helper_args; i++)
		aml_arg(a, i);
	aml_end(a, m);
}

/* MPnn: a PNP0C80 memory device whose methods forward to MHPC's helpers
 * (found by the upward search for single names). _UID is the slot number:
 * ACPI wants it unique among devices with the same _HID, and Linux's
 * memory hotplug driver does not read it. */
static void slot_device(struct aml *a, unsigned int slot)
{
	char name[5];
	size_t d;

	snprintf(name, sizeof(name), "MP%02X", (uint8_t)slot);
	d = aml_device_begin(a, name);
	aml_name_def(a, "_HID");
	aml_eisaid(a, "PNP0C80");
	aml_name_def(a, "_UID");
	aml_int(a, slot);
	slot_method(a, "_STA", 0, "MSTA", 1, true, slot);
	slot_method(a, "_CRS", 0, "MCRS", 1, true, slot);
	slot_method(a, "_PXM", 0, "MPXM", 1, true, slot);
	/* Arg2 of _OST (a buffer of extra status) has no register. */
	slot_method(a, "_OST", 3, "MOST", 3, false, slot);
	slot_method(a, "_EJ0", 1, "MEJ0", 1, false, slot);
	aml_end(a, d);
}

static void memory_hotplug(struct aml *a, const struct acpi_config *cfg)
{
	size_t sb, dev;

	sb = aml_scope_begin(a, "_SB");
	/* A generic container: Linux's container driver takes it, and the
	 * memory devices below it are hot-plugged by acpi_memhotplug. */
	dev = aml_device_begin(a, "MHPC");
	aml_name_def(a, "_HID");
	aml_eisaid(a, "PNP0A06");
	aml_name_def(a, "_UID");
	aml_string(a, "DIMM devices");
	memhp_registers(a, cfg);
	method_msta(a);
	method_mcrs(a);
	method_mpxm(a);
	method_most(a);
	method_mej0(a);
	method_mtfy(a, cfg->memhp_slots);
	method_mscn(a, cfg->memhp_slots);
	for (unsigned int n = 0; n < cfg->memhp_slots; n++)
		slot_device(a, n);
	aml_end(a, dev);
	aml_end(a, sb);
}

/* \_GPE._Exx runs the scan when the controller sets its GPE0 status bit.
 * Edge (_E) rather than level (_L): ACPICA clears the status bit before it
 * runs the method, so an event raised while the scan runs sets it again
 * and is picked up by the next scan instead of being cleared unseen. */
static void gpe_handlers(struct aml *a, const struct acpi_config *cfg)
{
	char name[5];
	size_t s, m;

	/* _Exx takes two upper-case hex digits, even below 0x10. */
	snprintf(name, sizeof(name), "_E%02X", cfg->memhp_gpe);
	s = aml_scope_begin(a, "_GPE");
	m = aml_method_begin(a, name, 0, false);
	aml_call(a, "\\_SB.MHPC.MSCN", 0);
	aml_end(a, m);
	aml_end(a, s);
}

void acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	sleep_states(a, cfg);
	processors(a, cfg);
	if (cfg->memhp_slots) {
		memory_hotplug(a, cfg);
		gpe_handlers(a, cfg);
	}
}
