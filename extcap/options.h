/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command line and extcap options. One table (options.c) drives getopt, the
 * --help text and the --extcap-config output, so the three never disagree.
 */
#ifndef TLSDUMP_OPTIONS_H
#define TLSDUMP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define TLSDUMP_IFACE "tlsdump"
#define TLSDUMP_MAX_PIDS 256

enum tlsdump_mode {
	MODE_CAPTURE,		  /* -w FILE, or --capture --fifo PATH from Wireshark */
	MODE_EXTCAP_INTERFACES,	  /* --extcap-interfaces */
	MODE_EXTCAP_DLTS,	  /* --extcap-dlts */
	MODE_EXTCAP_CONFIG,	  /* --extcap-config */
	MODE_EXTCAP_FILTER_CHECK, /* --extcap-capture-filter without --capture */
	MODE_LIST_TARGETS,	  /* --list-targets */
	MODE_HELP,		  /* --help */
	MODE_VERSION,		  /* --version */
};

enum packets_mode {
	PACKETS_TLS,	/* TCP connections where TLS was seen */
	PACKETS_ALL,	/* all TCP */
	PACKETS_OFF,
};

struct tlsdump_options {
	enum tlsdump_mode mode;
	bool extcap;		    /* started by Wireshark (--capture --fifo) */
	const char *interface;	    /* --extcap-interface */
	const char *output;	    /* -w FILE / --fifo PATH; "-" is stdout */
	const char *capture_filter; /* --extcap-capture-filter / -f */
	pid_t pids[TLSDUMP_MAX_PIDS];	/* -p/--pid, repeatable or comma separated */
	size_t n_pids;
	char comm[16];		    /* -c/--comm: process name, as in /proc/PID/comm */
	uint64_t max_bytes_per_call; /* --max-bytes-per-call; 0 = everything */
	double duration_s;	    /* -d/--duration; 0 = until stopped */
	const char *log_file;	    /* --log-file */
	int log_level;		    /* --log-level: enum log_level from log.h */
	bool label_http;	    /* --label-http: dissector name "http", no tlsdump header */
	uint32_t ring_buffer_mb;    /* --ring-buffer-mb (default 64) */
	const char *btf_path;	    /* --btf FILE: kernel BTF instead of /sys/kernel/btf/vmlinux */
	int packets_mode;	    /* --packets: enum packets_mode */
	const char *packet_interfaces; /* --packet-interfaces: comma separated, "any" */
	const char *tls_keylog;	    /* --tls-keylog FILE: NSS key log to embed */
	/* Kubernetes: what to keep (NULL: all), and where pod metadata lives. */
	const char *k8s_namespace;	  /* --namespace */
	const char *k8s_pod;		  /* --pod */
	const char *k8s_container;	  /* --container */
	const char *k8s_node_name;	  /* --node-name */
	const char *k8s_containerd_state; /* --containerd-state: comma separated */
	const char *k8s_crio_state;	  /* --crio-state: comma separated */
	const char *k8s_cni_cache;	  /* --cni-cache */
	const char *k8s_api;		  /* --k8s-api URL */
	const char *k8s_credentials;	  /* --k8s-credentials DIR */
};

/*
 * Fills @opts from @argv with defaults for what is absent. Returns 0, or
 * -EINVAL after printing one line "tlsdump: <cause>" to stderr (unknown
 * option, missing or malformed value, contradictory modes).
 */
int options_parse(struct tlsdump_options *opts, int argc, char **argv);

/* Prints the --help text to @out. */
void options_print_usage(FILE *out);

/* Prints the extcap interface list (--extcap-interfaces) to @out. */
void extcap_print_interfaces(FILE *out);

/* Prints the link types of @iface (--extcap-dlts). Returns 0 or -ENODEV. */
int extcap_print_dlts(FILE *out, const char *iface);

/* Prints the configuration arguments of @iface (--extcap-config). Returns 0 or -ENODEV. */
int extcap_print_config(FILE *out, const char *iface);

#endif /* TLSDUMP_OPTIONS_H */
