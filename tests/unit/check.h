/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unit tests' assertions: CHECK records a failure and goes on, so one
 * run reports every broken check; REQUIRE stops, for checks later code
 * depends on. A test's main() ends with check_exit_status().
 */
#ifndef TLSDUMP_TEST_CHECK_H
#define TLSDUMP_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

static inline void check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: CHECK(%s) failed: ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond))                                                               \
			check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
	} while (0)

#define REQUIRE(cond, ...)                                                                 \
	do {                                                                               \
		if (!(cond)) {                                                             \
			check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
			exit(1);                                                           \
		}                                                                          \
	} while (0)

/* Prints the verdict for @name and returns main()'s exit status. */
static inline int check_exit_status(const char *name)
{
	if (failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
	else
		printf("%s: all checks passed\n", name);
	return failures ? 1 : 0;
}

#endif /* TLSDUMP_TEST_CHECK_H */
