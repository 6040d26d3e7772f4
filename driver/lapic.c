// SPDX-License-Identifier: GPL-2.0
/*
 * lapic.c: local APIC emulation core (see lapic.h for the contract).
 *
 * Environment: any. Only lapic.h is included, so the file builds unchanged in
 * the module and in userspace; every function works on the struct lapic it is
 * given and nothing else.
 *
 * Registers are handled once, in lapic_reg_read()/lapic_reg_write(), by xAPIC
 * offset; the MMIO and the x2APIC MSR entry points differ only in how they
 * turn the outcome (reserved, read-only, write-only) into behaviour: silence
 * plus ESR for MMIO, #GP for MSRs.
 */
#include "lapic.h"

#define LAPIC_VERSION_BASE	0x14u
#define LAPIC_SVR_WRITABLE	0x3ffu		/* vector, software enable, focus */
#define LAPIC_DFR_RESERVED	0x0fffffffu	/* read as ones */
#define LAPIC_ICR_LOW_WRITABLE	0x000ccfffu	/* all but delivery status */
#define LAPIC_X2_ICR_RESERVED	(0xfff00000ull | (3ull << 16) | (1ull << 13))
#define LAPIC_DCR_WRITABLE	0xbu
#define LAPIC_X2_BROADCAST	0xffffffffu
#define LAPIC_XAPIC_BROADCAST	0xffu

/* Outcome of a register access by offset. */
enum lapic_reg_rc {
	LAPIC_REG_OK,
	LAPIC_REG_RESERVED,	/* no register there */
	LAPIC_REG_READ_ONLY,	/* write to a read-only register */
	LAPIC_REG_WRITE_ONLY,	/* read of a write-only register */
};

/* Writable bits of each LVT entry (delivery status and remote IRR are read-only). */
static const uint32_t lapic_lvt_writable[LAPIC_NR_LVT] = {
	[LAPIC_LVT_CMCI]	= LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_MASKED,
	[LAPIC_LVT_TIMER]	= LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED | LAPIC_LVT_TIMER_MODE_MASK,
	[LAPIC_LVT_THERMAL]	= LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_MASKED,
	[LAPIC_LVT_PERF]	= LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_MASKED,
	[LAPIC_LVT_LINT0]	= LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_POLARITY_LOW |
				  LAPIC_LVT_LEVEL | LAPIC_LVT_MASKED,
	[LAPIC_LVT_LINT1]	= LAPIC_LVT_VECTOR | LAPIC_LVT_DM_MASK | LAPIC_LVT_POLARITY_LOW |
				  LAPIC_LVT_LEVEL | LAPIC_LVT_MASKED,
	[LAPIC_LVT_ERROR]	= LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED,
};

/* 256-bit vector sets */

static bool lapic_vec_test(const uint32_t *set, unsigned int v)
{
	return set[v >> 5] & (1u << (v & 31));
}

static void lapic_vec_set(uint32_t *set, unsigned int v)
{
	set[v >> 5] |= 1u << (v & 31);
}

static void lapic_vec_clear(uint32_t *set, unsigned int v)
{
	set[v >> 5] &= ~(1u << (v & 31));
}

/* Highest vector in @set, or -1. */
static int lapic_vec_highest(const uint32_t *set)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (set[i])
			return i * 32 + 31 - __builtin_clz(set[i]);
	return -1;
}

static uint32_t lapic_x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 15));
}

/* Every register but ID, IA32_APIC_BASE and the configuration to power-on values. */
static void lapic_regs_reset(struct lapic *l)
{
	unsigned int i;

	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	l->esr = 0;
	l->esr_pending = 0;
	l->icr_low = 0;
	l->icr_high = 0;
	for (i = 0; i < LAPIC_NR_LVT; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
	for (i = 0; i < 8; i++) {
		l->isr[i] = 0;
		l->tmr[i] = 0;
		l->irr[i] = 0;
	}
	l->timer_icr = 0;
	l->timer_dcr = 0;
	l->timer_armed = false;
	l->timer_start_ns = 0;
	l->timer_period_ns = 0;
	l->timer_expiry_ns = 0;
	l->tsc_deadline = 0;
}

void lapic_reset(struct lapic *l, uint32_t apic_id, bool is_bsp)
{
	l->apic_base = LAPIC_DEFAULT_BASE | LAPIC_BASE_EN | (is_bsp ? LAPIC_BASE_BSP : 0);
	l->initial_id = apic_id;
	l->id = apic_id & 0xff;
	l->cmci = false;
	l->bus_ns_per_tick = LAPIC_BUS_NS_PER_TICK;
	lapic_regs_reset(l);
}

void lapic_init_reset(struct lapic *l)
{
	lapic_regs_reset(l);
	if (lapic_x2apic_mode(l))
		l->ldr = lapic_x2apic_ldr(l->id);
}

/* Errors: latched into ESR by the next ESR write; raise LVT error when unmasked. */
static void lapic_error(struct lapic *l, uint32_t bit)
{
	uint32_t lvt = l->lvt[LAPIC_LVT_ERROR];
	unsigned int vector = lvt & LAPIC_LVT_VECTOR;

	l->esr_pending |= bit;
	/* An illegal error vector is not raised (and not reported again). */
	if (!(lvt & LAPIC_LVT_MASKED) && lapic_enabled(l) && vector >= 16) {
		lapic_vec_set(l->irr, vector);
		lapic_vec_clear(l->tmr, vector);
	}
}

/* Priorities and interrupt flow */

uint32_t lapic_ppr(const struct lapic *l)
{
	int isrv = lapic_vec_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	if ((l->tpr & 0xf0) >= isr_class)
		return l->tpr & 0xff;
	return isr_class;
}

bool lapic_accept(struct lapic *l, unsigned int vector, bool level_triggered)
{
	bool was;

	if (!lapic_enabled(l) || vector > 255)
		return false;
	if (vector < 16) {
		lapic_error(l, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
		return false;
	}
	if (level_triggered)
		lapic_vec_set(l->tmr, vector);
	else
		lapic_vec_clear(l->tmr, vector);
	was = lapic_vec_test(l->irr, vector);
	lapic_vec_set(l->irr, vector);
	return !was;
}

int lapic_pending_vector(const struct lapic *l)
{
	int v;

	if (!lapic_enabled(l))
		return -1;
	v = lapic_vec_highest(l->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return v;
}

bool lapic_ack(struct lapic *l, unsigned int vector)
{
	if (vector > 255 || !lapic_vec_test(l->irr, vector))
		return false;
	lapic_vec_clear(l->irr, vector);
	lapic_vec_set(l->isr, vector);
	return true;
}

int lapic_eoi(struct lapic *l, bool *level)
{
	int v = lapic_vec_highest(l->isr);

	if (level)
		*level = false;
	if (v < 0)
		return -1;
	lapic_vec_clear(l->isr, (unsigned int)v);
	if (level)
		*level = lapic_vec_test(l->tmr, (unsigned int)v);
	return v;
}

bool lapic_accept_pic_intr(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LAPIC_LVT_LINT0];

	if (!lapic_hw_enabled(l))
		return true;
	return !(lint0 & LAPIC_LVT_MASKED) &&
	       ((lint0 & LAPIC_LVT_DM_MASK) >> LAPIC_LVT_DM_SHIFT) == LAPIC_DM_EXTINT;
}

/* Timer */

unsigned int lapic_timer_divisor(uint32_t dcr)
{
	unsigned int v = (dcr & 3) | ((dcr >> 1) & 4);

	return v == 7 ? 1 : 2u << v;
}

enum lapic_timer_mode lapic_timer_mode(const struct lapic *l)
{
	return (enum lapic_timer_mode)((l->lvt[LAPIC_LVT_TIMER] & LAPIC_LVT_TIMER_MODE_MASK) >>
				       LAPIC_LVT_TIMER_MODE_SHIFT);
}

static bool lapic_timer_counting_mode(const struct lapic *l)
{
	enum lapic_timer_mode mode = lapic_timer_mode(l);

	return mode == LAPIC_TIMER_ONESHOT || mode == LAPIC_TIMER_PERIODIC;
}

static uint64_t lapic_tick_ns(const struct lapic *l)
{
	return (uint64_t)lapic_timer_divisor(l->timer_dcr) * l->bus_ns_per_tick;
}

static void lapic_timer_disarm(struct lapic *l)
{
	l->timer_armed = false;
	l->timer_expiry_ns = 0;
}

/* Load the counter from the initial count at @now_ns. */
static void lapic_timer_load(struct lapic *l, uint64_t now_ns)
{
	if (!l->timer_icr || !lapic_timer_counting_mode(l) || !l->bus_ns_per_tick) {
		lapic_timer_disarm(l);
		return;
	}
	l->timer_period_ns = (uint64_t)l->timer_icr * lapic_tick_ns(l);
	l->timer_start_ns = now_ns;
	l->timer_expiry_ns = now_ns + l->timer_period_ns;
	l->timer_armed = true;
}

uint32_t lapic_timer_current_count(const struct lapic *l, uint64_t now_ns)
{
	uint64_t elapsed, remaining, tick, count;

	if (!l->timer_armed || !lapic_timer_counting_mode(l))
		return 0;
	elapsed = now_ns > l->timer_start_ns ? now_ns - l->timer_start_ns : 0;
	if (lapic_timer_mode(l) == LAPIC_TIMER_PERIODIC) {
		elapsed %= l->timer_period_ns;
	} else if (elapsed >= l->timer_period_ns) {
		return 0;
	}
	remaining = l->timer_period_ns - elapsed;
	tick = lapic_tick_ns(l);
	count = (remaining + tick - 1) / tick;
	return count > l->timer_icr ? l->timer_icr : (uint32_t)count;
}

uint64_t lapic_timer_expired(struct lapic *l, uint64_t now_ns)
{
	uint32_t lvt = l->lvt[LAPIC_LVT_TIMER];
	uint64_t next, missed;

	if (!l->timer_armed)
		return 0;
	if (now_ns < l->timer_expiry_ns)
		return l->timer_expiry_ns;
	if (!(lvt & LAPIC_LVT_MASKED))
		lapic_accept(l, lvt & LAPIC_LVT_VECTOR, false);
	if (lapic_timer_mode(l) != LAPIC_TIMER_PERIODIC) {
		if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
			l->tsc_deadline = 0;
		lapic_timer_disarm(l);
		return 0;
	}
	/* The next period boundary after @now_ns; the missed ones are one interrupt. */
	missed = (now_ns - l->timer_expiry_ns) / l->timer_period_ns;
	next = l->timer_expiry_ns + (missed + 1) * l->timer_period_ns;
	l->timer_start_ns = next - l->timer_period_ns;
	l->timer_expiry_ns = next;
	return next;
}

/* Divide configuration change while counting: keep the count, new rate. */
static void lapic_timer_set_dcr(struct lapic *l, uint32_t val, uint64_t now_ns)
{
	uint32_t count;

	if (!l->timer_armed || !lapic_timer_counting_mode(l)) {
		l->timer_dcr = val & LAPIC_DCR_WRITABLE;
		return;
	}
	count = lapic_timer_current_count(l, now_ns);
	l->timer_dcr = val & LAPIC_DCR_WRITABLE;
	l->timer_period_ns = (uint64_t)l->timer_icr * lapic_tick_ns(l);
	l->timer_expiry_ns = now_ns + (uint64_t)count * lapic_tick_ns(l);
	l->timer_start_ns = l->timer_expiry_ns - l->timer_period_ns;
}

/* @delta TSC ticks at @khz kHz in ns, saturating. */
static uint64_t lapic_tsc_to_ns(uint64_t delta, uint32_t khz)
{
	uint64_t q = delta / khz, r = delta % khz;

	if (q > ~0ull / 1000000 - 1)
		return ~0ull;
	return q * 1000000 + r * 1000000 / khz;
}

bool lapic_tsc_deadline_write(struct lapic *l, uint64_t deadline, uint64_t now_tsc,
			      uint64_t now_ns, uint32_t tsc_khz)
{
	uint64_t ns = 0;
	bool was = l->timer_armed;
	uint64_t old = l->timer_expiry_ns;

	if (lapic_timer_mode(l) != LAPIC_TIMER_TSC_DEADLINE)
		return false;
	l->tsc_deadline = deadline;
	if (!deadline) {
		lapic_timer_disarm(l);
		return was;
	}
	if (deadline > now_tsc && tsc_khz)
		ns = lapic_tsc_to_ns(deadline - now_tsc, tsc_khz);
	l->timer_expiry_ns = ns > ~0ull - now_ns ? ~0ull : now_ns + ns;
	l->timer_armed = true;
	return !was || old != l->timer_expiry_ns;
}

uint64_t lapic_tsc_deadline_read(const struct lapic *l)
{
	return lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

/* IPIs */

static uint32_t lapic_my_dest_id(const struct lapic *l)
{
	return l->id;
}

bool lapic_match_dest(const struct lapic *l, const struct lapic_ipi *ipi, bool is_self)
{
	uint32_t mda, ldr8;

	if (!lapic_hw_enabled(l))
		return false;
	switch (ipi->shorthand) {
	case LAPIC_SH_SELF:
		return is_self;
	case LAPIC_SH_ALL_INCL:
		return true;
	case LAPIC_SH_ALL_EXCL:
		return !is_self;
	case LAPIC_SH_NONE:
		break;
	}
	if (ipi->x2apic ? ipi->dest == LAPIC_X2_BROADCAST :
			  (ipi->dest & 0xff) == LAPIC_XAPIC_BROADCAST)
		return true;
	mda = ipi->x2apic ? ipi->dest : ipi->dest & 0xff;
	if (!ipi->logical)
		return mda == lapic_my_dest_id(l);
	if (lapic_x2apic_mode(l))
		return (mda >> 16) == (l->ldr >> 16) && (mda & l->ldr & 0xffff);
	ldr8 = l->ldr >> 24;
	switch (l->dfr >> 28) {
	case 0xf:	/* flat */
		return mda & ldr8;
	case 0x0:	/* cluster */
		return (mda >> 4) == (ldr8 >> 4) && (mda & ldr8 & 0xf);
	default:	/* reserved models match nothing */
		return false;
	}
}

/* The ICR was written: decode, check, and either apply locally or hand to the caller. */
static void lapic_send_ipi(struct lapic *l, struct lapic_fx *fx)
{
	struct lapic_ipi ipi;
	uint32_t low = l->icr_low;

	ipi.vector = low & 0xff;
	ipi.delivery = (enum lapic_dm)((low >> 8) & 7);
	ipi.logical = low & LAPIC_ICR_DEST_LOGICAL;
	ipi.shorthand = (enum lapic_shorthand)((low >> LAPIC_ICR_SH_SHIFT) & 3);
	ipi.assert = low & LAPIC_ICR_ASSERT;
	ipi.level_trig = low & LAPIC_ICR_LEVEL;
	ipi.x2apic = lapic_x2apic_mode(l);
	ipi.dest = ipi.x2apic ? l->icr_high : l->icr_high >> 24;

	switch (ipi.delivery) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if (ipi.vector < 16) {
			lapic_error(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
			return;
		}
		break;
	case LAPIC_DM_INIT:
		/* INIT level de-assert: no effect since the Pentium 4. */
		if (ipi.level_trig && !ipi.assert)
			return;
		break;
	case LAPIC_DM_SMI:
	case LAPIC_DM_NMI:
	case LAPIC_DM_SIPI:
		break;
	case LAPIC_DM_RESV3:
	case LAPIC_DM_EXTINT:
		return;
	}
	if (ipi.shorthand == LAPIC_SH_SELF) {
		/* Only fixed delivery is valid with the self shorthand. */
		if (ipi.delivery == LAPIC_DM_FIXED)
			lapic_accept(l, ipi.vector, ipi.level_trig);
		return;
	}
	fx->flags |= LAPIC_FX_IPI;
	fx->ipi = ipi;
}

/* Register file, by xAPIC offset */

static bool lapic_reg_lvt(const struct lapic *l, uint32_t reg, unsigned int *idx)
{
	if (reg == LAPIC_REG_LVT_CMCI) {
		*idx = LAPIC_LVT_CMCI;
		return l->cmci;
	}
	if (reg >= LAPIC_REG_LVT_TIMER && reg <= LAPIC_REG_LVT_ERROR) {
		*idx = LAPIC_LVT_TIMER + ((reg - LAPIC_REG_LVT_TIMER) >> 4);
		return true;
	}
	return false;
}

static enum lapic_reg_rc lapic_reg_read(const struct lapic *l, uint32_t reg, bool x2,
					uint64_t now_ns, uint32_t *val)
{
	unsigned int idx;

	*val = 0;
	if (lapic_reg_lvt(l, reg, &idx)) {
		*val = l->lvt[idx];
		return LAPIC_REG_OK;
	}
	if (reg >= LAPIC_REG_ISR && reg < LAPIC_REG_ISR + 0x80) {
		*val = l->isr[(reg - LAPIC_REG_ISR) >> 4];
		return LAPIC_REG_OK;
	}
	if (reg >= LAPIC_REG_TMR && reg < LAPIC_REG_TMR + 0x80) {
		*val = l->tmr[(reg - LAPIC_REG_TMR) >> 4];
		return LAPIC_REG_OK;
	}
	if (reg >= LAPIC_REG_IRR && reg < LAPIC_REG_IRR + 0x80) {
		*val = l->irr[(reg - LAPIC_REG_IRR) >> 4];
		return LAPIC_REG_OK;
	}
	switch (reg) {
	case LAPIC_REG_ID:
		*val = x2 ? l->id : l->id << 24;
		return LAPIC_REG_OK;
	case LAPIC_REG_VERSION:
		*val = LAPIC_VERSION_BASE | (l->cmci ? 6u : 5u) << 16;
		return LAPIC_REG_OK;
	case LAPIC_REG_TPR:
		*val = l->tpr;
		return LAPIC_REG_OK;
	case LAPIC_REG_APR:
		return x2 ? LAPIC_REG_RESERVED : LAPIC_REG_OK;
	case LAPIC_REG_PPR:
		*val = lapic_ppr(l);
		return LAPIC_REG_OK;
	case LAPIC_REG_EOI:
		return LAPIC_REG_WRITE_ONLY;
	case LAPIC_REG_LDR:
		*val = l->ldr;
		return LAPIC_REG_OK;
	case LAPIC_REG_DFR:
		if (x2)
			return LAPIC_REG_RESERVED;
		*val = l->dfr | LAPIC_DFR_RESERVED;
		return LAPIC_REG_OK;
	case LAPIC_REG_SVR:
		*val = l->svr;
		return LAPIC_REG_OK;
	case LAPIC_REG_ESR:
		*val = l->esr;
		return LAPIC_REG_OK;
	case LAPIC_REG_ICR_LOW:
		*val = l->icr_low;
		return LAPIC_REG_OK;
	case LAPIC_REG_ICR_HIGH:
		if (x2)
			return LAPIC_REG_RESERVED;
		*val = l->icr_high;
		return LAPIC_REG_OK;
	case LAPIC_REG_TIMER_ICR:
		*val = l->timer_icr;
		return LAPIC_REG_OK;
	case LAPIC_REG_TIMER_CCR:
		*val = lapic_timer_current_count(l, now_ns);
		return LAPIC_REG_OK;
	case LAPIC_REG_TIMER_DCR:
		*val = l->timer_dcr;
		return LAPIC_REG_OK;
	case LAPIC_REG_SELF_IPI:
		return x2 ? LAPIC_REG_WRITE_ONLY : LAPIC_REG_RESERVED;
	default:
		return LAPIC_REG_RESERVED;
	}
}

static void lapic_lvt_write(struct lapic *l, unsigned int idx, uint32_t val, uint64_t now_ns,
			    struct lapic_fx *fx)
{
	uint32_t old = l->lvt[idx];

	val &= lapic_lvt_writable[idx];
	if (!(l->svr & LAPIC_SVR_ENABLE))
		val |= LAPIC_LVT_MASKED;
	l->lvt[idx] = val | (old & LAPIC_LVT_REMOTE_IRR);
	if (idx == LAPIC_LVT_TIMER &&
	    ((old ^ val) & LAPIC_LVT_TIMER_MODE_MASK)) {
		/* SDM 10.5.4.1: a write that changes the timer mode disarms the timer. */
		l->tsc_deadline = 0;
		lapic_timer_disarm(l);
		fx->flags |= LAPIC_FX_TIMER;
	}
	if (idx == LAPIC_LVT_LINT0 || idx == LAPIC_LVT_LINT1)
		fx->flags |= LAPIC_FX_LINT;
	(void)now_ns;
}

static void lapic_svr_write(struct lapic *l, uint32_t val, struct lapic_fx *fx)
{
	uint32_t old = l->svr;
	unsigned int i;

	l->svr = val & LAPIC_SVR_WRITABLE;
	if (!(l->svr & LAPIC_SVR_ENABLE))
		for (i = 0; i < LAPIC_NR_LVT; i++)
			l->lvt[i] |= LAPIC_LVT_MASKED;
	if ((old ^ l->svr) & LAPIC_SVR_ENABLE)
		fx->flags |= LAPIC_FX_LINT;
}

static enum lapic_reg_rc lapic_reg_write(struct lapic *l, uint32_t reg, uint32_t val, bool x2,
					 uint64_t now_ns, struct lapic_fx *fx)
{
	unsigned int idx;
	bool level;
	int v;

	if (lapic_reg_lvt(l, reg, &idx)) {
		lapic_lvt_write(l, idx, val, now_ns, fx);
		return LAPIC_REG_OK;
	}
	if (reg >= LAPIC_REG_ISR && reg < LAPIC_REG_IRR + 0x80)
		return LAPIC_REG_READ_ONLY;
	switch (reg) {
	case LAPIC_REG_ID:
		if (x2)
			return LAPIC_REG_READ_ONLY;
		l->id = val >> 24;
		return LAPIC_REG_OK;
	case LAPIC_REG_VERSION:
	case LAPIC_REG_PPR:
	case LAPIC_REG_TIMER_CCR:
		return LAPIC_REG_READ_ONLY;
	case LAPIC_REG_APR:
		return x2 ? LAPIC_REG_RESERVED : LAPIC_REG_READ_ONLY;
	case LAPIC_REG_TPR:
		l->tpr = val & 0xff;
		return LAPIC_REG_OK;
	case LAPIC_REG_EOI:
		v = lapic_eoi(l, &level);
		if (v >= 0 && level) {
			fx->flags |= LAPIC_FX_EOI_LEVEL;
			fx->eoi_vector = (uint8_t)v;
		}
		return LAPIC_REG_OK;
	case LAPIC_REG_LDR:
		if (x2)
			return LAPIC_REG_READ_ONLY;
		l->ldr = val & 0xff000000u;
		return LAPIC_REG_OK;
	case LAPIC_REG_DFR:
		if (x2)
			return LAPIC_REG_RESERVED;
		l->dfr = val | LAPIC_DFR_RESERVED;
		return LAPIC_REG_OK;
	case LAPIC_REG_SVR:
		lapic_svr_write(l, val, fx);
		return LAPIC_REG_OK;
	case LAPIC_REG_ESR:
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return LAPIC_REG_OK;
	case LAPIC_REG_ICR_LOW:		/* xAPIC; the x2APIC ICR is lapic_msr_write()'s */
		l->icr_low = val & LAPIC_ICR_LOW_WRITABLE;
		lapic_send_ipi(l, fx);
		return LAPIC_REG_OK;
	case LAPIC_REG_ICR_HIGH:
		if (x2)
			return LAPIC_REG_RESERVED;
		l->icr_high = val & 0xff000000u;
		return LAPIC_REG_OK;
	case LAPIC_REG_TIMER_ICR:
		if (lapic_timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
			return LAPIC_REG_OK;	/* ignored in TSC-deadline mode */
		l->timer_icr = val;
		lapic_timer_load(l, now_ns);
		fx->flags |= LAPIC_FX_TIMER;
		return LAPIC_REG_OK;
	case LAPIC_REG_TIMER_DCR:
		lapic_timer_set_dcr(l, val, now_ns);
		fx->flags |= LAPIC_FX_TIMER;
		return LAPIC_REG_OK;
	case LAPIC_REG_SELF_IPI:
		if (!x2)
			return LAPIC_REG_RESERVED;
		l->icr_low = (val & 0xff) | (LAPIC_SH_SELF << LAPIC_ICR_SH_SHIFT);
		lapic_send_ipi(l, fx);
		return LAPIC_REG_OK;
	default:
		return LAPIC_REG_RESERVED;
	}
}

/* Entry points */

static void lapic_fx_start(struct lapic_fx *fx)
{
	fx->flags = 0;
	fx->eoi_vector = 0;
}

/* After a write: flag a change in what lapic_pending_vector() says. */
static void lapic_fx_end(const struct lapic *l, int pending_before, struct lapic_fx *fx)
{
	if (lapic_pending_vector(l) != pending_before)
		fx->flags |= LAPIC_FX_EVAL;
}

static int lapic_mmio_check(const struct lapic *l, uint32_t offset)
{
	if (!lapic_mmio_mapped(l))
		return LAPIC_E_NOT_MAPPED;
	if ((offset & 3) || offset > 0xffc)
		return LAPIC_E_UNALIGNED;
	return 0;
}

/* A register slot: 16-byte aligned in 0x000-0x3F0 (the rest reads 0). */
static bool lapic_mmio_is_slot(uint32_t offset)
{
	return !(offset & 0xf) && offset < 0x400;
}

int lapic_mmio_read(struct lapic *l, uint32_t offset, uint32_t *val, uint64_t now_ns)
{
	int rc = lapic_mmio_check(l, offset);

	*val = 0;
	if (rc)
		return rc;
	if (!lapic_mmio_is_slot(offset))
		return 0;
	if (lapic_reg_read(l, offset, false, now_ns, val) == LAPIC_REG_RESERVED)
		lapic_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
	return 0;
}

int lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t val, uint64_t now_ns,
		     struct lapic_fx *fx)
{
	int rc = lapic_mmio_check(l, offset);
	int before;

	lapic_fx_start(fx);
	if (rc)
		return rc;
	if (!lapic_mmio_is_slot(offset))
		return 0;
	before = lapic_pending_vector(l);
	if (lapic_reg_write(l, offset, val, false, now_ns, fx) == LAPIC_REG_RESERVED)
		lapic_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
	lapic_fx_end(l, before, fx);
	return 0;
}

static int lapic_msr_reg(const struct lapic *l, uint32_t msr, uint32_t *reg)
{
	if (!lapic_x2apic_mode(l) || msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST)
		return LAPIC_E_GP;
	*reg = (msr - LAPIC_MSR_X2APIC_FIRST) << 4;
	return 0;
}

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val, uint64_t now_ns)
{
	uint32_t reg, v;

	*val = 0;
	if (lapic_msr_reg(l, msr, &reg))
		return LAPIC_E_GP;
	if (reg == LAPIC_REG_ICR_LOW) {
		*val = (uint64_t)l->icr_high << 32 | l->icr_low;
		return 0;
	}
	if (lapic_reg_read(l, reg, true, now_ns, &v) != LAPIC_REG_OK)
		return LAPIC_E_GP;
	*val = v;
	return 0;
}

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val, uint64_t now_ns,
		    struct lapic_fx *fx)
{
	uint32_t reg;
	int before;

	lapic_fx_start(fx);
	if (lapic_msr_reg(l, msr, &reg))
		return LAPIC_E_GP;
	before = lapic_pending_vector(l);
	if (reg == LAPIC_REG_ICR_LOW) {
		if (val & LAPIC_X2_ICR_RESERVED)
			return LAPIC_E_GP;
		l->icr_low = (uint32_t)val & LAPIC_ICR_LOW_WRITABLE;
		l->icr_high = (uint32_t)(val >> 32);
		lapic_send_ipi(l, fx);
		lapic_fx_end(l, before, fx);
		return 0;
	}
	if (val >> 32)
		return LAPIC_E_GP;
	if ((reg == LAPIC_REG_EOI || reg == LAPIC_REG_ESR) && val)
		return LAPIC_E_GP;
	/* Only reserved and read-only outcomes fail, and neither changes state. */
	if (lapic_reg_write(l, reg, (uint32_t)val, true, now_ns, fx) != LAPIC_REG_OK)
		return LAPIC_E_GP;
	lapic_fx_end(l, before, fx);
	return 0;
}

int lapic_set_base(struct lapic *l, uint64_t val, unsigned int maxphyaddr, struct lapic_fx *fx)
{
	uint64_t reserved = 0xffull | (1ull << 9);
	uint64_t old = l->apic_base;
	bool old_en = old & LAPIC_BASE_EN, old_x2 = lapic_x2apic_mode(l);
	bool en = val & LAPIC_BASE_EN, extd = val & LAPIC_BASE_EXTD;
	int before = lapic_pending_vector(l);

	lapic_fx_start(fx);
	if (maxphyaddr < 64)
		reserved |= ~0ull << maxphyaddr;
	if (val & reserved)
		return LAPIC_E_GP;
	if (extd && !en)			/* invalid state */
		return LAPIC_E_GP;
	if (old_x2 && en && !extd)		/* x2APIC -> xAPIC */
		return LAPIC_E_GP;
	if (!old_en && extd)			/* disabled -> x2APIC */
		return LAPIC_E_GP;

	val = (val & ~LAPIC_BASE_BSP) | (old & LAPIC_BASE_BSP);
	if (val == old)
		return 0;
	l->apic_base = val;
	fx->flags |= LAPIC_FX_BASE;
	if (old_en && !en) {
		/* Global disable: nothing is preserved (SDM 10.4.3). */
		lapic_regs_reset(l);
		l->id = l->initial_id & 0xff;
		fx->flags |= LAPIC_FX_TIMER | LAPIC_FX_LINT;
	} else if (!old_en && en) {
		fx->flags |= LAPIC_FX_LINT;
	} else if (!old_x2 && extd) {
		l->id = l->initial_id;
		l->ldr = lapic_x2apic_ldr(l->id);
	}
	lapic_fx_end(l, before, fx);
	return 0;
}

uint32_t lapic_tpr_threshold(const struct lapic *l)
{
	int irr = lapic_vec_highest(l->irr);

	if (!lapic_enabled(l) || irr < 0 || ((uint32_t)irr >> 4) > ((l->tpr >> 4) & 0xf))
		return 0;
	return (uint32_t)irr >> 4;
}

static const uint16_t lapic_vapic_offsets[] = {
	LAPIC_REG_ID, LAPIC_REG_VERSION, LAPIC_REG_TPR, LAPIC_REG_EOI, LAPIC_REG_LDR,
	LAPIC_REG_DFR, LAPIC_REG_SVR, LAPIC_REG_ESR, LAPIC_REG_ICR_LOW, LAPIC_REG_ICR_HIGH,
	LAPIC_REG_LVT_TIMER, LAPIC_REG_LVT_THERMAL, LAPIC_REG_LVT_PERF, LAPIC_REG_LVT_LINT0,
	LAPIC_REG_LVT_LINT1, LAPIC_REG_LVT_ERROR, LAPIC_REG_TIMER_ICR, LAPIC_REG_TIMER_DCR,
};

void lapic_vapic_regs(const struct lapic *l, uint32_t *page)
{
	unsigned int i;
	uint32_t val;

	for (i = 0; i < sizeof(lapic_vapic_offsets) / sizeof(lapic_vapic_offsets[0]); i++) {
		/* EOI is write-only: it reads 0, as lapic_reg_read() leaves it. */
		lapic_reg_read(l, lapic_vapic_offsets[i], false, 0, &val);
		page[lapic_vapic_offsets[i] / 4] = val;
	}
	for (i = 0; i < 8; i++) {
		page[(LAPIC_REG_ISR + i * 0x10) / 4] = l->isr[i];
		page[(LAPIC_REG_TMR + i * 0x10) / 4] = l->tmr[i];
		page[(LAPIC_REG_IRR + i * 0x10) / 4] = l->irr[i];
	}
}

/* State save/restore */

static void lapic_state_put(struct lapic_state *s, uint32_t reg, uint32_t val)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		s->regs[reg + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t lapic_state_get(const struct lapic_state *s, uint32_t reg)
{
	return s->regs[reg] | (uint32_t)s->regs[reg + 1] << 8 |
	       (uint32_t)s->regs[reg + 2] << 16 | (uint32_t)s->regs[reg + 3] << 24;
}

void lapic_save(const struct lapic *l, uint64_t now_ns, struct lapic_state *s)
{
	bool x2 = lapic_x2apic_mode(l);
	uint32_t reg, val;

	for (reg = 0; reg < LAPIC_STATE_REGS; reg++)
		s->regs[reg] = 0;
	for (reg = 0; reg < LAPIC_STATE_REGS; reg += 0x10) {
		if (lapic_reg_read(l, reg, false, now_ns, &val) != LAPIC_REG_OK)
			val = 0;
		lapic_state_put(s, reg, val);
	}
	lapic_state_put(s, LAPIC_REG_ID, x2 ? l->id : l->id << 24);
	lapic_state_put(s, LAPIC_REG_ICR_HIGH, l->icr_high);
	s->apic_base = l->apic_base;
	s->tsc_deadline = l->tsc_deadline;
	s->timer_armed = l->timer_armed;
	s->timer_remaining_ns = l->timer_armed && l->timer_expiry_ns > now_ns ?
				l->timer_expiry_ns - now_ns : 0;
	s->esr_pending = l->esr_pending;
}

static int lapic_base_valid(uint64_t base, unsigned int maxphyaddr)
{
	uint64_t reserved = 0xffull | (1ull << 9);

	if (maxphyaddr < 64)
		reserved |= ~0ull << maxphyaddr;
	return !(base & reserved) && !((base & LAPIC_BASE_EXTD) && !(base & LAPIC_BASE_EN));
}

/* The restored timer of @t (registers already loaded): armed or not. */
static int lapic_restore_timer(struct lapic *t, const struct lapic_state *s, uint64_t now_ns)
{
	t->timer_armed = false;
	t->timer_expiry_ns = 0;
	t->timer_start_ns = 0;
	t->timer_period_ns = (uint64_t)t->timer_icr * lapic_tick_ns(t);
	if (!s->timer_armed)
		return 0;
	if (!lapic_hw_enabled(t) || s->timer_remaining_ns > ~0ull - now_ns)
		return -EINVAL;
	switch (lapic_timer_mode(t)) {
	case LAPIC_TIMER_ONESHOT:
	case LAPIC_TIMER_PERIODIC:
		if (!t->timer_icr || s->timer_remaining_ns > t->timer_period_ns)
			return -EINVAL;
		break;
	case LAPIC_TIMER_TSC_DEADLINE:
		if (!t->tsc_deadline)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	t->timer_armed = true;
	t->timer_expiry_ns = now_ns + s->timer_remaining_ns;
	t->timer_start_ns = t->timer_expiry_ns - t->timer_period_ns;
	return 0;
}

int lapic_restore(struct lapic *l, const struct lapic_state *s, uint64_t now_ns,
		  unsigned int maxphyaddr)
{
	struct lapic t = *l;
	bool x2;
	unsigned int i;

	if (!lapic_base_valid(s->apic_base, maxphyaddr))
		return -EINVAL;
	t.apic_base = s->apic_base;
	x2 = lapic_x2apic_mode(&t);
	t.id = lapic_state_get(s, LAPIC_REG_ID);
	if (x2 && t.id != t.initial_id)
		return -EINVAL;
	if (!x2)
		t.id >>= 24;
	t.tpr = lapic_state_get(s, LAPIC_REG_TPR) & 0xff;
	t.ldr = x2 ? lapic_x2apic_ldr(t.id) : lapic_state_get(s, LAPIC_REG_LDR) & 0xff000000u;
	t.dfr = lapic_state_get(s, LAPIC_REG_DFR) | LAPIC_DFR_RESERVED;
	t.svr = lapic_state_get(s, LAPIC_REG_SVR) & LAPIC_SVR_WRITABLE;
	t.esr = lapic_state_get(s, LAPIC_REG_ESR);
	t.esr_pending = s->esr_pending;
	t.icr_low = lapic_state_get(s, LAPIC_REG_ICR_LOW) & LAPIC_ICR_LOW_WRITABLE;
	t.icr_high = lapic_state_get(s, LAPIC_REG_ICR_HIGH);
	if (!x2)
		t.icr_high &= 0xff000000u;
	for (i = 0; i < LAPIC_NR_LVT; i++) {
		uint32_t reg = i == LAPIC_LVT_CMCI ? LAPIC_REG_LVT_CMCI :
			       LAPIC_REG_LVT_TIMER + ((i - LAPIC_LVT_TIMER) << 4);
		uint32_t val = lapic_state_get(s, reg);
		uint32_t keep = lapic_lvt_writable[i];

		if (i == LAPIC_LVT_CMCI && !t.cmci)
			continue;	/* no such register: stays masked */
		if (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1)
			keep |= LAPIC_LVT_REMOTE_IRR;
		t.lvt[i] = val & keep;
		if (!(t.svr & LAPIC_SVR_ENABLE))
			t.lvt[i] |= LAPIC_LVT_MASKED;
	}
	for (i = 0; i < 8; i++) {
		t.isr[i] = lapic_state_get(s, LAPIC_REG_ISR + i * 0x10);
		t.tmr[i] = lapic_state_get(s, LAPIC_REG_TMR + i * 0x10);
		t.irr[i] = lapic_state_get(s, LAPIC_REG_IRR + i * 0x10);
	}
	/* Vectors 0-15 are never accepted (lapic_accept()). */
	t.isr[0] &= 0xffff0000u;
	t.tmr[0] &= 0xffff0000u;
	t.irr[0] &= 0xffff0000u;
	t.timer_icr = lapic_state_get(s, LAPIC_REG_TIMER_ICR);
	t.timer_dcr = lapic_state_get(s, LAPIC_REG_TIMER_DCR) & LAPIC_DCR_WRITABLE;
	t.tsc_deadline = lapic_timer_mode(&t) == LAPIC_TIMER_TSC_DEADLINE ? s->tsc_deadline : 0;
	if (lapic_restore_timer(&t, s, now_ns))
		return -EINVAL;
	*l = t;
	return 0;
}
