// SPDX-License-Identifier: GPL-2.0
/*
 * vmxcore: a VT-x hypervisor core for Linux hosts.
 *
 * main.c: module load and unload. Load checks that VMX is usable, reads its
 * capabilities, prepares per-CPU VMXON regions and registers /dev/vmxcore;
 * VMX itself is entered only while VMs exist (vmxon.c explains why).
 */
#include <linux/module.h>

#include "vmxcore.h"

static int __init vmxcore_init(void)
{
	int ret;

	ret = vmx_caps_init();
	if (ret)
		return ret;
	ret = vmx_percpu_init();
	if (ret)
		return ret;
	ret = vmx_dev_init();
	if (ret) {
		vmx_percpu_exit();
		return ret;
	}
	pr_info(VMX_PR_PREFIX "ready, API version %d\n", VMXCORE_API_VERSION);
	return 0;
}

static void __exit vmxcore_exit(void)
{
	vmx_dev_exit();
	vmx_percpu_exit();
	pr_info(VMX_PR_PREFIX "unloaded\n");
}

module_init(vmxcore_init);
module_exit(vmxcore_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmxcore: VT-x hypervisor core");
MODULE_VERSION("0.1");
