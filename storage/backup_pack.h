/*
 * backup_pack: the chunk store of a backup repository (internal to backup.c).
 *
 * Chunks (zstd frames, named by the SHA-256 of their data) are appended to
 * pack files, one per backup run: packs/<name>.pack holds the frames and
 * packs/<name>.idx lists (hash, offset, sizes) for each. A pack is written
 * under tmp/, fsynced and renamed into packs/ before its index is written
 * (tmp/, fsync, rename, fsync packs/), so an index only ever names complete
 * data; a pack without an index is the leftover of an interrupted run and gc
 * removes it. One file per run instead of one per chunk keeps backups at disk
 * speed on file systems where creating a file costs a millisecond.
 */
#ifndef BACKUP_PACK_H
#define BACKUP_PACK_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

struct pack_ent {
	uint8_t hash[32];
	uint64_t off;
	uint32_t clen;       /* compressed bytes in the pack */
	uint32_t dlen;       /* chunk bytes */
	uint32_t pack;       /* index into names */
};

struct pack_store {
	const char *dir;
	struct pack_ent *e;          /* from the .idx files, sorted by hash */
	size_t n;
	char (*names)[64];
	uint32_t nnames;
	int *fds;                    /* read fds per pack, -1 until opened */
	EVP_MD *sha256;              /* pack_get's, fetched on first use */
	/* The pack this run is writing. */
	int wfd;
	char wname[64];
	uint64_t woff;               /* pack size including wbuf */
	uint8_t *wbuf;               /* frames not yet written (one write per 1 MiB) */
	size_t wlen;
	struct pack_ent *se;
	size_t sn, scap;
	uint32_t *ht;                /* open addressing over se, 0 = empty */
	size_t htcap;
};

int pack_open(struct pack_store *ps, const char *dir, struct vx_err *err);
void pack_close(struct pack_store *ps);   /* drops an uncommitted pack */
int pack_has(struct pack_store *ps, const uint8_t hash[32]);
/* Earlier runs' chunks only: read-only, safe on other threads during pack_put. */
int pack_has_committed(const struct pack_store *ps, const uint8_t hash[32]);
int pack_put(struct pack_store *ps, const uint8_t hash[32], const void *z,
	     uint32_t zlen, uint32_t dlen, struct vx_err *err);
/* Makes this run's pack and index durable (before any manifest names them). */
int pack_commit(struct pack_store *ps, struct vx_err *err);
/* Reads, decompresses and re-hashes one chunk of len bytes. */
int pack_get(struct pack_store *ps, const uint8_t hash[32], uint8_t *buf,
	     size_t len, struct vx_err *err);
/*
 * Keeps chunks in live (sorted), rewrites partly dead packs, drops the rest;
 * *removed and *bytes (either may be NULL) count the chunks dropped and
 * their compressed bytes.
 */
int pack_gc(struct pack_store *ps, const uint8_t (*live)[32], size_t nlive,
	    uint64_t *removed, uint64_t *bytes, struct vx_err *err);
void pack_usage(const struct pack_store *ps, uint64_t *chunks, uint64_t *bytes);

#endif
