/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NetBSD's behaviour for memory registrations and VCPU ids (its nvmm.c and
 * libnvmm), one test per row:
 *
 *   vcpu_create, id >= 256              EINVAL (was ENOBUFS)
 *   hva_map, hva 0                      EINVAL (kernel and libvmm)
 *   hva_map inside or identical to a    accepted, as a registration of its
 *     registered range                  own; gpa_map takes any one holding
 *                                       its host range
 *   hva_unmap                           removes one registration of exactly
 *                                       (hva, size); EBUSY only while a gpa
 *                                       mapping using it is held by no other
 *   hva_map partly over a registration  EEXIST
 *   gpa_map over a mapped GPA range     libvmm EINVAL (NetBSD's libnvmm);
 *                                       the kernel's own answer is EEXIST
 *   duplicates                          count against the 512 registrations,
 *                                       freed with the machine
 *
 * Refusals are checked through libvmm and through raw ioctls, as libvmm
 * refuses some before the kernel sees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define MIB		(1024 * 1024)
#define PAGE		4096UL
#define MAX_HVA_MAPS	512	/* nvmm.ko's registrations per machine */

/* A host window of WIN bytes, with an unregistered page on either side. */
#define WIN		(16 * PAGE)

#define RWX		(PROT_READ | PROT_WRITE | PROT_EXEC)

static struct vm vm;

static uint8_t *win_alloc(void)
{
	uint8_t *p = mmap(NULL, WIN + 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(p != MAP_FAILED);
	return p + PAGE;
}

static void win_free(uint8_t *w)
{
	ck_assert_int_eq(munmap(w - PAGE, WIN + 2 * PAGE), 0);
}

/* -------------------------------------------------------------------------- */
/* Raw ioctls on a descriptor of our own: what the kernel itself answers. */

struct raw {
	int fd;
	nvmm_machid_t id;
};

static void raw_open(struct raw *r)
{
	struct nvmm_ioc_machine_create args = { 0 };

	r->fd = emu_open(O_RDWR);
	ck_assert_int_eq(emu_ioctl(r->fd, NVMM_IOC_MACHINE_CREATE, &args), 0);
	r->id = args.machid;
}

static void raw_close(struct raw *r)
{
	struct nvmm_ioc_machine_destroy args = { .machid = r->id };

	ck_assert_int_eq(emu_ioctl(r->fd, NVMM_IOC_MACHINE_DESTROY, &args), 0);
	close(r->fd);
}

static int raw_hva_map(const struct raw *r, uintptr_t hva, size_t size)
{
	struct nvmm_ioc_hva_map args = {
		.machid = r->id, .hva = hva, .size = size,
	};

	return emu_ioctl(r->fd, NVMM_IOC_HVA_MAP, &args);
}

static int raw_hva_unmap(const struct raw *r, uintptr_t hva, size_t size)
{
	struct nvmm_ioc_hva_unmap args = {
		.machid = r->id, .hva = hva, .size = size,
	};

	return emu_ioctl(r->fd, NVMM_IOC_HVA_UNMAP, &args);
}

static int raw_gpa_map(const struct raw *r, uintptr_t hva, uint64_t gpa,
		       size_t size)
{
	struct nvmm_ioc_gpa_map args = {
		.machid = r->id, .prot = PROT_READ | PROT_WRITE,
		.hva = hva, .gpa = gpa, .size = size,
	};

	return emu_ioctl(r->fd, NVMM_IOC_GPA_MAP, &args);
}

static int raw_gpa_unmap(const struct raw *r, uint64_t gpa, size_t size)
{
	struct nvmm_ioc_gpa_unmap args = {
		.machid = r->id, .gpa = gpa, .size = size,
	};

	return emu_ioctl(r->fd, NVMM_IOC_GPA_UNMAP, &args);
}

/* -------------------------------------------------------------------------- */
/* libvmm calls that must fail with a given errno. */

#define ck_fails(call, err)						\
	do {								\
		errno = 0;						\
		ck_assert_int_eq((call), -1);				\
		ck_assert_msg(errno == (err), "%s: errno %d (%s), not %s", \
			      #call, errno, strerror(errno), #err);	\
	} while (0)

static void hva_map(uint8_t *hva, size_t size)
{
	ck_assert_msg(nvmm_hva_map(&vm.mach, (uintptr_t)hva, size) == 0,
		      "hva_map %p+%#zx: %s", (void *)hva, size,
		      strerror(errno));
}

static void hva_unmap(uint8_t *hva, size_t size)
{
	ck_assert_msg(nvmm_hva_unmap(&vm.mach, (uintptr_t)hva, size) == 0,
		      "hva_unmap %p+%#zx: %s", (void *)hva, size,
		      strerror(errno));
}

static void gpa_map(uint8_t *hva, uint64_t gpa, size_t size)
{
	ck_assert_msg(nvmm_gpa_map(&vm.mach, (uintptr_t)hva, gpa, size,
				   RWX) == 0,
		      "gpa_map %p -> %#llx+%#zx: %s", (void *)hva,
		      (unsigned long long)gpa, size, strerror(errno));
}

static void gpa_unmap(uint8_t *hva, uint64_t gpa, size_t size)
{
	ck_assert_msg(nvmm_gpa_unmap(&vm.mach, (uintptr_t)hva, gpa, size) == 0,
		      "gpa_unmap %#llx: %s", (unsigned long long)gpa,
		      strerror(errno));
}

/* -------------------------------------------------------------------------- */
/* A guest on the page at host, mapped at gpa. */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * In long mode at gpa: report the word at gpa + 0x800, store 0x600DF00D
 * at gpa + 0x804, halt. Both must go through the host page at host.
 */
static void probe_run(uint8_t *host, uint64_t gpa)
{
	static uint32_t serial;
	uint32_t magic = 0x5EED0000 | (++serial & 0xFFFF);
	uint8_t code[] = {
		0x8B, 0x04, 0x25, 0, 0, 0, 0,	/* mov gpa+0x800, %eax */
		0xE7, VM_PORT_REPORT,		/* out %eax, $REPORT */
		0xC7, 0x04, 0x25, 0, 0, 0, 0,	/* movl $0x600DF00D, */
		0x0D, 0xF0, 0x0D, 0x60,		/*   gpa+0x804 */
		0xF4,				/* hlt */
	};

	ck_assert_uint_lt(gpa, 1ULL << 31);
	put32(code + 3, (uint32_t)gpa + 0x800);
	put32(code + 12, (uint32_t)gpa + 0x804);
	memcpy(host, code, sizeof(code));
	put32(host + 0x800, magic);
	put32(host + 0x804, 0);

	vm.nreports[0] = 0;
	vm_mode_long(&vm, 0, gpa);
	vm_run_expect(&vm, 0, &magic, 1);
	ck_assert_uint_eq(get32(host + 0x804), 0x600DF00D);
}

/* -------------------------------------------------------------------------- */

START_TEST(vcpu_create_id_256_einval)
{
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_ioc_vcpu_create args;
	struct emu_stats before, after;
	struct raw r;

	emu_stats(&before);
	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_machine_create(&mach), 0);
	ck_fails(nvmm_vcpu_create(&mach, 256, &vcpu), EINVAL);
	ck_fails(nvmm_vcpu_create(&mach, 4096, &vcpu), EINVAL);
	ck_fails(nvmm_vcpu_create(&mach, UINT32_MAX, &vcpu), EINVAL);
	/* The last valid id is taken. */
	ck_assert_int_eq(nvmm_vcpu_create(&mach, 255, &vcpu), 0);
	emu_stats(&after);
	ck_assert_int_eq(after.vcpus, before.vcpus + 1);

	raw_open(&r);
	args.machid = r.id;
	args.cpuid = 256;
	ck_assert_int_eq(emu_ioctl(r.fd, NVMM_IOC_VCPU_CREATE, &args),
			 -EINVAL);
	raw_close(&r);
	ck_assert_int_eq(nvmm_machine_destroy(&mach), 0);
	emu_stats(&after);
	ck_assert_int_eq(after.vcpus, before.vcpus);
}
END_TEST

START_TEST(hva_map_zero_einval)
{
	uint8_t *w = win_alloc();
	struct raw r;

	vm_create(&vm, 1 * MIB);
	ck_fails(nvmm_hva_map(&vm.mach, 0, PAGE), EINVAL);
	ck_fails(nvmm_hva_map(&vm.mach, 0, WIN), EINVAL);

	raw_open(&r);
	ck_assert_int_eq(raw_hva_map(&r, 0, PAGE), -EINVAL);
	ck_assert_int_eq(raw_hva_map(&r, 0, 16 * MIB), -EINVAL);
	/* Nothing was registered: gpa_map from hva 0 is refused too. */
	ck_assert_int_eq(raw_gpa_map(&r, 0, 0x100000, PAGE), -EINVAL);
	ck_assert_int_eq(raw_hva_unmap(&r, 0, PAGE), -ENOENT);
	/* The same machine takes a real range. */
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, WIN), 0);
	raw_close(&r);

	hva_map(w, WIN);
	vm_destroy(&vm);
	win_free(w);
}
END_TEST

START_TEST(hva_map_contained_and_identical_accepted)
{
	uint8_t *w = win_alloc();

	vm_create(&vm, 1 * MIB);
	hva_map(w, WIN);			/* outer */
	hva_map(w + 4 * PAGE, 4 * PAGE);	/* inside */
	hva_map(w, WIN);			/* identical to the outer */
	hva_map(w + 4 * PAGE, 4 * PAGE);	/* identical to the inner */
	hva_map(w + WIN - PAGE, PAGE);		/* inside, at the end */
	hva_map(w, PAGE);			/* inside, at the start */

	/* Only the inner ones left: the outer range is gone in the kernel. */
	hva_unmap(w, WIN);
	hva_unmap(w, WIN);
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)w, WIN), ENOENT);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + PAGE, 0x200000, PAGE,
			      RWX), EINVAL);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 3 * PAGE, 0x200000,
			      2 * PAGE, RWX), EINVAL);

	/* A guest runs on memory mapped from an inner registration. */
	gpa_map(w + 4 * PAGE, 0x100000, 4 * PAGE);
	probe_run(w + 4 * PAGE, 0x100000);
	probe_run(w + 7 * PAGE, 0x103000);
	gpa_map(w + WIN - PAGE, 0x200000, PAGE);
	probe_run(w + WIN - PAGE, 0x200000);
	vm_destroy(&vm);
	win_free(w);
}
END_TEST

START_TEST(hva_unmap_duplicate_leaves_other)
{
	uint8_t *w = win_alloc();

	vm_create(&vm, 1 * MIB);
	hva_map(w, WIN);
	hva_map(w, WIN);
	gpa_map(w, 0x100000, WIN);
	probe_run(w, 0x100000);

	/* One of the two goes; the other still holds the gpa mapping. */
	hva_unmap(w, WIN);
	probe_run(w + 9 * PAGE, 0x109000);
	/* And new gpa mappings can be made from it. */
	gpa_unmap(w, 0x100000, WIN);
	gpa_map(w, 0x100000, WIN);
	probe_run(w + 15 * PAGE, 0x10F000);

	/* The last one still backs the guest: refused. */
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)w, WIN), EBUSY);
	probe_run(w, 0x100000);
	gpa_unmap(w, 0x100000, WIN);
	hva_unmap(w, WIN);
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)w, WIN), ENOENT);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w, 0x100000, WIN, RWX),
		 EINVAL);
	vm_destroy(&vm);
	win_free(w);
}
END_TEST

START_TEST(hva_unmap_ebusy_only_when_uncovered)
{
	uint8_t *w = win_alloc();
	uint8_t *inner = w + 4 * PAGE;

	vm_create(&vm, 1 * MIB);
	hva_map(w, WIN);
	hva_map(inner, 4 * PAGE);
	/* g1 lies partly over the inner range, g2 exactly on it. */
	gpa_map(w + 2 * PAGE, 0x100000, 4 * PAGE);
	gpa_map(inner, 0x200000, 4 * PAGE);

	/* The outer range holds both: the inner one may go. */
	hva_unmap(inner, 4 * PAGE);
	probe_run(inner, 0x200000);
	hva_map(inner, 4 * PAGE);

	/* Only the outer range holds g1. */
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)w, WIN), EBUSY);
	probe_run(w + 2 * PAGE, 0x100000);
	gpa_unmap(w + 2 * PAGE, 0x100000, 4 * PAGE);
	/* g2 is still held by the inner one. */
	hva_unmap(w, WIN);
	probe_run(inner + 3 * PAGE, 0x203000);
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)inner, 4 * PAGE), EBUSY);
	gpa_unmap(inner, 0x200000, 4 * PAGE);
	hva_unmap(inner, 4 * PAGE);

	/* A gpa mapping needs one registration holding it, not two. */
	hva_map(w, 8 * PAGE);
	hva_map(w + 8 * PAGE, 8 * PAGE);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w, 0x100000, WIN, RWX),
		 EINVAL);
	gpa_map(w + 8 * PAGE, 0x100000, 8 * PAGE);
	/* The neighbour does not hold it: it may go, its owner may not. */
	hva_unmap(w, 8 * PAGE);
	ck_fails(nvmm_hva_unmap(&vm.mach, (uintptr_t)w + 8 * PAGE, 8 * PAGE),
		 EBUSY);
	vm_destroy(&vm);
	win_free(w);
}
END_TEST

START_TEST(hva_map_partial_overlap_eexist)
{
	uint8_t *w = win_alloc();
	uint8_t *mid = w + 4 * PAGE;		/* [4, 12) pages of w */
	struct raw r;

	vm_create(&vm, 1 * MIB);
	hva_map(mid, 8 * PAGE);
	ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w, 8 * PAGE), EEXIST);
	ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w + 8 * PAGE, 8 * PAGE),
		 EEXIST);
	ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w, WIN), EEXIST);
	ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w - PAGE, WIN + 2 * PAGE),
		 EEXIST);
	/* Adjacent is not overlapping. */
	hva_map(w, 4 * PAGE);
	hva_map(w + 12 * PAGE, 4 * PAGE);
	vm_destroy(&vm);

	/* The kernel, without libvmm's check in front. */
	raw_open(&r);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid, 8 * PAGE), 0);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, 8 * PAGE), -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w + 8 * PAGE, 8 * PAGE),
			 -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, WIN), -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w + 11 * PAGE, 2 * PAGE),
			 -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w + 3 * PAGE, 2 * PAGE),
			 -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, 4 * PAGE), 0);
	/* Inside and identical: accepted by the kernel itself. */
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid, 8 * PAGE), 0);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid + 2 * PAGE, 4 * PAGE),
			 0);
	/*
	 * [8, 12) lies inside [4, 12) and partly over [6, 10): any
	 * registration holding the range is enough (NetBSD's answer when the
	 * outer one comes first).
	 */
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid + 4 * PAGE, 4 * PAGE),
			 0);
	/* Without the outer ranges, [4, 12) lies partly over both. */
	ck_assert_int_eq(raw_hva_unmap(&r, (uintptr_t)mid, 8 * PAGE), 0);
	ck_assert_int_eq(raw_hva_unmap(&r, (uintptr_t)mid, 8 * PAGE), 0);
	ck_assert_int_eq(raw_hva_unmap(&r, (uintptr_t)mid, 8 * PAGE), -ENOENT);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid, 8 * PAGE), -EEXIST);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)mid + 3 * PAGE, 2 * PAGE),
			 0);
	raw_close(&r);
	win_free(w);
}
END_TEST

START_TEST(gpa_map_overlap_einval)
{
	uint8_t *w = win_alloc();
	struct raw r;

	vm_create(&vm, 1 * MIB);		/* GPA [0, 1 MiB) */
	hva_map(w, WIN);
	gpa_map(w, 0x100000, 4 * PAGE);
	/* Same, inside, around, at either end: EINVAL, as NetBSD's libnvmm. */
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 4 * PAGE, 0x100000,
			      4 * PAGE, RWX), EINVAL);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 4 * PAGE, 0x101000,
			      PAGE, RWX), EINVAL);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 4 * PAGE, 0xFF000,
			      8 * PAGE, RWX), EINVAL);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 4 * PAGE, 0x103000,
			      2 * PAGE, RWX), EINVAL);
	ck_fails(nvmm_gpa_map(&vm.mach, (uintptr_t)w + 4 * PAGE, 0xFF000,
			      2 * PAGE, RWX), EINVAL);
	/* Nothing changed: the first mapping works, next to it is free. */
	probe_run(w, 0x100000);
	gpa_map(w + 4 * PAGE, 0x104000, 4 * PAGE);
	probe_run(w + 4 * PAGE, 0x104000);
	vm_destroy(&vm);

	/* The kernel's own answer stays EEXIST (libvmm refuses first). */
	raw_open(&r);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, WIN), 0);
	ck_assert_int_eq(raw_gpa_map(&r, (uintptr_t)w, 0x100000, 4 * PAGE), 0);
	ck_assert_int_eq(raw_gpa_map(&r, (uintptr_t)w, 0x103000, 4 * PAGE),
			 -EEXIST);
	ck_assert_int_eq(raw_gpa_unmap(&r, 0x100000, 4 * PAGE), 0);
	ck_assert_int_eq(raw_gpa_map(&r, (uintptr_t)w, 0x103000, 4 * PAGE), 0);
	raw_close(&r);
	win_free(w);
}
END_TEST

static void assert_stats_eq(const struct emu_stats *a,
			    const struct emu_stats *b)
{
	ck_assert_int_eq(a->machines, b->machines);
	ck_assert_int_eq(a->vcpus, b->vcpus);
	ck_assert_int_eq(a->pages, b->pages);
	ck_assert_int_eq(a->guest_pages, b->guest_pages);
}

/*
 * Fill the machine's registrations with duplicates and nested ranges of
 * w: n calls are made, all must succeed.
 */
static void fill_duplicates(struct raw *r, uint8_t *w, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uintptr_t hva = (uintptr_t)w;
		size_t size = WIN;
		int ret;

		if (i % 2) {
			hva += (i / 2 % 16) * PAGE;
			size = PAGE;
		}
		if (r)
			ret = raw_hva_map(r, hva, size);
		else if (nvmm_hva_map(&vm.mach, hva, size) == -1)
			ret = -errno;
		else
			ret = 0;
		ck_assert_msg(ret == 0, "registration %u: %s", i,
			      strerror(-ret));
	}
}

START_TEST(hva_duplicates_bounded_freed_with_machine)
{
	struct emu_stats before, during, after;
	uint8_t *w = win_alloc();
	unsigned int round;
	struct raw r;

	emu_stats(&before);
	for (round = 0; round < 2; round++) {
		/* vm_create() registered its RAM: one. */
		vm_create(&vm, 1 * MIB);
		hva_map(w, WIN);
		fill_duplicates(NULL, w, MAX_HVA_MAPS - 2);
		ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w, WIN), ENOBUFS);
		ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w + PAGE, PAGE),
			 ENOBUFS);
		/* Still EEXIST first for a partial overlap, as NetBSD. */
		ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w - PAGE,
				      2 * PAGE), EEXIST);
		/* An unmap frees one slot, and only one. */
		hva_unmap(w, WIN);
		hva_map(w + 3 * PAGE, PAGE);
		ck_fails(nvmm_hva_map(&vm.mach, (uintptr_t)w, WIN), ENOBUFS);

		gpa_map(w + 5 * PAGE, 0x100000, 2 * PAGE);
		probe_run(w + 5 * PAGE, 0x100000);
		probe_run(w + 6 * PAGE, 0x101000);
		emu_stats(&during);
		ck_assert_int_eq(during.machines, before.machines + 1);
		ck_assert_int_gt(during.guest_pages, before.guest_pages + 2);
		vm_destroy(&vm);
		emu_stats(&after);
		assert_stats_eq(&after, &before);
	}

	/* Full, with a gpa mapping, and the descriptor closed: all freed. */
	raw_open(&r);
	fill_duplicates(&r, w, MAX_HVA_MAPS);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, PAGE), -ENOBUFS);
	ck_assert_int_eq(raw_gpa_map(&r, (uintptr_t)w, 0x100000, WIN), 0);
	emu_stats(&during);
	ck_assert_int_eq(during.machines, before.machines + 1);
	close(r.fd);
	emu_stats(&after);
	assert_stats_eq(&after, &before);
	win_free(w);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Duplicates added and removed by threads racing on one machine. */

struct race {
	const struct raw *r;
	uintptr_t hva;
	unsigned int rounds;
	unsigned int failures;
	int last_err;
};

static void *race_thread(void *arg)
{
	struct race *t = arg;
	unsigned int i;
	int ret;

	for (i = 0; i < t->rounds; i++) {
		ret = raw_hva_map(t->r, t->hva, WIN);
		if (ret == 0)
			ret = raw_hva_unmap(t->r, t->hva, WIN);
		if (ret) {
			t->failures++;
			t->last_err = -ret;
		}
	}
	return NULL;
}

START_TEST(hva_duplicates_concurrent)
{
	unsigned int rounds = emu_lane_bochs() ? 300 : 2000, i;
	uint8_t *w = win_alloc();
	struct race t[2];
	pthread_t th[2];
	struct raw r;
	int ret;

	raw_open(&r);
	ck_assert_int_eq(raw_hva_map(&r, (uintptr_t)w, WIN), 0);
	for (i = 0; i < 2; i++) {
		t[i] = (struct race){ .r = &r, .hva = (uintptr_t)w,
				      .rounds = rounds };
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread,
						&t[i]), 0);
	}
	/*
	 * A registration of w always exists (each thread removes one only
	 * after adding one): gpa mappings from it never fail, and an unmap
	 * never finds the guest memory uncovered.
	 */
	for (i = 0; i < rounds; i++) {
		ret = raw_gpa_map(&r, (uintptr_t)w + (i % 16) * PAGE,
				  0x100000, PAGE);
		if (ret == 0)
			ret = raw_gpa_unmap(&r, 0x100000, PAGE);
		ck_assert_msg(ret == 0, "round %u: %s", i, strerror(-ret));
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(t[i].failures == 0, "thread %u: %u failures, %s",
			      i, t[i].failures, strerror(t[i].last_err));
	}
	/* Exactly the first registration is left. */
	ck_assert_int_eq(raw_hva_unmap(&r, (uintptr_t)w, WIN), 0);
	ck_assert_int_eq(raw_hva_unmap(&r, (uintptr_t)w, WIN), -ENOENT);
	raw_close(&r);
	win_free(w);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* The device. */

START_TEST(unknown_ioctl_enotty)
{
	uint64_t junk[8] = { 0 };
	int fd = emu_open(O_RDWR);

	/* NetBSD says EINVAL; an unknown ioctl is ENOTTY on Linux. */
	ck_assert_int_eq(emu_ioctl(fd, _IOW(NVMM_IOC_MAGIC, 99, junk), junk),
			 -ENOTTY);
	close(fd);
}
END_TEST

/* MACH_INFO's nram counts guest mappings (NetBSD: host registrations). */
START_TEST(mach_info_nram_counts_guest_mappings)
{
	struct nvmm_ctl_mach_info info;
	uint8_t *w = win_alloc();

	vm_create(&vm, 1 * MIB);
	hva_map(w, WIN);
	memset(&info, 0, sizeof(info));
	info.machid = vm.mach.machid;
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)), 0);
	ck_assert_uint_eq(info.nram, 1 * MIB);
	gpa_map(w, 0x800000, WIN);
	ck_assert_int_eq(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)), 0);
	ck_assert_uint_eq(info.nram, 1 * MIB + WIN);
	vm_destroy(&vm);
	win_free(w);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(vcpu_create_id_256_einval),
		KSFT_TEST(hva_map_zero_einval),
		KSFT_TEST(hva_map_contained_and_identical_accepted),
		KSFT_TEST(hva_unmap_duplicate_leaves_other),
		KSFT_TEST(hva_unmap_ebusy_only_when_uncovered),
		KSFT_TEST(hva_map_partial_overlap_eexist),
		KSFT_TEST(gpa_map_overlap_einval),
		KSFT_TEST(hva_duplicates_bounded_freed_with_machine),
		KSFT_TEST(hva_duplicates_concurrent),
		KSFT_TEST(unknown_ioctl_enotty),
		KSFT_TEST(mach_info_nram_counts_guest_mappings),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("compat_mem", tests, sizeof(tests) / sizeof(tests[0]),
			120);
}
