/* DSDT contents. Each block of the machine gets its own function here so
 * the DSDT reads as a list of what the guest sees.
 *
 * Names at the root are written without the '\' prefix (Scope (_SB), not
 * Scope (\_SB)): that is the same object, and it is how iasl encodes them,
 * so a DSDT disassembled and recompiled by iasl gives back the same bytes. */
#include "acpi/dsdt.h"

#include <stdio.h>

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

void acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	sleep_states(a, cfg);
	processors(a, cfg);
}
