/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlsdump: TLS plaintext via eBPF uprobes, as a Wireshark extcap or a
 * standalone capture tool writing pcapng.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "capture.h"
#include "log.h"
#include "options.h"
#include "packets.h"

int main(int argc, char **argv)
{
	struct tlsdump_options opts;
	int err;

	if (options_parse(&opts, argc, argv))
		return 2;
	err = log_open(opts.log_file, opts.log_level);
	if (err) {
		log_fatal("cannot open log file %s: %s", opts.log_file, strerror(-err));
		return 2;
	}
	switch (opts.mode) {
	case MODE_HELP:
		options_print_usage(stdout);
		break;
	case MODE_VERSION:
		printf("tlsdump %s\n", TLSDUMP_VERSION);
		break;
	case MODE_EXTCAP_INTERFACES:
		extcap_print_interfaces(stdout);
		break;
	case MODE_EXTCAP_DLTS:
		err = extcap_print_dlts(stdout, opts.interface);
		break;
	case MODE_EXTCAP_CONFIG:
		err = extcap_print_config(stdout, opts.interface);
		break;
	case MODE_EXTCAP_FILTER_CHECK: {
		char msg[512] = "";

		/* Empty output tells Wireshark the filter is valid; else the first line is why. */
		if (opts.capture_filter && packet_filter_check(opts.capture_filter, msg, sizeof(msg)))
			printf("%s\n", msg);
		break;
	}
	case MODE_LIST_TARGETS:
		err = capture_list_targets(&opts);
		break;
	case MODE_CAPTURE:
		/* Started by Wireshark: never outlive it (e.g. blocked opening the fifo). */
		if (opts.extcap)
			prctl(PR_SET_PDEATHSIG, SIGTERM);
		err = capture_run(&opts);
		break;
	}
	log_close();
	return err ? 1 : 0;
}
