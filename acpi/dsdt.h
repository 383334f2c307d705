/* The DSDT's AML, built with the emitter; acpi_build wraps it in a table. */
#ifndef MEMPLUG_ACPI_DSDT_H
#define MEMPLUG_ACPI_DSDT_H

#include "acpi/aml.h"
#include "acpi/tables.h"

/* Append the DSDT body (everything after the table header) to a; errors
 * stick in a. */
void acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg);

#endif
