/*
 * snap: the VM state file's container (see snap.h and docs/ARCHITECTURE.md,
 * "VM state file"). Every number is little-endian; every length read from
 * a file is checked against the file's size before it is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/snap.h"

/* ---- writer ---- */

void vmm_snap_w_init(struct vmm_snap_w *w)
{
	memset(w, 0, sizeof(*w));
}

void vmm_snap_w_free(struct vmm_snap_w *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int vmm_snap_w_room(struct vmm_snap_w *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->failed)
		return 0;
	if (w->cap - w->len >= n)
		return 1;
	cap = w->cap ? w->cap : 4096;
	while (cap - w->len < n)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->failed = 1;
		return 0;
	}
	w->buf = p;
	w->cap = cap;
	return 1;
}

void vmm_snap_put_bytes(struct vmm_snap_w *w, const void *p, size_t n)
{
	if (!n || !vmm_snap_w_room(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void vmm_snap_put_le(struct vmm_snap_w *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	vmm_snap_put_bytes(w, b, n);
}

void vmm_snap_put_u8(struct vmm_snap_w *w, uint8_t v) { vmm_snap_put_le(w, v, 1); }
void vmm_snap_put_u16(struct vmm_snap_w *w, uint16_t v) { vmm_snap_put_le(w, v, 2); }
void vmm_snap_put_u32(struct vmm_snap_w *w, uint32_t v) { vmm_snap_put_le(w, v, 4); }
void vmm_snap_put_u64(struct vmm_snap_w *w, uint64_t v) { vmm_snap_put_le(w, v, 8); }

void vmm_snap_put_header(struct vmm_snap_w *w)
{
	vmm_snap_put_bytes(w, VMM_SNAP_MAGIC, 8);
	vmm_snap_put_u32(w, VMM_SNAP_VERSION);
	vmm_snap_put_u32(w, 0);		/* flags: none defined */
}

size_t vmm_snap_section_begin(struct vmm_snap_w *w, uint32_t tag, uint32_t instance)
{
	size_t at = w->len;

	vmm_snap_put_u32(w, tag);
	vmm_snap_put_u32(w, instance);
	vmm_snap_put_u64(w, 0);		/* length, filled by section_end */
	return at;
}

void vmm_snap_section_end(struct vmm_snap_w *w, size_t at)
{
	uint64_t len;

	if (w->failed)
		return;
	len = w->len - at - VMM_SNAP_SECTION_HEADER;
	for (unsigned i = 0; i < 8; i++)
		w->buf[at + 8 + i] = (uint8_t)(len >> (8 * i));
	while (w->len % 8)
		vmm_snap_put_u8(w, 0);
}

/* ---- reader ---- */

void vmm_snap_r_init(struct vmm_snap_r *r, const void *p, size_t len)
{
	*r = (struct vmm_snap_r){ .p = p, .len = len };
}

void vmm_snap_get_bytes(struct vmm_snap_r *r, void *dst, size_t n)
{
	if (r->short_read || r->len - r->off < n) {
		r->short_read = 1;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static uint64_t vmm_snap_get_le(struct vmm_snap_r *r, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	vmm_snap_get_bytes(r, b, n);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

uint8_t vmm_snap_get_u8(struct vmm_snap_r *r) { return (uint8_t)vmm_snap_get_le(r, 1); }
uint16_t vmm_snap_get_u16(struct vmm_snap_r *r) { return (uint16_t)vmm_snap_get_le(r, 2); }
uint32_t vmm_snap_get_u32(struct vmm_snap_r *r) { return (uint32_t)vmm_snap_get_le(r, 4); }
uint64_t vmm_snap_get_u64(struct vmm_snap_r *r) { return vmm_snap_get_le(r, 8); }

int vmm_snap_r_done(const struct vmm_snap_r *r, const char *what, struct vx_err *err)
{
	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: %s section truncated (%zu bytes)",
				  what, r->len);
	if (r->off != r->len)
		return vx_err_set(err, -EBADMSG,
				  "state file: %s section has %zu bytes, %zu expected", what,
				  r->len, r->off);
	return 0;
}

/* ---- file ---- */

const char *vmm_snap_tag_name(uint32_t tag, char buf[16])
{
	char c[4];

	for (unsigned i = 0; i < 4; i++) {
		c[i] = (char)(tag >> (8 * i));
		if (c[i] < 0x20 || c[i] > 0x7e) {
			snprintf(buf, 16, "0x%08x", tag);
			return buf;
		}
	}
	snprintf(buf, 16, "'%c%c%c%c'", c[0], c[1], c[2], c[3]);
	return buf;
}

static int vmm_snap_pread(int fd, void *buf, size_t len, uint64_t off, struct vx_err *err)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vx_err_errno(err, -errno, "state file: read at %llu",
					    (unsigned long long)off);
		if (n == 0)
			return vx_err_set(err, -EBADMSG, "state file: truncated at %llu",
					  (unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int vmm_snap_index_header(int fd, struct vmm_snap_index *ix, struct vx_err *err)
{
	uint8_t h[VMM_SNAP_HEADER_SIZE];
	struct vmm_snap_r r;
	uint32_t version;
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0)
		return vx_err_errno(err, -errno, "state file");
	ix->file_size = (uint64_t)st.st_size;
	if (ix->file_size < VMM_SNAP_HEADER_SIZE)
		return vx_err_set(err, -EBADMSG, "state file: %llu bytes, shorter than its header",
				  (unsigned long long)ix->file_size);
	if ((rc = vmm_snap_pread(fd, h, sizeof(h), 0, err)))
		return rc;
	if (memcmp(h, VMM_SNAP_MAGIC, 8))
		return vx_err_set(err, -EBADMSG, "state file: not a vmxcore VM state file (magic)");
	vmm_snap_r_init(&r, h + 8, 8);
	version = vmm_snap_get_u32(&r);
	if (version < VMM_SNAP_VERSION_MIN || version > VMM_SNAP_VERSION)
		return vx_err_set(err, -EPROTO, "state file: version %u, this runner reads %u to %u",
				  version, VMM_SNAP_VERSION_MIN, VMM_SNAP_VERSION);
	ix->version = version;
	if (vmm_snap_get_u32(&r))
		return vx_err_set(err, -EPROTO, "state file: unknown header flags");
	return 0;
}

int vmm_snap_index_read(int fd, struct vmm_snap_index *ix, struct vx_err *err)
{
	uint64_t off = VMM_SNAP_HEADER_SIZE;
	char name[16];
	int rc;

	memset(ix, 0, sizeof(*ix));
	if ((rc = vmm_snap_index_header(fd, ix, err)))
		return rc;
	for (;;) {
		uint8_t h[VMM_SNAP_SECTION_HEADER];
		struct vmm_snap_sec s = { 0 };
		struct vmm_snap_r r;

		if (ix->file_size - off < VMM_SNAP_SECTION_HEADER)
			return vx_err_set(err, -EBADMSG,
					  "state file: truncated at %llu (no END section)",
					  (unsigned long long)off);
		if ((rc = vmm_snap_pread(fd, h, sizeof(h), off, err)))
			return rc;
		vmm_snap_r_init(&r, h, sizeof(h));
		s.tag = vmm_snap_get_u32(&r);
		s.instance = vmm_snap_get_u32(&r);
		s.len = vmm_snap_get_u64(&r);
		s.off = off + VMM_SNAP_SECTION_HEADER;
		if (s.len > ix->file_size - s.off)
			return vx_err_set(err, -EBADMSG,
					  "state file: section %s of %llu bytes at %llu runs past the end",
					  vmm_snap_tag_name(s.tag, name),
					  (unsigned long long)s.len, (unsigned long long)off);
		if (s.tag == VMM_SNAP_END) {
			if (s.len || s.off != ix->file_size)
				return vx_err_set(err, -EBADMSG,
						  "state file: data after the END section");
			return 0;
		}
		if (vmm_snap_find(ix, s.tag, s.instance))
			return vx_err_set(err, -EBADMSG, "state file: section %s %u twice",
					  vmm_snap_tag_name(s.tag, name), s.instance);
		if (ix->n == VMM_SNAP_MAX_SECTIONS)
			return vx_err_set(err, -EBADMSG, "state file: more than %d sections",
					  VMM_SNAP_MAX_SECTIONS);
		ix->sec[ix->n++] = s;
		/* Padded to 8: rounding up may not pass the end either. */
		off = s.off + ((s.len + 7) & ~7ull);
		if (off > ix->file_size || off < s.off)
			return vx_err_set(err, -EBADMSG, "state file: truncated after section %s",
					  vmm_snap_tag_name(s.tag, name));
	}
}

struct vmm_snap_sec *vmm_snap_find(struct vmm_snap_index *ix, uint32_t tag, uint32_t instance)
{
	for (unsigned i = 0; i < ix->n; i++)
		if (ix->sec[i].tag == tag && ix->sec[i].instance == instance) {
			ix->sec[i].used = 1;
			return &ix->sec[i];
		}
	return NULL;
}

int vmm_snap_read_section(int fd, const struct vmm_snap_sec *s, uint8_t **out,
			  struct vx_err *err)
{
	char name[16];
	uint8_t *buf;
	int rc;

	*out = NULL;
	if (s->len > VMM_SNAP_MAX_SMALL)
		return vx_err_set(err, -EBADMSG, "state file: section %s of %llu bytes is too large",
				  vmm_snap_tag_name(s->tag, name), (unsigned long long)s->len);
	buf = malloc(s->len ? s->len : 1);
	if (!buf)
		return vx_err_set(err, -ENOMEM, "state file: out of memory");
	if ((rc = vmm_snap_pread(fd, buf, s->len, s->off, err))) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

int vmm_snap_check_all_used(const struct vmm_snap_index *ix, struct vx_err *err)
{
	char name[16];

	for (unsigned i = 0; i < ix->n; i++)
		if (!ix->sec[i].used)
			return vx_err_set(err, -EBADMSG,
					  "state file: section %s %u is unknown to this runner",
					  vmm_snap_tag_name(ix->sec[i].tag, name),
					  ix->sec[i].instance);
	return 0;
}

int vmm_snap_write_all(int fd, const void *buf, size_t len, struct vx_err *err)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return vx_err_errno(err, n < 0 ? -errno : -EIO, "state file: write");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int vmm_snap_page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[VMM_SNAP_PAGE];

	return !memcmp(p, zero, VMM_SNAP_PAGE);
}

/* RAM payload: u64 bytes, u32 page size, u32 0, bitmap (bit set = the
 * page follows), the pages in order. */
int vmm_snap_write_ram(int fd, const uint8_t *ram, uint64_t bytes, struct vx_err *err)
{
	uint64_t pages = bytes / VMM_SNAP_PAGE, kept = 0;
	size_t bm_len = (size_t)((pages + 7) / 8);
	struct vmm_snap_w w;
	size_t at;
	int rc;

	if (bytes % VMM_SNAP_PAGE)
		return vx_err_set(err, -EINVAL, "state file: RAM of %llu bytes is not whole pages",
				  (unsigned long long)bytes);
	vmm_snap_w_init(&w);
	at = vmm_snap_section_begin(&w, VMM_SNAP_RAM, 0);
	vmm_snap_put_u64(&w, bytes);
	vmm_snap_put_u32(&w, VMM_SNAP_PAGE);
	vmm_snap_put_u32(&w, 0);
	if (vmm_snap_w_room(&w, bm_len)) {
		memset(w.buf + w.len, 0, bm_len);
		for (uint64_t i = 0; i < pages; i++)
			if (!vmm_snap_page_is_zero(ram + i * VMM_SNAP_PAGE)) {
				w.buf[w.len + i / 8] |= (uint8_t)(1u << (i % 8));
				kept++;
			}
		w.len += bm_len;
	}
	if (w.failed) {
		vmm_snap_w_free(&w);
		return vx_err_set(err, -ENOMEM, "state file: out of memory");
	}
	/* The length covers the pages written below. */
	{
		uint64_t len = 16 + bm_len + kept * VMM_SNAP_PAGE;

		for (unsigned i = 0; i < 8; i++)
			w.buf[at + 8 + i] = (uint8_t)(len >> (8 * i));
	}
	rc = vmm_snap_write_all(fd, w.buf, w.len, err);
	for (uint64_t i = 0; !rc && i < pages; i++)
		if (w.buf[at + VMM_SNAP_SECTION_HEADER + 16 + i / 8] & (1u << (i % 8)))
			rc = vmm_snap_write_all(fd, ram + i * VMM_SNAP_PAGE, VMM_SNAP_PAGE, err);
	/* Pad to 8: 16 + bm_len + pages. */
	if (!rc && bm_len % 8) {
		static const uint8_t pad[8];

		rc = vmm_snap_write_all(fd, pad, 8 - bm_len % 8, err);
	}
	vmm_snap_w_free(&w);
	return rc;
}

int vmm_snap_write_end(int fd, struct vx_err *err)
{
	struct vmm_snap_w w;
	int rc;

	vmm_snap_w_init(&w);
	vmm_snap_section_end(&w, vmm_snap_section_begin(&w, VMM_SNAP_END, 0));
	rc = w.failed ? vx_err_set(err, -ENOMEM, "state file: out of memory")
		      : vmm_snap_write_all(fd, w.buf, w.len, err);
	vmm_snap_w_free(&w);
	return rc;
}

static uint64_t vmm_snap_popcount(const uint8_t *bm, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += (uint64_t)__builtin_popcount(bm[i]);
	return n;
}

int vmm_snap_read_ram(int fd, const struct vmm_snap_sec *s, uint8_t *ram, uint64_t bytes,
		      struct vx_err *err)
{
	uint64_t pages = bytes / VMM_SNAP_PAGE, saved, page_size, off;
	size_t bm_len = (size_t)((pages + 7) / 8);
	uint8_t h[16], *bm;
	struct vmm_snap_r r;
	int rc;

	if (s->len < 16)
		return vx_err_set(err, -EBADMSG, "state file: RAM section truncated");
	if ((rc = vmm_snap_pread(fd, h, sizeof(h), s->off, err)))
		return rc;
	vmm_snap_r_init(&r, h, sizeof(h));
	saved = vmm_snap_get_u64(&r);
	page_size = vmm_snap_get_u32(&r);
	if (saved != bytes)
		return vx_err_set(err, -EINVAL,
				  "state file: guest RAM was %llu MiB, this VM has %llu MiB",
				  (unsigned long long)(saved >> 20),
				  (unsigned long long)(bytes >> 20));
	if (page_size != VMM_SNAP_PAGE || vmm_snap_get_u32(&r))
		return vx_err_set(err, -EBADMSG, "state file: RAM page size %llu, expected %u",
				  (unsigned long long)page_size, VMM_SNAP_PAGE);
	if (s->len - 16 < bm_len)
		return vx_err_set(err, -EBADMSG, "state file: RAM bitmap truncated");
	bm = malloc(bm_len ? bm_len : 1);
	if (!bm)
		return vx_err_set(err, -ENOMEM, "state file: out of memory");
	if ((rc = vmm_snap_pread(fd, bm, bm_len, s->off + 16, err)))
		goto out;
	if (pages % 8 && (bm[bm_len - 1] >> (pages % 8))) {
		rc = vx_err_set(err, -EBADMSG, "state file: RAM bitmap names pages past the end");
		goto out;
	}
	if (s->len != 16 + bm_len + vmm_snap_popcount(bm, bm_len) * VMM_SNAP_PAGE) {
		rc = vx_err_set(err, -EBADMSG,
				"state file: RAM section of %llu bytes does not match its bitmap",
				(unsigned long long)s->len);
		goto out;
	}
	off = s->off + 16 + bm_len;
	for (uint64_t i = 0; !rc && i < pages; i++) {
		uint8_t *page = ram + i * VMM_SNAP_PAGE;

		if (bm[i / 8] & (1u << (i % 8))) {
			rc = vmm_snap_pread(fd, page, VMM_SNAP_PAGE, off, err);
			off += VMM_SNAP_PAGE;
		} else if (!vmm_snap_page_is_zero(page)) {
			memset(page, 0, VMM_SNAP_PAGE);
		}
	}
out:
	free(bm);
	return rc;
}
