/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bootmark: how long a VMM takes from its start to a line of its guest.
 *
 *   bootmark [-t SECONDS] [-o LOG] [-x HOOK] MARKER -- COMMAND [ARGS...]
 *
 * Runs COMMAND with its standard output on a pipe (stdin and stderr as
 * given), copies that output to LOG, and when MARKER first appears in it
 * prints "BOOTMARK <seconds> <the line>" (CLOCK_MONOTONIC, from just before
 * the fork), runs the shell command HOOK if given (while COMMAND still
 * runs: e.g. to read counters that die with it), then sends COMMAND
 * SIGTERM and waits for it (SIGKILL after 10 s).
 * Exit: 0 when the marker came, 1 when COMMAND ended or SECONDS (default
 * 600) passed without it, 2 on usage or system errors.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stop the child: SIGTERM, then SIGKILL if it is still there after 10 s. */
static int stop(pid_t pid)
{
	int status, i;

	kill(pid, SIGTERM);
	for (i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r == -1 && errno != EINTR)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bootmark [-t SECONDS] [-o LOG] [-x HOOK] "
		"MARKER -- COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double limit = 600, t0, t;
	const char *log_path = NULL, *hook = NULL, *marker;
	char line[4096];
	size_t len = 0;
	FILE *log = NULL;
	int fds[2], c, status = 0;
	pid_t pid;

	while ((c = getopt(argc, argv, "+t:o:x:")) != -1) {
		switch (c) {
		case 't':
			limit = atof(optarg);
			if (limit <= 0)
				usage();
			break;
		case 'o':
			log_path = optarg;
			break;
		case 'x':
			hook = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 3 || strcmp(argv[optind + 1], "--") != 0)
		usage();
	marker = argv[optind];
	if (*marker == '\0')
		usage();
	if (log_path && !(log = fopen(log_path, "w"))) {
		perror(log_path);
		return 2;
	}
	if (pipe(fds) == -1) {
		perror("pipe");
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid == -1) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[optind + 2], argv + optind + 2);
		perror(argv[optind + 2]);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int left = (int)((limit - (now() - t0)) * 1000);
		char buf[4096];
		ssize_t n, i;

		if (left <= 0 || poll(&p, 1, left) == 0) {
			printf("BOOTMARK timeout after %.0f s\n", limit);
			stop(pid);
			return 1;
		}
		n = read(fds[0], buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			waitpid(pid, &status, 0);
			printf("BOOTMARK none: the VMM ended (status %#x) "
			       "without '%s'\n", status, marker);
			return 1;
		}
		t = now() - t0;
		if (log)
			fwrite(buf, 1, (size_t)n, log);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			if (buf[i] != '\n' && len < sizeof(line) - 1) {
				line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (strstr(line, marker) == NULL)
				continue;
			printf("BOOTMARK %.3f %s\n", t, line);
			fflush(stdout);
			if (hook && system(hook) != 0)
				fprintf(stderr, "bootmark: the hook failed\n");
			stop(pid);
			if (log)
				fclose(log);
			return 0;
		}
	}
}
