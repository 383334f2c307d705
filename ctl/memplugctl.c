/* memplugctl: the command-line client of memplug's control socket.
 * Hot-adds and hot-removes DIMMs (optionally waiting for the guest's _OST
 * answer), lists them, follows events and sends raw QMP commands; each
 * subcommand is a file of ctl/ (ctl.h). */
#include <string.h>

#include "ctl/ctl.h"

void ctl_usage(FILE *f)
{
	fputs(
"usage: memplugctl [-s SOCKET] COMMAND [ARGS]\n"
"\n"
"Drive a running memplug through its control socket (memplug --control PATH,\n"
"QMP protocol): hot-add and hot-remove DIMMs, list them, follow events.\n"
"\n"
"  -s, --socket SOCKET  the control socket (default: $MEMPLUG_SOCKET)\n"
"  -h, --help           this help\n"
"  -V, --version        print the version\n"
"\n"
"Commands:\n"
"  add SIZE [--node N] [--id ID] [--backend ram|memfd|file:PATH]\n"
"          [--prealloc] [--share] [--wait] [--timeout S]\n"
"      Create a memory backend (id mem-ID) and plug a pc-dimm of SIZE bytes\n"
"      backed by it; prints the DIMM's id. SIZE takes K, M, G or T (powers of\n"
"      1024); a bare number is bytes. The id defaults to the first free\n"
"      dimm0, dimm1, ...; the backend to ram. If the DIMM cannot be plugged\n"
"      the backend is deleted again. --prealloc and --share are passed to\n"
"      the backend (progress of --prealloc on stderr, once a second).\n"
"      --wait then waits for the guest's _OST answer to the\n"
"      insertion (up to --timeout S seconds, default 300).\n"
"  remove ID [--wait] [--timeout S]\n"
"      Ask the guest to eject DIMM ID (device_del). --wait waits until it is\n"
"      gone (DEVICE_DELETED), then deletes its memory backend; without\n"
"      --wait the backend is kept.\n"
"  remove ID --cancel\n"
"      Withdraw a removal the guest has not carried out yet\n"
"      (x-memplug-device-del-cancel): the DIMM stays, present.\n"
"  list [--json]\n"
"      The DIMMs: ID SLOT BASE SIZE NODE BACKEND STATE LAST-OST; --json\n"
"      prints memplug's x-memplug-query-dimms answer as it is.\n"
"  events\n"
"      Print every event as one JSON object per line until memplug stops.\n"
"  raw 'JSON'\n"
"      Send one QMP command, e.g. '{\"execute\": \"query-status\"}', and\n"
"      print the reply (exit status 1 if it is an error).\n"
"\n"
"Exit status:\n"
"  0  done (with --wait: the guest accepted)\n"
"  1  bad usage, cannot connect, memplug refused the command, or the\n"
"     connection was lost\n"
"  2  the guest refused (its _OST status is printed, e.g.\n"
"     \"dimm0: guest refused eject: 0x82 device busy\")\n"
"  3  --wait timed out; the DIMM stays as it is (see memplugctl list)\n"
"\n"
"Examples:\n"
"  export MEMPLUG_SOCKET=/tmp/vm.sock\n"
"  memplugctl add 1G --node 1 --wait\n"
"  memplugctl remove dimm0 --wait\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv, const char *sock);
	} cmds[] = {
		{ "add", cmd_add },
		{ "remove", cmd_remove },
		{ "list", cmd_list },
		{ "events", cmd_events },
		{ "raw", cmd_raw },
	};
	const char *sock = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': ctl_usage(stdout); return EXIT_OK;
		case 'V': printf("memplugctl " MEMPLUGCTL_VERSION "\n");
			  return EXIT_OK;
		default: return ctl_bad_option("", c, argv);
		}
	}
	if (optind >= argc) {
		ctl_err("no command given: add, remove, list, events or raw "
		        "(see memplugctl --help)");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			return cmds[i].fn(argc - optind, argv + optind, sock);
	ctl_err("unknown command \"%s\": use add, remove, list, events or raw "
	        "(see memplugctl --help)", argv[optind]);
	return EXIT_FAIL;
}
