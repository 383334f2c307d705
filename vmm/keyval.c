#include "vmm/keyval.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int keyval_split(char *s, char **first, struct keyval *kv, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	*first = NULL;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq && !n && !*first) {
			*first = tok;
			continue;
		}
		if (n == max)
			return -E2BIG;
		kv[n].key = tok;
		kv[n].val = eq ? (*eq = 0, eq + 1) : NULL;
		n++;
	}
	return n;
}

/* A value of "k=v,..." as QEMU's option parser would type it for these
 * commands: numbers (0x for hex), on/off and yes/no, else a string. */
static json_t *typed_value(const char *v)
{
	char *end;
	unsigned long long n;

	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		return json_true();
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		return json_false();
	errno = 0;
	n = strtoull(v, &end, 0);
	if (*v && isdigit((unsigned char)*v) && !*end && !errno &&
	    n <= INT64_MAX)
		return json_integer((json_int_t)n);
	return json_string(v);
}

json_t *keyval_object(const struct keyval *kv, int n, const char *skip)
{
	json_t *o = json_object();

	for (int i = 0; i < n && o; i++)
		if (!skip || strcmp(kv[i].key, skip))
			json_object_set_new(o, kv[i].key, kv[i].val ?
					    typed_value(kv[i].val) :
					    json_true());
	return o;
}
