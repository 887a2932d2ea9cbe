/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's virtio-mmio transport and split virtqueues
 * (tools/nvmm-run/virtio_mmio.c), driven as Linux's virtio_mmio driver
 * drives them (the VIRTIO 1.1 initialization of 3.1.1 and 4.2.3) over a
 * buffer standing for guest RAM: the identification registers, feature
 * negotiation, queue setup, requests through the rings, the interrupt
 * status; then what a hostile driver can do: rings and buffers outside
 * RAM, descriptor loops, indirect descriptors, a readable buffer after a
 * writable one, a queue size that is not a power of 2, a runaway avail
 * index. Each must stop the device (NEEDS_RESET), not the VMM.
 */
#include <string.h>

#include "../../tools/nvmm-run/virtio_mmio.h"
#include "ksft.h"

#define RAM_SIZE	(1 << 20)
#define DESC		0x1000
#define AVAIL		0x2000
#define USED		0x3000
#define QSIZE		8

static uint8_t ram[RAM_SIZE];
static uint8_t config[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static struct nr_virtio v;
static unsigned int notified;
static struct nr_vq_req req;
static int popped;

static void notify(struct nr_virtio *dev, unsigned int q)
{
	notified++;
	popped = nr_vq_pop(dev, q, &req);
}

static uint32_t rd(uint64_t off)
{
	uint32_t val;

	nr_virtio_read(&v, off, (uint8_t *)&val, 4);
	return val;
}

static void wr(uint64_t off, uint32_t val)
{
	nr_virtio_write(&v, off, (const uint8_t *)&val, 4);
}

static void setup(void)
{
	memset(ram, 0, sizeof(ram));
	memset(&v, 0, sizeof(v));
	v.device_id = 2;
	v.features = NR_VIRTIO_F_VERSION_1 | (1ULL << 9);
	v.nqueues = 1;
	v.config = config;
	v.config_len = sizeof(config);
	v.notify = notify;
	v.ram = ram;
	v.ram_size = RAM_SIZE;
	nr_virtio_reset(&v);
	notified = 0;
	popped = 0;
}

/* What Linux does up to DRIVER_OK, with a queue of qsize at the rings. */
static void driver_init(uint32_t qsize, uint64_t desc)
{
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE);
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE | NR_VIRTIO_S_DRIVER);
	wr(0x024, 1);
	wr(0x020, 1);				/* VERSION_1 */
	wr(0x024, 0);
	wr(0x020, 1U << 9);
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE | NR_VIRTIO_S_DRIVER |
	   NR_VIRTIO_S_FEATURES_OK);
	wr(0x030, 0);
	wr(0x038, qsize);
	wr(0x080, (uint32_t)desc);
	wr(0x084, (uint32_t)(desc >> 32));
	wr(0x090, AVAIL);
	wr(0x0A0, USED);
	wr(0x044, 1);
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE | NR_VIRTIO_S_DRIVER |
	   NR_VIRTIO_S_FEATURES_OK | NR_VIRTIO_S_DRIVER_OK);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = ram + DESC + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer chain head as avail entry idx, and notify queue 0. */
static void offer(uint16_t idx, uint16_t head)
{
	uint16_t next = (uint16_t)(idx + 1);

	memcpy(ram + AVAIL + 4 + 2 * (idx % QSIZE), &head, 2);
	memcpy(ram + AVAIL + 2, &next, 2);
	wr(0x050, 0);
}

START_TEST(identifies_and_negotiates)
{
	uint8_t b[8];

	setup();
	ck_assert_uint_eq(rd(0x000), 0x74726976);	/* "virt" */
	ck_assert_uint_eq(rd(0x004), 2);
	ck_assert_uint_eq(rd(0x008), 2);
	wr(0x014, 1);
	ck_assert_uint_eq(rd(0x010), 1);		/* VERSION_1 */
	wr(0x014, 0);
	ck_assert_uint_eq(rd(0x010), 1U << 9);
	wr(0x014, 7);
	ck_assert_uint_eq(rd(0x010), 0);
	/* The config space by byte, by 2 and 8 bytes; past its end: 0. */
	nr_virtio_read(&v, 0x101, b, 1);
	ck_assert_uint_eq(b[0], 0x22);
	nr_virtio_read(&v, 0x100, b, 8);
	ck_assert_mem_eq(b, config, 8);
	nr_virtio_read(&v, 0x107, b, 2);
	ck_assert_uint_eq(b[0] | b[1], 0);
	/* Registers take 32-bit accesses only. */
	nr_virtio_read(&v, 0x000, b, 2);
	ck_assert_uint_eq(b[0] | b[1], 0);

	/* A driver without VERSION_1 does not get FEATURES_OK. */
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE | NR_VIRTIO_S_DRIVER);
	wr(0x024, 0);
	wr(0x020, 0xFFFFFFFF);			/* more than offered */
	ck_assert_uint_eq(v.driver_features, 1U << 9);
	wr(0x070, NR_VIRTIO_S_ACKNOWLEDGE | NR_VIRTIO_S_DRIVER |
	   NR_VIRTIO_S_FEATURES_OK);
	ck_assert_uint_eq(rd(0x070) & NR_VIRTIO_S_FEATURES_OK, 0);
	/* A reset clears it all. */
	wr(0x070, 0);
	ck_assert_uint_eq(rd(0x070), 0);
	ck_assert_uint_eq(v.driver_features, 0);
}
END_TEST

START_TEST(requests_go_round_the_rings)
{
	uint16_t used_idx;
	uint32_t id, len;

	setup();
	driver_init(QSIZE, DESC);
	ck_assert_uint_eq(rd(0x044), 1);
	ck_assert_uint_eq(rd(0x034), NR_VIRTIO_QUEUE_MAX);
	ck_assert_uint_eq(rd(0x070) & NR_VIRTIO_S_NEEDS_RESET, 0);
	/* header (readable) -> data (writable) -> status (writable) */
	desc(3, 0x10000, 16, 1, 5);
	desc(5, 0x20000, 4096, 3, 6);
	desc(6, 0x30000, 1, 2, 0);
	offer(0, 3);
	ck_assert_uint_eq(notified, 1);
	ck_assert_int_eq(popped, 1);
	ck_assert_uint_eq(req.head, 3);
	ck_assert_uint_eq(req.n, 3);
	ck_assert_uint_eq(req.nout, 1);
	ck_assert_ptr_eq(req.iov[0].iov_base, ram + 0x10000);
	ck_assert_uint_eq(req.iov[1].iov_len, 4096);
	ck_assert_ptr_eq(req.iov[2].iov_base, ram + 0x30000);
	ck_assert_int_eq(nr_vq_pop(&v, 0, &req), 0);	/* nothing more */
	nr_vq_push(&v, 0, 3, 4097);
	nr_virtio_interrupt(&v);
	memcpy(&used_idx, ram + USED + 2, 2);
	memcpy(&id, ram + USED + 4, 4);
	memcpy(&len, ram + USED + 8, 4);
	ck_assert_uint_eq(used_idx, 1);
	ck_assert_uint_eq(id, 3);
	ck_assert_uint_eq(len, 4097);
	ck_assert_uint_eq(rd(0x060), 1);
	wr(0x064, 1);
	ck_assert_uint_eq(rd(0x060), 0);

	/* The indexes wrap at 2^16, the ring at its size. */
	v.vq[0].next_avail = 0xFFFF;
	v.vq[0].used_idx = 0xFFFF;
	desc(0, 0x10000, 16, 0, 0);
	offer(0xFFFF, 0);
	ck_assert_int_eq(popped, 1);
	ck_assert_uint_eq(v.vq[0].next_avail, 0);
	nr_vq_push(&v, 0, 0, 0);
	memcpy(&used_idx, ram + USED + 2, 2);
	ck_assert_uint_eq(used_idx, 0);
}
END_TEST

/* A driver breaks a rule: the device stops, asking for a reset. */
static void expect_broken(void)
{
	ck_assert_int_eq(popped, -1);
	ck_assert(rd(0x070) & NR_VIRTIO_S_NEEDS_RESET);
	/* Nothing is taken any more, however good the next request. */
	desc(1, 0x10000, 16, 0, 0);
	popped = 0;
	offer(1, 1);
	ck_assert_int_eq(popped, 0);
	ck_assert_int_eq(nr_vq_pop(&v, 0, &req), 0);
	/* Until a reset, and the driver's setup again. */
	wr(0x070, 0);
	driver_init(QSIZE, DESC);
	ck_assert_uint_eq(rd(0x070) & NR_VIRTIO_S_NEEDS_RESET, 0);
	offer(0, 1);
	ck_assert_int_eq(popped, 1);
}

START_TEST(hostile_chains_stop_the_device)
{
	static const struct {
		const char *what;
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} bad[] = {
		{ "past RAM", RAM_SIZE - 8, 16, 0, 0 },
		{ "wrapping", ~0ULL - 4, 16, 0, 0 },
		{ "indirect", 0x10000, 16, 4, 0 },
		{ "loop", 0x10000, 16, 1, 0 },		/* next: itself */
		{ "next out of range", 0x10000, 16, 1, QSIZE },
	};
	unsigned int k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		setup();
		driver_init(QSIZE, DESC);
		desc(0, bad[k].addr, bad[k].len, bad[k].flags, bad[k].next);
		offer(0, 0);
		ck_assert_msg(popped == -1, "%s: taken", bad[k].what);
		expect_broken();
	}

	/* A readable buffer after a writable one. */
	setup();
	driver_init(QSIZE, DESC);
	desc(0, 0x10000, 16, 3, 1);
	desc(1, 0x20000, 16, 0, 0);
	offer(0, 0);
	expect_broken();

	/* A head index out of the ring. */
	setup();
	driver_init(QSIZE, DESC);
	offer(0, QSIZE);
	expect_broken();

	/* The avail index more than a queue ahead. */
	setup();
	driver_init(QSIZE, DESC);
	desc(0, 0x10000, 16, 0, 0);
	offer(QSIZE, 0);
	expect_broken();
}
END_TEST

START_TEST(bad_rings_are_not_made_ready)
{
	static const struct {
		uint32_t size;
		uint64_t desc;
	} bad[] = {
		{ 6, DESC },				/* not a power of 2 */
		{ 0, DESC },
		{ 512, DESC },				/* above QueueNumMax */
		{ QSIZE, DESC + 8 },			/* misaligned */
		{ QSIZE, RAM_SIZE - 16 },		/* past RAM */
		{ QSIZE, 0xFFFFFFFFFFFFFF00ULL },	/* wrapping */
	};
	unsigned int k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		setup();
		driver_init(bad[k].size, bad[k].desc);
		ck_assert_msg(rd(0x044) == 0, "case %u: ready", k);
		ck_assert(rd(0x070) & NR_VIRTIO_S_NEEDS_RESET);
		/* A notify of a queue that is not ready: nothing. */
		wr(0x050, 0);
		ck_assert_uint_eq(notified, 0);
	}
	/* Queues past nqueues: no size, never ready; selects no queue. */
	setup();
	wr(0x030, 1);
	ck_assert_uint_eq(rd(0x034), 0);
	wr(0x038, QSIZE);
	wr(0x044, 1);
	ck_assert_uint_eq(rd(0x044), 0);
	wr(0x050, 1);
	ck_assert_uint_eq(notified, 0);
	/* A ready queue's registers do not change under the device. */
	setup();
	driver_init(QSIZE, DESC);
	wr(0x080, 0x5000);
	wr(0x038, 2);
	ck_assert_uint_eq(v.vq[0].desc, DESC);
	ck_assert_uint_eq(v.vq[0].num, QSIZE);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(identifies_and_negotiates),
		KSFT_TEST(requests_go_round_the_rings),
		KSFT_TEST(hostile_chains_stop_the_device),
		KSFT_TEST(bad_rings_are_not_made_ready),
	};

	return ksft_run("virtio_mmio", tests,
			sizeof(tests) / sizeof(tests[0]), 30);
}
