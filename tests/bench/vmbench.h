/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmbench: the same guest under nvmm (libvmm) and KVM (raw /dev/kvm).
 * A backend is a small VMM: one machine, one VCPU, the base RAM at GPA 0,
 * long mode; its run loop hands every OUT to vmb_port_out(), the device
 * both share.
 */
#ifndef VMBENCH_H
#define VMBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbench_defs.h"

struct vmb_backend {
	const char *name;
	/* A machine and its VCPU, ram (VMB_RAM_SIZE bytes) at GPA 0. */
	int (*create)(uint8_t *ram);
	void (*destroy)(void);
	/* Long mode at VMB_CODE with RDI, RSI, RDX, R9 as given. */
	int (*start)(uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r9);
	/* Run until the guest's OUT to VMB_PORT_DONE. */
	int (*run)(void);
	/* Guest RAM: hva at gpa, and back. */
	int (*map)(void *hva, uint64_t gpa, size_t size);
	int (*unmap)(void *hva, uint64_t gpa, size_t size);
};

extern const struct vmb_backend vmb_nvmm;
extern const struct vmb_backend vmb_kvm;

/* The device: what the guest's OUTs did since vmb_dev_reset(). */
struct vmb_dev {
	uint64_t nout;		/* OUTs to VMB_PORT_IO */
	uint32_t last;		/* their last value */
	bool sequence_broken;	/* a value other than last + 1 */
	bool done;		/* the OUT to VMB_PORT_DONE came */
	uint32_t done_val;
	uint64_t nexits;	/* exits the run loop saw, of any kind */
	uint64_t nother;	/* OUTs to other ports */
};

extern struct vmb_dev vmb_dev;

void vmb_dev_reset(void);

static inline void vmb_port_out(uint16_t port, uint32_t val)
{
	if (port == VMB_PORT_IO) {
		if (val != vmb_dev.last + 1)
			vmb_dev.sequence_broken = true;
		vmb_dev.last = val;
		vmb_dev.nout++;
	} else if (port == VMB_PORT_DONE) {
		vmb_dev.done = true;
		vmb_dev.done_val = val;
	} else {
		vmb_dev.nother++;
	}
}

/* Errors: print "vmbench: <backend>: ..." with errno's text if set. */
void vmb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *vmb_backend_name;

#endif /* VMBENCH_H */
