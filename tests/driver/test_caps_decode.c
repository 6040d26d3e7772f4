/* Unit tests for driver/caps_decode.h, the pure part of the driver's
 * capability handling, against values from the SDM and from Bochs 2.7's
 * corei7_skylake_x model (shared/bochs/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "driver/caps_decode.h"

#define BOCHS_VMX_BASIC 0x00d810000000002bull

static void caps_basic_fields_decode(void **state)
{
	(void)state;
	assert_int_equal(vmxc_basic_revision(BOCHS_VMX_BASIC), 0x2b);
	assert_int_equal(vmxc_basic_vmcs_size(BOCHS_VMX_BASIC), 4096);
	assert_int_equal(vmxc_basic_memtype(BOCHS_VMX_BASIC), VMXC_BASIC_MEMTYPE_WB);
	assert_true(BOCHS_VMX_BASIC & VMXC_BASIC_TRUE_CTLS);
	/* bit 31 of the revision dword is the shadow-VMCS flag, not revision */
	assert_int_equal(vmxc_basic_revision(0x80000004ull), 4);
}

static void caps_ctl_msr_prefers_true_msrs(void **state)
{
	(void)state;
	assert_int_equal(vmxc_ctl_msr(BOCHS_VMX_BASIC, 0), 0x48d);
	assert_int_equal(vmxc_ctl_msr(BOCHS_VMX_BASIC, 3), 0x490);
	assert_int_equal(vmxc_ctl_msr(BOCHS_VMX_BASIC & ~VMXC_BASIC_TRUE_CTLS, 0), 0x481);
	assert_int_equal(vmxc_ctl_msr(BOCHS_VMX_BASIC & ~VMXC_BASIC_TRUE_CTLS, 2), 0x483);
}

static void caps_allowed_split(void **state)
{
	(void)state;
	assert_int_equal(vmxc_allowed0(0x0000007f00000016ull), 0x16);
	assert_int_equal(vmxc_allowed1(0x0000007f00000016ull), 0x7f);
	assert_int_equal(vmxc_allowed1(0x02177fff00000000ull), 0x02177fff);
}

static void caps_verdict_accepts_locked_enabled(void **state)
{
	(void)state;
	assert_null(vmxc_usable_verdict(VMXC_CPUID1_ECX_VMX, 0x5));
}

static void caps_verdict_refuses_missing_vmx(void **state)
{
	(void)state;
	assert_non_null(strstr(vmxc_usable_verdict(0, 0x5), "does not support VMX"));
}

static void caps_verdict_refuses_locked_off(void **state)
{
	(void)state;
	assert_non_null(strstr(vmxc_usable_verdict(VMXC_CPUID1_ECX_VMX, 0x1),
			       "disabled by firmware"));
}

static void caps_verdict_refuses_unlocked(void **state)
{
	(void)state;
	assert_non_null(strstr(vmxc_usable_verdict(VMXC_CPUID1_ECX_VMX, 0x4), "not locked"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_basic_fields_decode),
		cmocka_unit_test(caps_ctl_msr_prefers_true_msrs),
		cmocka_unit_test(caps_allowed_split),
		cmocka_unit_test(caps_verdict_accepts_locked_enabled),
		cmocka_unit_test(caps_verdict_refuses_missing_vmx),
		cmocka_unit_test(caps_verdict_refuses_locked_off),
		cmocka_unit_test(caps_verdict_refuses_unlocked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
