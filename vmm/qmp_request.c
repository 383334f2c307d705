#include "vmm/qmp_request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Length of s without a UTF-8 sequence cut off at its end: messages are
 * cut to fixed buffers, and echo what the client sent (jansson refuses a
 * string that is not UTF-8, and the client would get no reply). */
static size_t utf8_whole(const char *s, size_t len)
{
	size_t i = len, need;
	unsigned char lead;

	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return len;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0)
		return len;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return len - (i - 1) < need ? i - 1 : len;
}

json_t *qmp_error_reply(const char *cls, const char *desc, json_t *id)
{
	json_t *r = json_pack("{s:{s:s,s:s%}}", "error", "class",
			      cls ? cls : "GenericError", "desc", desc,
			      utf8_whole(desc, strlen(desc)));

	if (r && id)
		json_object_set(r, "id", id);
	return r;
}

json_t *qmp_command_reply(json_t *value, const char *err, const char *cls,
			 json_t *id)
{
	json_t *ret;

	if (!value)
		return qmp_error_reply(cls, err && *err ? err : "command failed",
				       id);
	ret = json_pack("{s:o}", "return", value);
	if (ret && id)
		json_object_set(ret, "id", id);
	return ret;
}

const struct qmp_command *qmp_find_command(const struct qmp_command *cmds,
					   size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static bool listed(const struct qmp_arg *const *lists, size_t nlists,
		   const char *name)
{
	for (size_t i = 0; i < nlists; i++)
		for (const struct qmp_arg *a = lists[i]; a && a->name; a++)
			if (!strcmp(a->name, name))
				return true;
	return false;
}

int qmp_check_members(const struct qmp_arg *const *lists, size_t nlists,
		      bool open, json_t *args, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (args && !open)
		json_object_foreach(args, key, v)
			if (!listed(lists, nlists, key)) {
				snprintf(err, errlen,
					 "Parameter '%s' is unexpected", key);
				return -EINVAL;
			}
	for (size_t i = 0; i < nlists; i++)
		for (const struct qmp_arg *a = lists[i]; a && a->name; a++)
			if (!a->optional && !json_object_get(args, a->name)) {
				snprintf(err, errlen,
					 "Parameter '%s' is missing", a->name);
				return -EINVAL;
			}
	return 0;
}

int qmp_check_args(const struct qmp_command *cmd, json_t *args, char *err,
		   size_t errlen)
{
	return qmp_check_members(&cmd->args, 1, cmd->open, args, err, errlen);
}

/* The first member of a request that is none of QEMU's, or NULL. */
static const char *unexpected_member(json_t *req)
{
	const char *key;
	json_t *v;

	json_object_foreach(req, key, v)
		if (strcmp(key, "execute") && strcmp(key, "arguments") &&
		    strcmp(key, "id"))
			return key;
	return NULL;
}

const struct qmp_command *qmp_request_command(const struct qmp_command *cmds,
					      size_t n, bool negotiated,
					      json_t *req, json_t **ret)
{
	json_t *exec = json_object_get(req, "execute");
	json_t *args = json_object_get(req, "arguments");
	json_t *id = json_object_get(req, "id");
	const struct qmp_command *cmd;
	const char *bad, *cls = NULL;
	char err[512];

	if (!json_is_object(req)) {
		*ret = qmp_error_reply(NULL, "QMP input must be a JSON object",
				       NULL);
		return NULL;
	}
	if ((bad = unexpected_member(req)))
		snprintf(err, sizeof(err), "QMP input member '%s' is unexpected",
			 bad);
	else if (!exec)
		snprintf(err, sizeof(err), "QMP input lacks member 'execute'");
	else if (!json_is_string(exec))
		snprintf(err, sizeof(err),
			 "QMP input member 'execute' must be a string");
	else if (args && !json_is_object(args))
		snprintf(err, sizeof(err),
			 "QMP input member 'arguments' must be an object");
	else if (!(cmd = qmp_find_command(cmds, n, json_string_value(exec)))) {
		cls = "CommandNotFound";
		snprintf(err, sizeof(err), "The command %s has not been found",
			 json_string_value(exec));
	} else if (!negotiated && strcmp(cmd->name, "qmp_capabilities")) {
		cls = "CommandNotFound";
		snprintf(err, sizeof(err), "Expecting capabilities negotiation "
			 "with 'qmp_capabilities'");
	} else if (!strcmp(cmd->name, "qmp_capabilities") && negotiated) {
		cls = "CommandNotFound";
		snprintf(err, sizeof(err), "Capabilities negotiation is already "
			 "complete, command ignored");
	} else if (qmp_check_args(cmd, args, err, sizeof(err)) == 0) {
		return cmd;
	}
	*ret = qmp_error_reply(cls, err, id);
	return NULL;
}
