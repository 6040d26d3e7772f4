/*
 * vmm_boot_elf: booting an uncompressed vmlinux (the ELF file the kernel
 * build makes, or extract-vmlinux recovers from a bzImage) through the same
 * 64-bit boot protocol: PT_LOAD segments go to their physical addresses and
 * the vCPU starts at e_entry (startup_64) with boot_params in RSI.
 *
 * Why: a bzImage decompresses itself in the guest first. On hardware that
 * is a fraction of a second; in the VT-x lab, where Bochs runs the guest
 * about 100 times slower, it is minutes per boot.
 *
 * The file has no setup header, so one is made: protocol 2.15, loaded
 * high, 64-bit entry, a 2047-byte command line (x86's COMMAND_LINE_SIZE is
 * 2048) and initrds anywhere below 2 GiB, as for a bzImage of this era.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "vmm/boot_params.h"

#define ELF_MAX_SEGMENTS	16
#define ELF_HDR_VERSION		0x020f
#define ELF_CMDLINE_SIZE	2047
#define ELF_INITRD_ADDR_MAX	0x7fffffffu

int vmm_boot_is_elf(const uint8_t *k, size_t n)
{
	return n >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0;
}

static int vmm_elf_header(const struct vmm_boot_linux_args *a, Elf64_Ehdr *eh,
			  struct vx_err *err)
{
	if (a->kernel_size < sizeof(*eh))
		return vx_err_set(err, -ENOEXEC, "kernel: ELF file of %zu bytes is truncated",
				  a->kernel_size);
	memcpy(eh, a->kernel, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: ELF file is not an x86-64 executable (a vmlinux is)");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > a->kernel_size ||
	    (a->kernel_size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: ELF program headers (%u at 0x%llx) are not inside the file",
				  eh->e_phnum, (unsigned long long)eh->e_phoff);
	return 0;
}

static void vmm_elf_phdr(const struct vmm_boot_linux_args *a, const Elf64_Ehdr *eh,
			 unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, a->kernel + eh->e_phoff + (size_t)i * sizeof(*ph), sizeof(*ph));
}

/* One PT_LOAD: its bytes in the file, its place in guest RAM below 4 GiB. */
static int vmm_elf_check_segment(const struct vmm_boot_linux_args *a,
				 const Elf64_Phdr *ph, uint64_t limit,
				 struct vx_err *err)
{
	if (ph->p_offset > a->kernel_size || ph->p_filesz > a->kernel_size - ph->p_offset ||
	    ph->p_filesz > ph->p_memsz)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: ELF segment at file offset 0x%llx (0x%llx bytes) is not inside the file",
				  (unsigned long long)ph->p_offset,
				  (unsigned long long)ph->p_filesz);
	if (ph->p_paddr < VMM_BOOT_HIMEM || ph->p_paddr >= limit ||
	    ph->p_memsz > limit - ph->p_paddr)
		return vx_err_set(err, -ENOSPC,
				  "boot: kernel segment [0x%llx, +0x%llx) is not inside RAM from 1 MiB to 0x%llx",
				  (unsigned long long)ph->p_paddr,
				  (unsigned long long)ph->p_memsz,
				  (unsigned long long)limit);
	return 0;
}

/* The setup header a bzImage of this protocol would carry. */
static void vmm_elf_make_header(struct vmm_kernel_layout *l)
{
	st16(l->hdr + HDR_BOOT_FLAG, 0xaa55);
	memcpy(l->hdr + HDR_MAGIC, "HdrS", 4);
	st16(l->hdr + HDR_VERSION, ELF_HDR_VERSION);
	l->hdr[HDR_LOADFLAGS] = LOADED_HIGH;
	st32(l->hdr + HDR_INITRD_ADDR_MAX, ELF_INITRD_ADDR_MAX);
	st16(l->hdr + HDR_XLOADFLAGS, XLF_KERNEL_64);
	st32(l->hdr + HDR_CMDLINE_SIZE, ELF_CMDLINE_SIZE);
	l->hdr_end = HDR_END_MAX;
	l->version = ELF_HDR_VERSION;
}

int vmm_elf_layout(const struct vmm_boot_linux_args *a,
		   struct vmm_kernel_layout *l, struct vx_err *err)
{
	uint64_t limit = a->ram_size < VMM_BOOT_MAPPED ? a->ram_size : VMM_BOOT_MAPPED;
	int entry_inside = 0, rc;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	rc = vmm_elf_header(a, &eh, err);
	if (rc)
		return rc;
	l->load = UINT64_MAX;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		vmm_elf_phdr(a, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (++l->segments > ELF_MAX_SEGMENTS)
			return vx_err_set(err, -ENOEXEC,
					  "kernel: more than %d ELF load segments",
					  ELF_MAX_SEGMENTS);
		rc = vmm_elf_check_segment(a, &ph, limit, err);
		if (rc)
			return rc;
		if (ph.p_paddr < l->load)
			l->load = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > l->end)
			l->end = ph.p_paddr + ph.p_memsz;
		if (eh.e_entry >= ph.p_paddr && eh.e_entry < ph.p_paddr + ph.p_memsz)
			entry_inside = 1;
	}
	if (!l->segments)
		return vx_err_set(err, -ENOEXEC, "kernel: ELF file has nothing to load");
	if (!entry_inside)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: ELF entry 0x%llx is in no load segment (not a vmlinux?)",
				  (unsigned long long)eh.e_entry);
	l->entry = eh.e_entry;
	l->image_size = l->end - l->load;
	vmm_elf_make_header(l);
	return 0;
}

/* After vmm_elf_layout accepted the file: segments in, their BSS zeroed. */
void vmm_elf_copy(const struct vmm_boot_linux_args *a,
		  const struct vmm_kernel_layout *l)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	(void)l;
	memcpy(&eh, a->kernel, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		vmm_elf_phdr(a, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		memcpy(a->ram + ph.p_paddr, a->kernel + ph.p_offset, ph.p_filesz);
		memset(a->ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
}
