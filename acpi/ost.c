/* _OST codes, from the ACPI specification (6.3, section 6.3.5). */
#include <stddef.h>

#include "acpi/ost.h"

static int is_insert(unsigned long long source)
{
	return source == OST_SRC_BUS_CHECK || source == OST_SRC_DEVICE_CHECK ||
	       source == OST_SRC_INSERTION;
}

static int is_eject(unsigned long long source)
{
	return source == OST_SRC_EJECT_REQUEST || source == OST_SRC_EJECT;
}

const char *acpi_ost_source_kind(unsigned long long source)
{
	if (is_insert(source))
		return "insert";
	if (is_eject(source))
		return "eject";
	if (source == OST_SRC_OS_SHUTDOWN)
		return "shutdown";
	return NULL;
}

const char *acpi_ost_status_name(unsigned long long source,
			    unsigned long long status)
{
	/* General processing status codes, for every source. */
	switch (status) {
	case 0x00: return "success";
	case 0x01: return "non-specific failure";
	case 0x02: return "unrecognized notify code";
	}
	if (status < 0x80)
		return "reserved";
	if (is_insert(source)) {
		switch (status) {
		case 0x80: return "device insertion in progress";
		case 0x81: return "device driver load failure";
		case 0x82: return "device insertion not supported";
		}
		return "reserved";
	}
	if (is_eject(source)) {
		switch (status) {
		case 0x80: return "device ejection not supported";
		case 0x81: return "device in use";
		case 0x82: return "device busy";
		case 0x83: return "ejection dependency busy or not supported";
		case 0x84: return "ejection in progress";
		}
		return "reserved";
	}
	if (source == OST_SRC_OS_SHUTDOWN) {
		switch (status) {
		case 0x80: return "OS shutdown request denied";
		case 0x81: return "OS shutdown in progress";
		case 0x82: return "OS shutdown completed";
		case 0x83: return "OS graceful shutdown not supported";
		}
		return "reserved";
	}
	return "notification-specific status";
}

int acpi_ost_status_pending(unsigned long long source, unsigned long long status)
{
	return (is_insert(source) && status == 0x80) ||
	       (is_eject(source) && status == 0x84);
}
