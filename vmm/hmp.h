/* HMP through QMP's human-monitor-command: the memory-hotplug subset of
 * QEMU's human monitor (help, info version|status|memory-devices|memdev,
 * object_add, object_del, device_add, device_del, system_reset,
 * system_powerdown, quit), each line carried out by the QMP handler of the
 * same job and answered in QEMU's words and layout. */
#ifndef MEMPLUG_VMM_HMP_H
#define MEMPLUG_VMM_HMP_H

#include <jansson.h>

struct machine;

/* The command line's output as a string (errors included, as QEMU prints
 * them), QMP_DEFERRED when its reply comes later, or NULL (no memory). */
json_t *hmp_run(struct machine *m, const char *line);

#endif
