/* The vCPU section of the runner's state file (vmm/runner/snapshot.c):
 * the version-1 tail (XCR0, TSC, events) round-trips, a section from before
 * it still loads, a newer version and bad events are refused by name.
 *
 * The unit is compiled into this program (its section codec is static).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/runner/snapshot.c"

/* The tail's size as the format lays it out: version u32, XCR0 u64, TSC
 * u64, exception 4 x u8 + u32, interrupt 4 x u8, nmi 3 x u8, shadow u32. */
#define EXT_BYTES	(4 + 8 + 8 + 8 + 4 + 3 + 4)

static struct rn_snap_vcpu in, out;

/* A protected-mode vCPU with IF=1, a #GP in delivery and the STI shadow. */
static void sample(struct rn_snap_vcpu *s)
{
	memset(s, 0, sizeof(*s));
	s->regs.rip = 0x1234;
	s->regs.rflags = 0x202;
	s->sregs.cr0 = 0x11;
	s->msrs.head.nmsrs = 1;
	s->msrs.e[0].index = 0xc0000081;	/* STAR */
	s->msrs.e[0].data = 0x0023001000000000ull;
	s->ext_version = RN_SNAP_VCPU_EXT_VERSION;
	s->xcr0 = 7;
	s->tsc = 0x123456789abcull;
	s->events.exception.pending = 1;
	s->events.exception.vector = 13;
	s->events.exception.has_error_code = 1;
	s->events.exception.error_code = 0x18;
	s->events.nmi.injected = 1;
	s->events.nmi.pending = 1;
	s->events.shadow = 0;
}

static size_t encode(const struct rn_snap_vcpu *s, struct vmm_snap_w *w)
{
	vmm_snap_w_init(w);
	rn_snap_vcpu_put(w, s);
	assert_false(w->failed);
	return w->len;
}

static void vcpu_tail_round_trips(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	sample(&in);
	len = encode(&in, &w);
	assert_int_equal(rn_snap_vcpu_get(w.buf, len, &out, &err), 0);
	assert_int_equal(out.ext_version, 1);
	assert_int_equal(out.xcr0, 7);
	assert_int_equal(out.tsc, 0x123456789abcull);
	assert_memory_equal(&out.events, &in.events, sizeof(in.events));
	assert_int_equal(out.regs.rip, 0x1234);
	assert_int_equal(out.msrs.e[0].data, in.msrs.e[0].data);
	vmm_snap_w_free(&w);
}

/* A section written before the tail existed loads with no events, ext 0. */
static void vcpu_section_without_tail_loads(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	sample(&in);
	len = encode(&in, &w);
	assert_int_equal(rn_snap_vcpu_get(w.buf, len - EXT_BYTES, &out, &err), 0);
	assert_int_equal(out.ext_version, 0);
	assert_int_equal(out.tsc, 0);
	assert_memory_equal(&out.events, &(struct vmxcore_vcpu_events){ 0 }, sizeof(out.events));
	assert_int_equal(out.regs.rip, 0x1234);
	vmm_snap_w_free(&w);
}

static void vcpu_newer_tail_refused(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;
	uint32_t two = 2;

	(void)state;
	sample(&in);
	len = encode(&in, &w);
	memcpy(w.buf + len - EXT_BYTES, &two, 4);	/* little-endian host and file */
	assert_int_equal(rn_snap_vcpu_get(w.buf, len, &out, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "vCPU state version 2"));
	vmm_snap_w_free(&w);
}

static void vcpu_cut_tail_refused(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	sample(&in);
	len = encode(&in, &w);
	assert_int_equal(rn_snap_vcpu_get(w.buf, len - 3, &out, &err), -EBADMSG);
	vmm_snap_w_free(&w);
}

/* The kernel's own rules, applied to the file before anything loads. */
static void vcpu_bad_events_refused(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	sample(&in);
	in.regs.rflags = 0x2;			/* IF=0 ... */
	in.events.shadow = VMXCORE_SHADOW_STI;	/* ... with an STI shadow */
	in.events.nmi.injected = 0;
	len = encode(&in, &w);
	assert_int_equal(rn_snap_vcpu_get(w.buf, len, &out, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "vCPU events: shadow: STI with RFLAGS.IF=0"));
	vmm_snap_w_free(&w);

	sample(&in);
	in.xcr0 = 6;				/* x87 missing */
	len = encode(&in, &w);
	assert_int_equal(rn_snap_vcpu_get(w.buf, len, &out, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "XCR0"));
	vmm_snap_w_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vcpu_tail_round_trips),
		cmocka_unit_test(vcpu_section_without_tail_loads),
		cmocka_unit_test(vcpu_newer_tail_refused),
		cmocka_unit_test(vcpu_cut_tail_refused),
		cmocka_unit_test(vcpu_bad_events_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
