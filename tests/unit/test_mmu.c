/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest page walks on synthetic page tables: no paging, 32-bit (PSE,
 * PSE-36), PAE, 4-level and 5-level paging; large pages; U/W/NX
 * accumulated over the levels; reserved bits; and the access checks of the
 * assists' walker (CPL, CR0.WP, SMEP, SMAP with RFLAGS.AC, NX).
 */
#include <errno.h>

#include "ksft.h"
#include "assist_harness.h"
#include "../../libvmm/x86_emul.h"
#include "../../libvmm/x86_ctx.h"

#define P	0x1ULL
#define W	0x2ULL
#define U	0x4ULL
#define PS	0x80ULL
#define NX	(1ULL << 63)
#define R_	NVMM_PROT_READ
#define W_	NVMM_PROT_WRITE
#define X_	NVMM_PROT_EXEC
#define U_	NVMM_PROT_USER

static struct guest g;

static void pte32(uint64_t table, unsigned int idx, uint32_t v)
{
	memcpy(g.ram + table + 4 * idx, &v, 4);
}

static void pte64(uint64_t table, unsigned int idx, uint64_t v)
{
	memcpy(g.ram + table + 8 * idx, &v, 8);
}

static void setup(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	ck_assert_int_eq(g_init(&g), 0);
	x86_mmu_maxphyaddr = 40;
	g.st->crs[NVMM_X64_CR_CR0] = cr0;
	g.st->crs[NVMM_X64_CR_CR3] = cr3;
	g.st->crs[NVMM_X64_CR_CR4] = cr4;
	g.st->msrs[NVMM_X64_MSR_EFER] = efer;
	g.st->segs[NVMM_X64_SEG_SS].attrib.dpl = 0;
	g.st->gprs[NVMM_X64_GPR_RFLAGS] = 2;
	memset(g.ram + 0x10000, 0, 0x10000);
}

/* nvmm_gva_to_gpa() must give gpa and prot, or fail with err. */
static void expect(uint64_t gva, int err, uint64_t gpa, nvmm_prot_t prot)
{
	gpaddr_t got = 0;
	nvmm_prot_t gprot = 0;
	int r = nvmm_gva_to_gpa(&g.mach, &g.vcpu, gva, &got, &gprot);

	if (err != 0) {
		ck_assert_msg(r == -1 && errno == err,
			      "gva %#lx: ret %d errno %d, expected errno %d",
			      (unsigned long)gva, r, errno, err);
		return;
	}
	ck_assert_msg(r == 0, "gva %#lx: errno %d", (unsigned long)gva, errno);
	ck_assert_msg(got == gpa, "gva %#lx: gpa %#lx, expected %#lx",
		      (unsigned long)gva, (unsigned long)got,
		      (unsigned long)gpa);
	ck_assert_msg(gprot == prot, "gva %#lx: prot %#lx, expected %#lx",
		      (unsigned long)gva, (unsigned long)gprot,
		      (unsigned long)prot);
}

/* The assists' walker with an access check; returns the #PF code or -1. */
static int check(uint64_t gva, unsigned int acc)
{
	uint64_t gpa;
	nvmm_prot_t prot;
	uint32_t pferr;

	if (x86_mmu_walk(&g.mach, g.st, gva, acc | X86_ACC_CHECK, &gpa, &prot,
			 &pferr) == 0)
		return -1;
	return (int)pferr;
}

START_TEST(no_paging)
{
	setup(0x11, 0, 0, 0);
	expect(0x12345678, 0, 0x12345678, NVMM_PROT_ALL);
	/* Outside long mode the linear address is 32 bits. */
	expect(0x100001000ULL, 0, 0x1000, NVMM_PROT_ALL);
	ck_assert_int_eq(nvmm_gva_to_gpa(&g.mach, &g.vcpu, 0, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_gva_to_gpa(NULL, &g.vcpu, 0, NULL, NULL), -1);
	g_fini(&g);
}
END_TEST

START_TEST(paging_32bit)
{
	setup(0x80010011, 0x10000, 0, 0);
	pte32(0x10000, 1, 0x11000 | P | W | U);
	pte32(0x11000, 2, 0x200000 | P | W);
	pte32(0x11000, 3, 0x201000 | P | U);
	expect(0x00402123, 0, 0x200123, R_ | W_ | X_);
	expect(0x00403FFF, 0, 0x201FFF, R_ | X_ | U_);
	expect(0x00404000, EFAULT, 0, 0);		/* PTE not present */
	expect(0x00C00000, EFAULT, 0, 0);		/* PDE not present */
	/* PS without CR4.PSE: a table pointer (outside RAM here). */
	pte32(0x10000, 2, 0x00C00000 | PS | P | U);
	expect(0x00812345, EFAULT, 0, 0);
	g.st->crs[NVMM_X64_CR_CR4] = X86_CR4_PSE;
	expect(0x00812345, 0, 0x00C12345, R_ | X_ | U_);
	/* PSE-36: PDE bits 20:13 are address bits 39:32. */
	pte32(0x10000, 3, 0x00400000 | (0x13 << 13) | PS | P | W);
	expect(0x00C00010, 0, 0x1300400010ULL, R_ | W_ | X_);
	/* Above MAXPHYADDR (40): reserved. */
	x86_mmu_maxphyaddr = 36;
	expect(0x00C00010, EINVAL, 0, 0);
	x86_mmu_maxphyaddr = 40;
	/* Bit 21 of a 4 MiB PDE is reserved. */
	pte32(0x10000, 3, 0x00400000 | (1 << 21) | PS | P | W);
	expect(0x00C00010, EINVAL, 0, 0);
	/* Upper gva bits are ignored outside long mode. */
	expect(0xFFFFFFFF00402123ULL, 0, 0x200123, R_ | W_ | X_);
	g_fini(&g);
}
END_TEST

START_TEST(paging_pae)
{
	uint64_t gva = (1ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x56;

	setup(0x80010011, 0x10020, X86_CR4_PAE, X86_EFER_NXE);
	pte64(0x10020, 1, 0x12000 | P);
	pte64(0x12000, 3, 0x13000 | P | W | U);
	pte64(0x13000, 4, 0x300000 | P | W | U | NX);
	pte64(0x12000, 5, 0x200000 | PS | P | W);
	expect(gva, 0, 0x300056, R_ | W_ | U_);
	expect(0x40A01234, 0, 0x201234, R_ | W_ | X_);
	expect(0x00001000, EFAULT, 0, 0);		/* PDPTE 0 absent */
	/* NX with EFER.NXE clear is a reserved bit. */
	g.st->msrs[NVMM_X64_MSR_EFER] = 0;
	expect(gva, EINVAL, 0, 0);
	g.st->msrs[NVMM_X64_MSR_EFER] = X86_EFER_NXE;
	/* PDPTE bits 2:1 are reserved in PAE mode. */
	pte64(0x10020, 1, 0x12000 | P | W);
	expect(gva, EINVAL, 0, 0);
	pte64(0x10020, 1, 0x12000 | P);
	/* PDE bits 62:MAXPHYADDR are reserved. */
	pte64(0x12000, 5, 0x200000 | PS | P | W | (1ULL << 45));
	expect(0x40A01234, EINVAL, 0, 0);
	/* 2 MiB page bits 20:13 are reserved. */
	pte64(0x12000, 5, 0x200000 | PS | P | W | (1ULL << 13));
	expect(0x40A01234, EINVAL, 0, 0);
	g_fini(&g);
}
END_TEST

START_TEST(paging_4level)
{
	uint64_t gva = 0xFFFFFFFF80005789ULL;

	setup(0x80010011, 0x14000, X86_CR4_PAE,
	      X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE);
	pte64(0x14000, 0x1FF, 0x15000 | P | W | U);
	pte64(0x15000, 0x1FE, 0x16000 | P | W | U);
	pte64(0x16000, 0, 0x17000 | P | W | U);
	pte64(0x17000, 5, 0x123000 | P | W | U);
	expect(gva, 0, 0x123789, R_ | W_ | X_ | U_);
	/* 1 GiB page. */
	pte64(0x15000, 0x1FF, 0x40000000 | PS | P | W);
	expect(0xFFFFFFFFC0012345ULL, 0, 0x40012345, R_ | W_ | X_);
	pte64(0x15000, 0x1FF, 0x40000000 | PS | P | W | (1ULL << 13));
	expect(0xFFFFFFFFC0012345ULL, EINVAL, 0, 0);
	/* 2 MiB page. */
	pte64(0x16000, 1, 0x600000 | PS | P | W | U | NX);
	expect(0xFFFFFFFF80212345ULL, 0, 0x612345, R_ | W_ | U_);
	/* Accumulation: no W at the top, NX in the middle. */
	pte64(0x14000, 0x1FF, 0x15000 | P | U);
	expect(gva, 0, 0x123789, R_ | X_ | U_);
	pte64(0x15000, 0x1FE, 0x16000 | P | W | U | NX);
	expect(gva, 0, 0x123789, R_ | U_);
	pte64(0x14000, 0x1FF, 0x15000 | P | W | U);
	pte64(0x15000, 0x1FE, 0x16000 | P | W);
	expect(gva, 0, 0x123789, R_ | W_ | X_);
	/* PS in a PML4E is reserved. */
	pte64(0x14000, 0x1FF, 0x15000 | P | W | U | PS);
	expect(gva, EINVAL, 0, 0);
	pte64(0x14000, 0x1FF, 0x15000 | P | W | U);
	/* Address bits above MAXPHYADDR. */
	pte64(0x17000, 5, 0x123000 | P | W | U | (1ULL << 45));
	expect(gva, EINVAL, 0, 0);
	/* Bits 62:52 are ignored in 4-level paging. */
	pte64(0x17000, 5, 0x123000 | P | W | U | (1ULL << 55));
	expect(gva, 0, 0x123789, R_ | W_ | X_);
	/* Non-canonical. */
	expect(0x0000800000000000ULL, EFAULT, 0, 0);
	/* A table outside RAM (MMIO). */
	pte64(0x16000, 2, 0xF0000000ULL | P | W);
	expect(0xFFFFFFFF80400000ULL, EFAULT, 0, 0);
	g_fini(&g);
}
END_TEST

START_TEST(paging_5level)
{
	uint64_t gva = (1ULL << 48) | 0x1234;

	setup(0x80010011, 0x18000, X86_CR4_PAE | X86_CR4_LA57,
	      X86_EFER_LME | X86_EFER_LMA);
	pte64(0x18000, 1, 0x19000 | P | W | U);
	pte64(0x19000, 0, 0x1A000 | P | W | U);
	pte64(0x1A000, 0, 0x1B000 | P | W | U);
	pte64(0x1B000, 0, 0x200000 | PS | P | W | U);
	expect(gva, 0, 0x201234, R_ | W_ | X_ | U_);
	expect(1ULL << 56, EFAULT, 0, 0);		/* non-canonical */
	expect(0xFF00000000001234ULL, EFAULT, 0, 0);	/* PML5E absent */
	pte64(0x18000, 1, 0x19000 | P | W | U | PS);
	expect(gva, EINVAL, 0, 0);
	/* Without LA57 the same address is not canonical. */
	pte64(0x18000, 1, 0x19000 | P | W | U);
	g.st->crs[NVMM_X64_CR_CR4] = X86_CR4_PAE;
	expect(gva, EFAULT, 0, 0);
	g_fini(&g);
}
END_TEST

START_TEST(access_checks)
{
	const uint64_t ro = 0x1000, rw = 0x2000, sup = 0x3000, nx = 0x4000,
		       none = 0x5000;

	setup(0x80000011, 0x14000, X86_CR4_PAE,
	      X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE);
	pte64(0x14000, 0, 0x15000 | P | W | U);
	pte64(0x15000, 0, 0x16000 | P | W | U);
	pte64(0x16000, 0, 0x17000 | P | W | U);
	pte64(0x17000, 1, 0x100000 | P | U);		/* user, read-only */
	pte64(0x17000, 2, 0x101000 | P | W | U);	/* user, writable */
	pte64(0x17000, 3, 0x102000 | P | W);		/* supervisor */
	pte64(0x17000, 4, 0x103000 | P | W | U | NX);	/* user, no exec */

	/* Supervisor (CPL 0). */
	ck_assert_int_eq(check(ro, X86_ACC_WRITE), -1);	/* CR0.WP clear */
	g.st->crs[NVMM_X64_CR_CR0] |= X86_CR0_WP;
	ck_assert_int_eq(check(ro, X86_ACC_WRITE), X86_PFERR_P | X86_PFERR_W);
	ck_assert_int_eq(check(sup, X86_ACC_WRITE), -1);
	ck_assert_int_eq(check(rw, X86_ACC_EXEC), -1);
	ck_assert_int_eq(check(nx, X86_ACC_EXEC), X86_PFERR_P | X86_PFERR_I);
	ck_assert_int_eq(check(none, X86_ACC_READ), 0);
	ck_assert_int_eq(check(none, X86_ACC_WRITE), X86_PFERR_W);
	/* SMEP: no supervisor fetch from user pages. */
	g.st->crs[NVMM_X64_CR_CR4] |= X86_CR4_SMEP;
	ck_assert_int_eq(check(rw, X86_ACC_EXEC), X86_PFERR_P | X86_PFERR_I);
	ck_assert_int_eq(check(sup, X86_ACC_EXEC), -1);
	ck_assert_int_eq(check(rw, X86_ACC_READ), -1);
	/* SMAP: no supervisor data access to user pages unless AC. */
	g.st->crs[NVMM_X64_CR_CR4] |= X86_CR4_SMAP;
	ck_assert_int_eq(check(rw, X86_ACC_READ), X86_PFERR_P);
	ck_assert_int_eq(check(rw, X86_ACC_WRITE), X86_PFERR_P | X86_PFERR_W);
	g.st->gprs[NVMM_X64_GPR_RFLAGS] |= X86_AC;
	ck_assert_int_eq(check(rw, X86_ACC_READ), -1);
	ck_assert_int_eq(check(rw, X86_ACC_WRITE), -1);
	ck_assert_int_eq(check(ro, X86_ACC_WRITE), X86_PFERR_P | X86_PFERR_W);

	/* User (CPL 3): SMEP/SMAP do not apply. */
	g.st->segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	g.st->crs[NVMM_X64_CR_CR0] &= ~X86_CR0_WP;
	ck_assert_int_eq(check(ro, X86_ACC_READ), -1);
	ck_assert_int_eq(check(ro, X86_ACC_WRITE),
			 X86_PFERR_P | X86_PFERR_W | X86_PFERR_U);
	ck_assert_int_eq(check(sup, X86_ACC_READ), X86_PFERR_P | X86_PFERR_U);
	ck_assert_int_eq(check(rw, X86_ACC_EXEC), -1);
	ck_assert_int_eq(check(nx, X86_ACC_EXEC),
			 X86_PFERR_P | X86_PFERR_U | X86_PFERR_I);
	ck_assert_int_eq(check(none, X86_ACC_READ), X86_PFERR_U);
	/* Virtual-8086 mode is CPL 3 whatever SS says. */
	g.st->segs[NVMM_X64_SEG_SS].attrib.dpl = 0;
	g.st->gprs[NVMM_X64_GPR_RFLAGS] |= X86_VM;
	ck_assert_int_eq(check(sup, X86_ACC_READ), X86_PFERR_P | X86_PFERR_U);
	/* Reserved bits are reported as such. */
	g.st->gprs[NVMM_X64_GPR_RFLAGS] &= ~X86_VM;
	pte64(0x17000, 3, 0x102000 | P | W | (1ULL << 47));
	ck_assert_int_eq(check(sup, X86_ACC_READ),
			 X86_PFERR_P | X86_PFERR_RSVD);
	g_fini(&g);
}
END_TEST

START_TEST(no_syscall_when_cached)
{
	setup(0x11, 0, 0, 0);
	mock_reset();
	expect(0x1000, 0, 0x1000, NVMM_PROT_ALL);
	ck_assert_uint_eq(mock_ioctls, 0);
	/* Not cached: the state is fetched first (one ioctl). */
	g.mach.pages[0]->state_cached = 0;
	expect(0x1000, 0, 0x1000, NVMM_PROT_ALL);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_VCPU_GETSTATE), 1);
	g_fini(&g);
}
END_TEST

/*
 * x86_mmu_walk() walks 4-level and 5-level tables on a path of its own:
 * against x86_mmu_walk_generic() on random tables (flags, large pages,
 * reserved bits, tables outside RAM), addresses, accesses and modes.
 */
START_TEST(long_mode_fast_path_is_the_generic_walk)
{
	static const unsigned int maxphys[] = { 36, 40, 46, 52 };
	uint64_t x = 0xA4093822299F31D0ULL, n_ok = 0, n_fail = 0;
	unsigned int round, i, t;

#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	setup(0x80000011, 0x10000, 0x20, 0xD00);
	for (round = 0; round < 200; round++) {
		x86_mmu_maxphyaddr = maxphys[round % 4];
		/* 16 tables at 0x10000; entries point at them or anywhere. */
		for (t = 0; t < 16; t++) {
			for (i = 0; i < 512; i++) {
				uint64_t r = RND(), e;

				e = 0x10000 + ((r >> 8) % 16) * 0x1000;
				if ((r & 0xF) == 0)
					e = (RND() & 0xFFFFFFF000ULL);
				e |= (r >> 20) & 0x6;		/* W U */
				if ((r >> 24) & 7)		/* P */
					e |= 1;
				if (((r >> 27) & 3) == 0)	/* PS */
					e |= 0x80;
				if (((r >> 29) & 7) == 0)
					e |= 1ULL << 63;
				if (((r >> 32) & 0x3F) == 0)
					e |= 1ULL << (13 + (RND() % 39));
				pte64(0x10000 + t * 0x1000, i, e);
			}
		}
		for (i = 0; i < 2000; i++) {
			uint64_t r = RND(), la = RND(), gpa1 = 0, gpa2 = 0;
			nvmm_prot_t p1 = 0, p2 = 0;
			uint32_t e1 = 0x55, e2 = 0xAA;
			unsigned int acc = (unsigned int)(r & 7);
			int r1, r2, err1, err2;

			if (r & 0x300)	/* canonical, mostly */
				la = (uint64_t)((int64_t)(la << 16) >> 16);
			g.st->crs[NVMM_X64_CR_CR3] = 0x10000 +
				((r >> 9) % 16) * 0x1000 + ((r >> 13) & 0xFE7);
			g.st->crs[NVMM_X64_CR_CR4] = 0x20 |
				((r >> 16) & 1 ? X86_CR4_LA57 : 0) |
				((r >> 17) & 1 ? X86_CR4_SMEP : 0) |
				((r >> 18) & 1 ? X86_CR4_SMAP : 0);
			g.st->crs[NVMM_X64_CR_CR0] = 0x80000011 |
				((r >> 19) & 1 ? X86_CR0_WP : 0);
			g.st->msrs[NVMM_X64_MSR_EFER] = 0x500 |
				((r >> 20) & 1 ? X86_EFER_NXE : 0);
			g.st->segs[NVMM_X64_SEG_SS].attrib.dpl = (r >> 21) & 3;
			g.st->gprs[NVMM_X64_GPR_RFLAGS] = 2 |
				((r >> 23) & 1 ? X86_AC : 0);
			errno = 0;
			r1 = x86_mmu_walk(&g.mach, g.st, la, acc, &gpa1, &p1,
					  &e1);
			err1 = errno;
			errno = 0;
			r2 = x86_mmu_walk_generic(&g.mach, g.st, la, acc, &gpa2,
						  &p2, &e2);
			err2 = errno;
			/* The error code is defined only on failure. */
			if (r1 != r2 || (r1 == -1 && (err1 != err2 ||
						      e1 != e2)) ||
			    (r1 == 0 && (gpa1 != gpa2 || p1 != p2)))
				ck_abort_msg("la %#lx acc %u cr4 %#lx: %d/%d errno "
					     "%d/%d pferr %#x/%#x gpa %#lx/%#lx "
					     "prot %#lx/%#lx", (unsigned long)la,
					     acc, (unsigned long)
					     g.st->crs[NVMM_X64_CR_CR4], r1, r2,
					     err1, err2, e1, e2,
					     (unsigned long)gpa1,
					     (unsigned long)gpa2,
					     (unsigned long)p1, (unsigned long)p2);
			if (r1 == 0)
				n_ok++;
			else
				n_fail++;
		}
	}
#undef RND
	ksft_print("%lu walks the same (%lu translated, %lu faults)",
		   (unsigned long)(n_ok + n_fail), (unsigned long)n_ok,
		   (unsigned long)n_fail);
	ck_assert_uint_gt(n_ok, 10000);
	ck_assert_uint_gt(n_fail, 10000);
	g_fini(&g);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(no_paging),
		KSFT_TEST(paging_32bit),
		KSFT_TEST(paging_pae),
		KSFT_TEST(paging_4level),
		KSFT_TEST(paging_5level),
		KSFT_TEST(access_checks),
		KSFT_TEST(no_syscall_when_cached),
		KSFT_TEST(long_mode_fast_path_is_the_generic_walk),
	};

	return ksft_run("mmu", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
