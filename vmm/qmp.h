/* The control socket: a Unix socket (mode 0600) speaking the QMP wire
 * protocol, so scripts written for QEMU drive memplug unchanged for the
 * DIMM subset. Greeting, capabilities negotiation, a stream of JSON
 * objects framed as QEMU frames them (by nesting depth: no newline needed,
 * one may span lines or share one), {"return": ...} or {"error": ...}
 * replies, and events with timestamps to every negotiated client. JSON
 * through jansson. */
#ifndef MEMPLUG_VMM_QMP_H
#define MEMPLUG_VMM_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/loop.h"
#include "vmm/qmp_frame.h"

#define QMP_MAX_CLIENTS 16
/* The longest JSON value a client may send; replies may be longer (the
 * client's limit is ctl/qmpc.h's QMPC_REPLY_LINE_MAX). The fuzz build
 * makes it 4 KiB (tests/fuzz/fuzz.mk): the same paths, and an input that
 * crosses it costs the instrumented framing 16 times fewer bytes. */
#ifndef QMP_LINE_MAX
#define QMP_LINE_MAX (64 * 1024)
#endif
/* Replies and events a client has not read yet, at most; a client over it
 * is dropped. The largest reply (query-memory-devices with 256 DIMMs) is
 * ~80 KiB. The fuzz build makes it 64 KiB, which a client that stops
 * reading then reaches within a fuzz input (the schema is 5.4 KiB). */
#ifndef QMP_OUT_MAX
#define QMP_OUT_MAX (1024 * 1024)
#endif
/* How long a client may stay connected without qmp_capabilities. Scripts
 * negotiate at once; idle un-negotiated connections would hold the
 * client slots. Negotiated clients that only wait for events stay. */
#define QMP_NEGOTIATE_S 10

/* Runs a command: returns the "return" value (a new reference), or NULL
 * with the error description in err. args is an object (maybe empty). */
typedef json_t *(*qmp_handler)(void *ctx, json_t *args, char *err,
			       size_t errlen);

/* An argument of a command: its name, its type in QEMU's schema terms
 * ("str", "int", "bool", "size", "any", or a list such as "[str]"), and
 * whether it may be left out. The one owner of a command's argument names:
 * the server's checks and query-qmp-schema both read it. */
struct qmp_arg {
	const char *name;
	const char *type;
	bool optional;
};

struct qmp_command {
	const char *name;
	qmp_handler fn;
	/* Its arguments, ending with a NULL name; NULL: it takes none. */
	const struct qmp_arg *args;
	/* Members besides args are the handler's to check (object-add's
	 * depend on its qom-type). */
	bool open;
};

struct qmp_server;

/* A reply that comes later (object-add with prealloc): the handler takes
 * a ticket with qmp_defer() and returns QMP_DEFERRED; qmp_complete() sends
 * the reply. The client's later commands wait for it, in order; other
 * clients are served meanwhile. */
struct qmp_ticket {
	struct qmp_client *c; /* NULL once the client is gone */
	json_t *id;
};

extern json_t qmp_deferred_marker;
#define QMP_DEFERRED (&qmp_deferred_marker)

struct qmp_client {
	struct watch w;
	struct watch timer; /* the negotiation deadline; fd -1 once negotiated */
	struct qmp_server *s;
	bool negotiated;
	struct qmp_frame frame; /* of the value being received */
	bool discarding; /* dropping the rest of an over-long value */
	bool want_out;   /* watched for EPOLLOUT: out holds unsent bytes */
	char buf[QMP_LINE_MAX];
	size_t len;
	char *out; /* unsent bytes: out[out_off .. out_len) */
	size_t out_off, out_len, out_cap;
	struct qmp_ticket *waiting; /* a deferred reply not sent yet */
	char *backlog; /* input read after the deferred command */
	size_t backlog_len;
};

struct qmp_server {
	struct watch lw;
	struct loop *loop;
	char path[108];
	const struct qmp_command *cmds;
	size_t ncmds;
	void *ctx;
	struct qmp_client *clients[QMP_MAX_CLIENTS];
	struct qmp_client *current; /* whose command runs now, and its id */
	json_t *current_id;
	const char *current_class; /* its error's class, NULL: GenericError */
};

/* Listens on path. A stale socket nobody listens on is replaced; any other
 * existing file is an error. Returns 0 or -errno (message logged). */
int qmp_open(struct qmp_server *s, const char *path, struct loop *loop,
	     const struct qmp_command *cmds, size_t ncmds, void *ctx);
void qmp_close(struct qmp_server *s);
/* In a handler that fails: the error's QEMU class instead of GenericError
 * ("DeviceNotFound", say), a string that outlives the call. */
void qmp_error_class(struct qmp_server *s, const char *cls);
/* The reply of a handler that failed with r (-errno), its message already
 * written: -ENOENT, a device or backend that is not there, is QEMU's
 * DeviceNotFound class, anything else GenericError. Always NULL. */
json_t *qmp_fail(struct qmp_server *s, int r);
/* In a handler: a ticket for this command's reply, or NULL (no memory). */
struct qmp_ticket *qmp_defer(struct qmp_server *s);
/* Sends the deferred reply: value (a reference taken) or, if NULL, the
 * error err; frees the ticket. A client gone by then gets nothing. */
void qmp_complete(struct qmp_ticket *t, json_t *value, const char *err);
/* Sends an event to every negotiated client. Takes the data reference. */
void qmp_event(struct qmp_server *s, const char *name, json_t *data);

#endif
