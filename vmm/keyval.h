/* QEMU's option strings, "first,key=value,...": the command line's
 * -object, -device, -m, ... and HMP's object_add and device_add. */
#ifndef MEMPLUG_VMM_KEYVAL_H
#define MEMPLUG_VMM_KEYVAL_H

#include <jansson.h>

struct keyval {
	char *key;
	char *val; /* NULL: a bare key (QEMU's old "server", "nowait") */
};

/* Cuts s in place: *first is a leading word without '=' (or NULL), the
 * rest at most max pairs. Returns their number, or -E2BIG. */
int keyval_split(char *s, char **first, struct keyval *kv, int max);
/* The pairs but skip (NULL: none) as a JSON object, each value typed as
 * QEMU types it (numbers, 0x for hex; on/off and yes/no; else a
 * string; a bare key is true). NULL: no memory. */
json_t *keyval_object(const struct keyval *kv, int n, const char *skip);

#endif
