// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 facts shared by the SVM and VMX backends: the capability, what a guest
 * sees of CPUID, the reset state, the checks on state handed in by userland
 * and the guest FPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/trapnr.h>
#include <asm/processor-flags.h>
#include <asm/tsc.h>
#include <asm/msr-index.h>
#include <asm/debugreg.h>
#include <asm/mce.h>
#include <asm/ptrace.h>

#include "x86.h"

/* XCR0 bits a guest may enable when the host has them. */
#define NVMM_X86_XCR0_GUEST						\
	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |	\
	 XFEATURE_MASK_AVX512)

u64 nvmm_x86_efer_valid;
u64 nvmm_x86_cr4_valid;
u64 nvmm_x86_xcr0_mask;
u64 nvmm_x86_host_xcr0;
static u32 nvmm_x86_mxcsr_mask;

/* -------------------------------------------------------------------------- */
/* Capability and global setup. */

int nvmm_x86_init(void)
{
	struct fxregs_state *fx;

	if (!boot_cpu_has(X86_FEATURE_FXSR)) {
		pr_err("cannot load: the CPU has no FXSAVE\n");
		return -ENODEV;
	}

	/* The MXCSR bits this CPU implements, as FXSAVE reports them. */
	fx = kzalloc(sizeof(*fx), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	kernel_fpu_begin();
	asm volatile("fxsaveq %0" : "=m" (*fx));
	kernel_fpu_end();
	nvmm_x86_mxcsr_mask = fx->mxcsr_mask ? fx->mxcsr_mask : 0xFFBF;
	kfree(fx);

	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		nvmm_x86_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		nvmm_x86_xcr0_mask = nvmm_x86_host_xcr0 & NVMM_X86_XCR0_GUEST;
		/* AVX-512 state is usable only whole. */
		if ((nvmm_x86_xcr0_mask & XFEATURE_MASK_AVX512) !=
		    XFEATURE_MASK_AVX512)
			nvmm_x86_xcr0_mask &= ~XFEATURE_MASK_AVX512;
	} else {
		nvmm_x86_host_xcr0 = 0;
		nvmm_x86_xcr0_mask = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	}

	nvmm_x86_efer_valid = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
	if (boot_cpu_has(X86_FEATURE_FXSR_OPT))
		nvmm_x86_efer_valid |= EFER_FFXSR;

	nvmm_x86_cr4_valid = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD |
			     X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE |
			     X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE |
			     X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		nvmm_x86_cr4_valid |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		nvmm_x86_cr4_valid |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_PCID))
		nvmm_x86_cr4_valid |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		nvmm_x86_cr4_valid |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		nvmm_x86_cr4_valid |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		nvmm_x86_cr4_valid |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_LA57))
		nvmm_x86_cr4_valid |= X86_CR4_LA57;
	return 0;
}

DEFINE_PER_CPU(unsigned long, nvmm_x86_codes[NVMM_X86_NCODES]);

void nvmm_x86_stats(struct seq_file *m)
{
	unsigned int i;

	seq_printf(m, "tsc_khz %u\n", tsc_khz);
	for (i = 0; i < NVMM_X86_NCODES; i++) {
		unsigned long sum = nvmm_sum(&nvmm_x86_codes[i]);

		if (sum)
			seq_printf(m, "exit_code_%#x %lu\n", i, sum);
	}
}

void nvmm_x86_capability(struct nvmm_capability *cap)
{
	cap->arch.mach_conf_support = 0;
	cap->arch.xcr0_mask = nvmm_x86_xcr0_mask;
	cap->arch.mxcsr_mask = nvmm_x86_mxcsr_mask;
	cap->arch.conf_cpuid_maxops = NVMM_X86_NCPUIDS;
}

/* -------------------------------------------------------------------------- */
/* The state of a VCPU after RESET. */

const struct nvmm_x64_state nvmm_x86_reset_state = {
	.segs = {
		[NVMM_X64_SEG_ES] = {
			.attrib = { .type = 3, .s = 1, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_CS] = {
			.selector = 0xF000,
			.attrib = { .type = 0xB, .s = 1, .p = 1 },
			.limit = 0xFFFF,
			.base = 0xFFFF0000,
		},
		[NVMM_X64_SEG_SS] = {
			.attrib = { .type = 3, .s = 1, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_DS] = {
			.attrib = { .type = 3, .s = 1, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_FS] = {
			.attrib = { .type = 3, .s = 1, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_GS] = {
			.attrib = { .type = 3, .s = 1, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_GDT] = { .limit = 0xFFFF },
		[NVMM_X64_SEG_IDT] = { .limit = 0xFFFF },
		[NVMM_X64_SEG_LDT] = {
			.attrib = { .type = 2, .p = 1 },
			.limit = 0xFFFF,
		},
		[NVMM_X64_SEG_TR] = {
			.attrib = { .type = 0xB, .p = 1 },
			.limit = 0xFFFF,
		},
	},
	.gprs = {
		[NVMM_X64_GPR_RDX] = 0x600,	/* family 6, as NetBSD */
		[NVMM_X64_GPR_RIP] = 0xFFF0,
		[NVMM_X64_GPR_RFLAGS] = 0x2,
	},
	.crs = {
		[NVMM_X64_CR_CR0] = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET,
		[NVMM_X64_CR_XCR0] = XFEATURE_MASK_FP,
	},
	.drs = {
		[NVMM_X64_DR_DR6] = 0xFFFF0FF0,
		[NVMM_X64_DR_DR7] = 0x400,
	},
	.msrs = {
		[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL,
	},
	.fpu = {
		.fx_cw = 0x0040,
		.fx_tw = 0xFF,
		.fx_mxcsr = 0x1F80,
		.fx_mxcsr_mask = 0xFFFF,	/* masked by the CPU's */
	},
};

/* -------------------------------------------------------------------------- */
/* CPUID. */

#define F(x)		BIT(X86_FEATURE_##x & 31)

#define CPUID_MAX_BASIC		0xD
#define CPUID_MAX_HYPERVISOR	0x40000000
#define CPUID_MAX_EXTENDED	0x80000008

/* Leaf 1: what a guest may see of the host's features. */
static const u32 cpuid_1_edx =
	F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | F(MSR) | F(PAE) |
	F(CX8) | F(APIC) | F(SEP) | F(PGE) | F(CMOV) | F(PAT) | F(PSE36) |
	F(CLFLUSH) | F(MMX) | F(FXSR) | F(XMM) | F(XMM2) | F(SELFSNOOP) |
	F(HT);
static const u32 cpuid_1_ecx =
	F(XMM3) | F(PCLMULQDQ) | F(SSSE3) | F(FMA) | F(CX16) | F(PCID) |
	F(XMM4_1) | F(XMM4_2) | F(MOVBE) | F(POPCNT) | F(AES) | F(XSAVE) |
	F(OSXSAVE) | F(AVX) | F(F16C) | F(RDRAND);

/* Leaf 7, subleaf 0. */
static const u32 cpuid_7_ebx =
	F(FSGSBASE) | F(BMI1) | F(AVX2) | F(FDP_EXCPTN_ONLY) | F(SMEP) |
	F(BMI2) | F(ERMS) | F(INVPCID) | F(AVX512F) | F(AVX512DQ) |
	F(RDSEED) | F(ADX) | F(SMAP) | F(AVX512IFMA) | F(CLFLUSHOPT) |
	F(CLWB) | F(AVX512PF) | F(AVX512ER) | F(AVX512CD) | F(SHA_NI) |
	F(AVX512BW) | F(AVX512VL);
static const u32 cpuid_7_ecx =
	F(AVX512VBMI) | F(UMIP) | F(AVX512_VBMI2) | F(GFNI) | F(VAES) |
	F(VPCLMULQDQ) | F(AVX512_VNNI) | F(AVX512_BITALG) |
	F(AVX512_VPOPCNTDQ) | F(LA57) | F(CLDEMOTE) | F(MOVDIRI) |
	F(MOVDIR64B);
static const u32 cpuid_7_edx =
	F(AVX512_4VNNIW) | F(AVX512_4FMAPS) | F(FSRM) |
	F(AVX512_VP2INTERSECT) | F(MD_CLEAR) | F(SERIALIZE) |
	F(AVX512_FP16);
static const u32 cpuid_7_avx512_ebx =
	F(AVX512F) | F(AVX512DQ) | F(AVX512IFMA) | F(AVX512PF) |
	F(AVX512ER) | F(AVX512CD) | F(AVX512BW) | F(AVX512VL);
static const u32 cpuid_7_avx512_ecx =
	F(AVX512VBMI) | F(AVX512_VBMI2) | F(AVX512_VNNI) |
	F(AVX512_BITALG) | F(AVX512_VPOPCNTDQ);
static const u32 cpuid_7_avx512_edx =
	F(AVX512_4VNNIW) | F(AVX512_4FMAPS) | F(AVX512_VP2INTERSECT) |
	F(AVX512_FP16);

/* Leaf 0x80000001 (bits 0-17, 23, 24 of EDX mirror leaf 1 on AMD). */
static const u32 cpuid_81_edx =
	F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | F(MSR) | F(PAE) |
	F(CX8) | F(APIC) | F(SYSCALL) | F(PGE) | F(CMOV) | F(PAT) |
	F(PSE36) | F(NX) | F(MMXEXT) | F(MMX) | F(FXSR) | F(FXSR_OPT) |
	F(GBPAGES) | F(LM) | BIT(30) | F(3DNOW);
static const u32 cpuid_81_ecx =
	F(LAHF_LM) | F(CR8_LEGACY) | F(ABM) | F(SSE4A) | F(MISALIGNSSE) |
	F(3DNOWPREFETCH) | F(XOP) | F(FMA4) | F(TBM);

/* Leaf 0xD, subleaf 1, EAX. */
static const u32 cpuid_d1_eax = F(XSAVEOPT) | F(XSAVEC) | F(XGETBV1);

/* Leaf 0x80000007 EDX: invariant TSC only. */
#define CPUID_8007_EDX_INVTSC	BIT(8)

static void cpuid_clear(u32 regs[4])
{
	memset(regs, 0, 4 * sizeof(regs[0]));
}

/*
 * Bytes of an XSAVE area holding the features in xcr0: in the standard
 * format (each at its CPUID offset), or compacted (XSAVEC: each after the
 * previous, at a 64-byte boundary where CPUID says).
 */
static u32 nvmm_x86_xsave_size(u64 xcr0, bool compacted)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	unsigned int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xD, i, &eax, &ebx, &ecx, &edx);
		if (!compacted)
			size = max(size, eax + ebx);
		else
			size = (ecx & BIT(1) ? ALIGN(size, 64) : size) + eax;
	}
	return size;
}

static void nvmm_x86_cpuid_filter(const struct nvmm_x86_cpuid_ctx *ctx,
				  u32 leaf, u32 subleaf, u32 regs[4])
{
	u64 xcr0_mask = nvmm_x86_xcr0_mask;
	u32 mask;

	switch (leaf) {
	case 0x00000000:
		regs[0] = min_t(u32, regs[0], CPUID_MAX_BASIC);
		break;
	case 0x00000001:
		/* APIC ID = VCPU id; logical processors = VCPUs. */
		regs[1] = (regs[1] & 0x0000FFFF) | (ctx->vcpu_id << 24) |
			  (min_t(u32, ctx->nvcpus, 255) << 16);
		mask = cpuid_1_ecx;
		if (!(xcr0_mask & XFEATURE_MASK_YMM))
			mask &= ~(F(AVX) | F(FMA) | F(F16C));
		if (!(ctx->cr4 & X86_CR4_OSXSAVE))
			mask &= ~F(OSXSAVE);
		regs[2] = (regs[2] & mask) | F(HYPERVISOR);
		regs[3] &= cpuid_1_edx;
		break;
	case 0x00000007:
		if (subleaf != 0) {
			cpuid_clear(regs);
			break;
		}
		regs[0] = 0;
		regs[1] &= cpuid_7_ebx;
		regs[2] &= cpuid_7_ecx;
		regs[3] &= cpuid_7_edx;
		if (!(xcr0_mask & XFEATURE_MASK_YMM))
			regs[1] &= ~F(AVX2);
		if (!(xcr0_mask & XFEATURE_MASK_AVX512)) {
			regs[1] &= ~cpuid_7_avx512_ebx;
			regs[2] &= ~cpuid_7_avx512_ecx;
			regs[3] &= ~cpuid_7_avx512_edx;
		}
		if (!(nvmm_x86_cr4_valid & X86_CR4_LA57))
			regs[2] &= ~F(LA57);
		break;
	case 0x0000000D:
		if (!nvmm_x86_host_xcr0) {
			cpuid_clear(regs);
			break;
		}
		if (subleaf == 0) {
			regs[0] = (u32)xcr0_mask;
			regs[1] = nvmm_x86_xsave_size(ctx->xcr0, false);
			regs[2] = nvmm_x86_xsave_size(xcr0_mask, false);
			regs[3] = (u32)(xcr0_mask >> 32);
		} else if (subleaf == 1) {
			/*
			 * Not what the host kernel turned off (clearcpuid=,
			 * errata): it does not use them, and neither should a
			 * guest. KVM offers the same.
			 */
			mask = cpuid_d1_eax;
			if (!boot_cpu_has(X86_FEATURE_XSAVEOPT))
				mask &= ~F(XSAVEOPT);
			if (!boot_cpu_has(X86_FEATURE_XSAVEC))
				mask &= ~F(XSAVEC);
			if (!boot_cpu_has(X86_FEATURE_XGETBV1))
				mask &= ~F(XGETBV1);
			regs[0] &= mask;
			/* No XSAVES offered: the compacted size of XCR0. */
			regs[1] = (regs[0] & F(XSAVEC)) ?
				  nvmm_x86_xsave_size(ctx->xcr0, true) : 0;
			regs[2] = 0;
			regs[3] = 0;
		} else if (subleaf >= 64 || !(xcr0_mask & BIT_ULL(subleaf))) {
			cpuid_clear(regs);
		}
		break;
	case 0x00000002 ... 0x00000006:
	case 0x00000008 ... 0x0000000C:
		/* Caches, power, PMU, topology: nothing to offer. */
		cpuid_clear(regs);
		break;
	case CPUID_MAX_HYPERVISOR:
		regs[0] = CPUID_MAX_HYPERVISOR;
		memcpy(&regs[1], "___ ", 4);
		memcpy(&regs[2], "NVMM", 4);
		memcpy(&regs[3], " ___", 4);
		break;
	case 0x80000000:
		regs[0] = min_t(u32, regs[0], CPUID_MAX_EXTENDED);
		regs[1] = 0;
		regs[2] = 0;
		regs[3] = 0;
		break;
	case 0x80000001:
		regs[2] &= cpuid_81_ecx;
		regs[3] &= cpuid_81_edx;
		break;
	case 0x80000002 ... 0x80000006:
		/* Brand string, caches and TLBs: the host's. */
		break;
	case 0x80000007:
		regs[0] = 0;
		regs[1] = 0;
		regs[2] = 0;
		regs[3] &= CPUID_8007_EDX_INVTSC;
		break;
	case 0x80000008:
		regs[0] &= 0xFFFF;		/* physical, virtual widths */
		regs[1] = 0;
		regs[2] = (min_t(u32, ctx->nvcpus, 256) - 1) | (8 << 12);
		regs[3] = 0;
		break;
	default:
		cpuid_clear(regs);
		break;
	}
}

bool nvmm_x86_cpuid(const struct nvmm_x86_cpuid_conf *confs,
		    const struct nvmm_x86_cpuid_ctx *ctx, u32 leaf, u32 subleaf,
		    u32 regs[4])
{
	/*
	 * The host's limits as the kernel read them at boot: a host CPUID
	 * serializes, and is itself a VM exit when the host is a guest.
	 */
	u32 max_basic = min_t(u32, boot_cpu_data.cpuid_level, CPUID_MAX_BASIC);
	u32 max, l = leaf;
	unsigned int i;

	/* Leaves past the maximum answer as the highest basic leaf. */
	if (l < CPUID_MAX_HYPERVISOR)
		max = max_basic;
	else if (l < 0x80000000)
		max = CPUID_MAX_HYPERVISOR;
	else
		max = min_t(u32, boot_cpu_data.extended_cpuid_level,
			    CPUID_MAX_EXTENDED);
	if (l > max)
		l = max_basic;

	if (l == CPUID_MAX_HYPERVISOR)
		cpuid_clear(regs);
	else
		cpuid_count(l, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]);
	nvmm_x86_cpuid_filter(ctx, l, subleaf, regs);

	for (i = 0; i < confs->n; i++) {
		const struct nvmm_vcpu_conf_cpuid *c = &confs->conf[i];

		if (c->leaf != leaf)
			continue;
		if (c->exit)
			return true;
		regs[0] = (regs[0] & ~c->u.mask.del.eax) | c->u.mask.set.eax;
		regs[1] = (regs[1] & ~c->u.mask.del.ebx) | c->u.mask.set.ebx;
		regs[2] = (regs[2] & ~c->u.mask.del.ecx) | c->u.mask.set.ecx;
		regs[3] = (regs[3] & ~c->u.mask.del.edx) | c->u.mask.set.edx;
		break;
	}
	return false;
}

/*
 * NVMM_VCPU_CONF_CPUID: a leaf gets a mask or an exit, or loses its
 * configuration when neither is asked for.
 */
int nvmm_x86_conf_cpuid(struct nvmm_x86_cpuid_conf *confs,
			const void __user *uconf)
{
	struct nvmm_vcpu_conf_cpuid c;
	unsigned int i;

	if (copy_from_user(&c, uconf, sizeof(c)))
		return -EFAULT;
	/* As NetBSD: reserved bits, and set/del without mask, ignored. */
	c.rsvd = 0;
	if (c.mask && c.exit)
		return -EINVAL;
	if (c.mask) {
		/* A bit both set and deleted is refused, as NetBSD does. */
		if ((c.u.mask.set.eax & c.u.mask.del.eax) ||
		    (c.u.mask.set.ebx & c.u.mask.del.ebx) ||
		    (c.u.mask.set.ecx & c.u.mask.del.ecx) ||
		    (c.u.mask.set.edx & c.u.mask.del.edx))
			return -EINVAL;
	} else {
		memset(&c.u, 0, sizeof(c.u));
	}

	for (i = 0; i < confs->n; i++) {
		if (confs->conf[i].leaf == c.leaf)
			break;
	}
	if (!c.mask && !c.exit) {
		/* Removed: the last entry fills its place. */
		if (i < confs->n)
			confs->conf[i] = confs->conf[--confs->n];
		return 0;
	}
	if (i == confs->n) {
		if (confs->n == NVMM_X86_NCPUIDS)
			return -ENOBUFS;
		confs->n++;
	}
	confs->conf[i] = c;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Checks on state handed in by userland. */

bool nvmm_x86_canonical(u64 va)
{
	unsigned int bits = boot_cpu_has(X86_FEATURE_LA57) ? 57 : 48;

	return ((s64)(va << (64 - bits)) >> (64 - bits)) == (s64)va;
}

bool nvmm_x86_xcr0_valid(u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP))
		return false;
	if (xcr0 & ~nvmm_x86_xcr0_mask)
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if (xcr0 & XFEATURE_MASK_AVX512) {
		if ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
			return false;
		if (!(xcr0 & XFEATURE_MASK_YMM))
			return false;
	}
	return true;
}

bool nvmm_x86_pat_valid(u64 pat)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		u8 type = (pat >> (i * 8)) & 0xFF;

		if (type != 0 && type != 1 && type != 4 && type != 5 &&
		    type != 6 && type != 7)
			return false;
	}
	return true;
}

/*
 * The checks below return NULL when the group can be loaded, else why it
 * cannot: what the host cannot take (a value its own instructions would
 * fault on, or state the world switch cannot load), once NetBSD's
 * sanitizing (nvmm_x86_state_sanitize) has been applied.
 */
static const char *nvmm_x86_check_crs(const struct nvmm_x64_state *st)
{
	u64 cr0 = st->crs[NVMM_X64_CR_CR0];

	if (cr0 >> 32)
		return "CR0 has bits above 31";
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return "CR0.NW without CR0.CD";
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	return NULL;
}

static const char *nvmm_x86_check_msrs(const struct nvmm_x64_state *st)
{
	if (!nvmm_x86_pat_valid(st->msrs[NVMM_X64_MSR_PAT]))
		return "PAT holds a reserved memory type";
	if (!nvmm_x86_canonical(st->msrs[NVMM_X64_MSR_LSTAR]) ||
	    !nvmm_x86_canonical(st->msrs[NVMM_X64_MSR_CSTAR]) ||
	    !nvmm_x86_canonical(st->msrs[NVMM_X64_MSR_KERNELGSBASE]) ||
	    !nvmm_x86_canonical(st->msrs[NVMM_X64_MSR_SYSENTER_ESP]) ||
	    !nvmm_x86_canonical(st->msrs[NVMM_X64_MSR_SYSENTER_EIP]))
		return "a non-canonical address in an MSR";
	if (st->msrs[NVMM_X64_MSR_SFMASK] >> 32)
		return "SFMASK has bits above 31";
	return NULL;
}

static const char *nvmm_x86_check_drs(const struct nvmm_x64_state *st)
{
	unsigned int i;

	/* The host loads DR0-3 as they are: they must be canonical. */
	for (i = NVMM_X64_DR_DR0; i <= NVMM_X64_DR_DR3; i++) {
		if (!nvmm_x86_canonical(st->drs[i]))
			return "a non-canonical address in DR0-3";
	}
	if (st->drs[NVMM_X64_DR_DR7] >> 32)
		return "DR7 has bits above 31";
	return NULL;
}

static const char *nvmm_x86_check_segs(const struct nvmm_x64_state *st)
{
	unsigned int i;

	for (i = 0; i < NVMM_X64_NSEG; i++) {
		if (!nvmm_x86_canonical(st->segs[i].base))
			return "a non-canonical segment base";
	}
	return NULL;
}

/*
 * XCR0 after NetBSD's masking, made a combination XSETBV accepts: the host
 * loads it before entry. NetBSD offers only x87 and SSE, where no bad
 * combination can remain; with YMM and AVX-512 offered, the dependent
 * features are dropped (YMM needs SSE; AVX-512 needs YMM and all of it).
 */
static u64 nvmm_x86_xcr0_sanitize(u64 xcr0)
{
	xcr0 &= nvmm_x86_xcr0_mask;
	xcr0 |= XFEATURE_MASK_FP;
	if (!(xcr0 & XFEATURE_MASK_SSE))
		xcr0 &= ~XFEATURE_MASK_YMM;
	if (!(xcr0 & XFEATURE_MASK_YMM) ||
	    (xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
		xcr0 &= ~XFEATURE_MASK_AVX512;
	return xcr0;
}

/*
 * What NetBSD's kernel makes of committed state before loading it, or
 * what it would: the rows of doc/compat.md marked "cleared" or "masked".
 */
static void nvmm_x86_state_sanitize(struct nvmm_x64_state *st, u64 flags)
{
	unsigned int i;

	if (flags & NVMM_X64_STATE_SEGS) {
		/* Only the named attribute bits reach the hardware. */
		for (i = 0; i < NVMM_X64_NSEG; i++)
			st->segs[i].attrib.rsvd = 0;
	}
	if (flags & NVMM_X64_STATE_CRS) {
		/* CR0.ET is 1 on every x86-64 CPU (NetBSD's VMX forces it). */
		st->crs[NVMM_X64_CR_CR0] |= X86_CR0_ET;
		/* CR4: the bits the guest is not offered are cleared. */
		st->crs[NVMM_X64_CR_CR4] &= nvmm_x86_cr4_valid;
		/* CR8: the TPR is 4 bits. */
		st->crs[NVMM_X64_CR_CR8] &= 0xF;
		st->crs[NVMM_X64_CR_XCR0] =
			nvmm_x86_xcr0_sanitize(st->crs[NVMM_X64_CR_XCR0]);
	}
	if (flags & NVMM_X64_STATE_DRS) {
		/* DR6 is 32 bits (NetBSD's VMX backend truncates it too). */
		st->drs[NVMM_X64_DR_DR6] &= 0xFFFFFFFF;
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		/* EFER: the bits the guest is not offered (SVME...) cleared. */
		st->msrs[NVMM_X64_MSR_EFER] &= nvmm_x86_efer_valid;
		/* SYSENTER_CS is 32 bits (a 32-bit VMCS field on NetBSD). */
		st->msrs[NVMM_X64_MSR_SYSENTER_CS] &= 0xFFFFFFFF;
	}
	if (flags & NVMM_X64_STATE_FPU) {
		/* MXCSR: only the bits of the given mask the CPU has. */
		st->fpu.fx_mxcsr_mask &= nvmm_x86_mxcsr_mask;
		st->fpu.fx_mxcsr &= st->fpu.fx_mxcsr_mask;
	}
}

static const char * const nvmm_x86_state_names[] = {
	"SEGS", "GPRS", "CRS", "DRS", "MSRS", "INTR", "FPU",
};

int nvmm_x86_state_prepare(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
			   u64 flags)
{
	const char *why = NULL;
	u64 group = 0;

	/* GPRS and INTR need neither: the common commit after an exit. */
	if (!(flags & NVMM_X86_STATE_PREPARED))
		return 0;
	nvmm_x86_state_sanitize(st, flags);

	group = NVMM_X64_STATE_SEGS;
	why = (flags & group) ? nvmm_x86_check_segs(st) : NULL;
	if (why)
		goto refused;
	group = NVMM_X64_STATE_CRS;
	why = (flags & group) ? nvmm_x86_check_crs(st) : NULL;
	if (why)
		goto refused;
	group = NVMM_X64_STATE_DRS;
	why = (flags & group) ? nvmm_x86_check_drs(st) : NULL;
	if (why)
		goto refused;
	group = NVMM_X64_STATE_MSRS;
	why = (flags & group) ? nvmm_x86_check_msrs(st) : NULL;
	if (why)
		goto refused;
	return 0;

refused:
	nvmm_x86_state_refused(vcpu, group, why);
	return -EINVAL;
}

void nvmm_x86_state_refused(struct nvmm_cpu *vcpu, u64 group,
			    const char *why)
{
	/* Enough for a VMM's whole bad state, too few to flood the log. */
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 30);
	unsigned int bit = group ? __ffs64(group) : 0;

	if (!__ratelimit(&rs))
		return;
	pr_info("pid %d, machine %u, VCPU %u: state refused (%s): %s\n",
		task_tgid_nr(current), vcpu->mach->machid, vcpu->cpuid,
		bit < ARRAY_SIZE(nvmm_x86_state_names) ?
		nvmm_x86_state_names[bit] : "?", why);
}

/*
 * A VMM writes each VCPU's TSC on its own, at different times: QEMU at
 * reset, and again with the value it read some time before whenever it
 * syncs a VCPU's whole state (INIT, SIPI). Taken literally, as NetBSD does,
 * every such write leaves that VCPU's TSC behind its siblings', and Linux
 * finds the warp and gives up the TSC for a clock that exits on every read
 * (the HPET). As KVM does, a write of 0 (a reset, a new VCPU) or of a value
 * within a second of the machine's TSC is taken as a resynchronization:
 * the VCPU gets the offset its siblings have. Any other value starts a new
 * offset, which later writes then match. The guest's own WRMSR is exact.
 */
u64 nvmm_x86_tsc_offset(struct nvmm_machine *mach, u64 value)
{
	u64 host, window = (u64)tsc_khz * 1000, offset;

	spin_lock(&mach->tsc_lock);
	host = rdtsc();
	offset = value - host;
	if (mach->tsc_valid &&
	    (value == 0 || value - (host + mach->tsc_offset) + window <=
			   2 * window))
		offset = mach->tsc_offset;
	mach->tsc_offset = offset;
	mach->tsc_valid = true;
	spin_unlock(&mach->tsc_lock);
	return offset;
}

/*
 * A machine check that stopped the guest (an #MC intercept, or one during
 * VM entry) is the host's: its handler sees it as from user mode, as KVM
 * forwards it.
 */
void nvmm_x86_machine_check(void)
{
	struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

	do_machine_check(&regs);
}

/* #SX, AMD's security exception (APM vol. 2, chapter 8): no Linux name. */
#define NVMM_X86_TRAP_SX	30

bool nvmm_x86_excp_has_error(u8 vector)
{
	switch (vector) {
	case X86_TRAP_DF:
	case X86_TRAP_TS:
	case X86_TRAP_NP:
	case X86_TRAP_SS:
	case X86_TRAP_GP:
	case X86_TRAP_PF:
	case X86_TRAP_AC:
	case X86_TRAP_CP:
	case X86_TRAP_VC:
	case NVMM_X86_TRAP_SX:
		return true;
	default:
		return false;
	}
}

bool nvmm_x86_excp_sets_rf(u8 vector)
{
	switch (vector) {
	case X86_TRAP_DB:
	case X86_TRAP_BP:
	case X86_TRAP_OF:
	case X86_TRAP_DF:
	case X86_TRAP_MC:
		return false;
	default:
		return true;
	}
}

int nvmm_x86_event_check(struct nvmm_vcpu_event *ev)
{
	switch (ev->type) {
	case NVMM_VCPU_EVENT_EXCP:
		/*
		 * Vectors 1-31 but the NMI's. #DE and #BP are refused, as
		 * NetBSD refuses them: the guest raises those itself.
		 */
		if (ev->vector == X86_TRAP_DE || ev->vector == X86_TRAP_NMI ||
		    ev->vector == X86_TRAP_BP || ev->vector >= 32)
			return -EINVAL;
		/* The error code is 32 bits: the rest is dropped. */
		ev->u.excp.error &= 0xFFFFFFFF;
		return 0;
	case NVMM_VCPU_EVENT_INTR:
		return 0;
	default:
		return -EINVAL;
	}
}

int nvmm_x86_xsetbv_check(u64 cr4, u32 ecx, unsigned int cpl, u64 val)
{
	if (!(cr4 & X86_CR4_OSXSAVE))
		return 6;	/* #UD */
	if (ecx != 0 || cpl != 0 || !nvmm_x86_xcr0_valid(val))
		return 13;	/* #GP(0) */
	return 0;
}

/* -------------------------------------------------------------------------- */
/* The guest FPU, kept in a kernel fpstate switched in for the guest. */

static void nvmm_fpu_to_uabi(struct fpu_guest *gfpu, void *buf)
{
#ifdef NVMM_FPU_UABI_XFEATURES
	fpu_copy_guest_fpstate_to_uabi(gfpu, buf, gfpu->uabi_size,
				       nvmm_x86_xcr0_mask | XFEATURE_MASK_FPSSE,
				       0);
#else
	fpu_copy_guest_fpstate_to_uabi(gfpu, buf, gfpu->uabi_size, 0);
#endif
}

int nvmm_x86_fpu_alloc(struct fpu_guest *gfpu)
{
	if (!fpu_alloc_guest_fpstate(gfpu))
		return -ENOMEM;
	return 0;
}

void nvmm_x86_fpu_free(struct fpu_guest *gfpu)
{
	fpu_free_guest_fpstate(gfpu);
}

int nvmm_x86_fpu_get(struct fpu_guest *gfpu, struct fxsave *fx)
{
	void *buf;

	buf = kzalloc(gfpu->uabi_size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	nvmm_fpu_to_uabi(gfpu, buf);
	memcpy(fx, buf, sizeof(*fx));
	kfree(buf);
	return 0;
}

int nvmm_x86_fpu_set(struct fpu_guest *gfpu, const struct fxsave *fx,
		     u64 xcr0)
{
	struct xregs_state *xs;
	u32 pkru = 0;
	int ret;

	/* The reset state, or one nvmm_x86_state_prepare() has sanitized. */
	if (WARN_ON_ONCE(fx->fx_mxcsr & ~nvmm_x86_mxcsr_mask))
		return -EINVAL;
	xs = kzalloc(gfpu->uabi_size, GFP_KERNEL);
	if (!xs)
		return -ENOMEM;
	/* Keep the other components, replace the legacy area. */
	nvmm_fpu_to_uabi(gfpu, xs);
	memcpy(&xs->i387, fx, sizeof(*fx));
	xs->header.xfeatures |= XFEATURE_MASK_FPSSE;
	xs->header.xfeatures &= xcr0 | XFEATURE_MASK_FPSSE;
	ret = fpu_copy_uabi_to_guest_fpstate(gfpu, xs,
					     xcr0 | XFEATURE_MASK_FPSSE,
					     &pkru);
	kfree(xs);
	return ret;
}

void nvmm_x86_fpu_reset(struct fpu_guest *gfpu, u64 xcr0)
{
	nvmm_x86_fpu_set(gfpu, &nvmm_x86_reset_state.fpu, xcr0);
}
