/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-hold: create machines and VCPUs, say "ready", and keep them until
 * killed. Used by the module tests and the demo.
 *
 *   nvmm-hold [MACHINES [VCPUS]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nvmm.h>

int main(int argc, char **argv)
{
	int nmach = argc > 1 ? atoi(argv[1]) : 1;
	int nvcpu = argc > 2 ? atoi(argv[2]) : 1;
	struct nvmm_machine *mach;
	struct nvmm_vcpu vcpu;

	if (nmach < 1 || nvcpu < 0) {
		fprintf(stderr, "usage: nvmm-hold [MACHINES [VCPUS]]\n");
		return 2;
	}
	mach = calloc(nmach, sizeof(*mach));
	if (mach == NULL || nvmm_init() == -1) {
		fprintf(stderr, "nvmm-hold: nvmm_init: %s\n", strerror(errno));
		return 1;
	}
	for (int m = 0; m < nmach; m++) {
		if (nvmm_machine_create(&mach[m]) == -1) {
			fprintf(stderr, "nvmm-hold: machine: %s\n",
				strerror(errno));
			return 1;
		}
		for (int v = 0; v < nvcpu; v++) {
			if (nvmm_vcpu_create(&mach[m], v, &vcpu) == -1) {
				fprintf(stderr, "nvmm-hold: VCPU: %s\n",
					strerror(errno));
				return 1;
			}
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
