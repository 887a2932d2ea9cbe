/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * virtio_mmio.c: the virtio-mmio transport, version 2 (VIRTIO 1.1,
 * section 4.2.2), and split virtqueues (2.6) in guest RAM. A model with
 * no threads and no files: the device (virtio_blk.c) gets a queue
 * notification, takes requests with nr_vq_pop(), returns them with
 * nr_vq_push() and raises the interrupt with nr_virtio_interrupt(). Every
 * address the driver gives is checked against guest RAM.
 *
 * Why virtio-mmio and not virtio-pci: no PCI host bridge, configuration
 * space or BARs to emulate; Linux finds the device in the DSDT (_HID
 * LNRO0005) with its registers and interrupt, so the whole transport is
 * one page of registers.
 */
#ifndef NR_VIRTIO_MMIO_H
#define NR_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define NR_VIRTIO_MMIO_SIZE	0x200	/* registers, then config space */
#define NR_VIRTIO_CONFIG	0x100
#define NR_VIRTIO_QUEUE_MAX	256	/* QueueNumMax */
#define NR_VIRTIO_MAX_QUEUES	2

/* Device status bits (2.1). */
#define NR_VIRTIO_S_ACKNOWLEDGE	0x01
#define NR_VIRTIO_S_DRIVER	0x02
#define NR_VIRTIO_S_DRIVER_OK	0x04
#define NR_VIRTIO_S_FEATURES_OK	0x08
#define NR_VIRTIO_S_NEEDS_RESET	0x40
#define NR_VIRTIO_S_FAILED	0x80

#define NR_VIRTIO_F_VERSION_1	(1ULL << 32)

struct nr_vq {
	uint16_t num;			/* QueueNum */
	bool ready;
	uint64_t desc, avail, used;	/* guest-physical */
	uint16_t next_avail;		/* the next avail ring entry to take */
	uint16_t used_idx;
};

/* A request: its descriptor chain as host buffers. */
struct nr_vq_req {
	uint16_t head;
	unsigned int n;			/* buffers */
	unsigned int nout;		/* the first nout are device-readable */
	struct iovec iov[NR_VIRTIO_QUEUE_MAX];
};

struct nr_virtio {
	/* The device's: set before use. */
	uint32_t device_id;
	uint64_t features;		/* offered */
	unsigned int nqueues;
	uint8_t *config;		/* device config space */
	size_t config_len;
	void (*notify)(struct nr_virtio *v, unsigned int queue);
	void (*reset)(struct nr_virtio *v);	/* may be NULL */
	uint8_t *ram;			/* guest RAM at guest-physical 0 */
	uint64_t ram_size;

	/* The transport's. */
	uint64_t driver_features;
	uint32_t dev_features_sel, drv_features_sel;
	uint32_t queue_sel, status, isr;
	struct nr_vq vq[NR_VIRTIO_MAX_QUEUES];
};

/* Back to the state after reset (also what a 0 written to Status does). */
void nr_virtio_reset(struct nr_virtio *v);

/*
 * An access at off in the register page. Registers below the config
 * space take 32-bit accesses only (others read 0, write nothing); the
 * config space takes any size within it. A QueueNotify write calls the
 * device's notify from here.
 */
void nr_virtio_read(struct nr_virtio *v, uint64_t off, uint8_t *data,
		    size_t size);
void nr_virtio_write(struct nr_virtio *v, uint64_t off, const uint8_t *data,
		     size_t size);

/*
 * The next request on queue q: 1 with *req filled, 0 when none, -1 if the
 * driver broke the rules (a buffer outside RAM, a loop, a chain longer than
 * the queue, an indirect descriptor, a device-readable buffer after a
 * writable one): the device then needs a reset (Status NEEDS_RESET) and
 * takes nothing more from any queue until it gets one.
 */
int nr_vq_pop(struct nr_virtio *v, unsigned int q, struct nr_vq_req *req);
/* Return request head to the driver, len bytes written into its buffers. */
void nr_vq_push(struct nr_virtio *v, unsigned int q, uint16_t head,
		uint32_t len);
/*
 * Used buffers are there: InterruptStatus bit 0. The caller then raises
 * an edge on the device's interrupt line, every time: a bit already set
 * may be one the driver has not seen, with its line masked.
 */
void nr_virtio_interrupt(struct nr_virtio *v);

#endif /* NR_VIRTIO_MMIO_H */
