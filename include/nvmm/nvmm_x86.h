/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86 part of the nvmm kernel/user interface: VCPU state, exits, events,
 * capability and configuration records. Shared by nvmm.ko and libvmm.
 *
 * The names follow NetBSD's libnvmm version 2 so that emulators written for
 * it build unchanged; the binary layout is this project's own.
 */
#ifndef NVMM_X86_H
#define NVMM_X86_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stdint.h>
#endif

/* -------------------------------------------------------------------------- */
/* Exits. */

struct nvmm_x86_exit_memory {
	int prot;		/* NVMM_PROT_READ, _WRITE or _EXEC */
	uint64_t gpa;
	uint8_t inst_len;	/* 0 when the CPU gave no instruction bytes */
	uint8_t inst_bytes[15];
};

struct nvmm_x86_exit_io {
	bool in;
	uint16_t port;
	int8_t seg;		/* NVMM_X64_SEG_*, -1 when not a string op */
	uint8_t address_size;	/* bytes: 2, 4 or 8 */
	uint8_t operand_size;	/* bytes: 1, 2 or 4 */
	bool rep;
	bool str;
	uint64_t npc;
};

struct nvmm_x86_exit_rdmsr {
	uint32_t msr;
	uint64_t npc;
};

struct nvmm_x86_exit_wrmsr {
	uint32_t msr;
	uint64_t val;
	uint64_t npc;
};

struct nvmm_x86_exit_insn {
	uint64_t npc;
};

struct nvmm_x86_exit_invalid {
	uint64_t hwcode;
};

/* Generic. */
#define NVMM_VCPU_EXIT_NONE		0x0000000000000000ULL
#define NVMM_VCPU_EXIT_STOPPED		0xFFFFFFFFFFFFFFFEULL
#define NVMM_VCPU_EXIT_INVALID		0xFFFFFFFFFFFFFFFFULL
/* x86: operations. */
#define NVMM_VCPU_EXIT_MEMORY		0x0000000000000001ULL
#define NVMM_VCPU_EXIT_IO		0x0000000000000002ULL
/* x86: changes in VCPU state. */
#define NVMM_VCPU_EXIT_SHUTDOWN		0x0000000000001000ULL
#define NVMM_VCPU_EXIT_INT_READY	0x0000000000001001ULL
#define NVMM_VCPU_EXIT_NMI_READY	0x0000000000001002ULL
#define NVMM_VCPU_EXIT_HALTED		0x0000000000001003ULL
#define NVMM_VCPU_EXIT_TPR_CHANGED	0x0000000000001004ULL
/* x86: instructions. */
#define NVMM_VCPU_EXIT_RDMSR		0x0000000000002000ULL
#define NVMM_VCPU_EXIT_WRMSR		0x0000000000002001ULL
#define NVMM_VCPU_EXIT_MONITOR		0x0000000000002002ULL
#define NVMM_VCPU_EXIT_MWAIT		0x0000000000002003ULL
#define NVMM_VCPU_EXIT_CPUID		0x0000000000002004ULL

struct nvmm_x86_exit {
	uint64_t reason;
	union {
		struct nvmm_x86_exit_memory mem;
		struct nvmm_x86_exit_io io;
		struct nvmm_x86_exit_rdmsr rdmsr;
		struct nvmm_x86_exit_wrmsr wrmsr;
		struct nvmm_x86_exit_insn insn;
		struct nvmm_x86_exit_invalid inv;
	} u;
	struct {
		uint64_t rflags;
		uint64_t cr8;
		uint64_t int_shadow:1;
		uint64_t int_window_exiting:1;
		uint64_t nmi_window_exiting:1;
		uint64_t evt_pending:1;
		uint64_t rsvd:60;
	} exitstate;
};

/* -------------------------------------------------------------------------- */
/* Events. */

#define NVMM_VCPU_EVENT_EXCP	0
#define NVMM_VCPU_EVENT_INTR	1

struct nvmm_x86_event {
	unsigned int type;	/* NVMM_VCPU_EVENT_* */
	uint8_t vector;		/* INTR vector 2 is delivered as an NMI */
	union {
		struct {
			uint64_t error;
		} excp;
	} u;
};

/* -------------------------------------------------------------------------- */
/* Capability, machine-dependent part. */

#define NVMM_CAP_ARCH_VCPU_CONF_CPUID	(1ULL << 0)
#define NVMM_CAP_ARCH_VCPU_CONF_TPR	(1ULL << 1)

struct nvmm_cap_md {
	uint64_t mach_conf_support;
	uint64_t vcpu_conf_support;	/* NVMM_CAP_ARCH_VCPU_CONF_* */
	uint64_t xcr0_mask;		/* XCR0 bits a guest may set */
	uint32_t mxcsr_mask;
	uint32_t conf_cpuid_maxops;	/* CPUID configurations per VCPU */
	uint64_t rsvd[6];
};

/* -------------------------------------------------------------------------- */
/* State. "X64" as NetBSD names it. */

#define NVMM_X64_SEG_ES			0
#define NVMM_X64_SEG_CS			1
#define NVMM_X64_SEG_SS			2
#define NVMM_X64_SEG_DS			3
#define NVMM_X64_SEG_FS			4
#define NVMM_X64_SEG_GS			5
#define NVMM_X64_SEG_GDT		6
#define NVMM_X64_SEG_IDT		7
#define NVMM_X64_SEG_LDT		8
#define NVMM_X64_SEG_TR			9
#define NVMM_X64_NSEG			10

#define NVMM_X64_GPR_RAX		0
#define NVMM_X64_GPR_RCX		1
#define NVMM_X64_GPR_RDX		2
#define NVMM_X64_GPR_RBX		3
#define NVMM_X64_GPR_RSP		4
#define NVMM_X64_GPR_RBP		5
#define NVMM_X64_GPR_RSI		6
#define NVMM_X64_GPR_RDI		7
#define NVMM_X64_GPR_R8			8
#define NVMM_X64_GPR_R9			9
#define NVMM_X64_GPR_R10		10
#define NVMM_X64_GPR_R11		11
#define NVMM_X64_GPR_R12		12
#define NVMM_X64_GPR_R13		13
#define NVMM_X64_GPR_R14		14
#define NVMM_X64_GPR_R15		15
#define NVMM_X64_GPR_RIP		16
#define NVMM_X64_GPR_RFLAGS		17
#define NVMM_X64_NGPR			18

#define NVMM_X64_CR_CR0			0
#define NVMM_X64_CR_CR2			1
#define NVMM_X64_CR_CR3			2
#define NVMM_X64_CR_CR4			3
#define NVMM_X64_CR_CR8			4
#define NVMM_X64_CR_XCR0		5
#define NVMM_X64_NCR			6

#define NVMM_X64_DR_DR0			0
#define NVMM_X64_DR_DR1			1
#define NVMM_X64_DR_DR2			2
#define NVMM_X64_DR_DR3			3
#define NVMM_X64_DR_DR6			4
#define NVMM_X64_DR_DR7			5
#define NVMM_X64_NDR			6

#define NVMM_X64_MSR_EFER		0
#define NVMM_X64_MSR_STAR		1
#define NVMM_X64_MSR_LSTAR		2
#define NVMM_X64_MSR_CSTAR		3
#define NVMM_X64_MSR_SFMASK		4
#define NVMM_X64_MSR_KERNELGSBASE	5
#define NVMM_X64_MSR_SYSENTER_CS	6
#define NVMM_X64_MSR_SYSENTER_ESP	7
#define NVMM_X64_MSR_SYSENTER_EIP	8
#define NVMM_X64_MSR_PAT		9
#define NVMM_X64_MSR_TSC		10
#define NVMM_X64_NMSR			11

#define NVMM_X64_STATE_SEGS	0x01
#define NVMM_X64_STATE_GPRS	0x02
#define NVMM_X64_STATE_CRS	0x04
#define NVMM_X64_STATE_DRS	0x08
#define NVMM_X64_STATE_MSRS	0x10
#define NVMM_X64_STATE_INTR	0x20
#define NVMM_X64_STATE_FPU	0x40
#define NVMM_X64_STATE_ALL						\
	(NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS |	\
	 NVMM_X64_STATE_DRS | NVMM_X64_STATE_MSRS | NVMM_X64_STATE_INTR |	\
	 NVMM_X64_STATE_FPU)

struct nvmm_x64_state_seg {
	uint16_t selector;
	struct {		/* hidden part */
		uint16_t type:4;
		uint16_t s:1;
		uint16_t dpl:2;
		uint16_t p:1;
		uint16_t avl:1;
		uint16_t l:1;
		uint16_t def:1;
		uint16_t g:1;
		uint16_t rsvd:4;
	} attrib;
	uint32_t limit;		/* hidden part, in bytes */
	uint64_t base;		/* hidden part */
};

struct nvmm_x64_state_intr {
	uint64_t int_shadow:1;
	uint64_t int_window_exiting:1;
	uint64_t nmi_window_exiting:1;
	uint64_t evt_pending:1;
	uint64_t rsvd:60;
};

/*
 * The legacy FXSAVE image, with the member names of NetBSD's
 * <x86/cpu_extended_state.h> (emulators use them). 512 bytes.
 */
union fp_addr {
	uint64_t fa_64;
	struct {
		uint32_t fa_off;
		uint16_t fa_seg;
		uint16_t fa_opcode;
	} fa_32;
} __attribute__((packed, aligned(4)));

struct fpacc87 {
	uint64_t f87_mantissa;
	uint16_t f87_exp_sign;
} __attribute__((packed));

struct fpaccfx {
	struct fpacc87 r;
	uint8_t f[6];
} __attribute__((packed));

struct xmmreg {
	uint8_t xmm_bytes[16];
};

struct fxsave {
	uint16_t fx_cw;
	uint16_t fx_sw;
	uint8_t fx_tw;		/* abridged tag word */
	uint8_t fx_zero;
	uint16_t fx_opcode;
	union fp_addr fx_ip;
	union fp_addr fx_dp;
	uint32_t fx_mxcsr;
	uint32_t fx_mxcsr_mask;
	struct fpaccfx fx_87_ac[8];
	struct xmmreg fx_xmm[16];
	uint8_t fx_rsvd[48];
	uint8_t fx_kernel[48];
} __attribute__((aligned(16)));

struct nvmm_x64_state {
	struct nvmm_x64_state_seg segs[NVMM_X64_NSEG];
	uint64_t gprs[NVMM_X64_NGPR];
	uint64_t crs[NVMM_X64_NCR];
	uint64_t drs[NVMM_X64_NDR];
	uint64_t msrs[NVMM_X64_NMSR];
	struct nvmm_x64_state_intr intr;
	struct fxsave fpu;
};

/* -------------------------------------------------------------------------- */
/* VCPU configuration, machine-dependent slots. */

#define NVMM_VCPU_CONF_CPUID	NVMM_VCPU_CONF_MD_BEGIN
#define NVMM_VCPU_CONF_TPR	(NVMM_VCPU_CONF_MD_BEGIN + 1)

struct nvmm_vcpu_conf_cpuid {
	uint32_t mask:1;	/* apply u.mask to the leaf's values */
	uint32_t exit:1;	/* exit to userland on this leaf */
	uint32_t rsvd:30;
	uint32_t leaf;
	union {
		struct {
			struct {
				uint32_t eax;
				uint32_t ebx;
				uint32_t ecx;
				uint32_t edx;
			} set;
			struct {
				uint32_t eax;
				uint32_t ebx;
				uint32_t ecx;
				uint32_t edx;
			} del;
		} mask;
	} u;
};

struct nvmm_vcpu_conf_tpr {
	uint32_t exit_changed:1;
	uint32_t rsvd:31;
};

#define nvmm_vcpu_exit		nvmm_x86_exit
#define nvmm_vcpu_event		nvmm_x86_event
#define nvmm_vcpu_state		nvmm_x64_state

#endif /* NVMM_X86_H */
