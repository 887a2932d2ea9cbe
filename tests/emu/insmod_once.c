/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * insmod-once MODULE: load a kernel module with one finit_module(2) call
 * (busybox insmod retries a refused load, which logs the refusal twice).
 * Prints the errno on failure and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: insmod-once MODULE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "insmod-once: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (syscall(SYS_finit_module, fd, "", 0) != 0) {
		printf("insmod-once: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
