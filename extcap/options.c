/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command line and extcap options. Every option is one entry of opt_table[]:
 * the same entry becomes the getopt_long() record, the --help line and, for
 * the options a Wireshark user can set, the --extcap-config "arg" sentence.
 * Defaults are strings in the table, applied through the same parser as user
 * values, so --help, Wireshark and the program cannot disagree on them.
 */
#include "options.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef TLSDUMP_VERSION
#define TLSDUMP_VERSION "unknown"
#endif
/* extcap {help=}: Wireshark opens it as a URL from the interface options dialog. */
#ifndef TLSDUMP_HELP_URL
#define TLSDUMP_HELP_URL "man tlsdump"
#endif

#define LINKTYPE_WIRESHARK_UPPER_PDU 252
/* PID_MAX_LIMIT of 64-bit Linux (include/linux/threads.h): no pid is larger. */
#define TLSDUMP_PID_MAX 4194304

/* Who uses an option; decides where it is documented. */
enum opt_scope {
	SCOPE_CAPTURE,	/* command line and Wireshark: listed by --extcap-config */
	SCOPE_CLI,	/* command line only */
	SCOPE_EXTCAP,	/* extcap protocol: passed by Wireshark itself */
};

/* How an option's value is parsed, and its --extcap-config type. */
enum opt_kind {
	KIND_MODE,	/* no value; seeing it selects .mode */
	KIND_IGNORED,	/* accepted for the extcap protocol, value unused */
	KIND_STRING,	/* const char * at .offset */
	KIND_FILE,	/* path at .offset; empty means none */
	KIND_UNSIGNED,	/* decimal in .min...max (or the field's maximum), .size bytes */
	KIND_SECONDS,	/* finite double > 0 */
	KIND_BOOLFLAG,	/* no value; sets the bool at .offset */
	KIND_SELECTOR,	/* one of .choices; its .id is stored as int */
	KIND_PIDS,	/* comma separated pids, appended to pids[] */
	KIND_COMM,	/* process name, at most 15 characters */
};

static const char *const extcap_type[] = {
	[KIND_STRING] = "string",	[KIND_FILE] = "fileselect",
	[KIND_UNSIGNED] = "unsigned",	[KIND_SECONDS] = "double",
	[KIND_BOOLFLAG] = "boolflag",	[KIND_SELECTOR] = "selector",
	[KIND_PIDS] = "string",		[KIND_COMM] = "string",
};

enum opt_id {
	OPT_PID,
	OPT_COMM,
	OPT_MAX_BYTES_PER_CALL,
	OPT_LABEL_HTTP,
	OPT_PACKETS,
	OPT_PACKET_INTERFACES,
	OPT_TLS_KEYLOG,
	OPT_NAMESPACE,
	OPT_POD,
	OPT_CONTAINER,
	OPT_NODE_NAME,
	OPT_CONTAINERD_STATE,
	OPT_CRIO_STATE,
	OPT_CNI_CACHE,
	OPT_K8S_API,
	OPT_K8S_CREDENTIALS,
	OPT_RING_BUFFER_MB,
	OPT_BTF,
	OPT_LOG_LEVEL,
	OPT_LOG_FILE,
	OPT_WRITE,
	OPT_DURATION,
	OPT_FILTER,
	OPT_LIST_TARGETS,
	OPT_HELP,
	OPT_VERSION,
	OPT_EXTCAP_INTERFACES,
	OPT_EXTCAP_VERSION,
	OPT_EXTCAP_INTERFACE,
	OPT_EXTCAP_DLTS,
	OPT_EXTCAP_CONFIG,
	OPT_CAPTURE,
	OPT_FIFO,
	OPT_EXTCAP_CAPTURE_FILTER,
	OPT_EXTCAP_CONTROL_IN,
	OPT_EXTCAP_CONTROL_OUT,
	OPT_EXTCAP_RELOAD_OPTION,
	OPT_COUNT
};

struct opt_choice {
	const char *value;
	const char *display;
	int id;
};

struct opt {
	const char *name;	/* long name without "--"; the extcap call */
	char short_name;	/* or 0 */
	int has_arg;		/* no_argument, required_argument, optional_argument */
	enum opt_scope scope;
	enum opt_kind kind;
	enum tlsdump_mode mode;	/* KIND_MODE, and --write */
	bool selects_mode;
	size_t offset;		/* destination in struct tlsdump_options */
	size_t size;
	uint64_t min, max;	/* KIND_UNSIGNED; max 0: the field's maximum */
	const char *def;	/* default, parsed like a user value; NULL: none */
	const char *metavar;	/* value name in --help */
	const char *help;	/* --help text and extcap tooltip: no braces */
	const char *group;	/* --help section and extcap {group=} */
	/* --extcap-config only */
	const char *display;
	const char *placeholder;
	const char *validation;
	bool mustexist;
	const struct opt_choice *choices; /* NULL terminated by .value */
};

#define FIELD(f) \
	.offset = offsetof(struct tlsdump_options, f), \
	.size = sizeof(((struct tlsdump_options *)0)->f)

static const struct opt_choice log_levels[] = {
	{ "error", "Errors only", LOG_LEVEL_ERROR },
	{ "warning", "Warnings", LOG_LEVEL_WARNING },
	{ "info", "Information", LOG_LEVEL_INFO },
	{ "debug", "Debug", LOG_LEVEL_DEBUG },
	{ NULL, NULL, 0 },
};

/* Table order is --help order and --extcap-config numbering. */
static const struct opt_choice packet_modes[] = {
	{ "tls", "Connections where TLS was seen", PACKETS_TLS },
	{ "all", "All TCP", PACKETS_ALL },
	{ "off", "None", PACKETS_OFF },
	{ NULL, NULL, 0 },
};

static const struct opt opt_table[OPT_COUNT] = {
	[OPT_PID] = {
		"pid", 'p', required_argument, SCOPE_CAPTURE, KIND_PIDS,
		.metavar = "PID[,PID...]", .group = "Capture",
		.help = "capture only these process ids (comma separated; -p may be repeated)",
		.display = "Process IDs", .placeholder = "all processes",
		.validation = "^[0-9, ]*$",
	},
	[OPT_COMM] = {
		"comm", 'c', required_argument, SCOPE_CAPTURE, KIND_COMM,
		.metavar = "NAME", .group = "Capture",
		.help = "capture only processes with this name, as in /proc/PID/comm "
			"(at most 15 characters)",
		.display = "Process name", .placeholder = "all processes",
	},
	[OPT_MAX_BYTES_PER_CALL] = {
		"max-bytes-per-call", 0, required_argument, SCOPE_CAPTURE, KIND_UNSIGNED,
		FIELD(max_bytes_per_call), .def = "0", .metavar = "BYTES", .group = "Capture",
		.help = "capture at most this many plaintext bytes of each read or write call; "
			"0 captures everything",
		.display = "Max bytes per call",
	},
	[OPT_LABEL_HTTP] = {
		"label-http", 0, no_argument, SCOPE_CAPTURE, KIND_BOOLFLAG,
		FIELD(label_http), .group = "Capture",
		.help = "label frames for the http dissector instead of tlsdump, for Wireshark "
			"without the tlsdump plugin (no process metadata)",
		.display = "Label frames as HTTP",
	},
	[OPT_PACKETS] = {
		"packets", 0, required_argument, SCOPE_CAPTURE, KIND_SELECTOR,
		FIELD(packets_mode), .def = "tls", .metavar = "MODE", .group = "Original packets",
		.help = "also capture the encrypted TCP packets: tls (connections where TLS was "
			"seen), all (all TCP) or off",
		.display = "Original packets", .choices = packet_modes,
	},
	[OPT_PACKET_INTERFACES] = {
		"packet-interfaces", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(packet_interfaces), .def = "any", .metavar = "IF[,IF...]",
		.group = "Original packets",
		.help = "network interfaces to capture original packets on (any: all of them)",
		.display = "Packet interfaces",
	},
	[OPT_TLS_KEYLOG] = {
		"tls-keylog", 0, required_argument, SCOPE_CAPTURE, KIND_FILE,
		FIELD(tls_keylog), .metavar = "FILE", .group = "Original packets",
		.help = "read TLS secrets appended to FILE (NSS key log format, e.g. the "
			"SSLKEYLOGFILE of a program) and embed them so Wireshark decrypts the "
			"original packets",
		.display = "TLS key log to embed",
	},
	[OPT_NAMESPACE] = {
		"namespace", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_namespace), .metavar = "NAMESPACE", .group = "Kubernetes",
		.help = "capture only processes of pods in this Kubernetes namespace (filtered in "
			"the kernel by cgroup)",
		.display = "Namespace", .placeholder = "all namespaces",
	},
	[OPT_POD] = {
		"pod", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_pod), .metavar = "POD", .group = "Kubernetes",
		.help = "capture only processes of pods with this name",
		.display = "Pod", .placeholder = "all pods",
	},
	[OPT_CONTAINER] = {
		"container", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_container), .metavar = "NAME", .group = "Kubernetes",
		.help = "capture only processes of containers with this name",
		.display = "Container", .placeholder = "all containers",
	},
	[OPT_NODE_NAME] = {
		"node-name", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_node_name), .metavar = "NAME", .group = "Kubernetes",
		.help = "node name written on every frame (default: $NODE_NAME, else the host name)",
		.display = "Node name",
	},
	[OPT_CONTAINERD_STATE] = {
		"containerd-state", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_containerd_state), .def = "/run/containerd", .metavar = "DIR[,DIR...]",
		.group = "Kubernetes",
		.help = "containerd state directories, where task bundles carry the pod names",
		.display = "containerd state directory",
	},
	[OPT_CRIO_STATE] = {
		"crio-state", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_crio_state), .def = "/run/containers/storage", .metavar = "DIR[,DIR...]",
		.group = "Kubernetes",
		.help = "CRI-O container storage directories (overlay-containers/ID/userdata)",
		.display = "CRI-O state directory",
	},
	[OPT_CNI_CACHE] = {
		"cni-cache", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_cni_cache), .def = "/var/lib/cni/results", .metavar = "DIR",
		.group = "Kubernetes",
		.help = "CNI result cache naming the pod of each local pod IP",
		.display = "CNI cache directory",
	},
	[OPT_K8S_API] = {
		"k8s-api", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_api), .metavar = "URL", .group = "Kubernetes",
		.help = "API server for peer pod and service names (default: in-cluster "
			"KUBERNETES_SERVICE_HOST/PORT; off outside a cluster)",
		.display = "API server URL",
	},
	[OPT_K8S_CREDENTIALS] = {
		"k8s-credentials", 0, required_argument, SCOPE_CAPTURE, KIND_STRING,
		FIELD(k8s_credentials), .metavar = "DIR", .group = "Kubernetes",
		.help = "service account directory with token and ca.crt (default: "
			"/var/run/secrets/kubernetes.io/serviceaccount)",
		.display = "API credentials directory",
	},
	[OPT_RING_BUFFER_MB] = {
		"ring-buffer-mb", 0, required_argument, SCOPE_CAPTURE, KIND_UNSIGNED,
		FIELD(ring_buffer_mb), .min = 1, .max = 4096, .def = "64",
		.metavar = "MIB", .group = "Advanced",
		.help = "size of the kernel to user space ring buffer in MiB",
		.display = "Ring buffer size (MiB)",
	},
	[OPT_BTF] = {
		"btf", 0, required_argument, SCOPE_CAPTURE, KIND_FILE,
		FIELD(btf_path), .metavar = "FILE", .group = "Advanced",
		.help = "kernel BTF file to use instead of /sys/kernel/btf/vmlinux",
		.display = "Kernel BTF file", .mustexist = true,
	},
	[OPT_LOG_LEVEL] = {
		"log-level", 0, required_argument, SCOPE_CAPTURE, KIND_SELECTOR,
		FIELD(log_level), .def = "warning", .metavar = "LEVEL", .group = "Diagnostics",
		.help = "verbosity of the log file",
		.display = "Log level", .choices = log_levels,
	},
	[OPT_LOG_FILE] = {
		"log-file", 0, required_argument, SCOPE_CAPTURE, KIND_FILE,
		FIELD(log_file), .metavar = "FILE", .group = "Diagnostics",
		.help = "append diagnostics to this file (standard error gets fatal errors only)",
		.display = "Log file",
	},
	[OPT_WRITE] = {
		"write", 'w', required_argument, SCOPE_CLI, KIND_STRING,
		FIELD(output), .mode = MODE_CAPTURE, .selects_mode = true,
		.metavar = "FILE", .group = "Command line",
		.help = "capture and write pcapng to FILE; - is standard output",
	},
	[OPT_DURATION] = {
		"duration", 'd', required_argument, SCOPE_CLI, KIND_SECONDS,
		FIELD(duration_s), .metavar = "SECONDS", .group = "Command line",
		.help = "stop after SECONDS (default: until interrupted)",
	},
	[OPT_FILTER] = {
		"filter", 'f', required_argument, SCOPE_CLI, KIND_STRING,
		FIELD(capture_filter), .metavar = "FILTER", .group = "Command line",
		.help = "capture filter, as --extcap-capture-filter",
	},
	[OPT_LIST_TARGETS] = {
		"list-targets", 0, no_argument, SCOPE_CLI, KIND_MODE,
		.mode = MODE_LIST_TARGETS, .selects_mode = true, .group = "Command line",
		.help = "list the processes and TLS libraries that can be captured, then exit",
	},
	[OPT_HELP] = {
		"help", 'h', no_argument, SCOPE_CLI, KIND_MODE,
		.mode = MODE_HELP, .selects_mode = true, .group = "Command line",
		.help = "show this help, then exit",
	},
	[OPT_VERSION] = {
		"version", 'V', no_argument, SCOPE_CLI, KIND_MODE,
		.mode = MODE_VERSION, .selects_mode = true, .group = "Command line",
		.help = "show the version, then exit",
	},
	[OPT_EXTCAP_INTERFACES] = {
		"extcap-interfaces", 0, no_argument, SCOPE_EXTCAP, KIND_MODE,
		.mode = MODE_EXTCAP_INTERFACES, .selects_mode = true, .group = "Wireshark extcap",
		.help = "list the extcap interfaces",
	},
	[OPT_EXTCAP_VERSION] = {
		"extcap-version", 0, optional_argument, SCOPE_EXTCAP, KIND_IGNORED,
		.metavar = "VERSION", .group = "Wireshark extcap",
		.help = "Wireshark's version (ignored)",
	},
	[OPT_EXTCAP_INTERFACE] = {
		"extcap-interface", 0, required_argument, SCOPE_EXTCAP, KIND_STRING,
		FIELD(interface), .def = TLSDUMP_IFACE, .metavar = "IFACE",
		.group = "Wireshark extcap", .help = "the interface to use",
	},
	[OPT_EXTCAP_DLTS] = {
		"extcap-dlts", 0, no_argument, SCOPE_EXTCAP, KIND_MODE,
		.mode = MODE_EXTCAP_DLTS, .selects_mode = true, .group = "Wireshark extcap",
		.help = "list the link types of the interface",
	},
	[OPT_EXTCAP_CONFIG] = {
		"extcap-config", 0, no_argument, SCOPE_EXTCAP, KIND_MODE,
		.mode = MODE_EXTCAP_CONFIG, .selects_mode = true, .group = "Wireshark extcap",
		.help = "list the options of the interface",
	},
	[OPT_CAPTURE] = {
		"capture", 0, no_argument, SCOPE_EXTCAP, KIND_MODE,
		.mode = MODE_CAPTURE, .selects_mode = true, .group = "Wireshark extcap",
		.help = "capture into the fifo given with --fifo",
	},
	[OPT_FIFO] = {
		"fifo", 0, required_argument, SCOPE_EXTCAP, KIND_STRING,
		FIELD(output), .metavar = "PATH", .group = "Wireshark extcap",
		.help = "the fifo Wireshark reads pcapng from",
	},
	[OPT_EXTCAP_CAPTURE_FILTER] = {
		"extcap-capture-filter", 0, required_argument, SCOPE_EXTCAP, KIND_STRING,
		FIELD(capture_filter), .metavar = "FILTER", .group = "Wireshark extcap",
		.help = "capture filter; without --capture, check it: no output means valid",
	},
	[OPT_EXTCAP_CONTROL_IN] = {
		"extcap-control-in", 0, required_argument, SCOPE_EXTCAP, KIND_IGNORED,
		.metavar = "PIPE", .group = "Wireshark extcap",
		.help = "toolbar control pipe (ignored)",
	},
	[OPT_EXTCAP_CONTROL_OUT] = {
		"extcap-control-out", 0, required_argument, SCOPE_EXTCAP, KIND_IGNORED,
		.metavar = "PIPE", .group = "Wireshark extcap",
		.help = "toolbar control pipe (ignored)",
	},
	[OPT_EXTCAP_RELOAD_OPTION] = {
		"extcap-reload-option", 0, required_argument, SCOPE_EXTCAP, KIND_IGNORED,
		.metavar = "NAME", .group = "Wireshark extcap",
		.help = "option whose values to reload (ignored: none can be reloaded)",
	},
};

/* getopt_long() value of a long-only option: above every character. */
#define OPT_VAL_BASE 256

static int opt_val(enum opt_id id)
{
	return opt_table[id].short_name ? opt_table[id].short_name : OPT_VAL_BASE + (int)id;
}

/* Returns the option whose getopt_long() value is @val, or OPT_COUNT. */
static enum opt_id opt_by_val(int val)
{
	int id;

	for (id = 0; id < OPT_COUNT; id++)
		if (opt_val(id) == val)
			return id;
	return OPT_COUNT;
}

static bool iface_known(const char *iface)
{
	return iface && !strcmp(iface, TLSDUMP_IFACE);
}

static void *opt_dest(struct tlsdump_options *opts, const struct opt *o)
{
	return (char *)opts + o->offset;
}

static int parse_unsigned(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	uint64_t max = o->max ? o->max : o->size == sizeof(uint32_t) ? UINT32_MAX : UINT64_MAX;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || *end) {
		log_fatal("invalid --%s '%s': expected an unsigned decimal number", o->name, val);
		return -EINVAL;
	}
	if (errno == ERANGE || v < o->min || v > max) {
		log_fatal("invalid --%s %s: out of range %llu..%llu", o->name, val,
			  (unsigned long long)o->min, (unsigned long long)max);
		return -EINVAL;
	}
	if (o->size == sizeof(uint32_t))
		*(uint32_t *)opt_dest(opts, o) = v;
	else
		*(uint64_t *)opt_dest(opts, o) = v;
	return 0;
}

static int parse_seconds(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (!*val || isspace((unsigned char)val[0]) || *end || errno || !isfinite(v) || v <= 0) {
		log_fatal("invalid --%s '%s': expected a number of seconds greater than 0",
			  o->name, val);
		return -EINVAL;
	}
	*(double *)opt_dest(opts, o) = v;
	return 0;
}

static int parse_selector(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	char names[128] = "";
	const struct opt_choice *c;

	for (c = o->choices; c->value; c++) {
		if (!strcasecmp(val, c->value)) {
			*(int *)opt_dest(opts, o) = c->id;
			return 0;
		}
		if (c != o->choices)
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, c->value, sizeof(names) - strlen(names) - 1);
	}
	log_fatal("invalid --%s '%s': expected one of %s", o->name, val, names);
	return -EINVAL;
}

/* Appends the comma separated pids of @val to opts->pids, skipping repeats. */
static int parse_pids(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	const char *p = val;
	size_t i;

	for (;;) {
		unsigned long long pid;
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			return 0;
		errno = 0;
		pid = strtoull(p, &end, 10);
		if (!isdigit((unsigned char)*p) || errno || (*end && *end != ',' && *end != ' ')) {
			log_fatal("invalid --%s '%s': expected process ids separated by commas",
				  o->name, val);
			return -EINVAL;
		}
		if (pid == 0 || pid > TLSDUMP_PID_MAX) {
			log_fatal("invalid --%s %llu: process ids are 1..%d", o->name, pid,
				  TLSDUMP_PID_MAX);
			return -EINVAL;
		}
		for (i = 0; i < opts->n_pids && opts->pids[i] != (pid_t)pid; i++)
			;
		if (i == opts->n_pids) {
			if (opts->n_pids == TLSDUMP_MAX_PIDS) {
				log_fatal("too many --%s values: at most %d processes", o->name,
					  TLSDUMP_MAX_PIDS);
				return -EINVAL;
			}
			opts->pids[opts->n_pids++] = pid;
		}
		p = end;
	}
}

static int parse_comm(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	size_t len = strlen(val);

	if (len >= sizeof(opts->comm)) {
		log_fatal("invalid --%s '%s': %zu characters, but process names (/proc/PID/comm) have at most %zu",
			  o->name, val, len, sizeof(opts->comm) - 1);
		return -EINVAL;
	}
	memcpy(opts->comm, val, len + 1);
	return 0;
}

/* Stores @val for option @o. Returns 0, or -EINVAL after printing why. */
static int opt_apply(struct tlsdump_options *opts, const struct opt *o, const char *val)
{
	switch (o->kind) {
	case KIND_MODE:
	case KIND_IGNORED:
		return 0;
	case KIND_STRING:
		*(const char **)opt_dest(opts, o) = val;
		return 0;
	case KIND_FILE:
		*(const char **)opt_dest(opts, o) = *val ? val : NULL;
		return 0;
	case KIND_BOOLFLAG:
		*(bool *)opt_dest(opts, o) = true;
		return 0;
	case KIND_UNSIGNED:
		return parse_unsigned(opts, o, val);
	case KIND_SECONDS:
		return parse_seconds(opts, o, val);
	case KIND_SELECTOR:
		return parse_selector(opts, o, val);
	case KIND_PIDS:
		return parse_pids(opts, o, val);
	case KIND_COMM:
		return parse_comm(opts, o, val);
	}
	return -EINVAL;
}

/* Reports the option getopt_long() rejected with '?' (unknown) or ':' (no value). */
static int report_getopt_error(int c, char **argv)
{
	enum opt_id id = opt_by_val(optopt);
	const char *arg = argv[optind - 1];

	if (c == ':' && id < OPT_COUNT)
		log_fatal("option --%s requires a value (%s)", opt_table[id].name,
			  opt_table[id].metavar);
	else if (optopt && optopt < OPT_VAL_BASE && id == OPT_COUNT)
		log_fatal("unknown option '-%c' (see tlsdump --help)", optopt);
	else if (optopt)
		/* a value given to an option that takes none: --help=x */
		log_fatal("option --%s takes no value: '%s'", opt_table[id].name, arg);
	else
		log_fatal("unknown or ambiguous option '%.*s' (see tlsdump --help)",
			  (int)strcspn(arg, "="), arg);
	return -EINVAL;
}

/* Derives opts->mode from the options @seen; checks their combination. */
static int resolve_mode(struct tlsdump_options *opts, const bool *seen)
{
	int id, chosen = -1;

	if (seen[OPT_HELP] || seen[OPT_VERSION]) {
		opts->mode = seen[OPT_HELP] ? MODE_HELP : MODE_VERSION;
		return 0;
	}
	for (id = 0; id < OPT_COUNT; id++) {
		if (!seen[id] || !opt_table[id].selects_mode)
			continue;
		if (chosen >= 0) {
			log_fatal("--%s and --%s cannot be combined", opt_table[chosen].name,
				  opt_table[id].name);
			return -EINVAL;
		}
		chosen = id;
	}
	if (!iface_known(opts->interface)) {
		log_fatal("unknown interface '%s': tlsdump provides only '%s'", opts->interface,
			  TLSDUMP_IFACE);
		return -EINVAL;
	}
	if (seen[OPT_FIFO] && !seen[OPT_CAPTURE]) {
		log_fatal("--fifo is only valid with --capture");
		return -EINVAL;
	}
	if (chosen < 0) {
		if (!seen[OPT_EXTCAP_CAPTURE_FILTER]) {
			log_fatal("no output: use -w FILE (or -w - for stdout), or run from Wireshark");
			return -EINVAL;
		}
		opts->mode = MODE_EXTCAP_FILTER_CHECK;
		return 0;
	}
	opts->mode = opt_table[chosen].mode;
	if (chosen == OPT_CAPTURE) {
		if (!seen[OPT_FIFO] || !*opts->output) {
			log_fatal("--capture requires --fifo PATH");
			return -EINVAL;
		}
		opts->extcap = true;
	} else if (chosen == OPT_WRITE && !*opts->output) {
		log_fatal("--write requires a file name (- for standard output)");
		return -EINVAL;
	}
	return 0;
}

int options_parse(struct tlsdump_options *opts, int argc, char **argv)
{
	struct option longopts[OPT_COUNT + 1];
	char shortopts[1 + 2 * OPT_COUNT + 1], *s = shortopts;
	bool seen[OPT_COUNT] = { false };
	enum opt_id id;
	int c, err;

	memset(opts, 0, sizeof(*opts));
	memset(longopts, 0, sizeof(longopts));
	*s++ = ':';	/* report a missing value as ':' */
	for (id = 0; id < OPT_COUNT; id++) {
		const struct opt *o = &opt_table[id];

		longopts[id] = (struct option){ o->name, o->has_arg, NULL, opt_val(id) };
		if (o->short_name) {
			*s++ = o->short_name;
			if (o->has_arg == required_argument)
				*s++ = ':';
		}
		if (o->def) {
			err = opt_apply(opts, o, o->def);
			if (err)
				return err;
		}
	}
	*s = '\0';

	opterr = 0;
	optind = 0;	/* glibc: full reinitialisation, so parsing can be repeated */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return report_getopt_error(c, argv);
		id = opt_by_val(c);
		if (id == OPT_COUNT)
			return -EINVAL;
		seen[id] = true;
		err = opt_apply(opts, &opt_table[id], optarg ? optarg : "");
		if (err)
			return err;
	}
	if (optind < argc) {
		log_fatal("unexpected argument '%s' (see tlsdump --help)", argv[optind]);
		return -EINVAL;
	}
	return resolve_mode(opts, seen);
}

/* --help layout: descriptions start at USAGE_INDENT and wrap at USAGE_COLS. */
#define USAGE_INDENT 32
#define USAGE_COLS 80

/* Writes "  -p, --pid=PID[,PID...]" for @o into @buf. */
static void usage_left(char *buf, size_t size, const struct opt *o)
{
	const char *fmt = o->has_arg == optional_argument ? "[=%s]" : "=%s";
	int n;

	if (o->short_name)
		n = snprintf(buf, size, "  -%c, --%s", o->short_name, o->name);
	else
		n = snprintf(buf, size, "      --%s", o->name);
	if (o->has_arg != no_argument && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, fmt, o->metavar);
}

/* Writes the help text of @o into @buf, with its choices, range and default. */
static void usage_text(char *buf, size_t size, const struct opt *o)
{
	const struct opt_choice *c;
	size_t n = snprintf(buf, size, "%s", o->help);

	if (o->kind == KIND_SELECTOR) {
		for (c = o->choices; c->value && n < size; c++)
			n += snprintf(buf + n, size - n, "%s%s", c == o->choices ? " (" : ", ",
				      c->value);
		if (n < size)
			snprintf(buf + n, size - n, "; default: %s)", o->def);
	} else if (o->kind == KIND_UNSIGNED && o->max && n < size) {
		snprintf(buf + n, size - n, " (%llu..%llu, default: %s)",
			 (unsigned long long)o->min, (unsigned long long)o->max, o->def);
	} else if (o->def && n < size) {
		snprintf(buf + n, size - n, " (default: %s)", o->def);
	}
}

/* Prints @text word by word from column USAGE_INDENT, wrapping at USAGE_COLS. */
static void usage_wrap(FILE *out, const char *text)
{
	int col = USAGE_INDENT;

	while (*text) {
		int len = strcspn(text, " ");

		if (col > USAGE_INDENT && col + 1 + len > USAGE_COLS) {
			fprintf(out, "\n%*s", USAGE_INDENT, "");
			col = USAGE_INDENT;
		} else if (col > USAGE_INDENT) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", len, text);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

void options_print_usage(FILE *out)
{
	static const char *const scope_note[] = {
		[SCOPE_CAPTURE] = " (also in Wireshark's interface options)",
		[SCOPE_CLI] = "",
		[SCOPE_EXTCAP] = " (used by Wireshark itself)",
	};
	const char *group = NULL;
	char left[64], text[512];
	int id;

	fputs("Usage: tlsdump -w FILE [OPTIONS]\n"
	      "       tlsdump --list-targets [-p PID] [-c NAME]\n"
	      "       tshark -i " TLSDUMP_IFACE " [-o extcap." TLSDUMP_IFACE ".NAME:VALUE]...\n"
	      "\n"
	      "Captures the plaintext that processes send and receive through TLS libraries,\n"
	      "with eBPF uprobes, and writes it as pcapng (one Exported PDU frame per call).\n"
	      "Also a Wireshark extcap: capture on the interface '" TLSDUMP_IFACE "'.\n",
	      out);
	for (id = 0; id < OPT_COUNT; id++) {
		const struct opt *o = &opt_table[id];

		if (!group || strcmp(group, o->group)) {
			group = o->group;
			fprintf(out, "\n%s%s:\n", group, scope_note[o->scope]);
		}
		usage_left(left, sizeof(left), o);
		if (strlen(left) + 2 > USAGE_INDENT)
			fprintf(out, "%s\n%*s", left, USAGE_INDENT, "");
		else
			fprintf(out, "%-*s", USAGE_INDENT, left);
		usage_text(text, sizeof(text), o);
		usage_wrap(out, text);
	}
	fputs("\nIn tshark, --some-option VALUE is -o extcap." TLSDUMP_IFACE
	      ".someoption:VALUE (no\n"
	      "dashes) and a flag is set with :true, for example\n"
	      "  tshark -i " TLSDUMP_IFACE " -o extcap." TLSDUMP_IFACE ".pid:1234 -o extcap."
	      TLSDUMP_IFACE ".labelhttp:true\n",
	      out);
}

void extcap_print_interfaces(FILE *out)
{
	fprintf(out, "extcap {version=%s}{help=%s}\n", TLSDUMP_VERSION, TLSDUMP_HELP_URL);
	fprintf(out, "interface {value=%s}{display=TLS plaintext (eBPF)}\n", TLSDUMP_IFACE);
}

int extcap_print_dlts(FILE *out, const char *iface)
{
	if (!iface_known(iface))
		return -ENODEV;
	fprintf(out, "dlt {number=%d}{name=WIRESHARK_UPPER_PDU}{display=TLS plaintext (Exported PDU)}\n",
		LINKTYPE_WIRESHARK_UPPER_PDU);
	return 0;
}

/* Prints the "arg" sentence of @o as argument @n, and its "value" sentences. */
static void print_config_arg(FILE *out, unsigned int n, const struct opt *o)
{
	const struct opt_choice *c;

	fprintf(out, "arg {number=%u}{call=--%s}{display=%s}{type=%s}{tooltip=%s}", n, o->name,
		o->display, extcap_type[o->kind], o->help);
	if (o->placeholder)
		fprintf(out, "{placeholder=%s}", o->placeholder);
	if (o->validation)
		fprintf(out, "{validation=%s}", o->validation);
	if (o->kind == KIND_UNSIGNED && o->max)
		fprintf(out, "{range=%llu,%llu}", (unsigned long long)o->min,
			(unsigned long long)o->max);
	if (o->kind == KIND_BOOLFLAG)
		fputs("{default=false}", out);
	else if (o->def && o->kind != KIND_SELECTOR)
		fprintf(out, "{default=%s}", o->def);
	if (o->kind == KIND_FILE)
		fprintf(out, "{mustexist=%s}", o->mustexist ? "true" : "false");
	fprintf(out, "{group=%s}\n", o->group);

	/* Wireshark passes an arg-level default but not a value's: .def applies then. */
	for (c = o->choices; c && c->value; c++)
		fprintf(out, "value {arg=%u}{value=%s}{display=%s}{default=%s}\n", n, c->value,
			c->display, !strcmp(c->value, o->def) ? "true" : "false");
}

int extcap_print_config(FILE *out, const char *iface)
{
	unsigned int n = 0;
	int id;

	if (!iface_known(iface))
		return -ENODEV;
	for (id = 0; id < OPT_COUNT; id++)
		if (opt_table[id].scope == SCOPE_CAPTURE)
			print_config_arg(out, n++, &opt_table[id]);
	return 0;
}
