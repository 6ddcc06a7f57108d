/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static FILE *log_file;
static enum log_level log_threshold = LOG_LEVEL_WARNING;

int log_open(const char *path, enum log_level level)
{
	log_threshold = level;
	if (!path || !*path)
		return 0;
	log_file = fopen(path, "a");
	if (!log_file)
		return -errno;
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static void log_vwrite(FILE *out, const char *prefix, const char *fmt, va_list ap)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	/* One line from three calls: keep other threads' lines (the API client's) out of it. */
	flockfile(out);
	fprintf(out, "%lld.%06ld %s", (long long)now.tv_sec, now.tv_nsec / 1000, prefix);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	funlockfile(out);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "info: ", "debug: " };
	va_list ap;

	if (!log_file || level > log_threshold)
		return;
	va_start(ap, fmt);
	log_vwrite(log_file, prefix[level], fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tlsdump: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (log_file) {
		va_start(ap, fmt);
		log_vwrite(log_file, "fatal: ", fmt, ap);
		va_end(ap);
	}
}
