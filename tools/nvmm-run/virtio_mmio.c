/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio-mmio, version 2, and split virtqueues: see virtio_mmio.h.
 * Guest RAM is shared with the driver's VCPUs, which run while the device
 * reads the rings: ring indexes are read once, with acquire and release
 * ordering, and a descriptor is copied before it is checked and used.
 */
#include <string.h>

#include "virtio_mmio.h"

/* Register offsets (VIRTIO 1.1, 4.2.2). */
#define R_MAGIC			0x000
#define R_VERSION		0x004
#define R_DEVICE_ID		0x008
#define R_VENDOR_ID		0x00C
#define R_DEVICE_FEATURES	0x010
#define R_DEVICE_FEATURES_SEL	0x014
#define R_DRIVER_FEATURES	0x020
#define R_DRIVER_FEATURES_SEL	0x024
#define R_QUEUE_SEL		0x030
#define R_QUEUE_NUM_MAX		0x034
#define R_QUEUE_NUM		0x038
#define R_QUEUE_READY		0x044
#define R_QUEUE_NOTIFY		0x050
#define R_INTERRUPT_STATUS	0x060
#define R_INTERRUPT_ACK		0x064
#define R_STATUS		0x070
#define R_QUEUE_DESC_LOW	0x080
#define R_QUEUE_DESC_HIGH	0x084
#define R_QUEUE_DRIVER_LOW	0x090
#define R_QUEUE_DRIVER_HIGH	0x094
#define R_QUEUE_DEVICE_LOW	0x0A0
#define R_QUEUE_DEVICE_HIGH	0x0A4
#define R_CONFIG_GENERATION	0x0FC

#define MAGIC			0x74726976U	/* "virt" */
#define VENDOR			0x4D564E	/* "NVM" */

#define DESC_F_NEXT		1
#define DESC_F_WRITE		2
#define DESC_F_INDIRECT		4

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

void nr_virtio_reset(struct nr_virtio *v)
{
	v->driver_features = 0;
	v->dev_features_sel = 0;
	v->drv_features_sel = 0;
	v->queue_sel = 0;
	v->status = 0;
	v->isr = 0;
	memset(v->vq, 0, sizeof(v->vq));
	if (v->reset != NULL)
		v->reset(v);
}

/* Guest RAM at [gpa, gpa + len), or NULL: outside it, or wrapping. */
static void *ram_at(const struct nr_virtio *v, uint64_t gpa, uint64_t len)
{
	if (gpa > v->ram_size || len > v->ram_size - gpa)
		return NULL;
	return v->ram + gpa;
}

static struct nr_vq *cur_vq(struct nr_virtio *v)
{
	return v->queue_sel < v->nqueues ? &v->vq[v->queue_sel] : NULL;
}

/* Rings in RAM, aligned as 2.6 says, a power-of-2 size: else not ready. */
static bool vq_valid(const struct nr_virtio *v, const struct nr_vq *q)
{
	uint64_t n = q->num;

	return n != 0 && (n & (n - 1)) == 0 && n <= NR_VIRTIO_QUEUE_MAX &&
	       !(q->desc & 15) && !(q->avail & 1) && !(q->used & 3) &&
	       ram_at(v, q->desc, 16 * n) != NULL &&
	       ram_at(v, q->avail, 6 + 2 * n) != NULL &&
	       ram_at(v, q->used, 6 + 8 * n) != NULL;
}

static uint32_t reg_read(struct nr_virtio *v, uint64_t off)
{
	struct nr_vq *q = cur_vq(v);

	switch (off) {
	case R_MAGIC: return MAGIC;
	case R_VERSION: return 2;
	case R_DEVICE_ID: return v->device_id;
	case R_VENDOR_ID: return VENDOR;
	case R_DEVICE_FEATURES:
		return v->dev_features_sel > 1 ? 0 :
		       (uint32_t)(v->features >> (32 * v->dev_features_sel));
	case R_QUEUE_NUM_MAX: return q != NULL ? NR_VIRTIO_QUEUE_MAX : 0;
	case R_QUEUE_READY: return q != NULL && q->ready;
	case R_INTERRUPT_STATUS: return v->isr;
	case R_STATUS: return v->status;
	case R_CONFIG_GENERATION: return 0;
	default: return 0;	/* write-only or reserved */
	}
}

static void set_half(uint64_t *r, bool high, uint32_t val)
{
	if (high)
		*r = (*r & 0xFFFFFFFFULL) | (uint64_t)val << 32;
	else
		*r = (*r & ~0xFFFFFFFFULL) | val;
}

static void reg_write(struct nr_virtio *v, uint64_t off, uint32_t val)
{
	struct nr_vq *q = cur_vq(v);
	uint64_t f;

	switch (off) {
	case R_DEVICE_FEATURES_SEL:
		v->dev_features_sel = val;
		return;
	case R_DRIVER_FEATURES_SEL:
		v->drv_features_sel = val;
		return;
	case R_DRIVER_FEATURES:
		/* Only before FEATURES_OK, and only what was offered. */
		if (v->drv_features_sel > 1 ||
		    (v->status & NR_VIRTIO_S_FEATURES_OK))
			return;
		f = v->driver_features;
		set_half(&f, v->drv_features_sel, val);
		v->driver_features = f & v->features;
		return;
	case R_QUEUE_SEL:
		v->queue_sel = val;
		return;
	case R_QUEUE_NOTIFY:
		if (val < v->nqueues && v->vq[val].ready &&
		    (v->status & NR_VIRTIO_S_DRIVER_OK) &&
		    !(v->status & NR_VIRTIO_S_NEEDS_RESET))
			v->notify(v, val);
		return;
	case R_INTERRUPT_ACK:
		v->isr &= ~val;
		return;
	case R_STATUS:
		if (val == 0) {
			nr_virtio_reset(v);
			return;
		}
		/* FEATURES_OK sticks only with VERSION_1 among them. */
		if ((val & NR_VIRTIO_S_FEATURES_OK) &&
		    !(v->status & NR_VIRTIO_S_FEATURES_OK) &&
		    !(v->driver_features & NR_VIRTIO_F_VERSION_1))
			val &= ~(uint32_t)NR_VIRTIO_S_FEATURES_OK;
		/* The device's own bit stays the device's. */
		v->status = (val & ~(uint32_t)NR_VIRTIO_S_NEEDS_RESET) |
			    (v->status & NR_VIRTIO_S_NEEDS_RESET);
		return;
	}
	/* The queue registers: the selected queue, while it is not ready. */
	if (q == NULL)
		return;
	if (off == R_QUEUE_READY) {
		if (!(val & 1)) {
			q->ready = false;
		} else if (!q->ready) {
			q->ready = vq_valid(v, q);
			q->next_avail = 0;
			q->used_idx = 0;
			if (!q->ready)
				v->status |= NR_VIRTIO_S_NEEDS_RESET;
		}
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case R_QUEUE_NUM:
		q->num = (uint16_t)(val > NR_VIRTIO_QUEUE_MAX ? 0 : val);
		return;
	case R_QUEUE_DESC_LOW:
	case R_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == R_QUEUE_DESC_HIGH, val);
		return;
	case R_QUEUE_DRIVER_LOW:
	case R_QUEUE_DRIVER_HIGH:
		set_half(&q->avail, off == R_QUEUE_DRIVER_HIGH, val);
		return;
	case R_QUEUE_DEVICE_LOW:
	case R_QUEUE_DEVICE_HIGH:
		set_half(&q->used, off == R_QUEUE_DEVICE_HIGH, val);
		return;
	}
}

void nr_virtio_read(struct nr_virtio *v, uint64_t off, uint8_t *data,
		    size_t size)
{
	uint32_t val;

	memset(data, 0, size);
	if (off >= NR_VIRTIO_CONFIG) {
		off -= NR_VIRTIO_CONFIG;
		if (off < v->config_len && size <= v->config_len - off)
			memcpy(data, v->config + off, size);
		return;
	}
	if (size != 4 || (off & 3))
		return;
	val = reg_read(v, off);
	memcpy(data, &val, 4);
}

void nr_virtio_write(struct nr_virtio *v, uint64_t off, const uint8_t *data,
		     size_t size)
{
	uint32_t val;

	if (off >= NR_VIRTIO_CONFIG || size != 4 || (off & 3))
		return;		/* the config space is read-only here */
	memcpy(&val, data, 4);
	reg_write(v, off, val);
}

static uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

int nr_vq_pop(struct nr_virtio *v, unsigned int qi, struct nr_vq_req *req)
{
	struct nr_vq *q = &v->vq[qi];
	const uint8_t *avail = v->ram + q->avail;
	const struct desc *table = (const void *)(v->ram + q->desc);
	struct desc d;
	uint16_t idx, i;
	unsigned int n = 0;
	bool writable = false;
	void *buf;

	if (!q->ready || (v->status & NR_VIRTIO_S_NEEDS_RESET))
		return 0;
	idx = load16(avail + 2);
	if (idx == q->next_avail)
		return 0;
	/* More than a queue's worth outstanding: the driver's bug. */
	if ((uint16_t)(idx - q->next_avail) > q->num)
		goto broken;
	i = load16(avail + 4 + 2 * (q->next_avail % q->num));
	if (i >= q->num)
		goto broken;
	req->head = i;
	req->nout = 0;
	for (;;) {
		if (n == q->num)
			goto broken;	/* longer than the table: a loop */
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & DESC_F_INDIRECT)
			goto broken;	/* not offered */
		buf = ram_at(v, d.addr, d.len);
		if (buf == NULL)
			goto broken;
		if (d.flags & DESC_F_WRITE)
			writable = true;
		else if (writable)
			goto broken;	/* readable after writable */
		else
			req->nout++;
		req->iov[n].iov_base = buf;
		req->iov[n].iov_len = d.len;
		n++;
		if (!(d.flags & DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= q->num)
			goto broken;
	}
	req->n = n;
	q->next_avail++;
	return 1;
broken:
	v->status |= NR_VIRTIO_S_NEEDS_RESET;
	return -1;
}

void nr_vq_push(struct nr_virtio *v, unsigned int qi, uint16_t head,
		uint32_t len)
{
	struct nr_vq *q = &v->vq[qi];
	uint8_t *used = v->ram + q->used;
	uint8_t *e = used + 4 + 8 * (q->used_idx % q->num);
	uint32_t id = head;

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx++;
	/* The entry before the index that publishes it. */
	__atomic_store_n((uint16_t *)(used + 2), q->used_idx,
			 __ATOMIC_RELEASE);
}

void nr_virtio_interrupt(struct nr_virtio *v)
{
	v->isr |= 1;
}
