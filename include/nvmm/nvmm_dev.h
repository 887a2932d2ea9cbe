/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The /dev/nvmm interface: what nvmm.ko and libvmm exchange through ioctl(2)
 * and the per-VCPU communication page mapped with mmap(2).
 *
 * Every structure has a fixed layout on x86-64 (explicit padding, pointers
 * carried as 64-bit integers). Only 64-bit processes may use the device.
 */
#ifndef NVMM_DEV_H
#define NVMM_DEV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#endif

/* Access rights: of guest mappings, translations and MEMORY exits. */
#define NVMM_PROT_READ		0x01
#define NVMM_PROT_WRITE		0x02
#define NVMM_PROT_EXEC		0x04
#define NVMM_PROT_USER		0x08
#define NVMM_PROT_ALL		0x0F

typedef uint64_t gpaddr_t;
typedef uint64_t gvaddr_t;
typedef uint32_t nvmm_machid_t;
typedef uint32_t nvmm_cpuid_t;

/* Machine configuration slots. */
#define NVMM_MACH_CONF_LIBNVMM_BEGIN	0
#define NVMM_MACH_CONF_MI_BEGIN		100
#define NVMM_MACH_CONF_MD_BEGIN		200
#define NVMM_MACH_CONF_MD(op)		((op) - NVMM_MACH_CONF_MD_BEGIN)

/* VCPU configuration slots. */
#define NVMM_VCPU_CONF_LIBNVMM_BEGIN	0
#define NVMM_VCPU_CONF_MI_BEGIN		100
#define NVMM_VCPU_CONF_MD_BEGIN		200
#define NVMM_VCPU_CONF_MD(op)		((op) - NVMM_VCPU_CONF_MD_BEGIN)

#include "nvmm_x86.h"

/* Version of this interface; libvmm refuses any other. */
#define NVMM_KERN_VERSION		2

struct nvmm_capability {
	uint32_t version;
	uint32_t state_size;		/* sizeof(struct nvmm_vcpu_state) */
	uint32_t max_machines;
	uint32_t max_vcpus;		/* per machine */
	uint64_t max_ram;		/* bytes of guest RAM per machine */
	struct nvmm_cap_md arch;
};

/*
 * The communication page, one per VCPU, shared between the kernel and the
 * process that owns the VCPU. The process writes state and events and sets
 * the commit words; the kernel applies them at the next run. Nothing here
 * is trusted by the kernel: it copies before it checks.
 */
struct nvmm_comm_page {
	/* State. */
	uint64_t state_wanted;		/* GETSTATE: groups to fetch */
	uint64_t state_cached;		/* groups valid in 'state' */
	uint64_t state_commit;		/* groups to load at the next run */
	struct nvmm_vcpu_state state;

	/* Event. */
	bool event_commit;
	struct nvmm_vcpu_event event;

	/* Set by nvmm_vcpu_stop(); cleared when a run returns. */
	volatile int stop;

	/* The reason of the last exit, written by the run ioctl. */
	struct nvmm_vcpu_exit exit;
};

/*
 * mmap(2) offset of a VCPU's communication page: machid in bits 20-27,
 * cpuid in bits 12-19. The mapping is exactly one page, shared, never
 * executable.
 */
#define NVMM_COMM_OFF(machid, cpuid)					\
	((((uint64_t)(machid) & 0xFFULL) << 20) |			\
	 (((uint64_t)(cpuid) & 0xFFULL) << 12))
#define NVMM_COMM_MACHID(off)		(((off) >> 20) & 0xFF)
#define NVMM_COMM_CPUID(off)		(((off) >> 12) & 0xFF)

/* nvmm_ctl() operations. */
#define NVMM_CTL_MACH_INFO		0
/*
 * Ours, not NetBSD's: operations from 0x100 up are Linux extensions, which
 * an emulator written for NetBSD never sends.
 */
#define NVMM_CTL_MACH_MEM		0x100

#ifdef __KERNEL__
typedef __s32 nvmm_pid_t;
typedef __s64 nvmm_time_t;
#else
#include <sys/types.h>
#include <time.h>
typedef pid_t nvmm_pid_t;
typedef time_t nvmm_time_t;
#endif

struct nvmm_ctl_mach_info {
	nvmm_machid_t machid;		/* in */
	uint32_t nvcpus;
	uint64_t nram;			/* bytes of guest RAM mapped */
	nvmm_pid_t pid;			/* creator, in the caller's namespace */
	nvmm_time_t time;		/* creation, seconds since the Epoch */
};

/* NVMM_CTL_MACH_MEM: the kernel memory behind a machine's guest RAM. */
struct nvmm_ctl_mach_mem {
	nvmm_machid_t machid;		/* in */
	uint32_t rsvd;			/* zero */
	uint64_t mapped_pages;		/* guest pages now in the NPT/EPT */
	uint64_t pt_pages;		/* NPT/EPT table pages, the root apart */
};

/* -------------------------------------------------------------------------- */
/* ioctl arguments. */

struct nvmm_ioc_capability {
	struct nvmm_capability cap;
};

struct nvmm_ioc_machine_create {
	nvmm_machid_t machid;		/* out */
};

struct nvmm_ioc_machine_destroy {
	nvmm_machid_t machid;
};

struct nvmm_ioc_machine_configure {
	nvmm_machid_t machid;
	uint32_t pad;
	uint64_t op;
	uint64_t conf;			/* user pointer */
};

struct nvmm_ioc_vcpu_create {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_destroy {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_vcpu_configure {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
	uint64_t op;
	uint64_t conf;			/* user pointer */
};

/* Fills the comm page's state with the groups in its state_wanted. */
struct nvmm_ioc_vcpu_getstate {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

/* Runs the VCPU; the exit is in the comm page when this returns 0. */
struct nvmm_ioc_vcpu_run {
	nvmm_machid_t machid;
	nvmm_cpuid_t cpuid;
};

struct nvmm_ioc_hva_map {
	nvmm_machid_t machid;
	uint32_t pad;
	uint64_t hva;
	uint64_t size;
	uint64_t flags;			/* must be 0 */
};

struct nvmm_ioc_hva_unmap {
	nvmm_machid_t machid;
	uint32_t pad;
	uint64_t hva;
	uint64_t size;
};

struct nvmm_ioc_gpa_map {
	nvmm_machid_t machid;
	int32_t prot;			/* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint64_t hva;
	uint64_t gpa;
	uint64_t size;
};

struct nvmm_ioc_gpa_unmap {
	nvmm_machid_t machid;
	uint32_t pad;
	uint64_t gpa;
	uint64_t size;
};

struct nvmm_ioc_ctl {
	int32_t op;
	uint32_t pad;
	uint64_t data;			/* user pointer */
	uint64_t size;
};

#define NVMM_IOC_MAGIC			0xB5

#define NVMM_IOC_CAPABILITY						\
	_IOR(NVMM_IOC_MAGIC, 0, struct nvmm_ioc_capability)
#define NVMM_IOC_MACHINE_CREATE						\
	_IOR(NVMM_IOC_MAGIC, 1, struct nvmm_ioc_machine_create)
#define NVMM_IOC_MACHINE_DESTROY					\
	_IOW(NVMM_IOC_MAGIC, 2, struct nvmm_ioc_machine_destroy)
#define NVMM_IOC_MACHINE_CONFIGURE					\
	_IOW(NVMM_IOC_MAGIC, 3, struct nvmm_ioc_machine_configure)
#define NVMM_IOC_VCPU_CREATE						\
	_IOW(NVMM_IOC_MAGIC, 4, struct nvmm_ioc_vcpu_create)
#define NVMM_IOC_VCPU_DESTROY						\
	_IOW(NVMM_IOC_MAGIC, 5, struct nvmm_ioc_vcpu_destroy)
#define NVMM_IOC_VCPU_CONFIGURE						\
	_IOW(NVMM_IOC_MAGIC, 6, struct nvmm_ioc_vcpu_configure)
#define NVMM_IOC_VCPU_GETSTATE						\
	_IOW(NVMM_IOC_MAGIC, 7, struct nvmm_ioc_vcpu_getstate)
#define NVMM_IOC_VCPU_RUN						\
	_IOW(NVMM_IOC_MAGIC, 8, struct nvmm_ioc_vcpu_run)
#define NVMM_IOC_HVA_MAP						\
	_IOW(NVMM_IOC_MAGIC, 9, struct nvmm_ioc_hva_map)
#define NVMM_IOC_HVA_UNMAP						\
	_IOW(NVMM_IOC_MAGIC, 10, struct nvmm_ioc_hva_unmap)
#define NVMM_IOC_GPA_MAP						\
	_IOW(NVMM_IOC_MAGIC, 11, struct nvmm_ioc_gpa_map)
#define NVMM_IOC_GPA_UNMAP						\
	_IOW(NVMM_IOC_MAGIC, 12, struct nvmm_ioc_gpa_unmap)
#define NVMM_IOC_CTL							\
	_IOW(NVMM_IOC_MAGIC, 13, struct nvmm_ioc_ctl)

#endif /* NVMM_DEV_H */
