/* The guest CPUID table the runner gives vmxcore and KVM (vmm/runner/cpuid.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/runner/runner.h"

/* A host that sets every feature bit, with 0x1f basic and 0x80000021
 * extended leaves and every leaf 0xd subleaf populated. */
static void all_features(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	(void)sub;
	out[0] = out[1] = out[2] = out[3] = 0xffffffffu;
	if (leaf == 0)
		out[0] = 0x1f;
	if (leaf == 0x80000000)
		out[0] = 0x80000021;
}

static const struct vmxcore_cpuid_entry *find(const struct vmxcore_cpuid *t,
					      uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < t->nent; i++)
		if (t->entries[i].function == leaf &&
		    (!(t->entries[i].flags & VMXCORE_CPUID_FLAG_INDEXED) ||
		     t->entries[i].index == sub))
			return &t->entries[i];
	return NULL;
}

static struct {
	struct vmxcore_cpuid head;
	struct vmxcore_cpuid_entry e[VMXCORE_CPUID_MAX_ENTRIES];
} t;

static void cpuid_fits_and_caps_leaf_ranges(void **state)
{
	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, all_features, 0), 0);
	assert_true(t.head.nent <= VMXCORE_CPUID_MAX_ENTRIES);
	assert_int_equal(find(&t.head, 0, 0)->eax, 0xd);
	assert_int_equal(find(&t.head, 0x80000000, 0)->eax, 0x80000008);
	assert_null(find(&t.head, 0x1f, 0));
	assert_null(find(&t.head, 0x80000021, 0));
}

static void cpuid_hides_what_the_core_does_not_give(void **state)
{
	const struct vmxcore_cpuid_entry *e;

	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, all_features, 3), 0);
	e = find(&t.head, 1, 0);
	assert_false(e->edx & (1u << 9));	/* local APIC */
	assert_false(e->edx & (1u << 16));	/* PAT: its MSR would #GP */
	assert_false(e->edx & (1u << 12));	/* MTRR */
	assert_false(e->ecx & (1u << 5));	/* VMX */
	assert_false(e->ecx & (1u << 21));	/* x2APIC */
	assert_false(e->ecx & (1u << 27));	/* OSXSAVE: the core mirrors CR4 */
	assert_true(e->ecx & (1u << 31));	/* hypervisor */
	assert_true(e->ecx & (1u << 26));	/* XSAVE stays */
	assert_int_equal(e->ebx >> 24, 3);	/* APIC ID = vCPU id */
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_int_equal(find(&t.head, 7, 0)->edx, 0);
	assert_false(find(&t.head, 7, 0)->ebx & (1u << 10));	/* INVPCID */
	assert_false(find(&t.head, 0xd, 1)->eax & (1u << 3));	/* XSAVES */
	assert_false(find(&t.head, 0x80000001, 0)->edx & (1u << 27));	/* RDTSCP */
	assert_int_equal(find(&t.head, 0xa, 0)->eax, 0);	/* no PMU */
	assert_int_equal(find(&t.head, 6, 0)->eax, 0);
}

/* The same host with XSAVE that its kernel turned off (OSXSAVE clear). */
static void no_osxsave(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	all_features(leaf, sub, out);
	if (leaf == 1)
		out[2] &= ~(1u << 27);
}

static void cpuid_no_xsave_when_the_host_kernel_has_none(void **state)
{
	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, no_osxsave, 0), 0);
	assert_false(find(&t.head, 1, 0)->ecx & (1u << 26));	/* XSAVE */
	assert_false(find(&t.head, 1, 0)->ecx & (1u << 28));	/* AVX */
	assert_false(find(&t.head, 7, 0)->ebx & (1u << 5));	/* AVX2 */
	assert_int_equal(find(&t.head, 0xd, 0)->eax, 0);
	assert_true(find(&t.head, 1, 0)->ecx & (1u << 0));	/* SSE3 stays */
}

static void cpuid_hypervisor_leaf_is_ours(void **state)
{
	const struct vmxcore_cpuid_entry *e;
	char sig[13];

	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, all_features, 0), 0);
	e = find(&t.head, 0x40000000, 0);
	assert_non_null(e);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	sig[12] = 0;
	assert_string_equal(sig, "vmxcorevmxco");
}

static void cpuid_too_small_a_table_is_an_error(void **state)
{
	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, 10, all_features, 0), -ENOSPC);
}

/* A machine with the in-kernel APIC shows it in leaf 1, nothing more. */
static void cpuid_apic_bit_only_when_given(void **state)
{
	uint32_t ecx;

	(void)state;
	assert_int_equal(rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, all_features, 1), 0);
	ecx = find(&t.head, 1, 0)->ecx;
	rn_cpuid_give_apic(&t.head);
	assert_true(find(&t.head, 1, 0)->edx & (1u << 9));
	assert_int_equal(find(&t.head, 1, 0)->ecx, ecx);
	assert_false(ecx & (1u << 21));		/* x2APIC */
	assert_false(ecx & (1u << 24));		/* TSC deadline */
	assert_int_equal(find(&t.head, 1, 0)->ebx >> 24, 1);	/* APIC ID */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpuid_fits_and_caps_leaf_ranges),
		cmocka_unit_test(cpuid_hides_what_the_core_does_not_give),
		cmocka_unit_test(cpuid_no_xsave_when_the_host_kernel_has_none),
		cmocka_unit_test(cpuid_hypervisor_leaf_is_ours),
		cmocka_unit_test(cpuid_too_small_a_table_is_an_error),
		cmocka_unit_test(cpuid_apic_bit_only_when_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
