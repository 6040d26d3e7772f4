/*
 * backup_pipe: the backup's hash/compress pipeline (see backup_pipe.h).
 *
 * Batches live in a ring of BPIPE_SLOTS; batch number s uses slot
 * s % BPIPE_SLOTS. Threads claim single chunks of submitted batches under
 * the mutex and work on them without it; a batch goes to out once all its
 * chunks are done, oldest first, so the pack is written in disk order.
 * Context: the caller's thread plus the workers started by bpipe_init.
 */
#include "backup_pipe.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/*
 * zstd level -1 (a fast negative level: zstd's own fast strategy with a
 * little acceleration; every zstd decoder reads the frames). Per 64 KiB
 * chunk of the bench mix on the 2-core development VM, thread CPU time:
 *   level  1: text 334 MB/s (ratio 0.292), binary 385 (0.573), mix 0.523
 *   level -1: text 368 MB/s (ratio 0.360), binary 587 (0.573), mix 0.554
 * i.e. 20% less zstd CPU, which is most of a backup's CPU, for 6% more
 * stored bytes. Level 1 with hashLog 11/12 saves only 7-11%; level -2 and
 * below lose more on structured binary (0.59-0.69) than they gain.
 * Random data costs little either way: zstd gives up on it at 6-8 GB/s
 * and stores its blocks raw inside the frame.
 */
#define BPIPE_ZSTD_LEVEL (-1)
#define BPIPE_BATCH_BYTES (4u << 20)

static int all_zero(const uint8_t *p, size_t len)
{
	return len && p[0] == 0 && !memcmp(p, p + 1, len - 1);
}

/* Decides and prepares chunk k of batch b; runs without the mutex. */
static void work_one(struct bpipe *p, struct bpipe_batch *b, int k, void *cctx)
{
	const uint8_t *d = b->data + (size_t)k * p->csize;
	unsigned int hl = 32;
	size_t zn;

	if (all_zero(d, b->len[k])) {
		b->kind[k] = BPIPE_ZERO;
		return;
	}
	if (EVP_Digest(d, b->len[k], b->hash[k], &hl, p->sha256, NULL) != 1) {
		b->kind[k] = BPIPE_FAIL;
		return;
	}
	if (pack_has_committed(p->ps, b->hash[k])) {
		b->kind[k] = BPIPE_DUP;
		return;
	}
	zn = ZSTD_compressCCtx(cctx, b->z + (size_t)k * p->zcap, p->zcap, d, b->len[k],
			       BPIPE_ZSTD_LEVEL);
	b->kind[k] = ZSTD_isError(zn) ? BPIPE_FAIL : BPIPE_NEW;
	b->zlen[k] = zn;
}

/* Under the mutex: a chunk of a submitted batch nobody has taken yet. */
static struct bpipe_batch *claim(struct bpipe *p, int *k)
{
	for (uint64_t s = p->head; s < p->fill; s++) {
		struct bpipe_batch *b = &p->b[s % BPIPE_SLOTS];
		if (b->next < b->n) {
			*k = b->next++;
			return b;
		}
	}
	return NULL;
}

/* Under the mutex: claims and does one chunk; 0 when there was none. */
static int work_locked(struct bpipe *p, void *cctx)
{
	struct bpipe_batch *b;
	int k;

	b = claim(p, &k);
	if (!b)
		return 0;
	pthread_mutex_unlock(&p->mu);
	work_one(p, b, k, cctx);
	pthread_mutex_lock(&p->mu);
	if (++b->done == b->n)
		pthread_cond_broadcast(&p->done);
	return 1;
}

struct worker_arg {
	struct bpipe *p;
	int id;
};

static void *worker(void *arg)
{
	struct bpipe *p = ((struct worker_arg *)arg)->p;
	void *cctx = p->cctx[((struct worker_arg *)arg)->id];

	free(arg);
	pthread_mutex_lock(&p->mu);
	while (!p->stop)
		if (!work_locked(p, cctx))
			pthread_cond_wait(&p->work, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int batch_alloc(struct bpipe *p, struct bpipe_batch *b)
{
	size_t cap = (size_t)p->cap;

	b->data = malloc(cap * p->csize);
	b->z = malloc(cap * p->zcap);
	b->idx = calloc(cap, sizeof(*b->idx));
	b->len = calloc(cap, sizeof(*b->len));
	b->zlen = calloc(cap, sizeof(*b->zlen));
	b->hash = calloc(cap, 32);
	b->kind = calloc(cap, 1);
	return b->data && b->z && b->idx && b->len && b->zlen && b->hash && b->kind ?
	       0 : -ENOMEM;
}

static void batch_free(struct bpipe_batch *b)
{
	free(b->data);
	free(b->z);
	free(b->idx);
	free(b->len);
	free(b->zlen);
	free(b->hash);
	free(b->kind);
}

/* One worker per CPU besides the caller's, which reads and also works. */
static int nworkers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;

	return n < 1 ? 1 : n > BPIPE_WORKERS ? BPIPE_WORKERS : (int)n;
}

int bpipe_init(struct bpipe *p, const struct pack_store *ps, uint32_t chunk_size,
	       bpipe_out_fn out, void *out_ctx, struct vx_err *err)
{
	int want = nworkers();

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->ps = ps;
	p->out = out;
	p->out_ctx = out_ctx;
	p->csize = chunk_size;
	p->zcap = ZSTD_compressBound(chunk_size);
	/* Chunks over 4 MiB: one per batch, so the ring holds three of them. */
	p->cap = (int)(BPIPE_BATCH_BYTES / chunk_size);
	if (p->cap < 1)
		p->cap = 1;
	for (int i = 0; i < BPIPE_SLOTS; i++)
		if (batch_alloc(p, &p->b[i]))
			return vx_err_set(err, -ENOMEM, "backup: out of memory");
	for (int i = 0; i <= want; i++)
		if (!(p->cctx[i] = ZSTD_createCCtx()))
			return vx_err_set(err, -ENOMEM, "backup: out of memory");
	/* Fetched once: EVP_sha256() looks its implementation up per digest. */
	p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!p->sha256)
		return vx_err_set(err, -ENOMEM, "backup: OpenSSL has no SHA-256");
	/* Fewer threads than wanted only costs speed: the caller works too. */
	for (int i = 0; i < want; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		if (!a)
			break;
		a->p = p;
		a->id = i;
		if (pthread_create(&p->th[i], NULL, worker, a)) {
			free(a);
			break;
		}
		p->nthreads++;
	}
	return 0;
}

uint8_t *bpipe_buf(struct bpipe *p)
{
	struct bpipe_batch *b = &p->b[p->fill % BPIPE_SLOTS];

	return b->data + (size_t)b->n * p->csize;
}

/* Hands the oldest batch to out once finished, working on chunks meanwhile. */
static int drain_head(struct bpipe *p, struct vx_err *err)
{
	struct bpipe_batch *b = &p->b[p->head % BPIPE_SLOTS];
	void *cctx = p->cctx[p->nthreads];
	int ret = 0;

	pthread_mutex_lock(&p->mu);
	while (b->done < b->n)
		if (!work_locked(p, cctx))
			pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	for (int k = 0; !ret && k < b->n; k++) {
		struct bpipe_chunk c = {
			.idx = b->idx[k], .len = b->len[k], .kind = b->kind[k],
			.hash = b->hash[k], .z = b->z + (size_t)k * p->zcap, .zlen = b->zlen[k],
		};
		ret = p->out(p->out_ctx, &c, err);
	}
	/* The slot is free again: only this thread touches head and fill. */
	pthread_mutex_lock(&p->mu);
	b->n = b->next = b->done = 0;
	p->head++;
	pthread_mutex_unlock(&p->mu);
	return ret;
}

static int head_finished(struct bpipe *p)
{
	struct bpipe_batch *b = &p->b[p->head % BPIPE_SLOTS];
	int fin;

	pthread_mutex_lock(&p->mu);
	fin = p->head < p->fill && b->done == b->n;
	pthread_mutex_unlock(&p->mu);
	return fin;
}

static void submit(struct bpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->fill++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int bpipe_add(struct bpipe *p, uint64_t idx, size_t len, struct vx_err *err)
{
	struct bpipe_batch *b = &p->b[p->fill % BPIPE_SLOTS];
	int ret = 0;

	b->idx[b->n] = idx;
	b->len[b->n] = len;
	if (++b->n < p->cap)
		return 0;
	submit(p);
	/* Write what is finished; wait only when every slot is taken. */
	while (!ret && (p->fill - p->head >= BPIPE_SLOTS || head_finished(p)))
		ret = drain_head(p, err);
	return ret;
}

int bpipe_finish(struct bpipe *p, struct vx_err *err)
{
	int ret = 0;

	if (p->b[p->fill % BPIPE_SLOTS].n)
		submit(p);
	while (!ret && p->head < p->fill)
		ret = drain_head(p, err);
	return ret;
}

void bpipe_destroy(struct bpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	for (int i = 0; i < BPIPE_SLOTS; i++)
		batch_free(&p->b[i]);
	for (int i = 0; i <= BPIPE_WORKERS; i++)
		ZSTD_freeCCtx(p->cctx[i]);
	EVP_MD_free(p->sha256);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	memset(p, 0, sizeof(*p));
}
