/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmxcore userspace ABI: ioctls on /dev/vmxcore and the file descriptors it
 * hands out. Shared verbatim by the driver and userspace.
 *
 * Versioning: VMXCORE_GET_API_VERSION returns VMXCORE_API_VERSION. It changes
 * only when an existing ioctl or structure changes meaning; additions keep it
 * and are found through VMXCORE_GET_CAPS. Structures carry reserved fields
 * that must be zero on input and are zero on output, so they can grow in place.
 *
 * Ioctl type 0xB7: "vmxcore", numbers 0x00-0x3f system fd, 0x40-0x7f VM fd,
 * 0x80-0xbf vCPU fd.
 */
#ifndef _UAPI_LINUX_VMXCORE_H
#define _UAPI_LINUX_VMXCORE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VMXCORE_API_VERSION	1
#define VMXCORE_IOCTL_TYPE	0xB7

/* One VMX control field's capability MSR, split (SDM Vol. 3D A.3-A.5). */
struct vmxcore_ctls {
	__u32 allowed0;		/* bits that may be 0; a 0 here must be 1 */
	__u32 allowed1;		/* bits that may be 1 */
};

/* vmxcore_caps.flags */
#define VMXCORE_CAP_TRUE_CTLS		(1u << 0) /* ctls below are IA32_VMX_TRUE_* */
#define VMXCORE_CAP_SECONDARY_CTLS	(1u << 1) /* proc2 is valid */
#define VMXCORE_CAP_EPT			(1u << 2)
#define VMXCORE_CAP_VPID		(1u << 3)
#define VMXCORE_CAP_UNRESTRICTED_GUEST	(1u << 4)
#define VMXCORE_CAP_VMFUNC		(1u << 5) /* vmfunc is valid */

/*
 * The host CPU's VMX capabilities, as the driver read them from the VMX
 * capability MSRs of the boot CPU (SDM Vol. 3D appendix A). Where
 * IA32_VMX_BASIC[55] is set the control pairs come from the TRUE MSRs,
 * which is what the driver programs against.
 */
struct vmxcore_caps {
	__u64 vmx_basic;		/* IA32_VMX_BASIC, raw */
	__u32 vmcs_revision;		/* VMX_BASIC[30:0] */
	__u32 vmcs_size;		/* VMX_BASIC[44:32], bytes */
	__u32 flags;			/* VMXCORE_CAP_* */
	__u32 reserved0;
	struct vmxcore_ctls pin;	/* pin-based VM-execution controls */
	struct vmxcore_ctls proc;	/* primary processor-based controls */
	struct vmxcore_ctls proc2;	/* secondary processor-based controls */
	struct vmxcore_ctls exit;	/* VM-exit controls */
	struct vmxcore_ctls entry;	/* VM-entry controls */
	__u64 ept_vpid_cap;		/* IA32_VMX_EPT_VPID_CAP, 0 without EPT/VPID */
	__u64 misc;			/* IA32_VMX_MISC */
	__u64 cr0_fixed0, cr0_fixed1;	/* IA32_VMX_CR0_FIXED0/1 */
	__u64 cr4_fixed0, cr4_fixed1;	/* IA32_VMX_CR4_FIXED0/1 */
	__u64 vmcs_enum;		/* IA32_VMX_VMCS_ENUM */
	__u64 vmfunc;			/* IA32_VMX_VMFUNC, 0 without VM functions */
	__u64 reserved[8];
};

/* System fd (/dev/vmxcore) */
#define VMXCORE_GET_API_VERSION	_IO(VMXCORE_IOCTL_TYPE, 0x00)
#define VMXCORE_GET_CAPS	_IOR(VMXCORE_IOCTL_TYPE, 0x01, struct vmxcore_caps)
/* arg: 0 (no VM types yet). Returns a new VM fd. VMX is on, on every online
 * CPU, for as long as any VM fd is open. */
#define VMXCORE_CREATE_VM	_IO(VMXCORE_IOCTL_TYPE, 0x02)

#endif /* _UAPI_LINUX_VMXCORE_H */
