/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cost of nvmm_assist_mem() on a mock VCPU (no kernel): a plain MOV to
 * MMIO, an OR (read-modify-write) to MMIO, and REP MOVSB of 4 KiB from RAM
 * to MMIO, in 64-bit mode with paging, the exit's instruction bytes given
 * (as with decode assists) and the state cached as after a real exit; and
 * the MOV again with no bytes in the exit, fetched through the guest page
 * tables (4 levels, 1 GiB pages); and two MOVs in turn, which miss libvmm's
 * one-instruction decode cache every time. Prints ns per call; run it under
 * callgrind (make bench-assist) for instructions per call: each bench_*
 * function makes BENCH_N calls (bench_movsb BENCH_N / 10).
 *
 * The device is as cheap as a device can be (dev_mem_cb: one load or
 * store of the access size, 15 to 17 instructions), so that a bench_*
 * function's count is libvmm's but for that and its loop (about 13
 * instructions per call). For libvmm's alone: BENCH_ONLY=<name> under
 * callgrind, nvmm_assist_mem's inclusive count less dev_mem_cb's.
 */
#include <stdio.h>
#include <time.h>

#include "assist_harness.h"

#define BENCH_N 1000

void bench_mov(struct guest *g);
void bench_mov_miss(struct guest *g);
void bench_or(struct guest *g);
void bench_movsb(struct guest *g);
void bench_mov_fetch(struct guest *g);

/* The device: 64 KiB of registers, mirrored over the MMIO window. */
static uint8_t dev_regs[0x10000 + 8];

static void dev_mem_cb(struct nvmm_mem *mem)
{
	uint8_t *p = &dev_regs[mem->gpa & 0xFFFF];

	switch (mem->size) {
	case 1:
		if (mem->write)
			*p = *mem->data;
		else
			*mem->data = *p;
		break;
	case 2:
		if (mem->write)
			memcpy(p, mem->data, 2);
		else
			memcpy(mem->data, p, 2);
		break;
	case 4:
		if (mem->write)
			memcpy(p, mem->data, 4);
		else
			memcpy(mem->data, p, 4);
		break;
	default:
		if (mem->write)
			memcpy(p, mem->data, 8);
		else
			memcpy(mem->data, p, 8);
		break;
	}
}

static void arm(struct guest *g, const uint8_t *b, size_t n)
{
	g->st->gprs[NVMM_X64_GPR_RIP] = G_CODE;
	g->exit->u.mem.inst_len = (uint8_t)n;
	memcpy(g->exit->u.mem.inst_bytes, b, n);
}

__attribute__((noinline)) void bench_mov(struct guest *g)
{
	static const uint8_t b[] = { 0x89, 0x03 };	/* mov [rbx],eax */
	int i;

	for (i = 0; i < BENCH_N; i++) {
		arm(g, b, sizeof(b));
		if (nvmm_assist_mem(&g->mach, &g->vcpu) != 0)
			abort();
	}
}

__attribute__((noinline)) void bench_mov_fetch(struct guest *g)
{
	static const uint8_t b[] = { 0x89, 0x03 };	/* mov [rbx],eax */
	int i;

	memcpy(g->ram + G_CODE, b, sizeof(b));
	for (i = 0; i < BENCH_N; i++) {
		g->st->gprs[NVMM_X64_GPR_RIP] = G_CODE;
		g->exit->u.mem.inst_len = 0;
		if (nvmm_assist_mem(&g->mach, &g->vcpu) != 0)
			abort();
	}
}

/*
 * Two MOVs in turn, so that each call decodes (libvmm keeps the last
 * decoded instruction per thread: bench_mov measures that hit).
 */
__attribute__((noinline)) void bench_mov_miss(struct guest *g)
{
	static const uint8_t b[2][2] = {
		{ 0x89, 0x03 },		/* mov [rbx],eax */
		{ 0x89, 0x0B },		/* mov [rbx],ecx */
	};
	int i;

	for (i = 0; i < BENCH_N; i++) {
		arm(g, b[i & 1], sizeof(b[0]));
		if (nvmm_assist_mem(&g->mach, &g->vcpu) != 0)
			abort();
	}
}

__attribute__((noinline)) void bench_or(struct guest *g)
{
	static const uint8_t b[] = { 0x09, 0x03 };	/* or [rbx],eax */
	int i;

	for (i = 0; i < BENCH_N; i++) {
		arm(g, b, sizeof(b));
		if (nvmm_assist_mem(&g->mach, &g->vcpu) != 0)
			abort();
	}
}

__attribute__((noinline)) void bench_movsb(struct guest *g)
{
	static const uint8_t b[] = { 0xF3, 0xA4 };	/* rep movsb */
	int i;

	for (i = 0; i < BENCH_N / 10; i++) {
		arm(g, b, sizeof(b));
		g->st->gprs[NVMM_X64_GPR_RSI] = 0x10000;
		g->st->gprs[NVMM_X64_GPR_RDI] = G_MMIO_GPA;
		g->st->gprs[NVMM_X64_GPR_RCX] = 4096;
		if (nvmm_assist_mem(&g->mach, &g->vcpu) != 0 ||
		    g->st->gprs[NVMM_X64_GPR_RCX] != 0)
			abort();
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	static struct guest g;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = dev_mem_cb };
	double t0, t1, t2, t3, t4, t5;
	const char *only;

	if (g_init(&g) != 0 ||
	    nvmm_vcpu_configure(&g.mach, &g.vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) != 0)
		return 1;
	g_mem_exit(&g, NVMM_PROT_WRITE, G_MMIO_GPA + 0x10, NULL, 0, false);
	g.st->gprs[NVMM_X64_GPR_RBX] = G_MMIO_GPA + 0x10;
	g.st->gprs[NVMM_X64_GPR_RAX] = 0x12345678;
	only = getenv("BENCH_ONLY");	/* one of them, for profiles */
	t0 = now();
	if (only == NULL || strcmp(only, "mov") == 0)
		bench_mov(&g);
	t1 = now();
	if (only == NULL || strcmp(only, "or") == 0)
		bench_or(&g);
	t2 = now();
	if (only == NULL || strcmp(only, "movsb") == 0)
		bench_movsb(&g);
	t3 = now();
	if (only == NULL || strcmp(only, "mov_fetch") == 0)
		bench_mov_fetch(&g);
	t4 = now();
	if (only == NULL || strcmp(only, "mov_miss") == 0)
		bench_mov_miss(&g);
	t5 = now();
	printf("mov [rbx],eax to MMIO:   %.0f ns/call\n", (t1 - t0) / BENCH_N);
	printf("or [rbx],eax to MMIO:    %.0f ns/call\n", (t2 - t1) / BENCH_N);
	printf("rep movsb 4 KiB to MMIO: %.0f ns/call (%d callbacks)\n",
	       (t3 - t2) / (BENCH_N / 10), 4096);
	printf("mov, fetched:            %.0f ns/call\n", (t4 - t3) / BENCH_N);
	printf("mov, decoded each time:  %.0f ns/call\n", (t5 - t4) / BENCH_N);
	g_fini(&g);
	return 0;
}
