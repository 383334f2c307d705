/* What memplugctl's subcommands share: exit statuses, messages, the
 * options every subcommand takes (-s, -h), connecting, and reading
 * memplug's events. Each subcommand is in a file of its own (add.c,
 * remove.c, list.c, events.c, raw.c). */
#ifndef MEMPLUG_CTL_CTL_H
#define MEMPLUG_CTL_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl/qmpc.h"

#define MEMPLUGCTL_VERSION "0.1.0"
#define CTL_DEFAULT_TIMEOUT_S 300.0

enum {
	EXIT_OK = 0,		/* done */
	EXIT_FAIL = 1,		/* usage, connection or server error */
	EXIT_REFUSED = 2,	/* the guest's _OST said no */
	EXIT_TIMEOUT = 3,	/* the guest did not answer in time */
};

/* The options of every subcommand, first in its getopt_long table. */
#define CTL_COMMON_OPTIONS                                  \
	{ "socket", required_argument, NULL, 's' },         \
	{ "help", no_argument, NULL, 'h' }

/* ctl_next_opt's answers besides an option of the command's own. */
enum { CTL_OPTS_END = -1, CTL_OPTS_EXIT = -2 };

/* "memplugctl: " and the message on stderr. */
__attribute__((format(printf, 1, 2)))
void ctl_err(const char *fmt, ...);
void ctl_usage(FILE *f);
/* A getopt_long error ('?' or ':') of subcommand cmd ("" before one) as a
 * message naming the option; returns EXIT_FAIL. */
int ctl_bad_option(const char *cmd, int c, char **argv);

/* The next option of subcommand cmd from its table opts (which starts
 * with CTL_COMMON_OPTIONS): -s and -h are handled here (the socket into
 * *sock, the help printed). Returns the code of one of the command's own
 * options, CTL_OPTS_END when there are no more, or CTL_OPTS_EXIT with
 * the exit status in *status (help, or a bad option said). in_order stops
 * at the first argument that is not an option. Starts over when optind is
 * 0. */
int ctl_next_opt(const char *cmd, int argc, char **argv,
		 const struct option *opts, bool in_order, const char **sock,
		 int *status);
/* Refuses arguments after the last one cmd takes (argv[optind + n]
 * onwards), naming the first; EXIT_OK or EXIT_FAIL. what names the ones
 * it takes ("ID"), NULL if none. */
int ctl_no_more_args(const char *cmd, int argc, char **argv, int n,
		     const char *what);
/* --timeout S: seconds above 0, or a message naming cmd. 0 or -EINVAL. */
int ctl_timeout(const char *cmd, const char *s, double *out);
/* Connects to sock, else $MEMPLUG_SOCKET. 0, or -1 after saying why. */
int ctl_connect(struct qmpc *q, const char *sock);

/* The next event, waiting on the guest for DIMM id until deadline (ms,
 * qmpc_now_ms's clock; timeout the seconds it stands for): EXIT_OK with
 * *ev, EXIT_TIMEOUT after "ID: WHAT within T s; the DIMM stays plugged",
 * or EXIT_FAIL after the connection's error. */
int ctl_next_event(struct qmpc *q, int64_t deadline, const char *id,
		   const char *what, double timeout, json_t **ev);
/* The event's name, "" if it has none. */
const char *ctl_event_name(json_t *ev);
/* An ACPI_DEVICE_OST event for device id: 1 with its source and status,
 * else 0. */
int ctl_ost_for(json_t *ev, const char *id, unsigned long long *source,
		unsigned long long *status);
/* A SHUTDOWN or RESET while waiting on the guest for id: it will not
 * answer. Says so (before: what it was doing) and returns true. */
bool ctl_guest_went_away(json_t *ev, const char *id, const char *before);

int cmd_add(int argc, char **argv, const char *sock);
int cmd_remove(int argc, char **argv, const char *sock);
int cmd_list(int argc, char **argv, const char *sock);
int cmd_events(int argc, char **argv, const char *sock);
int cmd_raw(int argc, char **argv, const char *sock);

#endif
