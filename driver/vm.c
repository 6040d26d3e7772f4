// SPDX-License-Identifier: GPL-2.0
/*
 * vm.c: VM file descriptors.
 *
 * A VM holds a reference on VMX operation (vmxon.c) for its whole life: VMX
 * is on, on every online CPU, from VMXCORE_CREATE_VM until the last
 * reference to the VM fd is closed. The fd also pins the module.
 *
 * Environment: process context.
 */
#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "vmxcore.h"

struct vmx_vm {
	pid_t creator;		/* tgid that created it, for the log */
};

static atomic_t vm_alive = ATOMIC_INIT(0);

unsigned int vm_count(void)
{
	return atomic_read(&vm_alive);
}

static int vm_release(struct inode *inode, struct file *file)
{
	struct vmx_vm *vm = file->private_data;

	kfree(vm);
	atomic_dec(&vm_alive);
	vmx_put();
	return 0;
}

static long vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vm_release,
	.unlocked_ioctl	= vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* VMXCORE_CREATE_VM: @type must be 0. Returns the new fd or -errno. */
int vm_create_fd(unsigned long type)
{
	struct vmx_vm *vm;
	int ret, fd;

	if (type != 0)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->creator = task_tgid_nr(current);

	ret = vmx_get();
	if (ret)
		goto free_vm;
	atomic_inc(&vm_alive);
	fd = anon_inode_getfd("vmxcore-vm", &vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		atomic_dec(&vm_alive);
		vmx_put();
		goto free_vm;
	}
	return fd;

free_vm:
	kfree(vm);
	return ret;
}
