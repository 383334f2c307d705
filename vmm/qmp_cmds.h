/* The control commands: QMP's names and arguments, checked as QEMU checks
 * them, carried out on the machine (hot-plug through vmm/hotplug.h). */
#ifndef MEMPLUG_VMM_QMP_CMDS_H
#define MEMPLUG_VMM_QMP_CMDS_H

#include <stddef.h>

#include "vmm/prealloc.h"
#include "vmm/qmp.h"

struct machine;

/* The command table for qmp_open (its ctx is the machine). */
const struct qmp_command *qmp_cmds(size_t *n);
/* object-add prealloc=true runs on a worker; these send its progress
 * events and its deferred reply. */
struct prealloc_ops qmp_cmds_prealloc_ops(struct machine *m);

#endif
