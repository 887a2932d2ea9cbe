/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kvm-hold: for the coexistence tests (module.sh), create a KVM virtual
 * machine, which makes KVM take SVM/VMX on every CPU (Linux 6.1 takes it
 * at the first VM, not at module load).
 *
 *   kvm-hold try    create one, print "created" or "refused: <errno name>"
 *   kvm-hold hold   create one, print "ready", keep it until killed
 *
 * Exit status: 0 if created, 1 if refused, 2 if /dev/kvm is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

int main(int argc, char **argv)
{
	int kvm, vm;

	if (argc != 2 || (strcmp(argv[1], "try") && strcmp(argv[1], "hold"))) {
		fprintf(stderr, "usage: kvm-hold try|hold\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("no /dev/kvm: %s\n", strerror(errno));
		return 2;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("refused: %s (%s)\n", strerrorname_np(errno),
		       strerror(errno));
		return 1;
	}
	if (strcmp(argv[1], "try") == 0) {
		printf("created\n");
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
