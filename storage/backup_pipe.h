/*
 * backup_pipe: hashing and compression of a backup's chunks on worker
 * threads, overlapped with the caller reading the disk and writing the pack
 * (internal to backup.c).
 *
 * The caller fills batches of chunks (bpipe_buf, bpipe_add); full batches go
 * to the workers, which decide per chunk: all zeros, already in an earlier
 * pack (pack_has_committed: the committed index is read-only meanwhile), or
 * new (SHA-256 and zstd). Finished batches come back in submission order
 * through the out callback, on the caller's thread, which alone touches the
 * pack being written. While it has to wait for a batch, the caller does
 * chunks itself, so the pipeline also works with no worker thread at all.
 * Context: one caller thread per pipe; bpipe_destroy stops and joins the
 * workers at any point (a cancelled backup just destroys its pipe).
 */
#ifndef BACKUP_PIPE_H
#define BACKUP_PIPE_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "backup_pack.h"
#include "vx_err.h"

#define BPIPE_SLOTS    3   /* one filling, two with the workers */
#define BPIPE_WORKERS  3   /* at most; fewer on small machines */

enum bpipe_kind { BPIPE_NEW, BPIPE_DUP, BPIPE_ZERO, BPIPE_FAIL };

/* One finished chunk: z/zlen only for BPIPE_NEW, hash unless BPIPE_ZERO. */
struct bpipe_chunk {
	uint64_t idx;            /* chunk number in the disk */
	size_t len;              /* data bytes */
	enum bpipe_kind kind;
	const uint8_t *hash;
	const uint8_t *z;
	size_t zlen;
};

typedef int (*bpipe_out_fn)(void *ctx, const struct bpipe_chunk *c,
			    struct vx_err *err);

struct bpipe_batch {
	uint8_t *data;           /* cap chunks of csize */
	uint8_t *z;              /* cap frames of zcap */
	uint64_t *idx;
	size_t *len, *zlen;
	uint8_t (*hash)[32];
	uint8_t *kind;
	int n;                   /* chunks in the batch */
	int next;                /* next chunk a thread claims */
	int done;                /* chunks finished */
};

struct bpipe {
	pthread_mutex_t mu;
	pthread_cond_t work;     /* a batch was submitted, or stop */
	pthread_cond_t done;     /* a batch was finished */
	struct bpipe_batch b[BPIPE_SLOTS];
	uint64_t head;           /* oldest batch not yet given to out */
	uint64_t fill;           /* the batch being filled; [head, fill) submitted */
	size_t csize, zcap;
	int cap;                 /* chunks per batch */
	int stop;
	int nthreads;
	pthread_t th[BPIPE_WORKERS];
	void *cctx[BPIPE_WORKERS + 1];   /* ZSTD_CCtx per worker, last: caller */
	EVP_MD *sha256;                  /* fetched once, shared (read-only) */
	const struct pack_store *ps;
	bpipe_out_fn out;
	void *out_ctx;
};

int bpipe_init(struct bpipe *p, const struct pack_store *ps, uint32_t chunk_size,
	       bpipe_out_fn out, void *out_ctx, struct vx_err *err);
/* Where to read the next chunk (room for chunk_size bytes). */
uint8_t *bpipe_buf(struct bpipe *p);
/* Queues the chunk just read into bpipe_buf; may hand finished ones to out. */
int bpipe_add(struct bpipe *p, uint64_t idx, size_t len, struct vx_err *err);
/* Waits for every queued chunk and hands it to out. */
int bpipe_finish(struct bpipe *p, struct vx_err *err);
void bpipe_destroy(struct bpipe *p);

#endif
