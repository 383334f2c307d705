/* Memory hot-plug as one operation each way, for the control commands,
 * the command line and the guest: plug a DIMM into the running VM (memory
 * slot, controller, SCI) or refuse with nothing changed; ask the guest to
 * remove one, or withdraw the request; the controller's callbacks (the
 * guest's _OST, its eject, its first look at a new DIMM); coldplugged
 * DIMMs; and every DIMM again after a guest reset. The hot-add timeline
 * is recorded here. Every function takes the machine's lock itself unless
 * it says otherwise. */
#ifndef MEMPLUG_VMM_HOTPLUG_H
#define MEMPLUG_VMM_HOTPLUG_H

#include <jansson.h>

#include "devices/memhp.h"
#include "vmm/config.h"
#include "vmm/dimm.h"

struct machine;

/* device_add: checks the request and plugs the DIMM into the running VM.
 * Returns the slot, or -errno with the reason in err (nothing changed). */
int hotplug_add(struct machine *m, const struct dimm_args *a, char *err,
		size_t errlen);
/* device_del: asks the guest to eject DIMM id. -ENOENT (no such DIMM),
 * -EALREADY, -EAGAIN (between boots) or the controller's -errno. */
int hotplug_remove(struct machine *m, const char *id, char *err,
		   size_t errlen);
/* Withdraws a removal the guest has not acted on. */
int hotplug_remove_cancel(struct machine *m, const char *id, char *err,
			  size_t errlen);
/* The command line's backends (populated now if asked), then its DIMMs,
 * present at boot (--dimm, QEMU's -object and -device). Returns 0 or
 * -EINVAL (logged). */
int hotplug_coldplug(struct machine *m, const struct config *cfg);
/* Lock held: every DIMM of the machine into a new boot's VM, as present. */
int hotplug_attach(struct machine *m);
/* Lock held: a boot ended; the count of refused guest accesses whose log
 * lines are still held back is logged. */
void hotplug_boot_end(struct machine *m);
/* What the controller of each boot reports to (vm_create's memhp_ev). */
struct memhp_events hotplug_events(struct machine *m);
/* query-acpi-ospm-status's and ACPI_DEVICE_OST's description of a slot. */
json_t *hotplug_ost_info(const struct dimm *d, unsigned int slot,
			 uint32_t source, uint32_t status);

#endif
