/* A QMP client connection over a Unix socket: greeting, capabilities
 * negotiation, commands and asynchronous events on the same stream. The
 * qmpc_ prefix keeps it apart from memplug's QMP server (vmm/qmp.h).
 *
 * Every function returns 0 or -errno. On failure the message for the user
 * (naming the thing and the value, without the "memplugctl: " prefix) is in
 * q->err. Events that arrive while a command waits for its reply are
 * queued, in order, and handed out by qmpc_next_event(), so none is lost. */
#ifndef MEMPLUG_CTL_QMPC_H
#define MEMPLUG_CTL_QMPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Longest line (one reply or event) accepted from the server. Not the
 * server's QMP_LINE_MAX, the longest command it takes (64 KiB): a reply
 * can be longer than any command (query-memory-devices with 256 DIMMs is
 * ~80 KiB), and memplug drops a client rather than queue more than 1 MiB
 * for it (QMP_OUT_MAX), so no line of memplug's is longer. */
#define QMPC_REPLY_LINE_MAX (1u << 20)

/* No deadline: wait as long as it takes. */
#define QMPC_FOREVER INT64_MAX

struct qmpc {
	int fd;
	const char *path;
	char *buf;		/* bytes read but not yet consumed */
	size_t len, cap;
	json_t *events;		/* queued event objects (array) */
	long long next_id;
	char err[512];
	/* If set, shown each event that arrives while a command waits for
	 * its reply (before it is queued): progress of a long command. */
	void (*on_event)(void *ctx, json_t *event);
	void *event_ctx;
};

/* Monotonic clock in milliseconds. */
int64_t qmpc_now_ms(void);

/* Connect to the socket at path, read the greeting and negotiate
 * capabilities. On failure q is closed again. */
int qmpc_open(struct qmpc *q, const char *path);
void qmpc_close(struct qmpc *q);

/* Run command name with args (a JSON object or NULL; the reference is
 * stolen). On success *ret (if ret is not NULL) gets a new reference to the
 * "return" value. A server error reply gives -EREMOTEIO and q->err
 * "memplug refused NAME: DESC". */
int qmpc_execute(struct qmpc *q, const char *name, json_t *args, json_t **ret);

/* Send an arbitrary command object (borrowed) and wait for the reply to it:
 * the first "return"/"error" message. *reply gets a new reference to the
 * whole reply message. */
int qmpc_transact(struct qmpc *q, json_t *cmd, json_t **reply);

/* Next event (new reference), queued or read, waiting until deadline_ms
 * (qmpc_now_ms() scale, or QMPC_FOREVER): -ETIMEDOUT when it passes. */
int qmpc_next_event(struct qmpc *q, int64_t deadline_ms, json_t **event);

/* Forget the events queued so far. */
void qmpc_drop_events(struct qmpc *q);

#endif
