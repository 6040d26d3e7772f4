/*
 * snap: the VM state file (a memory snapshot): a header, then sections
 * (tag, instance, length) holding each vCPU's registers, each device's
 * state and guest RAM. Layout and rules: docs/ARCHITECTURE.md, "VM state
 * file".
 *
 * Two halves: a growable buffer the savers append little-endian fields to
 * (struct vmm_snap_w) and a bounded reader the loaders take them from
 * (struct vmm_snap_r: reading past the end yields zeros and marks the
 * reader short, so a loader checks once at the end). The file side indexes
 * the sections of a state file, refusing anything malformed, and moves
 * guest RAM between the file and memory with zero pages left out.
 *
 * Environment: any thread; no locking of its own. Files are read with
 * pread, so a file from a hostile source can at worst be refused.
 */
#ifndef VMM_SNAP_H
#define VMM_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

#define VMM_SNAP_MAGIC		"VXSNAP\r\n"	/* 8 bytes; \r\n catches text-mode mangling */
/* 2: the sections of machines with local APICs and NICs (LAPC, IOAP,
 * VNET) may be present; a version 1 file has none and still loads. */
#define VMM_SNAP_VERSION	2
#define VMM_SNAP_VERSION_MIN	1
#define VMM_SNAP_HEADER_SIZE	16
#define VMM_SNAP_SECTION_HEADER	16
#define VMM_SNAP_MAX_SECTIONS	64
#define VMM_SNAP_PAGE		4096u
/* Largest section other than RAM a loader reads into memory. */
#define VMM_SNAP_MAX_SMALL	(1u << 20)

#define VMM_SNAP_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum vmm_snap_tag {
	VMM_SNAP_MACH = VMM_SNAP_TAG('M', 'A', 'C', 'H'),	/* machine shape */
	VMM_SNAP_VCPU = VMM_SNAP_TAG('V', 'C', 'P', 'U'),	/* instance = vCPU id */
	VMM_SNAP_PIC  = VMM_SNAP_TAG('P', 'I', 'C', ' '),
	VMM_SNAP_PIT  = VMM_SNAP_TAG('P', 'I', 'T', ' '),
	VMM_SNAP_RTC  = VMM_SNAP_TAG('R', 'T', 'C', ' '),
	VMM_SNAP_UART = VMM_SNAP_TAG('U', 'A', 'R', 'T'),	/* instance = 0: COM1 */
	VMM_SNAP_KBC  = VMM_SNAP_TAG('K', 'B', 'C', ' '),
	VMM_SNAP_APM  = VMM_SNAP_TAG('A', 'P', 'M', ' '),	/* ACPI PM1 block */
	VMM_SNAP_PCI  = VMM_SNAP_TAG('P', 'C', 'I', ' '),	/* bus and host bridge */
	VMM_SNAP_VBLK = VMM_SNAP_TAG('V', 'B', 'L', 'K'),	/* instance = disk index */
	VMM_SNAP_LAPC = VMM_SNAP_TAG('L', 'A', 'P', 'C'),	/* instance = vCPU id (v2) */
	VMM_SNAP_IOAP = VMM_SNAP_TAG('I', 'O', 'A', 'P'),	/* the IOAPIC (v2) */
	VMM_SNAP_VNET = VMM_SNAP_TAG('V', 'N', 'E', 'T'),	/* instance = NIC index (v2) */
	VMM_SNAP_RAM  = VMM_SNAP_TAG('R', 'A', 'M', ' '),
	VMM_SNAP_END  = VMM_SNAP_TAG('E', 'N', 'D', ' '),	/* last, length 0 */
	/* The simulation runner's own state (it has no guest). */
	VMM_SNAP_SIM  = VMM_SNAP_TAG('S', 'I', 'M', ' '),
};

/* ---- building sections in memory ---- */

struct vmm_snap_w {
	uint8_t *buf;
	size_t len, cap;
	int failed;		/* out of memory: everything after is dropped */
};

void vmm_snap_w_init(struct vmm_snap_w *w);
void vmm_snap_w_free(struct vmm_snap_w *w);
void vmm_snap_put_bytes(struct vmm_snap_w *w, const void *p, size_t n);
void vmm_snap_put_u8(struct vmm_snap_w *w, uint8_t v);
void vmm_snap_put_u16(struct vmm_snap_w *w, uint16_t v);
void vmm_snap_put_u32(struct vmm_snap_w *w, uint32_t v);
void vmm_snap_put_u64(struct vmm_snap_w *w, uint64_t v);
/* The file header (once, first). */
void vmm_snap_put_header(struct vmm_snap_w *w);
/* A section: begin returns where its header is; end fills in the length
 * and pads to 8 bytes. */
size_t vmm_snap_section_begin(struct vmm_snap_w *w, uint32_t tag, uint32_t instance);
void vmm_snap_section_end(struct vmm_snap_w *w, size_t at);

/* ---- reading one section's payload ---- */

struct vmm_snap_r {
	const uint8_t *p;
	size_t len, off;
	int short_read;		/* a get went past the end (it returned 0) */
};

void vmm_snap_r_init(struct vmm_snap_r *r, const void *p, size_t len);
void vmm_snap_get_bytes(struct vmm_snap_r *r, void *dst, size_t n);
uint8_t vmm_snap_get_u8(struct vmm_snap_r *r);
uint16_t vmm_snap_get_u16(struct vmm_snap_r *r);
uint32_t vmm_snap_get_u32(struct vmm_snap_r *r);
uint64_t vmm_snap_get_u64(struct vmm_snap_r *r);
/* 0 when the payload was read exactly; else -EBADMSG naming what. */
int vmm_snap_r_done(const struct vmm_snap_r *r, const char *what, struct vx_err *err);

/* ---- the file ---- */

struct vmm_snap_sec {
	uint32_t tag, instance;
	uint64_t off, len;	/* payload in the file */
	int used;		/* a loader took it */
};

struct vmm_snap_index {
	struct vmm_snap_sec sec[VMM_SNAP_MAX_SECTIONS];
	unsigned n;
	uint64_t file_size;
	uint32_t version;	/* the header's */
};

/* "PIC " or "0x12345678" for messages. */
const char *vmm_snap_tag_name(uint32_t tag, char buf[16]);

/* Reads the header and every section header of fd: -EBADMSG for a bad
 * magic or a truncated file, -EPROTO for a version outside
 * VMM_SNAP_VERSION_MIN..VMM_SNAP_VERSION, -EBADMSG for a
 * section past the end, a duplicate, too many, data after END or no END. */
int vmm_snap_index_read(int fd, struct vmm_snap_index *ix, struct vx_err *err);
/* The section, or NULL (marks it used). */
struct vmm_snap_sec *vmm_snap_find(struct vmm_snap_index *ix, uint32_t tag,
				   uint32_t instance);
/* Reads a section other than RAM into a new buffer (free it). */
int vmm_snap_read_section(int fd, const struct vmm_snap_sec *s, uint8_t **out,
			  struct vx_err *err);
/* -EBADMSG naming the first section no loader took (a newer writer's). */
int vmm_snap_check_all_used(const struct vmm_snap_index *ix, struct vx_err *err);

/* Writes all of buf at fd's position. */
int vmm_snap_write_all(int fd, const void *buf, size_t len, struct vx_err *err);
/* Appends the RAM section for ram[0, bytes) at fd's position: a bitmap of
 * the pages that are not all zero, then those pages. */
int vmm_snap_write_ram(int fd, const uint8_t *ram, uint64_t bytes, struct vx_err *err);
/* Appends the END section. */
int vmm_snap_write_end(int fd, struct vx_err *err);
/* Fills ram[0, bytes) from the RAM section (pages left out become zero);
 * refuses a different RAM size or a length that does not match the bitmap,
 * before touching ram. */
int vmm_snap_read_ram(int fd, const struct vmm_snap_sec *s, uint8_t *ram,
		      uint64_t bytes, struct vx_err *err);

#endif
