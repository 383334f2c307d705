/* One QMP request checked as QEMU checks it, before its command runs:
 * the envelope, the command, its arguments (the qmp_arg lists of the
 * command table), and the replies built from the outcome, with QEMU's
 * words and error classes. No I/O: vmm/qmp.c owns the connections. */
#ifndef MEMPLUG_VMM_QMP_REQUEST_H
#define MEMPLUG_VMM_QMP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/qmp.h"

/* The command of request req (a parsed JSON value) among the n of cmds,
 * for a client negotiated or not; or NULL with the error reply in *ret
 * (NULL if it could not be built). */
const struct qmp_command *qmp_request_command(const struct qmp_command *cmds,
					      size_t n, bool negotiated,
					      json_t *req, json_t **ret);
/* The command called name among the n of cmds, or NULL. */
const struct qmp_command *qmp_find_command(const struct qmp_command *cmds,
					   size_t n, const char *name);
/* Refuses, with QEMU's words, a member of args (may be NULL) that none of
 * the nlists lists has (unless open) and a missing one that is not
 * optional; a NULL list is empty. Types are the handler's to check. 0 or
 * -EINVAL with the message in err. */
int qmp_check_members(const struct qmp_arg *const *lists, size_t nlists,
		      bool open, json_t *args, char *err, size_t errlen);
/* qmp_check_members of cmd's arguments. */
int qmp_check_args(const struct qmp_command *cmd, json_t *args, char *err,
		   size_t errlen);
/* An error of QEMU's class cls (NULL: GenericError) with description
 * desc (a cut UTF-8 sequence at its end dropped), and the request's id. */
json_t *qmp_error_reply(const char *cls, const char *desc, json_t *id);
/* The reply to a command: its value (a reference taken) or, if NULL, the
 * error err of class cls. */
json_t *qmp_command_reply(json_t *value, const char *err, const char *cls,
			 json_t *id);

#endif
