/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A virtio block device (VIRTIO 1.1, 5.2) on a raw image file, behind
 * virtio-mmio (virtio_mmio.c) at NR_DISK_BASE with interrupt NR_DISK_GSI:
 * reads, writes, flushes (fdatasync) and the device ID. A read-only file
 * makes a read-only disk (VIRTIO_BLK_F_RO). Requests are served in the
 * thread of the VCPU that notified the queue, under the device's lock;
 * the interrupt is raised after it is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "nvmm-run.h"
#include "virtio_mmio.h"

#define DEVICE_BLOCK		2
#define SECTOR			512ULL

#define F_SEG_MAX		(1ULL << 2)
#define F_RO			(1ULL << 5)
#define F_FLUSH			(1ULL << 9)

#define T_IN			0
#define T_OUT			1
#define T_FLUSH			4
#define T_GET_ID		8
#define S_OK			0
#define S_IOERR			1
#define S_UNSUPP		2
#define ID_LEN			20

static struct {
	struct nr_virtio v;
	pthread_mutex_t lock;
	int fd;
	bool present, raise;
	uint64_t sectors;
	uint8_t config[16];	/* capacity, size_max, seg_max */
	struct nr_vq_req req;
	struct iovec data[NR_VIRTIO_QUEUE_MAX];
} disk = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/* Copy len bytes at offset off of the first n buffers of iov into dst. */
static size_t gather(const struct iovec *iov, unsigned int n, size_t off,
		     void *dst, size_t len)
{
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off,
		       k);
		done += k;
		off = 0;
	}
	return done;
}

/*
 * The buffers of iov[0..n) from byte skip on, up to len bytes, as
 * disk.data: the data part of a request. Returns their count.
 */
static unsigned int slice(const struct iovec *iov, unsigned int n,
			  size_t skip, size_t len)
{
	unsigned int i, m = 0;
	size_t k;

	for (i = 0; i < n && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - skip;
		if (k > len)
			k = len;
		disk.data[m].iov_base = (uint8_t *)iov[i].iov_base + skip;
		disk.data[m].iov_len = k;
		m++;
		len -= k;
		skip = 0;
	}
	return m;
}

static size_t total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* The whole of each buffer from or to the file at off; 0 or -1. */
static int file_io(bool write, unsigned int n, uint64_t off)
{
	unsigned int i;
	size_t done;
	ssize_t k;

	for (i = 0; i < n; i++) {
		for (done = 0; done < disk.data[i].iov_len; done += (size_t)k) {
			uint8_t *p = (uint8_t *)disk.data[i].iov_base + done;
			size_t left = disk.data[i].iov_len - done;

			k = write ? pwrite(disk.fd, p, left, (off_t)off) :
				    pread(disk.fd, p, left, (off_t)off);
			if (k <= 0) {
				if (k < 0 && errno == EINTR) {
					k = 0;
					continue;
				}
				return -1;
			}
			off += (uint64_t)k;
		}
	}
	return 0;
}

/* One request; the bytes written into the driver's buffers. */
static uint32_t serve(const struct nr_vq_req *r)
{
	const struct iovec *out = r->iov, *in = r->iov + r->nout;
	unsigned int nin = r->n - r->nout, m;
	size_t outlen = total(out, r->nout), inlen = total(in, nin), len;
	uint8_t hdr[16], status = S_OK, id[ID_LEN];
	uint64_t sector;
	uint32_t type, written = 0;

	if (inlen == 0)
		return 0;	/* nowhere to put the status: the driver's bug */
	if (gather(out, r->nout, 0, hdr, sizeof(hdr)) < sizeof(hdr)) {
		status = S_IOERR;
		goto done;
	}
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case T_IN:
	case T_OUT:
		len = type == T_IN ? inlen - 1 : outlen - sizeof(hdr);
		if (len % SECTOR || sector > disk.sectors ||
		    len / SECTOR > disk.sectors - sector ||
		    (type == T_OUT && (disk.v.features & F_RO))) {
			status = S_IOERR;
			break;
		}
		m = type == T_IN ? slice(in, nin, 0, len) :
				   slice(out, r->nout, sizeof(hdr), len);
		if (file_io(type == T_OUT, m, sector * SECTOR) == -1)
			status = S_IOERR;
		else if (type == T_IN)
			written = (uint32_t)len;
		break;
	case T_FLUSH:
		if (fdatasync(disk.fd) == -1)
			status = S_IOERR;
		break;
	case T_GET_ID:
		memset(id, 0, sizeof(id));
		memcpy(id, "nvmm-run disk", 13);
		len = inlen - 1 < ID_LEN ? inlen - 1 : ID_LEN;
		m = slice(in, nin, 0, len);
		written = (uint32_t)len;
		for (size_t i = 0, o = 0; i < m; o += disk.data[i].iov_len, i++)
			memcpy(disk.data[i].iov_base, id + o,
			       disk.data[i].iov_len);
		break;
	default:
		status = S_UNSUPP;
		break;
	}
done:
	/* The status: the last byte the driver lets us write. */
	m = slice(in, nin, inlen - 1, 1);
	*(uint8_t *)disk.data[0].iov_base = status;
	return written + 1;
}

static void notify(struct nr_virtio *v, unsigned int q)
{
	uint32_t len;
	int got;

	while ((got = nr_vq_pop(v, q, &disk.req)) == 1) {
		len = serve(&disk.req);
		nr_vq_push(v, q, disk.req.head, len);
		nr_virtio_interrupt(v);
		disk.raise = true;
	}
	if (got == -1)
		nr_err("virtio disk: the driver broke the queue's rules: the "
		       "device waits for a reset");
}

int nr_disk_open(struct nr_vm *vm, const char *path)
{
	struct stat sb;
	bool ro = false;

	disk.fd = open(path, O_RDWR | O_CLOEXEC);
	if (disk.fd == -1 && (errno == EACCES || errno == EROFS)) {
		disk.fd = open(path, O_RDONLY | O_CLOEXEC);
		ro = true;
	}
	if (disk.fd == -1 || fstat(disk.fd, &sb) == -1) {
		nr_errno("disk %s", path);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < SECTOR) {
		nr_err("disk %s: not a regular file of one sector or more",
		       path);
		return -1;
	}
	if (sb.st_size % SECTOR)
		fprintf(stderr, "nvmm-run: disk %s: the last %jd byte(s) are "
			"not a whole sector: not seen\n", path,
			(intmax_t)(sb.st_size % SECTOR));
	disk.sectors = (uint64_t)sb.st_size / SECTOR;
	put64(disk.config, disk.sectors);		/* capacity */
	put32(disk.config + 12, NR_VIRTIO_QUEUE_MAX - 2); /* seg_max */
	disk.v = (struct nr_virtio){
		.device_id = DEVICE_BLOCK,
		.features = NR_VIRTIO_F_VERSION_1 | F_SEG_MAX | F_FLUSH |
			    (ro ? F_RO : 0),
		.nqueues = 1,
		.config = disk.config,
		.config_len = sizeof(disk.config),
		.notify = notify,
		.ram = vm->ram,
		.ram_size = vm->ram_size,
	};
	nr_virtio_reset(&disk.v);
	disk.present = true;
	return 0;
}

bool nr_disk_mmio(struct nvmm_mem *mem)
{
	uint64_t off = mem->gpa - NR_DISK_BASE;
	bool raise;

	if (!disk.present || mem->gpa < NR_DISK_BASE ||
	    off >= NR_VIRTIO_MMIO_SIZE)
		return false;
	pthread_mutex_lock(&disk.lock);
	if (mem->write)
		nr_virtio_write(&disk.v, off, mem->data, mem->size);
	else
		nr_virtio_read(&disk.v, off, mem->data, mem->size);
	raise = disk.raise;
	disk.raise = false;
	pthread_mutex_unlock(&disk.lock);
	if (raise)
		nr_intr_edge(NR_DISK_GSI);
	return true;
}

void nr_disk_close(void)
{
	if (disk.fd != -1)
		close(disk.fd);
	disk.fd = -1;
	disk.present = false;
}
