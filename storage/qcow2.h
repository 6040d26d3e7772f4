/*
 * qcow2 internals shared by qcow2*.c (not for callers: use image.h).
 *
 * Layout knowledge follows QEMU's docs/interop/qcow2.txt. Metadata clusters
 * (L2 tables, refcount blocks) go through a small write-through cache: every
 * update is written to the file at once, so the on-disk order of updates is
 * the order of the calls, which is what the crash-safety argument needs:
 * refcount before use, data before the L2 entry naming it, L2 before L1.
 * Context: one thread per image.
 */
#ifndef QCOW2_H
#define QCOW2_H

#include <stdint.h>
#include <stddef.h>

#include "image.h"

#define QCOW2_MAGIC            0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
/* QEMU's limits: the L1 table at most 32 MiB, refcount table 8 MiB. */
#define QCOW2_MAX_L1_BYTES     (32u << 20)
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_MAX_SNAPSHOTS    65536
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_SIZE         (1ull << 61)

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_AUTOCLEAR_BITMAPS    (1ull << 0)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u
#define QCOW2_EXT_BITMAPS      0x23852875u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED      0x7f000000000001feull
#define QCOW2_L2_RESERVED      0x3f000000000001feull

#define QCOW2_COMPRESS_DEFLATE 0
#define QCOW2_COMPRESS_ZSTD    1

#define QCOW2_MC_SLOTS         16
#define QCOW2_RESV             256  /* clusters reserved per fdatasync */
/* Sequential writers double their reservation up to this many clusters
 * (and 256 MiB): a crash leaks at most that much, never disk space. */
#define QCOW2_RESV_MAX         4096

struct qcow2_mc_slot {
	uint64_t off;        /* 0: empty */
	uint64_t used;       /* LRU stamp */
	uint8_t *buf;
};

/* An unknown header extension, kept to be written back unchanged. */
struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint32_t vm_state_size;
	uint64_t disk_size;
	uint32_t extra_size;     /* as found; we write 24 */
	uint8_t *extra;          /* raw extra data beyond what we know */
};

struct qcow2_bitmap {
	char *name;
	uint32_t flags;          /* QCOW2_BM_* */
	uint8_t granularity_bits;
	uint64_t table_offset;   /* on disk, 0 when not yet stored */
	uint32_t table_size;
	uint8_t *bits;           /* in memory, 1 bit per granule, LSB first */
	uint64_t nbits;
	int dirty;               /* in-memory differs from the file */
};
#define QCOW2_BM_IN_USE  (1u << 0)
#define QCOW2_BM_AUTO    (1u << 1)

struct qcow2 {
	struct img *img;
	int fd;
	uint32_t version;
	unsigned cluster_bits;
	uint64_t cs;                  /* cluster size */
	unsigned l2_bits;             /* entries per L2 table = 1 << l2_bits */
	unsigned refcount_order;
	unsigned rb_bits;             /* refcounts per refcount block = 1 << rb_bits */
	uint64_t refcount_max;

	uint64_t *l1;                 /* host order, with flags */
	uint32_t l1_size;
	uint64_t l1_offset;

	uint64_t *rt;                 /* refcount table, host order */
	uint64_t rt_entries;
	uint64_t rt_offset;
	uint32_t rt_clusters;

	uint64_t incompat, compat, autoclear;
	uint32_t header_length;
	uint8_t compression_type;

	uint64_t free_hint;           /* no free cluster below this index */
	uint64_t file_end;            /* bytes; grows as we allocate */

	struct qcow2_ext *exts;
	int nexts;

	struct qcow2_snapshot *snaps;
	uint32_t nsnaps;
	uint64_t snaps_offset;
	uint64_t snaps_bytes;

	struct qcow2_bitmap *bms;
	uint32_t nbms;
	uint64_t bm_dir_offset;
	uint64_t bm_dir_size;
	int bm_in_use;                /* the file has bitmaps marked in_use by us */

	struct qcow2_mc_slot mc[QCOW2_MC_SLOTS];
	uint64_t mc_clock;
	uint8_t *tmp;                 /* one cluster of scratch */
	uint8_t *tmp2;
	uint64_t resv_start, resv_n;  /* clusters with durable refcount 1, unused */
	uint64_t resv_next;           /* size of the next reservation, 0: QCOW2_RESV */
	uint64_t *pend;               /* clusters to count down after a sync */
	size_t pend_n, pend_cap;
	uint8_t *dc_buf;              /* last decompressed cluster */
	uint64_t dc_entry;            /* its L2 entry, 0 when none */
};

static inline uint64_t qcow2_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}
static inline uint32_t qcow2_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint16_t qcow2_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline void qcow2_put64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}
static inline void qcow2_put32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v;
}
static inline void qcow2_put16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v;
}

/* qcow2.c */
int qcow2_pread(struct qcow2 *s, void *buf, size_t len, uint64_t off,
		const char *what, struct vx_err *err);
int qcow2_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off,
		 const char *what, struct vx_err *err);
int qcow2_write_header(struct qcow2 *s, struct vx_err *err);
int qcow2_sync(struct qcow2 *s, struct vx_err *err);

/* qcow2_refcount.c: metadata cache, refcounts, allocation */
int qcow2_mc_get(struct qcow2 *s, uint64_t off, uint8_t **buf, struct vx_err *err);
void qcow2_mc_forget(struct qcow2 *s, uint64_t off);
void qcow2_mc_free(struct qcow2 *s);
uint64_t qcow2_rb_get(const struct qcow2 *s, const uint8_t *b, uint64_t idx);
/* Sets entry idx of a refcount block; returns the byte range touched. */
void qcow2_rb_set(const struct qcow2 *s, uint8_t *b, uint64_t idx, uint64_t v,
		  size_t *pos, size_t *len);
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc,
		       struct vx_err *err);
int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int addend,
			  struct vx_err *err);
/* Allocates n contiguous clusters (refcount 1 each), returns byte offset. */
int qcow2_alloc(struct qcow2 *s, uint64_t n, uint64_t *off, struct vx_err *err);
/* Returns reserved clusters (close, before snapshot operations). */
int qcow2_release(struct qcow2 *s, struct vx_err *err);
/* Drops a reference after the next fdatasync; checks it exists now. */
int qcow2_defer_free(struct qcow2 *s, uint64_t cluster, struct vx_err *err);
/* fdatasync, then the deferred drops. */
int qcow2_apply_frees(struct qcow2 *s, struct vx_err *err);
/* Drops one reference from every cluster of [off, off+bytes). */
int qcow2_free_bytes(struct qcow2 *s, uint64_t off, uint64_t bytes,
		     struct vx_err *err);

/* qcow2_cluster.c: guest I/O through L1/L2 */
int qcow2_l2_entry(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		   uint64_t gcl, uint64_t *entry, struct vx_err *err);
int qcow2_entry_refs(struct qcow2 *s, uint64_t e, int addend, struct vx_err *err);
int qcow2_check_l2_entry(struct qcow2 *s, uint64_t e, struct vx_err *err);
int qcow2_read(struct img *img, void *buf, uint64_t off, size_t len,
	       struct vx_err *err);
int qcow2_write(struct img *img, const void *buf, uint64_t off, size_t len,
		struct vx_err *err);
int qcow2_discard(struct img *img, uint64_t off, uint64_t len, struct vx_err *err);
int qcow2_status(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum,
		 int *from_backing, struct vx_err *err);

/* qcow2_snapshot.c */
int qcow2_snapshots_load(struct qcow2 *s, struct vx_err *err);
void qcow2_snapshots_free(struct qcow2 *s);

/* qcow2_bitmap.c */
int qcow2_bitmaps_load(struct qcow2 *s, const uint8_t *ext, uint32_t len,
		       struct vx_err *err);
int qcow2_bitmaps_mark(struct qcow2 *s, uint64_t off, uint64_t len);
int qcow2_bitmaps_store(struct qcow2 *s, struct vx_err *err);
int qcow2_bitmaps_begin(struct qcow2 *s, struct vx_err *err);
void qcow2_bitmaps_free(struct qcow2 *s);
/* Bitmaps extension payload for the header, or len 0 when none. */
void qcow2_bitmaps_ext(struct qcow2 *s, uint8_t out[24], uint32_t *len);

#endif
