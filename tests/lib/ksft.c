/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kselftest-style TAP driver for Check: see ksft.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ksft.h"

#define KSFT_REASON 256

/* Shared with the forked test processes: why a test skipped, if it did. */
static char *ksft_skip_reason;

void ksft_print(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void ksft_skip(const char *fmt, ...)
{
	va_list ap;

	if (ksft_skip_reason != NULL) {
		va_start(ap, fmt);
		vsnprintf(ksft_skip_reason, KSFT_REASON, fmt, ap);
		va_end(ap);
		if (ksft_skip_reason[0] == '\0')
			strcpy(ksft_skip_reason, "skipped");
	}
	/* Leave the test as passed; the reason marks it skipped. */
	mark_point();
	fflush(stdout);
	/* In fork mode the child ends here; Check counts a clean exit. */
	_exit(0);
}

static int ksft_selected(const char *name)
{
	const char *only = getenv("KSFT_ONLY");
	size_t len = strlen(name);
	const char *p;

	if (only == NULL || *only == '\0')
		return 1;
	for (p = only; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && strncmp(p, name, n) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Print Check's message for a failed test as TAP diagnostics. */
static void ksft_diag(const char *name, TestResult *tr)
{
	const char *msg = tr_msg(tr);
	const char *p = msg ? msg : "(no message)";

	printf("# %s: %s:%d: ", name, tr_lfile(tr) ? tr_lfile(tr) : "?",
	       tr_lno(tr));
	for (; *p != '\0'; p++) {
		putchar(*p);
		if (*p == '\n' && p[1] != '\0')
			fputs("# ", stdout);
	}
	putchar('\n');
}

int ksft_run(const char *suite_name, const struct ksft_test *tests, size_t n,
	     double default_timeout)
{
	unsigned int pass = 0, fail = 0, skip = 0, num = 0;
	size_t i, selected = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_skip_reason = mmap(NULL, KSFT_REASON, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ksft_skip_reason == MAP_FAILED) {
		perror("mmap");
		return KSFT_FAIL;
	}

	for (i = 0; i < n; i++)
		selected += ksft_selected(tests[i].name);
	printf("TAP version 13\n1..%zu\n", selected);

	for (i = 0; i < n; i++) {
		const struct ksft_test *t = &tests[i];
		Suite *s;
		TCase *tc;
		SRunner *sr;
		TestResult **res;
		int nres, rtype;

		if (!ksft_selected(t->name))
			continue;
		num++;
		ksft_print("RUN %s", t->name);
		memset(ksft_skip_reason, 0, KSFT_REASON);

		s = suite_create(suite_name);
		tc = tcase_create(t->name);
		tcase_set_timeout(tc, t->timeout > 0 ? t->timeout
						     : default_timeout);
		tcase_add_test(tc, t->fn);
		suite_add_tcase(s, tc);
		sr = srunner_create(s);
		srunner_set_fork_status(sr, CK_FORK);
		srunner_run_all(sr, CK_SILENT);

		nres = srunner_ntests_run(sr);
		res = srunner_results(sr);
		rtype = nres > 0 ? tr_rtype(res[nres - 1]) : CK_ERROR;
		if (rtype == CK_PASS && ksft_skip_reason[0] != '\0') {
			printf("ok %u %s # SKIP %s\n", num, t->name,
			       ksft_skip_reason);
			skip++;
		} else if (rtype == CK_PASS) {
			printf("ok %u %s\n", num, t->name);
			pass++;
		} else {
			printf("not ok %u %s\n", num, t->name);
			if (nres > 0)
				ksft_diag(t->name, res[nres - 1]);
			fail++;
		}
		free(res);
		srunner_free(sr);
	}

	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       pass, fail, skip);
	munmap(ksft_skip_reason, KSFT_REASON);
	if (fail)
		return KSFT_FAIL;
	if (skip && !pass)
		return KSFT_SKIP;
	return KSFT_PASS;
}
