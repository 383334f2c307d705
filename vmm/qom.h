/* The QOM view QEMU scripts read back: query-memdev, and qom-list/qom-get
 * over /objects (the backends: size, prealloc, share, reserve, merge, dump,
 * host-nodes, policy) and /machine/peripheral, /machine/peripheral-anon
 * (the DIMMs: addr, slot, node, size, memdev). QMP handlers (ctx: the
 * machine). */
#ifndef MEMPLUG_VMM_QOM_H
#define MEMPLUG_VMM_QOM_H

#include <jansson.h>
#include <stddef.h>

json_t *qom_query_memdev(void *ctx, json_t *args, char *err, size_t errlen);
json_t *qom_list(void *ctx, json_t *args, char *err, size_t errlen);
json_t *qom_get(void *ctx, json_t *args, char *err, size_t errlen);

#endif
