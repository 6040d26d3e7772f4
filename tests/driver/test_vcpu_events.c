/* Unit tests for driver/vcpu_events.c: the checks VMXCORE_SET_VCPU_EVENTS
 * makes and the conversions to and from the VMX fields.
 *
 * The unit is compiled into this program. Expected values are the SDM's
 * (Vol. 3C 24.4.2 interruptibility bits, 24.8.3 interruption-information
 * format, 26.2.1.3 / 26.3.1.5 VM-entry checks), written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "driver/vcpu_events.c"

#define RFLAGS_IF	0x202ull
#define RFLAGS_NO_IF	0x002ull
#define CR0_PROT	0x11ull		/* PE, ET */
#define CR0_REAL	0x10ull

static const struct vev_guest prot_if = { .rflags = RFLAGS_IF, .cr0 = CR0_PROT };

static int check(const struct vmxcore_vcpu_events *ev, const struct vev_guest *g,
		 const char *want_why)
{
	const char *why = NULL;
	int rc = vev_check(ev, g, &why);

	if (want_why) {
		assert_int_equal(rc, -EINVAL);
		assert_non_null(why);
		if (!strstr(why, want_why))
			fail_msg("refused for \"%s\", expected \"%s\"", why, want_why);
	} else {
		if (rc)
			fail_msg("refused: %s", why);
	}
	return rc;
}

static void events_empty_accepted(void **state)
{
	struct vmxcore_vcpu_events ev = { 0 };

	(void)state;
	check(&ev, &prot_if, NULL);
	check(&ev, &(struct vev_guest){ .rflags = RFLAGS_NO_IF, .cr0 = CR0_REAL, .halted = true },
	      NULL);
}

static void events_reserved_refused(void **state)
{
	struct vmxcore_vcpu_events ev = { .flags = 1 };

	(void)state;
	check(&ev, &prot_if, "reserved");
	ev = (struct vmxcore_vcpu_events){ .reserved[9] = 1 };
	check(&ev, &prot_if, "reserved");
	ev = (struct vmxcore_vcpu_events){ .nmi.padding = 1 };
	check(&ev, &prot_if, "padding");
	ev = (struct vmxcore_vcpu_events){ .shadow = 4 };
	check(&ev, &prot_if, "shadow: reserved");
}

static void events_booleans_are_0_or_1(void **state)
{
	struct vmxcore_vcpu_events ev = { .nmi.pending = 2 };

	(void)state;
	check(&ev, &prot_if, "nmi");
	ev = (struct vmxcore_vcpu_events){ .interrupt.queued = 3, .interrupt.queued_vector = 0x40 };
	check(&ev, &prot_if, "interrupt");
	ev = (struct vmxcore_vcpu_events){ .exception.injected = 2, .exception.vector = 6 };
	check(&ev, &prot_if, "exception");
}

static void exception_vectors(void **state)
{
	struct vmxcore_vcpu_events ev = { .exception = { .injected = 1, .vector = 6 } };	/* #UD */

	(void)state;
	check(&ev, &prot_if, NULL);
	ev.exception.vector = 2;	/* NMI is its own event */
	check(&ev, &prot_if, "vector");
	ev.exception.vector = 32;
	check(&ev, &prot_if, "vector");
	ev.exception.vector = 0;	/* #DE */
	check(&ev, &prot_if, NULL);
	ev.exception.pending = 1;
	check(&ev, &prot_if, "injected and pending");
	ev = (struct vmxcore_vcpu_events){ .exception.vector = 6 };	/* no exception, a vector */
	check(&ev, &prot_if, "without an exception");
}

/* #GP pushes an error code in protected mode, never in real mode. */
static void exception_error_code_follows_cr0_pe(void **state)
{
	struct vmxcore_vcpu_events ev = {
		.exception = { .pending = 1, .vector = 13, .has_error_code = 1, .error_code = 0x18 },
	};
	struct vev_guest real = { .rflags = RFLAGS_IF, .cr0 = CR0_REAL };

	(void)state;
	check(&ev, &prot_if, NULL);
	check(&ev, &real, "has_error_code");
	ev.exception.has_error_code = 0;
	check(&ev, &prot_if, "has_error_code");
	check(&ev, &real, "error_code");	/* error code without has_error_code */
	ev.exception.error_code = 0;
	check(&ev, &real, NULL);
	/* #UD never has one; #DF, #TS, #NP, #SS, #PF, #AC do. */
	ev = (struct vmxcore_vcpu_events){ .exception = { .injected = 1, .vector = 6,
							  .has_error_code = 1 } };
	check(&ev, &prot_if, "has_error_code");
	for (unsigned v = 8; v <= 17; v++) {
		int wants = v == 8 || (v >= 10 && v <= 14) || v == 17;

		assert_int_equal(vev_wants_error_code(v, CR0_PROT), wants);
		assert_false(vev_wants_error_code(v, CR0_REAL));
	}
	ev = (struct vmxcore_vcpu_events){ .exception = { .injected = 1, .vector = 14,
							  .has_error_code = 1, .error_code = 0x10000 } };
	check(&ev, &prot_if, "above 0xffff");
}

static void interrupt_vectors(void **state)
{
	struct vmxcore_vcpu_events ev = { .interrupt = { .injected = 1, .vector = 16 } };

	(void)state;
	check(&ev, &prot_if, NULL);
	ev.interrupt.vector = 15;
	check(&ev, &prot_if, "below 16");
	ev = (struct vmxcore_vcpu_events){ .interrupt = { .queued = 1, .queued_vector = 0x20 } };
	check(&ev, &prot_if, NULL);
	ev.interrupt.queued_vector = 0x1f;
	check(&ev, &prot_if, "below 32");
	ev = (struct vmxcore_vcpu_events){ .interrupt = { .vector = 0x30 } };
	check(&ev, &prot_if, "without injected");
	/* An interrupt in delivery and a queued one may coexist. */
	ev = (struct vmxcore_vcpu_events){ .interrupt = { 1, 0x30, 1, 0x31 } };
	check(&ev, &prot_if, NULL);
}

static void one_event_in_delivery(void **state)
{
	struct vmxcore_vcpu_events ev = {
		.exception = { .injected = 1, .vector = 6 },
		.interrupt = { .injected = 1, .vector = 0x30 },
	};

	(void)state;
	check(&ev, &prot_if, "more than one");
	ev = (struct vmxcore_vcpu_events){ .interrupt = { .injected = 1, .vector = 0x30 },
					   .nmi.injected = 1 };
	check(&ev, &prot_if, "more than one");
	/* A pending exception waits behind an event in delivery. */
	ev = (struct vmxcore_vcpu_events){ .exception = { .pending = 1, .vector = 6 },
					   .nmi.injected = 1 };
	check(&ev, &prot_if, NULL);
}

static void nmi_rules(void **state)
{
	struct vmxcore_vcpu_events ev = { .nmi = { .injected = 1, .masked = 1 } };

	(void)state;
	check(&ev, &prot_if, "injected while masked");
	ev.nmi = (__typeof__(ev.nmi)){ .pending = 1, .masked = 1 };	/* waits for IRET */
	check(&ev, &prot_if, NULL);
}

static void shadow_rules(void **state)
{
	struct vmxcore_vcpu_events ev = { .shadow = VMXCORE_SHADOW_STI };
	struct vev_guest no_if = { .rflags = RFLAGS_NO_IF, .cr0 = CR0_PROT };
	struct vev_guest halted = { .rflags = RFLAGS_IF, .cr0 = CR0_PROT, .halted = true };

	(void)state;
	check(&ev, &prot_if, NULL);
	check(&ev, &no_if, "RFLAGS.IF=0");
	check(&ev, &halted, "halted");
	ev.shadow = VMXCORE_SHADOW_MOV_SS;
	check(&ev, &no_if, NULL);	/* MOV SS blocks whatever IF says */
	ev.shadow = VMXCORE_SHADOW_STI | VMXCORE_SHADOW_MOV_SS;
	check(&ev, &prot_if, "both");
	ev = (struct vmxcore_vcpu_events){ .shadow = VMXCORE_SHADOW_STI,
					   .interrupt = { .injected = 1, .vector = 0x30 } };
	check(&ev, &prot_if, "injected");
	ev = (struct vmxcore_vcpu_events){ .shadow = VMXCORE_SHADOW_MOV_SS, .nmi.injected = 1 };
	check(&ev, &prot_if, "injected");
	/* An exception in delivery may come with a shadow (VM entry allows it). */
	ev = (struct vmxcore_vcpu_events){ .shadow = VMXCORE_SHADOW_MOV_SS,
					   .exception = { .injected = 1, .vector = 1 } };
	check(&ev, &prot_if, NULL);
}

/* Interruption information: valid bit 31, type 10:8, error code bit 11. */
static void injected_info_encodings(void **state)
{
	struct vmxcore_vcpu_events ev = {
		.exception = { .injected = 1, .vector = 14, .has_error_code = 1, .error_code = 6 },
	};
	uint32_t code;

	(void)state;
	assert_int_equal(vev_injected_info(&ev, &code), 0x80000b0e);
	assert_int_equal(code, 6);
	ev = (struct vmxcore_vcpu_events){ .interrupt = { .injected = 1, .vector = 0x31 } };
	assert_int_equal(vev_injected_info(&ev, &code), 0x80000031);
	ev = (struct vmxcore_vcpu_events){ .nmi.injected = 1 };
	assert_int_equal(vev_injected_info(&ev, &code), 0x80000202);
	ev = (struct vmxcore_vcpu_events){ .exception = { .pending = 1, .vector = 6 } };
	assert_int_equal(vev_injected_info(&ev, &code), 0);	/* pending is not in delivery */
}

static void record_injected_round_trips(void **state)
{
	static const uint32_t infos[] = { 0x80000b0d, 0x80000306, 0x80000041, 0x80000202 };
	struct vmxcore_vcpu_events ev;
	uint32_t code;

	(void)state;
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		assert_true(vev_record_injected(&ev, infos[i], 0x1234));
		check(&ev, &prot_if, NULL);
		assert_int_equal(vev_injected_info(&ev, &code), infos[i]);
		assert_int_equal(code, infos[i] & VEV_INFO_ERROR_CODE ? 0x1234 : 0);
	}
	memset(&ev, 0, sizeof(ev));
	assert_false(vev_record_injected(&ev, 0x00000b0d, 0));	/* not valid */
	assert_false(vev_record_injected(&ev, 0x80000480, 0));	/* INT 0x80: re-executed */
	assert_false(vev_record_injected(&ev, 0x80000603, 0));	/* INT3 */
	assert_false(vev_record_injected(&ev, 0x80000501, 0));	/* INT1 */
	assert_memory_equal(&ev, &(struct vmxcore_vcpu_events){ 0 }, sizeof(ev));
}

static void interruptibility_bits(void **state)
{
	struct vmxcore_vcpu_events ev = { 0 };

	(void)state;
	vev_record_interruptibility(&ev, 0x9);	/* STI + NMI blocking */
	assert_int_equal(ev.shadow, VMXCORE_SHADOW_STI);
	assert_int_equal(ev.nmi.masked, 1);
	assert_int_equal(vev_interruptibility(&ev), 0x9);
	vev_record_interruptibility(&ev, 0x2 | 0x4);	/* MOV SS; SMI blocking not kept */
	assert_int_equal(ev.shadow, VMXCORE_SHADOW_MOV_SS);
	assert_int_equal(ev.nmi.masked, 0);
	assert_int_equal(vev_interruptibility(&ev), 0x2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_empty_accepted),
		cmocka_unit_test(events_reserved_refused),
		cmocka_unit_test(events_booleans_are_0_or_1),
		cmocka_unit_test(exception_vectors),
		cmocka_unit_test(exception_error_code_follows_cr0_pe),
		cmocka_unit_test(interrupt_vectors),
		cmocka_unit_test(one_event_in_delivery),
		cmocka_unit_test(nmi_rules),
		cmocka_unit_test(shadow_rules),
		cmocka_unit_test(injected_info_encodings),
		cmocka_unit_test(record_injected_round_trips),
		cmocka_unit_test(interruptibility_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
