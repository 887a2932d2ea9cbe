/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The 8254's channel 2: see pit.h. Without it a Linux guest reads all
 * ones at 0x42, a counter that never moves, and its quick calibration
 * polls it 100,000 times (two reads per pass, 50,000 passes) before it
 * gives up: seconds of exits on an emulated host.
 */
#include <string.h>

#include "pit.h"

#define CTRL_CHANNEL(c)	((c) >> 6)
#define CTRL_ACCESS(c)	(((c) >> 4) & 3)
#define CTRL_MODE(c)	(((c) >> 1) & 7)
#define ACCESS_LATCH	0
#define ACCESS_LSB	1
#define ACCESS_MSB	2
#define ACCESS_WORD	3
#define B_GATE		0x01
#define B_SPEAKER	0x02
#define B_REFRESH	0x10	/* toggles every 15.085 us on a PC */
#define B_OUT2		0x20

void nr_pit_reset(struct nr_pit *p)
{
	memset(p, 0, sizeof(*p));
	p->access = ACCESS_WORD;
}

static uint64_t period(const struct nr_pit *p)
{
	return p->reload ? p->reload : 65536;
}

/* Input clock ticks the count has seen. */
static uint64_t ticks(const struct nr_pit *p, uint64_t now)
{
	uint64_t d;

	if (!p->counting)
		return 0;
	if (!p->gate || now < p->start)
		return p->stopped;
	d = now - p->start;		/* split: no overflow for years */
	return p->stopped + d / 1000000000ULL * NR_PIT_HZ +
	       d % 1000000000ULL * NR_PIT_HZ / 1000000000ULL;
}

/* Modes 2 and 3 (and their aliases 6 and 7) repeat; the others count once. */
static bool periodic(const struct nr_pit *p)
{
	return (p->mode & 3) == 2 || (p->mode & 3) == 3;
}

static uint16_t count(const struct nr_pit *p, uint64_t now)
{
	uint64_t t = ticks(p, now);

	if (!p->counting)
		return 0;
	if (periodic(p))
		return (uint16_t)(period(p) - t % period(p));
	return (uint16_t)(period(p) - t);	/* wraps past 0, as the 8254 */
}

static bool out2(const struct nr_pit *p, uint64_t now)
{
	uint64_t t = ticks(p, now);

	if (!p->counting)
		return false;
	if (periodic(p))
		return (p->mode & 3) == 2 ? period(p) - t % period(p) != 1 :
		       t % period(p) < period(p) / 2;
	return t >= period(p);			/* mode 0: at terminal count */
}

static void control(struct nr_pit *p, uint8_t c, uint64_t now)
{
	if (CTRL_CHANNEL(c) != 2)
		return;		/* channels 0 and 1, read-back: not here */
	if (CTRL_ACCESS(c) == ACCESS_LATCH) {
		if (!p->latched) {
			p->latch = count(p, now);
			p->latched = true;
		}
		return;
	}
	p->access = CTRL_ACCESS(c);
	p->mode = CTRL_MODE(c);
	p->write_msb = p->read_msb = p->latched = false;
	p->counting = false;	/* until a count is written */
}

static void load(struct nr_pit *p, uint16_t reload, uint64_t now)
{
	p->reload = reload;
	p->counting = true;
	p->start = now;
	p->stopped = 0;
}

static void ch2_write(struct nr_pit *p, uint8_t v, uint64_t now)
{
	switch (p->access) {
	case ACCESS_LSB:
		load(p, v, now);
		break;
	case ACCESS_MSB:
		load(p, (uint16_t)(v << 8), now);
		break;
	default:
		if (!p->write_msb)
			p->lsb = v;
		else
			load(p, (uint16_t)(p->lsb | v << 8), now);
		p->write_msb = !p->write_msb;
		break;
	}
}

static uint8_t ch2_read(struct nr_pit *p, uint64_t now)
{
	uint16_t v = p->latched ? p->latch : count(p, now);
	bool msb;

	switch (p->access) {
	case ACCESS_LSB:
		msb = false;
		p->latched = false;
		break;
	case ACCESS_MSB:
		msb = true;
		p->latched = false;
		break;
	default:
		msb = p->read_msb;
		p->read_msb = !p->read_msb;
		if (msb)
			p->latched = false;	/* both halves read */
		break;
	}
	return (uint8_t)(msb ? v >> 8 : v);
}

static void gate(struct nr_pit *p, bool on, uint64_t now)
{
	if (on == p->gate)
		return;
	if (!on) {
		p->stopped = ticks(p, now);
	} else {
		p->start = now;
		if (periodic(p))
			p->stopped = 0;	/* a rising gate reloads */
	}
	p->gate = on;
}

void nr_pit_io(struct nr_pit *p, uint16_t port, bool in, uint8_t *data,
	       uint64_t now)
{
	switch (port) {
	case NR_PIT_PORT_CH2:
		if (in)
			*data = ch2_read(p, now);
		else
			ch2_write(p, *data, now);
		return;
	case NR_PIT_PORT_CTRL:
		if (in)
			*data = 0xFF;		/* write-only */
		else
			control(p, *data, now);
		return;
	case NR_PIT_PORT_B:
		if (!in) {
			p->speaker = *data & B_SPEAKER;
			gate(p, *data & B_GATE, now);
			return;
		}
		*data = (p->gate ? B_GATE : 0) | (p->speaker ? B_SPEAKER : 0) |
			((now / 15085) & 1 ? B_REFRESH : 0) |
			(out2(p, now) ? B_OUT2 : 0);
		return;
	}
}
