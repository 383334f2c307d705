/* memplugctl events: every event, one JSON object a line, until memplug
 * stops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int cmd_events(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = { CTL_COMMON_OPTIONS, { 0 } };
	int shut_down = 0, c, r;
	struct qmpc q;

	optind = 0;
	while ((c = ctl_next_opt("events", argc, argv, opts, false, &sock,
				 &r)) >= 0)
		;
	if (c == CTL_OPTS_EXIT)
		return r;
	if (ctl_no_more_args("events", argc, argv, 0, NULL) != EXIT_OK ||
	    ctl_connect(&q, sock) < 0)
		return EXIT_FAIL;
	for (;;) {
		json_t *ev;
		char *text;

		r = qmpc_next_event(&q, QMPC_FOREVER, &ev);
		if (r < 0) {
			qmpc_close(&q);
			/* The connection ending after SHUTDOWN is the VM
			 * stopping: the normal end of the stream. */
			if (r == -ECONNRESET && shut_down)
				return EXIT_OK;
			ctl_err("%s", q.err);
			return EXIT_FAIL;
		}
		if (!strcmp(ctl_event_name(ev), "SHUTDOWN"))
			shut_down = 1;
		text = json_dumps(ev, JSON_COMPACT);
		json_decref(ev);
		if (text) {
			fputs(text, stdout);
			putchar('\n');
			free(text);
		}
		if (fflush(stdout) == EOF) {
			int e = errno;

			qmpc_close(&q);
			if (e == EPIPE)
				return EXIT_OK;	/* the reader went away */
			ctl_err("writing events to stdout: %s", strerror(e));
			return EXIT_FAIL;
		}
	}
}
