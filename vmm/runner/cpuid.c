/*
 * The guest's CPUID table: the host's leaves, minus what this VMM does not
 * give a guest. A bit set here is a promise; the rules are
 *   - no feature whose MSRs the core refuses (#GP): MCE/MCA, MTRR, PAT,
 *     thermal and power leaves, performance monitoring, speculation
 *     control and ARCH_CAPABILITIES, TSC_ADJUST;
 *   - no local APIC unless the machine has the in-kernel one
 *     (rn_cpuid_give_apic, irqchip.c): Linux then takes its timer and
 *     interrupts from the 8259 PIC and the PIT;
 *   - no instruction that needs a VM-execution control the core does not
 *     set (RDTSCP, INVPCID, XSAVES, WAITPKG), nor VMX/SMX;
 *   - one vCPU per package, its APIC ID its vCPU id, no topology leaves;
 *   - no XSAVE, and nothing that needs it (AVX and its family, leaf 0xD),
 *     when the host kernel does not use XSAVE itself (host CPUID.1:ECX.
 *     OSXSAVE clear): the core switches XCR0 only as far as the host has
 *     it, and KVM refuses CR4.OSXSAVE then. Debian's kernel in Bochs
 *     turns XSAVE off ("XSAVE consistency problem").
 * Leaf 1 ECX.OSXSAVE is the guest's CR4.OSXSAVE: the core fills it in.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "vmm/runner/runner.h"

#define BIT(n)	(1u << (n))

/* leaf 1 */
#define L1_ECX_DROP	(BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | \
			 BIT(15) | BIT(17) | BIT(18) | BIT(21) | BIT(24) | BIT(27))
#define L1_EDX_DROP	(BIT(7) | BIT(9) | BIT(12) | BIT(14) | BIT(16) | BIT(18) | \
			 BIT(21) | BIT(22) | BIT(28) | BIT(29) | BIT(31))
#define L1_ECX_HYPERVISOR BIT(31)
/* leaf 7 subleaf 0 */
#define L7_EBX_DROP	(BIT(1) | BIT(2) | BIT(4) | BIT(10) | BIT(11) | BIT(12) | \
			 BIT(14) | BIT(15) | BIT(25))
#define L7_ECX_DROP	(BIT(3) | BIT(4) | BIT(5) | BIT(16) | BIT(30))
/* What needs XSAVE: leaf 1 ECX FMA, XSAVE, AVX, F16C; leaf 7 EBX AVX2 and
 * the AVX-512 bits, leaf 7 ECX the AVX-512/VAES/GFNI-on-AVX bits. */
#define L1_ECX_XSAVE_ONLY	(BIT(12) | BIT(26) | BIT(28) | BIT(29))
#define L1_ECX_OSXSAVE		BIT(27)
#define L7_EBX_XSAVE_ONLY	(BIT(5) | BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | \
				 BIT(28) | BIT(30) | BIT(31))
#define L7_ECX_XSAVE_ONLY	(BIT(1) | BIT(6) | BIT(9) | BIT(10) | BIT(11) | BIT(12) | BIT(14))
/* leaf 0xd subleaf 1 */
#define LD1_EAX_DROP	(BIT(3) | BIT(4))
/* leaf 0x80000001 */
#define LX1_EDX_DROP	BIT(27)

#define MAX_BASIC	0xdu
#define MAX_EXT		0x80000008u

void rn_cpuid_host(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	__cpuid_count(leaf, sub, out[0], out[1], out[2], out[3]);
}

static int add(struct vmxcore_cpuid *t, unsigned max, uint32_t leaf, uint32_t sub,
	       int indexed, const uint32_t r[4])
{
	struct vmxcore_cpuid_entry *e;

	if (t->nent >= max)
		return -ENOSPC;
	e = &t->entries[t->nent++];
	*e = (struct vmxcore_cpuid_entry){
		.function = leaf, .index = sub,
		.flags = indexed ? VMXCORE_CPUID_FLAG_INDEXED : 0,
		.eax = r[0], .ebx = r[1], .ecx = r[2], .edx = r[3],
	};
	return 0;
}

struct filter_ctx {
	unsigned vcpu_id;
	int xsave;		/* the host kernel uses XSAVE */
};

static void filter(uint32_t leaf, uint32_t sub, uint32_t r[4], const struct filter_ctx *c)
{
	switch (leaf) {
	case 1:
		r[1] = (r[1] & 0x0000ffffu) | (1u << 16) | (c->vcpu_id << 24);
		r[2] = (r[2] & ~L1_ECX_DROP) | L1_ECX_HYPERVISOR;
		if (!c->xsave)
			r[2] &= ~L1_ECX_XSAVE_ONLY;
		r[3] &= ~L1_EDX_DROP;
		break;
	case 4:
		r[0] &= 0x3ff;		/* one core, one thread per cache */
		break;
	case 6: case 0xa: case 0xb:
		memset(r, 0, 4 * sizeof(*r));
		break;
	case 7:
		if (sub == 0) {
			r[0] = 0;	/* no further subleaves */
			r[1] &= ~L7_EBX_DROP;
			r[2] &= ~L7_ECX_DROP;
			if (!c->xsave) {
				r[1] &= ~L7_EBX_XSAVE_ONLY;
				r[2] &= ~L7_ECX_XSAVE_ONLY;
			}
			r[3] = 0;	/* speculation control and friends */
		} else {
			memset(r, 0, 4 * sizeof(*r));
		}
		break;
	case 0xd:
		if (!c->xsave)
			memset(r, 0, 4 * sizeof(*r));
		else if (sub == 1)
			r[0] &= ~LD1_EAX_DROP;
		break;
	case 0x80000001:
		r[3] &= ~LX1_EDX_DROP;
		break;
	case 0x80000007:
		memset(r, 0, 4 * sizeof(*r));
		break;
	}
}

/* Subleaves worth listing for the leaves that have them. */
static unsigned subleaves(uint32_t leaf)
{
	switch (leaf) {
	case 4:   return 8;
	case 7:   return 1;
	case 0xd: return 64;
	default:  return 0;	/* not indexed */
	}
}

static int add_range(struct vmxcore_cpuid *t, unsigned max, rn_cpuid_source host,
		     uint32_t first, uint32_t last, const struct filter_ctx *c)
{
	uint32_t r[4];
	int rc = 0;

	for (uint32_t leaf = first; leaf <= last && !rc; leaf++) {
		unsigned n = subleaves(leaf);

		if (!n) {
			host(leaf, 0, r);
			if (leaf == first)
				r[0] = last;
			filter(leaf, 0, r, c);
			rc = add(t, max, leaf, 0, 0, r);
			continue;
		}
		for (unsigned sub = 0; sub < n && !rc; sub++) {
			host(leaf, sub, r);
			/* Leaf 4 ends at a null cache type; leaf 0xd lists
			 * only the components the host has. */
			if (sub > 1 && !r[0] && !r[1])
				continue;
			filter(leaf, sub, r, c);
			rc = add(t, max, leaf, sub, 1, r);
		}
	}
	return rc;
}

/*
 * The local APIC bit (leaf 1 EDX bit 9) for a machine with the in-kernel
 * APIC (irqchip.c). x2APIC and the TSC-deadline timer stay hidden: Linux
 * would use x2APIC only with interrupt remapping or a known hypervisor, and
 * the APIC timer's one-shot and periodic modes are what both backends do
 * alike.
 */
void rn_cpuid_give_apic(struct vmxcore_cpuid *t)
{
	for (uint32_t i = 0; i < t->nent; i++)
		if (t->entries[i].function == 1)
			t->entries[i].edx |= BIT(9);
}

int rn_cpuid_build(struct vmxcore_cpuid *t, unsigned max_entries,
		   rn_cpuid_source host, unsigned vcpu_id)
{
	static const uint32_t sig[4] = { 0x40000000, 0x63786d76, 0x7665726f, 0x6f63786d };
	struct filter_ctx c = { .vcpu_id = vcpu_id };
	uint32_t r[4], basic, ext;
	int rc;

	t->nent = 0;
	t->reserved = 0;
	host(1, 0, r);
	c.xsave = (r[2] & L1_ECX_OSXSAVE) != 0;
	host(0, 0, r);
	basic = r[0] < MAX_BASIC ? r[0] : MAX_BASIC;
	host(0x80000000, 0, r);
	ext = r[0] < MAX_EXT ? r[0] : MAX_EXT;
	rc = add_range(t, max_entries, host, 0, basic, &c);
	/* Our hypervisor leaf: "vmxcorevmxco", no paravirtual interfaces. */
	if (!rc)
		rc = add(t, max_entries, 0x40000000, 0, 0, sig);
	if (!rc && ext >= 0x80000000)
		rc = add_range(t, max_entries, host, 0x80000000, ext, &c);
	return rc;
}
