/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Local APIC emulation core (Intel SDM Vol. 3A, chapter "Advanced
 * Programmable Interrupt Controller (APIC)").
 *
 * One struct lapic is the architectural state of one vCPU's local APIC: the
 * register file, IA32_APIC_BASE, the timer and the TSC deadline. This unit
 * only computes; everything that touches the world stays with the caller:
 *
 *   - MMIO: the caller traps the 4 KiB page at lapic_base_addr() while
 *     lapic_mmio_mapped() is true and forwards 32-bit accesses;
 *   - MSRs: 0x800-0x8FF go to lapic_msr_read/write, IA32_APIC_BASE (0x1B) to
 *     lapic_set_base(), IA32_TSC_DEADLINE (0x6E0) to lapic_tsc_deadline_*();
 *     a LAPIC_E_GP return means "inject #GP(0)";
 *   - time: every entry point that needs the time takes now_ns, a monotonic
 *     nanosecond clock of the caller's choice (never 0 for an armed timer);
 *     the caller runs one timer at lapic_timer_expiry() and calls
 *     lapic_timer_expired() from it;
 *   - injection: the caller asks lapic_pending_vector(), injects it and calls
 *     lapic_ack(); EOIs come back through the register writes;
 *   - IPIs: a write to the ICR yields a struct lapic_ipi in lapic_fx; the
 *     caller walks its vCPUs with lapic_match_dest() and lapic_accept()s (or
 *     INIT/SIPI/NMI/SMIs) the targets.
 *
 * Each write entry point reports what the caller must do next in a
 * struct lapic_fx (LAPIC_FX_* flags; @fx must not be NULL). Some changes to
 * IRR have no fx to report through (an MMIO read of a reserved register
 * raising the LVT error vector, lapic_timer_expired(), lapic_accept()): the
 * caller evaluates lapic_pending_vector() before every VM entry anyway.
 *
 * Model: an xAPIC/x2APIC of the Pentium 4 / Xeon kind. Version register
 * 0x00050014 (version 0x14, max LVT entry 5: six LVT entries, timer,
 * thermal, performance counters, LINT0, LINT1, error) by default; setting
 * @cmci (after lapic_reset(), only when the vCPU's IA32_MCG_CAP advertises
 * MCG_CMCI_P) adds the LVT CMCI at 0x2F0 / MSR 0x82F and makes it
 * 0x00060014 (max LVT 6), as on Nehalem and later. No EOI-broadcast
 * suppression (version bit 24 clear, SVR bit 12 reserved). TSC-deadline
 * timer mode is implemented (the caller's CPUID must say so).
 *
 * Timer clock: the APIC timer counts at a bus clock of 1 GHz by default
 * (LAPIC_BUS_NS_PER_TICK, 1 ns per tick before the divider, as KVM does);
 * @bus_ns_per_tick may be changed after lapic_reset().
 *
 * Environment: any. The same code is compiled into the driver and into a
 * userspace unit test (tests/driver/test_lapic.c); it makes no library call,
 * takes no lock, allocates nothing and has no global state. Every function
 * works on the struct lapic it is given: the caller serialises calls on one
 * struct lapic (normally by only touching it from its vCPU's thread, with
 * remote lapic_accept() calls under the caller's lock).
 */
#ifndef VMXCORE_LAPIC_H
#define VMXCORE_LAPIC_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#endif

/* Return codes, negative errno values. */
#define LAPIC_E_GP		(-EINVAL)	/* MSR or APIC base write: inject #GP(0) */
#define LAPIC_E_NOT_MAPPED	(-ENODEV)	/* MMIO while disabled or in x2APIC mode */
#define LAPIC_E_UNALIGNED	(-EFAULT)	/* MMIO offset not 4-aligned or past 0xFFF */

#define LAPIC_DEFAULT_BASE	0xfee00000ull
#define LAPIC_BUS_NS_PER_TICK	1		/* 1 GHz APIC bus clock */

/* IA32_APIC_BASE (MSR 0x1B) */
#define LAPIC_MSR_APIC_BASE	0x1b
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_EXTD		(1ull << 10)	/* x2APIC enable */
#define LAPIC_BASE_EN		(1ull << 11)	/* APIC global enable */
#define LAPIC_BASE_ADDR_MASK	(~0xfffull)

#define LAPIC_MSR_TSC_DEADLINE	0x6e0
#define LAPIC_MSR_X2APIC_FIRST	0x800
#define LAPIC_MSR_X2APIC_LAST	0x8ff

/* xAPIC register offsets; the x2APIC MSR is 0x800 + (offset >> 4). */
#define LAPIC_REG_ID		0x020
#define LAPIC_REG_VERSION	0x030
#define LAPIC_REG_TPR		0x080
#define LAPIC_REG_APR		0x090
#define LAPIC_REG_PPR		0x0a0
#define LAPIC_REG_EOI		0x0b0
#define LAPIC_REG_RRD		0x0c0
#define LAPIC_REG_LDR		0x0d0
#define LAPIC_REG_DFR		0x0e0
#define LAPIC_REG_SVR		0x0f0
#define LAPIC_REG_ISR		0x100	/* 8 registers, 0x100-0x170 */
#define LAPIC_REG_TMR		0x180	/* 0x180-0x1f0 */
#define LAPIC_REG_IRR		0x200	/* 0x200-0x270 */
#define LAPIC_REG_ESR		0x280
#define LAPIC_REG_LVT_CMCI	0x2f0
#define LAPIC_REG_ICR_LOW	0x300
#define LAPIC_REG_ICR_HIGH	0x310
#define LAPIC_REG_LVT_TIMER	0x320
#define LAPIC_REG_LVT_THERMAL	0x330
#define LAPIC_REG_LVT_PERF	0x340
#define LAPIC_REG_LVT_LINT0	0x350
#define LAPIC_REG_LVT_LINT1	0x360
#define LAPIC_REG_LVT_ERROR	0x370
#define LAPIC_REG_TIMER_ICR	0x380	/* initial count */
#define LAPIC_REG_TIMER_CCR	0x390	/* current count */
#define LAPIC_REG_TIMER_DCR	0x3e0	/* divide configuration */
#define LAPIC_REG_SELF_IPI	0x3f0	/* x2APIC only (MSR 0x83F) */

#define LAPIC_MSR(reg)		(LAPIC_MSR_X2APIC_FIRST + ((reg) >> 4))

/* Spurious-interrupt vector register */
#define LAPIC_SVR_ENABLE	(1u << 8)	/* APIC software enable */
#define LAPIC_SVR_FOCUS_OFF	(1u << 9)	/* focus processor checking disabled */

/* ESR bits */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR	(1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR	(1u << 6)
#define LAPIC_ESR_ILLEGAL_REGISTER	(1u << 7)

/* LVT fields */
#define LAPIC_LVT_VECTOR	0xffu
#define LAPIC_LVT_DM_SHIFT	8		/* delivery mode, 10:8 (enum lapic_dm) */
#define LAPIC_LVT_DM_MASK	(7u << 8)
#define LAPIC_LVT_PENDING	(1u << 12)	/* delivery status; always reads idle here */
#define LAPIC_LVT_POLARITY_LOW	(1u << 13)	/* LINT0/1 */
#define LAPIC_LVT_REMOTE_IRR	(1u << 14)	/* LINT0/1, read-only */
#define LAPIC_LVT_LEVEL		(1u << 15)	/* LINT0/1 trigger mode */
#define LAPIC_LVT_MASKED	(1u << 16)
#define LAPIC_LVT_TIMER_MODE_SHIFT 17		/* timer mode, 18:17 (enum lapic_timer_mode) */
#define LAPIC_LVT_TIMER_MODE_MASK (3u << 17)

enum lapic_timer_mode {
	LAPIC_TIMER_ONESHOT	= 0,
	LAPIC_TIMER_PERIODIC	= 1,
	LAPIC_TIMER_TSC_DEADLINE = 2,
	LAPIC_TIMER_RESERVED	= 3,	/* never counts */
};

/* Index into lapic.lvt[], in register order. */
enum lapic_lvt_index {
	LAPIC_LVT_CMCI,
	LAPIC_LVT_TIMER,
	LAPIC_LVT_THERMAL,
	LAPIC_LVT_PERF,
	LAPIC_LVT_LINT0,
	LAPIC_LVT_LINT1,
	LAPIC_LVT_ERROR,
	LAPIC_NR_LVT,
};

/* Delivery modes of the ICR (bits 10:8) and of the LVT entries. */
enum lapic_dm {
	LAPIC_DM_FIXED	= 0,
	LAPIC_DM_LOWEST	= 1,	/* ICR only */
	LAPIC_DM_SMI	= 2,
	LAPIC_DM_RESV3	= 3,
	LAPIC_DM_NMI	= 4,
	LAPIC_DM_INIT	= 5,
	LAPIC_DM_SIPI	= 6,	/* ICR only */
	LAPIC_DM_EXTINT	= 7,	/* LVT LINT0/LINT1 only; reserved in the ICR */
};

/* ICR destination shorthand (bits 19:18). */
enum lapic_shorthand {
	LAPIC_SH_NONE		= 0,
	LAPIC_SH_SELF		= 1,
	LAPIC_SH_ALL_INCL	= 2,
	LAPIC_SH_ALL_EXCL	= 3,
};

/* ICR fields (low dword; in x2APIC bits 63:32 are the destination) */
#define LAPIC_ICR_DEST_LOGICAL	(1u << 11)
#define LAPIC_ICR_PENDING	(1u << 12)	/* delivery status; always reads idle here */
#define LAPIC_ICR_ASSERT	(1u << 14)	/* level: 1 assert, 0 de-assert */
#define LAPIC_ICR_LEVEL		(1u << 15)	/* trigger mode: 1 level */
#define LAPIC_ICR_SH_SHIFT	18

/*
 * One interprocessor interrupt, as written to the ICR. @dest is the
 * destination field exactly as sent: 8 bits (0xFF broadcast) when @x2apic is
 * false, 32 bits (0xFFFFFFFF broadcast) when the sender was in x2APIC mode.
 */
struct lapic_ipi {
	uint8_t			vector;
	enum lapic_dm		delivery;
	bool			logical;	/* destination mode */
	enum lapic_shorthand	shorthand;
	bool			assert;		/* level bit (14) */
	bool			level_trig;	/* trigger mode bit (15) */
	bool			x2apic;		/* sender in x2APIC mode: 32-bit @dest */
	uint32_t		dest;
};

/* What the caller must do after a write; see struct lapic_fx. */
#define LAPIC_FX_IPI		(1u << 0)	/* deliver fx.ipi (never shorthand self) */
#define LAPIC_FX_EOI_LEVEL	(1u << 1)	/* fx.eoi_vector was level: tell the IOAPIC */
#define LAPIC_FX_TIMER		(1u << 2)	/* reprogram at lapic_timer_expiry() */
#define LAPIC_FX_EVAL		(1u << 3)	/* lapic_pending_vector() changed */
#define LAPIC_FX_LINT		(1u << 4)	/* LINT0/1 or enables changed: re-route */
#define LAPIC_FX_BASE		(1u << 5)	/* address or mode: remap/unmap MMIO */

struct lapic_fx {
	uint32_t		flags;		/* LAPIC_FX_* ; set to 0 on entry */
	uint8_t			eoi_vector;	/* with LAPIC_FX_EOI_LEVEL */
	struct lapic_ipi	ipi;		/* with LAPIC_FX_IPI */
};

struct lapic {
	uint64_t	apic_base;	/* IA32_APIC_BASE */
	uint32_t	initial_id;	/* power-on APIC ID (CPUID); the x2APIC ID */
	uint32_t	id;		/* xAPIC: 8 bits; x2APIC: initial_id */
	uint32_t	tpr;		/* bits 7:0 */
	uint32_t	ldr;		/* xAPIC: 31:24 written; x2APIC: derived */
	uint32_t	dfr;		/* xAPIC only: model in 31:28, 27:0 read as ones */
	uint32_t	svr;
	uint32_t	esr;		/* the value ESR reads: latched by the last ESR write */
	uint32_t	esr_pending;	/* errors seen since that write */
	uint32_t	icr_low;	/* delivery status always 0 */
	uint32_t	icr_high;	/* xAPIC: bits 31:24; x2APIC: the 32-bit destination */
	uint32_t	lvt[LAPIC_NR_LVT];
	uint32_t	isr[8], tmr[8], irr[8];	/* vector v: word v/32, bit v%32 */
	uint32_t	timer_icr;	/* initial count */
	uint32_t	timer_dcr;	/* divide configuration, bits 0, 1, 3 */
	bool		cmci;		/* LVT CMCI present (max LVT 6); see above */
	uint32_t	bus_ns_per_tick; /* ns per APIC bus clock tick, before the divider */

	/* Timer: counting (one-shot/periodic) or waiting for the TSC deadline. */
	bool		timer_armed;
	uint64_t	timer_start_ns;	 /* when the current count was (re)loaded */
	uint64_t	timer_period_ns; /* initial count * divisor * bus_ns_per_tick */
	uint64_t	timer_expiry_ns; /* absolute; meaningful when armed */
	uint64_t	tsc_deadline;	 /* IA32_TSC_DEADLINE as the guest reads it */
};

/*
 * Power-on (RESET) state, SDM "Local APIC State After Power-Up or Reset":
 * IA32_APIC_BASE = 0xFEE00000 | EN | (BSP if @is_bsp), xAPIC mode, ID =
 * @apic_id (xAPIC ID register shows the low 8 bits), IRR/ISR/TMR, ICR, LDR,
 * TPR, timer counts and divide config 0, DFR all ones, every LVT 0x00010000
 * (masked), SVR 0xFF (software-disabled), ESR 0, no timer, no TSC deadline;
 * @cmci false, bus clock LAPIC_BUS_NS_PER_TICK.
 */
void lapic_reset(struct lapic *l, uint32_t apic_id, bool is_bsp);

/*
 * INIT (INIT IPI or INIT#), SDM "Local APIC State After an INIT Reset": the
 * same as power-on except that the APIC ID and IA32_APIC_BASE (address, EN,
 * EXTD, BSP: an x2APIC stays in x2APIC mode, its LDR re-derived) are kept,
 * and so are @cmci and @bus_ns_per_tick. The caller stops its timer.
 */
void lapic_init_reset(struct lapic *l);

/*
 * xAPIC MMIO, @offset within the 4 KiB page, 32-bit accesses only.
 *
 * LAPIC_E_NOT_MAPPED when !lapic_mmio_mapped() (globally disabled or x2APIC:
 * the page is ordinary memory-less space then, the caller reads all ones).
 * LAPIC_E_UNALIGNED when @offset is not a multiple of 4 or is past 0xFFF
 * (undefined on hardware: the caller drops the write and reads 0; for a
 * narrow read it can read the aligned dword and extract the bytes).
 * Otherwise 0, and:
 *   - reserved registers (16-byte slots in 0x000-0x3F0 that hold no
 *     register, including RRD 0xC0 and SELF IPI 0x3F0, and LVT CMCI without
 *     @cmci) read 0, ignore writes and set ESR "illegal register address";
 *   - the dwords at +4, +8, +C of each slot and 0x400-0xFFF read 0 and
 *     ignore writes, silently;
 *   - read-only registers (version, APR, PPR, ISR, TMR, IRR, current count)
 *     ignore writes; APR reads 0;
 *   - EOI is write-only and reads 0; any value written is an EOI;
 *   - ESR reads the value latched at the last ESR write; a write (any value)
 *     latches the errors seen since and clears them.
 */
int lapic_mmio_read(struct lapic *l, uint32_t offset, uint32_t *val, uint64_t now_ns);
int lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t val, uint64_t now_ns,
		     struct lapic_fx *fx);

/*
 * x2APIC MSRs 0x800-0x8FF. LAPIC_E_GP (inject #GP(0), nothing changed) when
 * the APIC is not in x2APIC mode, for MSRs that hold no register (including
 * 0x809 APR, 0x80C RRD, 0x80E DFR, 0x831 ICR high, 0x82F without @cmci),
 * reads of EOI and SELF IPI, writes of read-only registers (ID, version,
 * LDR, PPR, ISR, TMR, IRR, current count), non-zero writes to EOI and ESR,
 * bits 63:32 set in any register but the ICR, and ICR reserved bits 31:20,
 * 17:16 or 13 set. The ICR (0x830) is one 64-bit register, destination in
 * 63:32; SELF IPI (0x83F) takes a vector in 7:0.
 */
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val, uint64_t now_ns);
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val, uint64_t now_ns,
		    struct lapic_fx *fx);

/*
 * WRMSR IA32_APIC_BASE. LAPIC_E_GP for reserved bits (7:0, 9, and
 * 63:@maxphyaddr) and for the illegal transitions of SDM "x2APIC State
 * Transitions": EN=0 with EXTD=1, x2APIC -> xAPIC (EN=1, EXTD=0), disabled
 * -> x2APIC. The BSP bit is read-only (writes ignored). Going to disabled
 * resets the register file to its power-on values (the ID to the initial
 * ID): state is not preserved across x2APIC -> disabled -> xAPIC, and
 * nothing survives a global disable, as the SDM allows. xAPIC -> x2APIC
 * keeps the registers, takes the 32-bit initial ID and derives the LDR.
 */
int lapic_set_base(struct lapic *l, uint64_t val, unsigned int maxphyaddr,
		   struct lapic_fx *fx);

static inline uint64_t lapic_base_msr(const struct lapic *l)
{
	return l->apic_base;
}

static inline uint64_t lapic_base_addr(const struct lapic *l)
{
	return l->apic_base & LAPIC_BASE_ADDR_MASK;
}

static inline bool lapic_hw_enabled(const struct lapic *l)
{
	return l->apic_base & LAPIC_BASE_EN;
}

static inline bool lapic_x2apic_mode(const struct lapic *l)
{
	return (l->apic_base & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) ==
	       (LAPIC_BASE_EN | LAPIC_BASE_EXTD);
}

/* The xAPIC page is decoded: globally enabled and not in x2APIC mode. */
static inline bool lapic_mmio_mapped(const struct lapic *l)
{
	return lapic_hw_enabled(l) && !lapic_x2apic_mode(l);
}

/* Globally and software enabled. */
static inline bool lapic_enabled(const struct lapic *l)
{
	return lapic_hw_enabled(l) && (l->svr & LAPIC_SVR_ENABLE);
}

/*
 * A fixed (or lowest-priority) interrupt arrives: sets IRR and sets (level)
 * or clears (edge) TMR. Vectors 0-15 are refused with ESR "received illegal
 * vector" (which raises the LVT error interrupt when unmasked). Dropped
 * while the APIC is not lapic_enabled(). Returns true if the IRR bit was
 * newly set (the caller kicks the vCPU), false if it was already pending
 * (coalesced) or the interrupt was refused or dropped.
 */
bool lapic_accept(struct lapic *l, unsigned int vector, bool level_triggered);

/*
 * The vector to inject: the highest IRR vector whose priority class
 * (vector >> 4) is above PPR's, or -1 (also when !lapic_enabled()).
 */
int lapic_pending_vector(const struct lapic *l);

/* The caller injected @vector: IRR -> ISR. False if it was not in IRR. */
bool lapic_ack(struct lapic *l, unsigned int vector);

/*
 * EOI: clears the highest ISR bit and returns its vector (-1 if ISR was
 * empty); *level (may be NULL) tells whether TMR had it as level-triggered.
 * Register writes to EOI call this and report through LAPIC_FX_EOI_LEVEL.
 */
int lapic_eoi(struct lapic *l, bool *level);

/* PPR: TPR if TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0 (ISRV: highest ISR vector or 0). */
uint32_t lapic_ppr(const struct lapic *l);

/*
 * Timer. lapic_timer_expiry() is the absolute now_ns-clock time the caller's
 * timer must fire at, 0 when none is armed. lapic_timer_expired() is called
 * from that timer (calling it early or spuriously is harmless: it returns
 * the pending expiry unchanged): it raises the LVT timer vector unless
 * masked, and returns the next expiry (periodic mode, missed periods
 * coalesced into the one interrupt) or 0 (one-shot and TSC-deadline disarm;
 * the deadline MSR reads 0 afterwards). The timer keeps counting when masked.
 *
 * Writing the initial count (one-shot/periodic) loads the counter at
 * @now_ns: expiry = now + count * divisor * bus_ns_per_tick; writing 0
 * stops it. A divide-configuration write while counting keeps the current
 * count and counts the rest at the new rate. An LVT timer write that
 * changes the mode disarms the timer (SDM 10.5.4.1; the initial count
 * register keeps its value, the current count reads 0, the TSC deadline is
 * cleared). In TSC-deadline mode initial-count writes are ignored and the
 * current count reads 0.
 */
static inline uint64_t lapic_timer_expiry(const struct lapic *l)
{
	return l->timer_armed ? l->timer_expiry_ns : 0;
}

uint64_t lapic_timer_expired(struct lapic *l, uint64_t now_ns);
uint32_t lapic_timer_current_count(const struct lapic *l, uint64_t now_ns);
enum lapic_timer_mode lapic_timer_mode(const struct lapic *l);
/* Divisor encoded by a divide-configuration value (bits 0, 1, 3): 1..128. */
unsigned int lapic_timer_divisor(uint32_t dcr);

/*
 * WRMSR IA32_TSC_DEADLINE = @deadline (guest TSC), with the guest TSC at
 * @now_tsc at time @now_ns and a TSC of @tsc_khz kHz (non-zero). Ignored
 * unless in TSC-deadline mode; 0 disarms; a deadline already passed expires
 * at @now_ns (the caller's timer fires at once). Returns true if the armed
 * state or expiry changed (reprogram at lapic_timer_expiry()).
 */
bool lapic_tsc_deadline_write(struct lapic *l, uint64_t deadline, uint64_t now_tsc,
			      uint64_t now_ns, uint32_t tsc_khz);

/* RDMSR IA32_TSC_DEADLINE: 0 outside TSC-deadline mode and once fired. */
uint64_t lapic_tsc_deadline_read(const struct lapic *l);

/*
 * Is @l a target of @ipi? @is_self: @l belongs to the sender. Shorthands
 * first; then physical (ID equality, 0xFF / 0xFFFFFFFF broadcast) or
 * logical: x2APIC cluster (LDR 31:16 cluster, 15:0 bitmap), xAPIC flat
 * (DFR model 1111b: MDA & LDR) or cluster (model 0000b: MDA[7:4] ==
 * LDR[31:28] and MDA[3:0] & LDR[27:24]), 0xFF broadcast in both. A
 * globally disabled APIC is no target. Matching ignores the software
 * enable: INIT, SIPI, NMI and SMI still reach a software-disabled APIC
 * (lapic_accept() drops fixed interrupts there). Lowest-priority
 * arbitration among the matches is the caller's.
 */
bool lapic_match_dest(const struct lapic *l, const struct lapic_ipi *ipi, bool is_self);

/*
 * Does the PIC's INTR reach this CPU? True when the APIC is globally
 * disabled (INTR goes straight to the core) or LVT LINT0 is unmasked with
 * delivery mode ExtINT (the caller then injects the PIC's vector directly,
 * without lapic_accept()).
 */
bool lapic_accept_pic_intr(const struct lapic *l);

/*
 * State save/restore (the VMM's snapshots, VMXCORE_GET_LAPIC/SET_LAPIC).
 *
 * @regs is the register page as an xAPIC read of each 16-byte slot in
 * 0x000-0x3F0 returns it (the dwords between slots read 0), with these
 * exceptions so that x2APIC state fits the same layout: in x2APIC mode the
 * ID at 0x020 is the 32-bit x2APIC ID and ICR high at 0x310 the 32-bit
 * destination. Write-only registers (EOI, SELF IPI) and reserved slots read
 * 0; 0x390 holds the current count at save time (informational: the timer
 * resumes from @timer_remaining_ns). Little-endian dwords.
 */
#define LAPIC_STATE_REGS	0x400

struct lapic_state {
	uint8_t		regs[LAPIC_STATE_REGS];
	uint64_t	apic_base;		/* IA32_APIC_BASE */
	uint64_t	tsc_deadline;		/* IA32_TSC_DEADLINE as last written */
	uint64_t	timer_remaining_ns;	/* until the timer fires; with timer_armed */
	bool		timer_armed;
	uint32_t	esr_pending;		/* errors the next ESR write latches */
};

/* Fills @s from @l at @now_ns. */
void lapic_save(const struct lapic *l, uint64_t now_ns, struct lapic_state *s);

/*
 * Loads @s into @l at @now_ns: the timer, when armed, fires at now +
 * remaining (periodic mode then goes on with the period of the initial
 * count). The initial ID, @cmci and the bus clock are the vCPU's and stay.
 * -EINVAL, @l unchanged, when @s cannot be a state of this APIC:
 * IA32_APIC_BASE with reserved bits (7:0, 9, 63:@maxphyaddr) or EXTD
 * without EN; an x2APIC ID other than the initial ID; an armed timer while
 * the APIC is globally disabled, in the reserved timer mode, counting with
 * initial count 0 or with more than one period left, or in TSC-deadline
 * mode with deadline 0. Fields with read-only or reserved bits are masked
 * as a register write would mask them. The caller reprograms its timer at
 * lapic_timer_expiry().
 */
int lapic_restore(struct lapic *l, const struct lapic_state *s, uint64_t now_ns,
		  unsigned int maxphyaddr);

/*
 * TPR threshold for a VMX TPR shadow (SDM Vol. 3C 29.1.2): the priority
 * class of the highest IRR vector when TPR alone holds it back (lowering
 * TPR below that class must exit so it can be delivered), else 0.
 */
uint32_t lapic_tpr_threshold(const struct lapic *l);

/*
 * The registers a CPU with VMX APIC-register virtualization reads from the
 * virtual-APIC page instead of exiting (SDM Vol. 3C 29.4.2), as xAPIC MMIO
 * reads would return them: ID, version, TPR, EOI (0), LDR, DFR, SVR, ISR,
 * TMR, IRR, ESR, ICR, the LVTs 0x320-0x370, initial count and divide
 * configuration. @page is the 4 KiB page as dwords (offset / 4); other
 * dwords are left alone. Reads nothing with a side effect.
 */
void lapic_vapic_regs(const struct lapic *l, uint32_t *page);

#endif /* VMXCORE_LAPIC_H */
