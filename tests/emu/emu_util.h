/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for the tests that run inside an emulated host with nvmm.ko.
 */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <nvmm.h>

struct emu_stats {
	long machines;
	long vcpus;
	long pages;
	long guest_pages;
	long pt_pages;
};

/* /sys/kernel/debug/nvmm/stats; fails the test when unreadable. */
void emu_stats(struct emu_stats *st);

/* One counter of that file (e.g. "entries": VM entries, all machines). */
long emu_stat(const char *key);

/*
 * QEMU 7.2's TCG (lane svm) ignores the VMCB's interrupt shadow on VMRUN:
 * it saves the shadow at #VMEXIT but never loads it, so a guest re-entered
 * after an exit inside its shadow (a host interrupt there) runs the next
 * instruction without it. A real CPU, and Bochs, keep it.
 */
bool emu_lane_drops_shadow(void);

/* A /proc/meminfo field, in kB. */
long emu_meminfo(const char *key);

/* open("/dev/nvmm", flags | O_CLOEXEC), failing the test on error. */
int emu_open(int flags);

/* ioctl() returning -errno on failure, 0 on success. */
int emu_ioctl(int fd, unsigned long cmd, void *arg);

/* The emulated host's lane: "svm", "svm-bochs", "vmx" or "" if unknown. */
const char *emu_lane(void);

/*
 * Bochs' SVM (lane svm-bochs) has defects a real CPU has not: it never
 * interrupts a guest that loops without exits (kvm_amd hangs the same way
 * there), it panics on a triple fault in a guest instead of a SHUTDOWN
 * exit, and its VMRUN does not load the guest's CR2.
 */
bool emu_lane_bochs_svm(void);

/* Bochs, either CPU (svm-bochs, vmx): slow guests, tests scale down. */
bool emu_lane_bochs(void);

/* The host CPU is Intel's (CPUID vendor): nvmm.ko runs its VMX backend. */
bool emu_host_intel(void);

/*
 * RFLAGS for guests that loop without exits. Bochs' VMX (lane vmx) stops a
 * guest with a host interrupt only while the guest runs with IF=1: it looks
 * at interrupt masking again when IF changes, and a VM entry from the
 * host's IF=0 to a guest's IF=0 changes nothing (long_spin with IF=0 never
 * came back from a run while another thread waited to stop it; with IF=1
 * it did). Such guests take no interrupt: IF=1 there, 0x2 elsewhere.
 */
uint64_t emu_spin_rflags(void);

/* Run the calling thread on CPU cpu only, failing the test on error. */
void emu_pin_to(int cpu);

/* Wait for a child, returning its exit status (or 128 + signal). */
int emu_wait(int pid);

/*
 * Bytes of an XSAVE area for the features in xcr0, from this CPU's leaf
 * 0xD: standard format, or compacted (XSAVEC).
 */
uint32_t emu_xsave_size(uint64_t xcr0, bool compacted);

/* Lines of the kernel log holding needle (root reads it all). */
unsigned int emu_kmsg_count(const char *needle);

/* Drop the page cache so meminfo comparisons are meaningful. */
void emu_drop_caches(void);

#endif /* EMU_UTIL_H */
