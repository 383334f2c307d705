/* Names of ACPI _OST (OSPM Status Indication) source events and status
 * codes, ACPI 6.3 section 6.3.5: the general codes (table 6-204) and the
 * per-source ones (OS shutdown, ejection, insertion processing). */
#ifndef MEMPLUG_ACPI_OST_H
#define MEMPLUG_ACPI_OST_H

/* Source events memplugctl cares about. */
#define OST_SRC_BUS_CHECK	0x00
#define OST_SRC_DEVICE_CHECK	0x01	/* hot-add of a DIMM */
#define OST_SRC_EJECT_REQUEST	0x03	/* hot-remove of a DIMM */
#define OST_SRC_OS_SHUTDOWN	0x100
#define OST_SRC_EJECT		0x103
#define OST_SRC_INSERTION	0x200

#define OST_SUCCESS		0x00


/* Short word for tables: "insert", "eject", "shutdown" or NULL. */
const char *acpi_ost_source_kind(unsigned long long source);

/* Meaning of status for that source, e.g. "device busy"; never NULL. */
const char *acpi_ost_status_name(unsigned long long source,
			    unsigned long long status);

/* The guest is still working on it (insertion or ejection in progress):
 * not its final answer. */
int acpi_ost_status_pending(unsigned long long source, unsigned long long status);

#endif
