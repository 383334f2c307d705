#include "vmm/keyval.h"

#include <errno.h>
#include <string.h>

#include "vmm/qmp_cmds.h"

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

json_t *keyval_object(const struct keyval *kv, int n, const char *skip)
{
	json_t *o = json_object();

	for (int i = 0; i < n && o; i++)
		if (!skip || strcmp(kv[i].key, skip))
			json_object_set_new(o, kv[i].key, kv[i].val ?
					    qmp_typed_value(kv[i].val) :
					    json_true());
	return o;
}
