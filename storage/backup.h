/*
 * backup: full and incremental backups of disk images into a repository.
 *
 * A repository is a directory:
 *   config.json           {"version":1,"chunk_size":N}
 *   packs/<name>.pack     zstd frames of chunks, one pack per backup run
 *   packs/<name>.idx      SHA-256, offset and sizes of each chunk in the pack
 *   backups/<id>.json     one manifest per backup (the complete chunk list)
 *   tmp/                  nothing lives here after a clean run
 *   lock                  flock: backups shared, prune/gc exclusive
 * Chunks are fixed-size pieces of the disk named by the SHA-256 of their
 * data, stored once however many backups or disks contain them; an all-zero
 * chunk is stored as null. Every file appears under its final name by rename
 * after being written in full, and a manifest is written only after its
 * chunks are durable, so an interrupted backup or prune leaves every earlier
 * backup intact (at worst unreferenced data, which gc removes).
 * Context: caller's thread. backup_create also hashes and compresses on
 * worker threads of its own (backup_pipe.c), joined before it returns, also
 * when the progress callback cancels; the callback runs on the caller's thread.
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <stdint.h>

#include "image.h"

#define BACKUP_ID_MAX 128

struct backup_opts {
	const char *disk;        /* name, [A-Za-z0-9._-]+: manifests group by it */
	const char *bitmap;      /* persistent dirty bitmap tracking changes, or NULL */
	int incremental;         /* 1: only chunks the bitmap marks, rest from parent */
	const char *parent;      /* incremental: parent id; NULL = latest of disk */
	int clear_bitmap;        /* clear the bitmap once the backup is durable */
	/*
	 * 1: the bitmap was handed over to the caller (a live backup's frozen
	 * view, cbw.h): bits are its start-point bits (NULL is fine for a full
	 * backup); o->bitmap only names it in the manifest, img is not asked.
	 */
	int bitmap_frozen;
	const uint8_t *bits;
	uint64_t nbits;
	unsigned granularity_bits;
	/*
	 * Optional, on the caller's thread every 64 chunks: done of total
	 * chunks. Nonzero stops the backup with -ECANCELED before anything of
	 * it is visible (its pack in tmp/ is removed, no manifest is written).
	 */
	int (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

struct backup_stats {
	uint64_t chunks;         /* chunks in the disk */
	uint64_t read_chunks;    /* chunks read from the image */
	uint64_t new_chunks;     /* chunks written to the repository */
	uint64_t dedup_chunks;   /* read but already in the repository */
	uint64_t zero_chunks;
	uint64_t bytes_read;
	uint64_t bytes_stored;   /* compressed bytes written */
};

struct backup_info {
	char id[BACKUP_ID_MAX];
	char disk[64];
	char parent[BACKUP_ID_MAX];   /* "" when full */
	char bitmap[256];             /* "" when none */
	int64_t time;
	uint64_t disk_size;
	int incremental;
};

/* chunk_size 0 means 64 KiB; must be a power of two, 4 KiB .. 16 MiB. */
int backup_repo_init(const char *repo, uint32_t chunk_size, struct vx_err *err);
int backup_create(const char *repo, struct img *img, const struct backup_opts *o,
		  char id[BACKUP_ID_MAX], struct backup_stats *st, struct vx_err *err);
/* Oldest first; *list is malloc'd. */
int backup_list(const char *repo, struct backup_info **list, int *n,
		struct vx_err *err);
/* Re-reads and re-hashes every chunk of a backup. */
int backup_verify(const char *repo, const char *id, struct vx_err *err);
/* Writes a new raw or qcow2 image at path (temp file, fsync, rename). */
int backup_restore(const char *repo, const char *id, const char *path,
		   const char *fmt, struct vx_err *err);
/*
 * verify and restore with progress and cancel, as backup_opts.progress: on
 * the caller's thread every 64 chunks, done of total chunks. Nonzero stops
 * with -ECANCELED; a restore then leaves neither its temp file nor path.
 */
struct backup_read_opts {
	int (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};
int backup_verify_ex(const char *repo, const char *id,
		     const struct backup_read_opts *o, struct vx_err *err);
int backup_restore_ex(const char *repo, const char *id, const char *path,
		      const char *fmt, const struct backup_read_opts *o,
		      struct vx_err *err);
/* What prune and gc removed. */
struct backup_freed {
	uint64_t backups;        /* manifests deleted (prune) */
	uint64_t chunks;         /* chunks dropped from the packs */
	uint64_t bytes;          /* their compressed bytes */
};

/* Keeps the newest keep backups of disk, deletes the others, then gc. */
int backup_prune(const char *repo, const char *disk, int keep, struct vx_err *err);
/*
 * backup_prune with counts; disk NULL prunes every disk to its newest keep
 * (one gc for all of them). fr may be NULL.
 */
int backup_prune_ex(const char *repo, const char *disk, int keep,
		    struct backup_freed *fr, struct vx_err *err);
/* Deletes chunks no manifest references (rewriting packs that keep some),
 * and leftovers in tmp/; *removed counts chunks dropped. */
int backup_gc(const char *repo, uint64_t *removed, struct vx_err *err);
/* backup_gc with chunk and byte counts (fr may be NULL). */
int backup_gc_ex(const char *repo, struct backup_freed *fr, struct vx_err *err);
/* Distinct chunks stored and their compressed bytes. */
int backup_repo_usage(const char *repo, uint64_t *chunks, uint64_t *bytes,
		      struct vx_err *err);

#endif
