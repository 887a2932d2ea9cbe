/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: a 16550A UART.
 *   THR  bytes go to stdout as they are (line-buffered; a Linux guest's
 *        VCPU flushes it when it goes idle, for a prompt)
 *   RBR  a byte of stdin once one is there (LSR.DR says so); EOF: none
 *   LSR  THRE and TEMT always (the transmitter is never busy), DR
 *   IIR  received data (IER bit 0) before THR empty (IER bit 1), as the
 *        16550 ranks them; THR empty is cleared by reading IIR while it
 *        is the reason, and set again by each write to THR and by
 *        enabling it; FIFO bits as FCR set them
 *   IRQ  a rising edge of (interrupt pending and MCR.OUT2), as a PC wires
 *        COM1's IRQ 4, goes to the hook nr_serial_set_irq() gave
 *   MSR  CTS, DSR, DCD (or the MCR outputs in loopback mode)
 *   IER, LCR, MCR, SCR, DLL, DLM  read back what was written
 * The VCPU threads share it: one lock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "nvmm-run.h"

#define REG_DATA	0	/* RBR/THR; DLL when LCR.DLAB */
#define REG_IER		1	/* DLM when LCR.DLAB */
#define REG_IIR_FCR	2
#define REG_LCR		3
#define REG_MCR		4
#define REG_LSR		5
#define REG_MSR		6
#define REG_SCR		7

#define LCR_DLAB	0x80
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MCR_LOOP	0x10
#define FCR_ENABLE	0x01
#define MCR_OUT2	0x08
#define IER_RDA		0x01
#define IER_THRE	0x02
#define IIR_NONE	0x01
#define IIR_THRE	0x02
#define IIR_RDA		0x04
#define IIR_FIFO	0xC0
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_DCD		0x80

static struct {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	int rx;			/* the received byte, -1 if none */
	bool rx_eof;
	bool thre;		/* the THR-empty interrupt is pending */
	void (*irq)(void);	/* a rising edge of the IRQ line */
	pthread_cond_t rx_taken;	/* the guest read RBR */
} uart = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.rx_taken = PTHREAD_COND_INITIALIZER,
	.rx = -1,
};

void nr_serial_init(void)
{
	uart.dll = 1;		/* 115200 baud */
	uart.lcr = 0x03;	/* 8N1 */
}

/* The interrupt the IIR reports, or IIR_NONE. */
static uint8_t iir_reason(void)
{
	if ((uart.ier & IER_RDA) && uart.rx != -1)
		return IIR_RDA;
	if ((uart.ier & IER_THRE) && uart.thre)
		return IIR_THRE;
	return IIR_NONE;
}

static bool irq_line(void)
{
	return iir_reason() != IIR_NONE && (uart.mcr & MCR_OUT2);
}

/* A byte from stdin if one is waiting; never blocks. */
static void rx_poll(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	unsigned char c;
	ssize_t n;

	if (uart.rx != -1 || uart.rx_eof)
		return;
	if (poll(&p, 1, 0) != 1)
		return;
	n = read(STDIN_FILENO, &c, 1);
	if (n == 1)
		uart.rx = c;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		uart.rx_eof = true;
}

bool nr_serial_may_interrupt(void)
{
	bool open;

	pthread_mutex_lock(&uart.lock);
	open = !uart.rx_eof;
	pthread_mutex_unlock(&uart.lock);
	return open;
}

/*
 * The receiver's thread: waits for stdin, takes a byte into RBR when it is
 * free, and raises the interrupt when that makes the line rise. It waits
 * for the guest to read RBR before taking the next, as a 16450 would.
 */
static void *rx_thread(void *arg)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	bool before, edge;

	(void)arg;
	for (;;) {
		if (poll(&p, 1, -1) == -1 && errno != EINTR)
			break;
		pthread_mutex_lock(&uart.lock);
		while (uart.rx != -1 && !uart.rx_eof)
			pthread_cond_wait(&uart.rx_taken, &uart.lock);
		before = irq_line();
		rx_poll();
		edge = !before && irq_line();
		if (uart.rx_eof) {
			pthread_mutex_unlock(&uart.lock);
			break;
		}
		pthread_mutex_unlock(&uart.lock);
		if (edge)
			uart.irq();
	}
	return NULL;
}

int nr_serial_set_irq(void (*irq)(void))
{
	pthread_t t;
	int err;

	uart.irq = irq;
	err = pthread_create(&t, NULL, rx_thread, NULL);
	if (err != 0) {
		errno = err;
		nr_errno("the UART's receiver thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

static uint8_t reg_read(uint16_t reg)
{
	uint8_t v;

	switch (reg) {
	case REG_DATA:
		if (uart.lcr & LCR_DLAB)
			return uart.dll;
		rx_poll();
		v = uart.rx == -1 ? 0 : (uint8_t)uart.rx;
		uart.rx = -1;
		pthread_cond_signal(&uart.rx_taken);
		return v;
	case REG_IER:
		return (uart.lcr & LCR_DLAB) ? uart.dlm : uart.ier;
	case REG_IIR_FCR:
		rx_poll();
		v = iir_reason();
		if (v == IIR_THRE)
			uart.thre = false;
		return v | ((uart.fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case REG_LCR:
		return uart.lcr;
	case REG_MCR:
		return uart.mcr;
	case REG_LSR:
		rx_poll();
		return LSR_THRE | LSR_TEMT | (uart.rx != -1 ? LSR_DR : 0);
	case REG_MSR:
		if (uart.mcr & MCR_LOOP)	/* DTR, RTS, OUT1, OUT2 */
			return (uint8_t)(((uart.mcr & 0x02) << 3) |
					 ((uart.mcr & 0x01) << 5) |
					 ((uart.mcr & 0x04) << 4) |
					 ((uart.mcr & 0x08) << 4));
		return MSR_CTS | MSR_DSR | MSR_DCD;
	default:
		return uart.scr;
	}
}

static void reg_write(uint16_t reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (uart.lcr & LCR_DLAB) {
			uart.dll = v;
			break;
		}
		if (!(uart.mcr & MCR_LOOP))
			putchar(v);
		else
			uart.rx = v;	/* loopback: back to the receiver */
		uart.thre = true;	/* sent at once */
		break;
	case REG_IER:
		if (uart.lcr & LCR_DLAB) {
			uart.dlm = v;
			break;
		}
		if ((v & IER_THRE) && !(uart.ier & IER_THRE))
			uart.thre = true;
		uart.ier = v & 0x0F;
		break;
	case REG_IIR_FCR:
		uart.fcr = v & 0xC9;
		break;
	case REG_LCR:
		uart.lcr = v;
		break;
	case REG_MCR:
		uart.mcr = v & 0x1F;
		break;
	case REG_LSR:
	case REG_MSR:
		break;		/* read-only here */
	default:
		uart.scr = v;
		break;
	}
}

void nr_serial_io(uint16_t reg, bool in, uint8_t *data)
{
	bool before, edge;

	pthread_mutex_lock(&uart.lock);
	before = irq_line();
	if (in)
		*data = reg_read(reg & 7);
	else
		reg_write(reg & 7, *data);
	edge = !before && irq_line() && uart.irq != NULL;
	pthread_mutex_unlock(&uart.lock);
	if (edge)
		uart.irq();
}

void nr_serial_flush(void)
{
	pthread_mutex_lock(&uart.lock);
	fflush(stdout);
	pthread_mutex_unlock(&uart.lock);
}
