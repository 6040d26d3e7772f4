/* The vCPU section of the runner's state file (vmm/runner/snapshot.c):
 * the version-1 tail (XCR0, TSC, events) round-trips, a section from before
 * it still loads, a newer version and bad events are refused by name. The
 * local APIC section (machines with more than one vCPU) likewise: round
 * trip, newer version, truncation, and each rule a kernel would apply. A
 * version 1 file is refused for a machine with NICs or APICs, by name.
 *
 * The unit is compiled into this program (its section codec is static).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

/* ---- local APIC section ---- */

static struct rn_snap_lapic lin, lout;

static void apic_reg_set(struct vmxcore_lapic_state *a, unsigned off, uint32_t v)
{
	memcpy(a->regs + off, &v, 4);	/* little-endian host and file */
}

/* vCPU 1, halted, xAPIC enabled at the default base, a one-shot timer
 * with 5 ms left, a vector waiting in IRR. */
static void lapic_sample(struct rn_snap_lapic *s)
{
	memset(s, 0, sizeof(*s));
	s->mp_state = VMXCORE_MP_HALTED;
	s->apic.apic_base = 0xfee00800;
	apic_reg_set(&s->apic, 0x20, 1u << 24);		/* ID */
	apic_reg_set(&s->apic, 0xf0, 0x1ff);		/* SVR: enabled */
	apic_reg_set(&s->apic, 0x200 + 0x10 * 7, 1u << 1);	/* IRR: vector 0xe1 */
	apic_reg_set(&s->apic, 0x320, 0xef);		/* LVT timer: one-shot */
	apic_reg_set(&s->apic, 0x380, 100000);		/* initial count */
	apic_reg_set(&s->apic, 0x3e0, 0xb);		/* divide by 1 */
	s->apic.flags = VMXCORE_LAPIC_TIMER_ARMED;
	s->apic.timer_remaining_ns = 5000000;
	s->apic.esr_pending = 0x80;
}

static size_t lapic_encode(const struct rn_snap_lapic *s, struct vmm_snap_w *w)
{
	vmm_snap_w_init(w);
	rn_snap_lapic_put(w, s);
	assert_false(w->failed);
	return w->len;
}

static void lapic_round_trips(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	lapic_sample(&lin);
	len = lapic_encode(&lin, &w);
	assert_int_equal(len, 4 + 4 + 1024 + 3 * 8 + 2 * 4);
	assert_int_equal(rn_snap_lapic_get(w.buf, len, 1, &lout, &err), 0);
	assert_memory_equal(&lin, &lout, sizeof(lin));
	vmm_snap_w_free(&w);
}

static void lapic_newer_or_cut_refused(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;

	(void)state;
	lapic_sample(&lin);
	len = lapic_encode(&lin, &w);
	w.buf[0] = 2;
	assert_int_equal(rn_snap_lapic_get(w.buf, len, 1, &lout, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "local APIC state version 2"));
	w.buf[0] = 1;
	for (size_t n = 0; n < len; n += 7) {
		assert_int_equal(rn_snap_lapic_get(w.buf, n, 1, &lout, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "local APIC section truncated"));
	}
	assert_int_equal(rn_snap_lapic_get(w.buf, len - 1, 1, &lout, &err), -EBADMSG);
	vmm_snap_w_free(&w);
}

/* One rule broken at a time, each refused with its reason. */
static void lapic_bad_state_refused(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err = { 0 };
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		int want = -EBADMSG;
		const char *msg = NULL;

		lapic_sample(&lin);
		switch (i) {
		case 0: lin.mp_state = 2; msg = "MP state 2"; break;		/* KVM's INIT_RECEIVED */
		case 1: lin.apic.apic_base |= 1u << 9; msg = "IA32_APIC_BASE"; break;
		case 2: lin.apic.apic_base = 0xfee00400; msg = "IA32_APIC_BASE"; break;	/* x2APIC, off */
		case 3: lin.apic.apic_base = 0xfee00c00; want = -EINVAL; msg = "x2APIC ID"; break;
		case 4: lin.apic.flags |= 2; msg = "flags 0x3"; break;
		case 5: apic_reg_set(&lin.apic, 0x380, 0); msg = "initial count 0"; break;
		case 6: apic_reg_set(&lin.apic, 0x320, 0x400ef); msg = "without a deadline"; break;
		case 7: lin.apic.apic_base = 0xfee00000; msg = "APIC disabled"; break;
		}
		len = lapic_encode(&lin, &w);
		assert_int_equal(rn_snap_lapic_get(w.buf, len, 1, &lout, &err), want);
		if (!strstr(err.msg, msg))
			fail_msg("case %d: '%s' lacks '%s'", i, err.msg, msg);
		vmm_snap_w_free(&w);
	}
	/* x2APIC with the vCPU's own ID, a TSC-deadline timer with its deadline:
	 * both fine. */
	lapic_sample(&lin);
	lin.apic.apic_base = 0xfee00c00;
	apic_reg_set(&lin.apic, 0x20, 1);
	apic_reg_set(&lin.apic, 0x320, 0x400ef);
	lin.apic.tsc_deadline = 0x123456789ull;
	len = lapic_encode(&lin, &w);
	assert_int_equal(rn_snap_lapic_get(w.buf, len, 1, &lout, &err), 0);
	vmm_snap_w_free(&w);
}

/* ---- what a machine needs from the file ---- */

/* A state file of MACH (with or without the NIC count) and END, as fd. */
static int mach_file(uint32_t version, int with_nics, uint32_t nnics)
{
	struct vmm_snap_w w;
	FILE *f = tmpfile();
	size_t at;
	int fd;

	assert_non_null(f);
	fd = dup(fileno(f));
	fclose(f);
	vmm_snap_w_init(&w);
	vmm_snap_put_header(&w);
	w.buf[8] = (uint8_t)version;
	at = vmm_snap_section_begin(&w, VMM_SNAP_MACH, 0);
	vmm_snap_put_u64(&w, 64u << 20);
	vmm_snap_put_u32(&w, 2);
	vmm_snap_put_u32(&w, 0);
	if (with_nics)
		vmm_snap_put_u32(&w, nnics);
	vmm_snap_section_end(&w, at);
	vmm_snap_section_end(&w, vmm_snap_section_begin(&w, VMM_SNAP_END, 0));
	assert_false(w.failed);
	assert_int_equal(write(fd, w.buf, w.len), (ssize_t)w.len);
	vmm_snap_w_free(&w);
	return fd;
}

static struct machine mach;
static struct rn_snap_load ld;

/* A version 1 file has no NIC count (none) and no APIC sections: a machine
 * with a NIC or APICs is refused, naming what the file lacks. */
static void v1_file_refused_where_state_is_missing(void **state)
{
	struct vx_err err = { 0 };
	uint8_t *p = NULL;
	size_t len;
	int fd;

	(void)state;
	memset(&mach, 0, sizeof(mach));
	mach.ram_bytes = 64u << 20;
	mach.nvcpus = 2;
	fd = mach_file(1, 0, 0);
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(vmm_snap_index_read(fd, &ld.ix, &err), 0);
	assert_int_equal(rn_snap_read_mach(&mach, &ld, fd, &err), 0);	/* no NICs: fine */
	mach.nnics = 1;
	assert_int_equal(rn_snap_read_mach(&mach, &ld, fd, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "saved from a machine with 0 NICs; this one has 1"));
	assert_int_equal(rn_snap_need_v2(&ld, fd, VMM_SNAP_LAPC, 1, "local APIC state of vCPU",
					 &p, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "state file (version 1): no local APIC state of vCPU 1 "
				"(section 'LAPC')"));
	assert_null(p);
	assert_int_equal(rn_snap_need_v2(&ld, fd, VMM_SNAP_VNET, 0, "virtio-net state of NIC",
					 &p, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no virtio-net state of NIC 0 (section 'VNET')"));
	close(fd);

	/* Version 2 with the count: the NICs must match. */
	fd = mach_file(2, 1, 1);
	assert_int_equal(vmm_snap_index_read(fd, &ld.ix, &err), 0);
	assert_int_equal(rn_snap_read_mach(&mach, &ld, fd, &err), 0);
	mach.nnics = 2;
	assert_int_equal(rn_snap_read_mach(&mach, &ld, fd, &err), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vcpu_tail_round_trips),
		cmocka_unit_test(vcpu_section_without_tail_loads),
		cmocka_unit_test(vcpu_newer_tail_refused),
		cmocka_unit_test(vcpu_cut_tail_refused),
		cmocka_unit_test(vcpu_bad_events_refused),
		cmocka_unit_test(lapic_round_trips),
		cmocka_unit_test(lapic_newer_or_cut_refused),
		cmocka_unit_test(lapic_bad_state_refused),
		cmocka_unit_test(v1_file_refused_where_state_is_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
