/*
 * labtool: runs inside the VT-x lab (static binary in the initramfs).
 *
 *   labtool caps              TAP: ioctls of /dev/vmxcore, capabilities
 *                             checked against the MSRs read through msr.ko
 *   labtool show              the capabilities, for people (the demo)
 *   labtool create-vm         create and close a VM; exit 0 or the errno
 *   labtool hold-vm FILE      create a VM, touch FILE, hold it until SIGTERM
 *   labtool kvm-create        the same two on /dev/kvm, as the peer
 *   labtool kvm-hold FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vmxcore.h"
#include "driver/caps_decode.h"
#include "tap.h"

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "labtool: open %s: %s\n", path, strerror(errno));
	return fd;
}

static int read_msr(unsigned int msr, uint64_t *val)
{
	int fd = open("/dev/cpu/0/msr", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, val, sizeof(*val), msr);
	close(fd);
	return n == (ssize_t)sizeof(*val) ? 0 : -EIO;
}

static uint64_t msr_or_zero(unsigned int msr)
{
	uint64_t v = 0;

	if (read_msr(msr, &v))
		printf("# cannot read MSR %#x\n", msr);
	return v;
}

static void check_ctls(const char *name, const struct vmxcore_ctls *c, unsigned int msr)
{
	uint64_t v = msr_or_zero(msr);
	char label[96];

	snprintf(label, sizeof(label), "caps_%s_match_msr_%#x", name, msr);
	tap_check(c->allowed0 == vmxc_allowed0(v) && c->allowed1 == vmxc_allowed1(v), label,
		  "caps %#x/%#x, MSR %#llx", c->allowed0, c->allowed1, (unsigned long long)v);
}

static int errno_of(int ret)
{
	return ret < 0 ? errno : 0;
}

static int cmd_caps(void)
{
	struct vmxcore_caps caps;
	uint64_t basic;
	int fd, ver;

	tap_plan(21);
	fd = open_dev("/dev/vmxcore");
	if (!tap_check(fd >= 0, "dev_opens", "%s", strerror(errno)))
		return 1;
	ver = ioctl(fd, VMXCORE_GET_API_VERSION, 0);
	tap_eq_u64("api_version", ver, VMXCORE_API_VERSION);
	tap_eq_u64("api_version_rejects_nonzero_arg",
		   errno_of(ioctl(fd, VMXCORE_GET_API_VERSION, 1)), EINVAL);
	tap_eq_u64("unknown_ioctl_is_enotty", errno_of(ioctl(fd, _IO(VMXCORE_IOCTL_TYPE, 0x3f), 0)),
		   ENOTTY);
	tap_eq_u64("get_caps_bad_pointer_is_efault",
		   errno_of(ioctl(fd, VMXCORE_GET_CAPS, (void *)16)), EFAULT);
	tap_eq_u64("create_vm_rejects_unknown_type",
		   errno_of(ioctl(fd, VMXCORE_CREATE_VM, 7)), EINVAL);
	memset(&caps, 0xa5, sizeof(caps));
	tap_eq_u64("get_caps", errno_of(ioctl(fd, VMXCORE_GET_CAPS, &caps)), 0);

	basic = msr_or_zero(0x480);
	tap_eq_u64("caps_vmx_basic_match_msr", caps.vmx_basic, basic);
	tap_eq_u64("caps_vmcs_revision", caps.vmcs_revision, vmxc_basic_revision(basic));
	tap_eq_u64("caps_vmcs_size", caps.vmcs_size, vmxc_basic_vmcs_size(basic));
	tap_eq_u64("caps_true_ctls_flag", !!(caps.flags & VMXCORE_CAP_TRUE_CTLS),
		   !!(basic & VMXC_BASIC_TRUE_CTLS));
	check_ctls("pin", &caps.pin, vmxc_ctl_msr(basic, 0));
	check_ctls("proc", &caps.proc, vmxc_ctl_msr(basic, 1));
	check_ctls("exit", &caps.exit, vmxc_ctl_msr(basic, 2));
	check_ctls("entry", &caps.entry, vmxc_ctl_msr(basic, 3));
	check_ctls("proc2", &caps.proc2, 0x48b);
	tap_eq_u64("caps_ept_vpid_match_msr", caps.ept_vpid_cap, msr_or_zero(0x48c));
	tap_check(caps.misc == msr_or_zero(0x485) && caps.vmcs_enum == msr_or_zero(0x48a),
		  "caps_misc_vmcs_enum_match_msr", "misc %#llx enum %#llx",
		  (unsigned long long)caps.misc, (unsigned long long)caps.vmcs_enum);
	tap_check(caps.cr0_fixed0 == msr_or_zero(0x486) && caps.cr0_fixed1 == msr_or_zero(0x487) &&
		  caps.cr4_fixed0 == msr_or_zero(0x488) && caps.cr4_fixed1 == msr_or_zero(0x489),
		  "caps_cr_fixed_match_msr", "cr0 %#llx/%#llx cr4 %#llx/%#llx",
		  (unsigned long long)caps.cr0_fixed0, (unsigned long long)caps.cr0_fixed1,
		  (unsigned long long)caps.cr4_fixed0, (unsigned long long)caps.cr4_fixed1);
	tap_check(!!(caps.flags & VMXCORE_CAP_EPT) == !!(caps.proc2.allowed1 & VMXC_PROC2_EPT) &&
		  !!(caps.flags & VMXCORE_CAP_VPID) == !!(caps.proc2.allowed1 & VMXC_PROC2_VPID) &&
		  !!(caps.flags & VMXCORE_CAP_UNRESTRICTED_GUEST) ==
			  !!(caps.proc2.allowed1 & VMXC_PROC2_UNRESTRICTED),
		  "caps_feature_flags_follow_proc2", "flags %#x proc2 allowed1 %#x", caps.flags,
		  caps.proc2.allowed1);
	tap_check(caps.reserved0 == 0 && caps.reserved[0] == 0 && caps.reserved[7] == 0,
		  "caps_reserved_zero", "reserved fields not zeroed");
	close(fd);
	return tap_failed ? 1 : 0;
}

static void print_ctls(const char *name, const struct vmxcore_ctls *c)
{
	printf("  %-6s controls: must be 1 %08x, may be 1 %08x\n", name, c->allowed0, c->allowed1);
}

static int cmd_show(void)
{
	struct vmxcore_caps c;
	int fd = open_dev("/dev/vmxcore");

	if (fd < 0 || ioctl(fd, VMXCORE_GET_CAPS, &c) < 0)
		return 1;
	printf("vmxcore API %d, VMCS revision %#x (%u bytes)\n",
	       ioctl(fd, VMXCORE_GET_API_VERSION, 0), c.vmcs_revision, c.vmcs_size);
	printf("  EPT %s, VPID %s, unrestricted guest %s, true controls %s\n",
	       c.flags & VMXCORE_CAP_EPT ? "yes" : "no", c.flags & VMXCORE_CAP_VPID ? "yes" : "no",
	       c.flags & VMXCORE_CAP_UNRESTRICTED_GUEST ? "yes" : "no",
	       c.flags & VMXCORE_CAP_TRUE_CTLS ? "yes" : "no");
	print_ctls("pin", &c.pin);
	print_ctls("proc", &c.proc);
	print_ctls("proc2", &c.proc2);
	print_ctls("exit", &c.exit);
	print_ctls("entry", &c.entry);
	printf("  EPT/VPID capabilities %#llx\n", (unsigned long long)c.ept_vpid_cap);
	close(fd);
	return 0;
}

static int create_vm(const char *dev, unsigned long req)
{
	int fd = open_dev(dev), vm;

	if (fd < 0)
		return -ENODEV;
	vm = ioctl(fd, req, 0);
	close(fd);
	return vm < 0 ? -errno : vm;
}

static void on_term(int sig)
{
	(void)sig;
}

/* Creates a VM, signals readiness through @ready, holds it until SIGTERM. */
static int hold_vm(const char *dev, unsigned long req, const char *ready)
{
	int vm = create_vm(dev, req), fd;

	if (vm < 0) {
		fprintf(stderr, "labtool: create VM on %s: %s\n", dev, strerror(-vm));
		return -vm;
	}
	signal(SIGTERM, on_term);
	fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	pause();
	close(vm);
	return 0;
}

static int report_create(const char *dev, unsigned long req)
{
	int vm = create_vm(dev, req);

	if (vm < 0) {
		printf("%s\n", strerror(-vm));
		return -vm;
	}
	close(vm);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "caps"))
		return cmd_caps();
	if (!strcmp(cmd, "show"))
		return cmd_show();
	if (!strcmp(cmd, "create-vm"))
		return report_create("/dev/vmxcore", VMXCORE_CREATE_VM);
	if (!strcmp(cmd, "kvm-create"))
		return report_create("/dev/kvm", KVM_CREATE_VM);
	if (!strcmp(cmd, "hold-vm") && argc == 3)
		return hold_vm("/dev/vmxcore", VMXCORE_CREATE_VM, argv[2]);
	if (!strcmp(cmd, "kvm-hold") && argc == 3)
		return hold_vm("/dev/kvm", KVM_CREATE_VM, argv[2]);
	fprintf(stderr, "usage: labtool caps|show|create-vm|kvm-create|hold-vm FILE|kvm-hold FILE\n");
	return 2;
}
