/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the driver's files.
 *
 *   main.c   module load/unload, in order
 *   caps.c   VMX capability MSRs -> struct vmxcore_caps, usability checks
 *   vmxon.c  per-CPU VMX on/off, reference-counted by VMs, CPU hotplug
 *   dev.c    /dev/vmxcore: the system fd's ioctls and sysfs attributes
 *   vm.c     VM file descriptors
 */
#ifndef VMXCORE_H
#define VMXCORE_H

#include <linux/cpumask.h>
#include "include/uapi/vmxcore.h"

#define VMX_PR_PREFIX "vmxcore: "

/* caps.c */
int vmx_caps_init(void);
const struct vmxcore_caps *vmx_caps(void);

/* vmxon.c */
int vmx_percpu_init(void);
void vmx_percpu_exit(void);
int vmx_get(void);
void vmx_put(void);
void vmx_on_cpus(struct cpumask *mask);

/* vm.c */
int vm_create_fd(unsigned long type);
unsigned int vm_count(void);

/* dev.c */
int vmx_dev_init(void);
void vmx_dev_exit(void);

#endif /* VMXCORE_H */
