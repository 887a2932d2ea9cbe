/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the libnvmm(3) version 2 programming interface on Linux.
 *
 * Emulators written for NetBSD's NVMM (QEMU's nvmm accelerator, NetBSD's
 * libnvmm tests) build against this header unchanged and link with -lvmm
 * (or -lnvmm, an alias installed with it).
 */
#ifndef NVMM_H
#define NVMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/mman.h>

#include <nvmm/nvmm_dev.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NVMM_USER_VERSION	2

/* What NetBSD's headers provide and glibc lacks. */
#ifndef __BIT
#define __BIT(n)							\
	((uint64_t)(n) >= 64 ? 0 : (uint64_t)1 << ((uint64_t)(n) & 63))
#endif
#ifndef __BITS
#define __BITS(m, n)							\
	((__BIT(((m) > (n) ? (m) : (n)) + 1) - 1) ^			\
	 (__BIT((m) < (n) ? (m) : (n)) - 1))
#endif
#ifndef __LOWEST_SET_BIT
#define __LOWEST_SET_BIT(mask)	((((mask) - 1) & (mask)) ^ (mask))
#endif
#ifndef __SHIFTOUT
#define __SHIFTOUT(x, mask)	(((x) & (mask)) / __LOWEST_SET_BIT(mask))
#endif
#ifndef __SHIFTIN
#define __SHIFTIN(x, mask)	((x) * __LOWEST_SET_BIT(mask))
#endif
#ifndef EPROGMISMATCH
#define EPROGMISMATCH		EPROTO
#endif

struct nvmm_io;
struct nvmm_mem;

struct nvmm_assist_callbacks {
	void (*io)(struct nvmm_io *);
	void (*mem)(struct nvmm_mem *);
};

struct nvmm_machine {
	nvmm_machid_t machid;
	struct nvmm_comm_page **pages;	/* indexed by VCPU id */
	void *areas;			/* opaque to the caller */
};

struct nvmm_vcpu {
	nvmm_cpuid_t cpuid;
	struct nvmm_assist_callbacks cbs;
	struct nvmm_vcpu_state *state;	/* these point into the comm page */
	struct nvmm_vcpu_event *event;
	struct nvmm_vcpu_exit *exit;
	volatile int *stop;
};

struct nvmm_io {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	uint16_t port;
	bool in;
	size_t size;
	uint8_t *data;
};

struct nvmm_mem {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	gpaddr_t gpa;
	bool write;
	size_t size;
	uint8_t *data;
};

#define NVMM_VCPU_CONF_CALLBACKS	NVMM_VCPU_CONF_LIBNVMM_BEGIN

typedef uint64_t nvmm_prot_t;	/* NVMM_PROT_*, in <nvmm/nvmm_dev.h> */

int nvmm_init(void);
int nvmm_root_init(void);

int nvmm_capability(struct nvmm_capability *);

int nvmm_machine_create(struct nvmm_machine *);
int nvmm_machine_destroy(struct nvmm_machine *);
int nvmm_machine_configure(struct nvmm_machine *, uint64_t, void *);

int nvmm_vcpu_create(struct nvmm_machine *, nvmm_cpuid_t, struct nvmm_vcpu *);
int nvmm_vcpu_destroy(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_vcpu_configure(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t,
			void *);
int nvmm_vcpu_setstate(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t);
int nvmm_vcpu_getstate(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t);
int nvmm_vcpu_inject(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_vcpu_run(struct nvmm_machine *, struct nvmm_vcpu *);

int nvmm_gpa_map(struct nvmm_machine *, uintptr_t, gpaddr_t, size_t, int);
int nvmm_gpa_unmap(struct nvmm_machine *, uintptr_t, gpaddr_t, size_t);
int nvmm_hva_map(struct nvmm_machine *, uintptr_t, size_t);
int nvmm_hva_unmap(struct nvmm_machine *, uintptr_t, size_t);

int nvmm_gva_to_gpa(struct nvmm_machine *, struct nvmm_vcpu *, gvaddr_t,
		    gpaddr_t *, nvmm_prot_t *);
int nvmm_gpa_to_hva(struct nvmm_machine *, gpaddr_t, uintptr_t *,
		    nvmm_prot_t *);

int nvmm_assist_io(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_assist_mem(struct nvmm_machine *, struct nvmm_vcpu *);

int nvmm_ctl(int, void *, size_t);

int nvmm_vcpu_stop(struct nvmm_vcpu *);
int nvmm_vcpu_dump(struct nvmm_machine *, struct nvmm_vcpu *);

#ifdef __cplusplus
}
#endif

#endif /* NVMM_H */
