/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kselftest-style TAP 13 output for Check test programs.
 *
 * Each test runs in its own forked process (Check's fork mode), one after
 * the other, and its result is printed as soon as it ends:
 *
 *   TAP version 13
 *   1..3
 *   # RUN capability_sane
 *   ok 1 capability_sane
 *   not ok 2 machines_limit
 *   # machines_limit: foundation.c:88: Assertion 'ret == 0' failed ...
 *   ok 3 root_lists # SKIP needs root
 *   # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
 *
 * The program exits 0 when nothing failed, 1 when something failed and 4
 * (KSFT_SKIP) when every test was skipped.
 */
#ifndef KSFT_H
#define KSFT_H

#include <check.h>
#include <stddef.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

struct ksft_test {
	const char *name;
	const TTest *fn;	/* the START_TEST function */
	double timeout;		/* seconds; 0 = the suite's default */
};

#define KSFT_TEST(f) { #f, f, 0 }
#define KSFT_TEST_T(f, t) { #f, f, (t) }

/*
 * A suite whose tests are in several files: START_TEST makes a test static
 * to its file, so the file exports it after END_TEST with KSFT_EXPORT(f),
 * the suite's header declares it with KSFT_DECLARE(f), and the table names
 * it with KSFT_TEST_EXPORTED(f).
 */
#define KSFT_DECLARE(f) const TTest *f##_test(void)
#define KSFT_EXPORT(f) KSFT_DECLARE(f) { return f; }
#define KSFT_TEST_EXPORTED(f) { #f, f##_test(), 0 }

/*
 * Run the tests in order and print TAP. Tests named in the environment
 * variable KSFT_ONLY (comma-separated) run alone when it is set.
 */
int ksft_run(const char *suite, const struct ksft_test *tests, size_t n,
	     double default_timeout);

/* Mark the running test as skipped (with a reason) and end it. */
void ksft_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* A diagnostic line, "# ..." on stdout, flushed. */
void ksft_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KSFT_H */
