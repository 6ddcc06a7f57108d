/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics. Wireshark shows anything an extcap writes on stderr as an
 * error, so only fatal errors go there; everything else goes to the log file
 * chosen with --log-file, filtered by --log-level.
 */
#ifndef TLSDUMP_LOG_H
#define TLSDUMP_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/*
 * Opens @path (NULL: no log file) for appending and sets the threshold.
 * Returns 0 or -errno.
 */
int log_open(const char *path, enum log_level level);

/* Closes the log file; safe to call twice. */
void log_close(void);

/* Writes one line at @level to the log file, if open and @level passes. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "tlsdump: <message>" to stderr and to the log: for fatal errors only. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_warn(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* TLSDUMP_LOG_H */
