// SPDX-License-Identifier: GPL-2.0
/*
 * dev.c: /dev/vmxcore, the system file descriptor, and its sysfs attributes
 * (/sys/class/misc/vmxcore/): vmx_cpus (CPUs now in VMX operation, as a CPU
 * list), vms (VMs alive), pages_pinned (guest pages EPT holds) and pages_ept
 * (EPT table pages): all return to 0 when every VM is gone; exit_stats
 * ("REASON:COUNT ..." since load, the last above the table counted together,
 * then the guest RIP of the latest exit).
 *
 * Environment: process context.
 */
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>

#include "vmxcore.h"

static long vmx_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case VMXCORE_GET_API_VERSION:
		return arg ? -EINVAL : VMXCORE_API_VERSION;
	case VMXCORE_GET_CAPS:
		if (copy_to_user((void __user *)arg, vmx_caps(), sizeof(struct vmxcore_caps)))
			return -EFAULT;
		return 0;
	case VMXCORE_CREATE_VM:
		return vm_create_fd(arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vmx_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vmx_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static ssize_t vmx_cpus_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct cpumask mask;

	vmx_on_cpus(&mask);
	return cpumap_print_to_pagebuf(true, buf, &mask);
}
static DEVICE_ATTR_RO(vmx_cpus);

static ssize_t vms_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", vm_count());
}
static DEVICE_ATTR_RO(vms);

static ssize_t pages_pinned_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&vmx_pages_pinned));
}
static DEVICE_ATTR_RO(pages_pinned);

static ssize_t pages_ept_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&vmx_pages_ept));
}
static DEVICE_ATTR_RO(pages_ept);

static ssize_t exit_stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return vmx_exit_stats_show(buf);
}
static DEVICE_ATTR_RO(exit_stats);

static struct attribute *vmx_dev_attrs[] = {
	&dev_attr_exit_stats.attr,
	&dev_attr_vmx_cpus.attr,
	&dev_attr_vms.attr,
	&dev_attr_pages_pinned.attr,
	&dev_attr_pages_ept.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmx_dev);

static struct miscdevice vmx_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vmxcore",
	.fops	= &vmx_dev_fops,
	.groups	= vmx_dev_groups,
	.mode	= 0600,
};

int vmx_dev_init(void)
{
	return misc_register(&vmx_misc);
}

void vmx_dev_exit(void)
{
	misc_deregister(&vmx_misc);
}
