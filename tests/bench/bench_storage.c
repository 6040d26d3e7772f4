/*
 * bench_storage: storage benchmarks, as ratios against a peer measured in the
 * same run on the same files (make bench-storage).
 *
 *   qcow2 4 KiB sequential and strided ("random") write and read  vs qemu-img bench
 *   raw -> qcow2 convert                                           vs qemu-img convert
 *   full backup of the qcow2 image (cached, then not cached)       vs cp of the same file
 *   incremental backup after 5% of the clusters changed            vs the full backup
 *
 * BENCH_MB sets the disk size (default 1024), BENCH_DIR the directory
 * (default /var/tmp), BENCH_SKIP_IO=1 skips the 4 KiB part, BENCH_KEEP=1
 * keeps the files. Strided access
 * visits offset (i * 7919 * 4 KiB) mod size, which qemu-img bench can do too
 * (-S), so both sides see the same pattern.
 *
 * Convert and backup start from the same state on both sides: sync (no
 * earlier step's dirty pages are written back inside a timed run), then the
 * input file read once, so both read it from the page cache. The full backup
 * is also measured against cp with the input not cached: after the sync,
 * posix_fadvise(DONTNEED) drops that one file's pages (the rest of the
 * host's cache stays; no root needed), so both sides read it from the disk.
 * Both sides make their output durable inside the timing and only their
 * own output (img_close and backup_create fsync, qemu-img convert flushes
 * on close, cp is followed by sync of the copy, i.e. fsync: a global sync
 * would also wait for other processes' dirty data). CPU seconds are the
 * process's (the backup) or its children's (cp), all threads. The disk is
 * a mix: holes, zeros written as data, text, random (incompressible) and
 * structured binary data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "storage/backup.h"
#include "storage/bitmap.h"
#include "storage/image.h"

#define BLK    4096u
#define STRIDE (7919u * BLK)

static char dir[256];
static uint64_t size;

/* CPU seconds of this process (or its waited-for children), all threads. */
static double cpu_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *path(const char *name)
{
	static char b[4][512];
	static int i;
	char *p = b[i++ % 4];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static void die(const char *what, const struct vx_err *err)
{
	fprintf(stderr, "bench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/* Runs a command, returns wall seconds (or qemu-img bench's own figure). */
static double run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double run(const char *fmt, ...)
{
	char cmd[2048], line[512];
	double t0 = now(), t, own = -1;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		die(cmd, NULL);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Run completed in %lf seconds", &t) == 1)
			own = t;
	if (pclose(f) != 0) {
		fprintf(stderr, "bench: failed: %s\n", cmd);
		exit(1);
	}
	return own >= 0 ? own : now() - t0;
}

static void fill(uint8_t *b, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		/* Half the words compressible, as in tables and code. */
		uint64_t v = (i / 8) % 2 ? x : i;
		memcpy(b + i, &v, 8);
	}
}

static void fill_random(uint8_t *b, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(b + i, &x, 8);
	}
}

/* Log-like lines from a small vocabulary (zstd -1: about 3-4x). */
static void fill_text(uint8_t *b, size_t len, uint64_t seed)
{
	static const char *const w[] = {
		"kernel:", "usb", "device", "connected", "eth0", "link", "up", "at",
		"systemd[1]:", "Started", "session", "of", "user", "root.", "error",
		"reading", "block", "sector", "0x1f3a", "retrying", "ok", "the", "disk",
		"mounted", "/var/lib", "filesystem", "checked", "in", "ms", "request",
		"GET", "/index.html", "HTTP/1.1", "200", "404", "client", "10.0.0.7",
	};
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0;

	while (i < len) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		char word[32];
		int n = x % 9 == 0 ? snprintf(word, sizeof(word), "%llu\n",
					      (unsigned long long)(x >> 40))
				   : snprintf(word, sizeof(word), "%s ",
					      w[(x >> 8) % (sizeof(w) / sizeof(w[0]))]);
		for (int k = 0; k < n && i < len; k++)
			b[i++] = (uint8_t)word[k];
	}
}

/* What MiB number mb of the source disk holds (out of 16). */
enum kind { HOLE, ZEROS, TEXT, RANDOM, BINARY };

static enum kind kind_of(uint64_t mb)
{
	static const enum kind k[16] = {
		TEXT, BINARY, HOLE, TEXT, RANDOM, ZEROS, BINARY, TEXT,
		HOLE, BINARY, RANDOM, TEXT, HOLE, BINARY, ZEROS, TEXT,
	};
	return k[mb % 16];
}

/* Before a timed run: nothing dirty, input in the page cache. */
static void prepare(const char *input)
{
	static uint8_t b[1 << 20];
	int fd;

	run("sync");
	fd = open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(input, NULL);
	while (read(fd, b, sizeof(b)) > 0)
		;
	close(fd);
}

/* Before a timed run: nothing dirty, input not in the page cache (clean
 * pages of this file only are dropped). */
static void prepare_cold(const char *input)
{
	int fd;

	run("sync");
	fd = open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(input, NULL);
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (errno)
		die("posix_fadvise", NULL);
	close(fd);
}

/* cp of input to output made durable (fsync of the copy): seconds, CPU. */
static double time_cp(const char *input, const char *output, double *cpu)
{
	double c0 = cpu_of(RUSAGE_CHILDREN), t;

	t = run("cp '%s' '%s' && sync '%s'", input, output, output);
	*cpu = cpu_of(RUSAGE_CHILDREN) - c0;
	run("rm -f '%s'", output);
	return t;
}

/* A full backup of img into repo: seconds, CPU, stats. */
static double time_backup(const char *repo, struct img *img, const struct backup_opts *o,
			  struct backup_stats *st, double *cpu)
{
	struct vx_err err = { 0 };
	double t0 = now(), c0 = cpu_of(RUSAGE_SELF);

	if (backup_create(repo, img, o, NULL, st, &err))
		die("full backup", &err);
	*cpu = cpu_of(RUSAGE_SELF) - c0;
	return now() - t0;
}

static struct img *openi(const char *p, int flags)
{
	struct vx_err err = { 0 };
	struct img *img;

	if (img_open(p, NULL, flags, &img, &err))
		die(p, &err);
	return img;
}

static void newq(const char *p)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = size };
	struct vx_err err = { 0 };

	if (img_create(p, &o, &err))
		die(p, &err);
}

/* Our 4 KiB loop: seq (stride BLK) or strided; returns seconds. */
static double ours_io(const char *p, int write, uint64_t stride)
{
	struct vx_err err = { 0 };
	uint64_t n = size / BLK, off = 0;
	uint8_t buf[BLK];
	struct img *img = openi(p, write ? IMG_RDWR : 0);
	double t0 = now();

	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t i = 0; i < n; i++) {
		if ((write ? img_write(img, buf, off, BLK, &err)
			   : img_read(img, buf, off, BLK, &err)))
			die("4k I/O", &err);
		off = (off + stride) % size;
	}
	if (img_close(img, &err))
		die("close", &err);
	return now() - t0;
}

/* goal 0: none set for this line. */
static void ratio(const char *what, double ours, double peer, const char *peer_name,
		  double goal)
{
	double mb = (double)size / (1 << 20);

	printf("%-34s ours %8.1f MB/s  %-10s %8.1f MB/s  ratio %.2f", what,
	       mb / ours, peer_name, mb / peer, peer / ours);
	if (goal > 0)
		printf("  (goal >= %.1f: %s)", goal, peer / ours >= goal ? "met" : "NOT MET");
	printf("\n");
	fflush(stdout);
}

int main(void)
{
	const char *e = getenv("BENCH_MB"), *d = getenv("BENCH_DIR");
	struct backup_opts full = { .disk = "bench", .bitmap = "bk", .clear_bitmap = 1 };
	struct backup_opts inc = { .disk = "bench", .bitmap = "bk", .incremental = 1,
				   .clear_bitmap = 1 };
	struct backup_opts cold = { .disk = "bench" };
	struct backup_stats st_full, st_inc, st_cold;
	struct vx_err err = { 0 };
	uint64_t n, changed = 0, rs = 42;
	double t_ours, t_peer, t_full, t_inc, t_cp, c_full, c_cp, c_cold;
	uint8_t *buf;
	struct img *img;
	FILE *f;

	size = (uint64_t)(e ? atoi(e) : 1024) << 20;
	snprintf(dir, sizeof(dir), "%s/vxbench.XXXXXX", d ? d : "/var/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	n = size / BLK;
	printf("storage bench: %llu MiB disk in %s\n", (unsigned long long)(size >> 20), dir);

	/* 4 KiB I/O on qcow2, both on fresh images then on the written ones. */
	if (getenv("BENCH_SKIP_IO"))
		goto big;
	newq(path("a.qcow2"));
	t_ours = ours_io(path("a.qcow2"), 1, BLK);
	run("qemu-img create -q -f qcow2 '%s' %llu", path("b.qcow2"), (unsigned long long)size);
	t_peer = run("qemu-img bench -f qcow2 -w -t writeback -d 1 -s %u -c %llu '%s'", BLK,
		     (unsigned long long)n, path("b.qcow2"));
	ratio("qcow2 4k sequential write", t_ours, t_peer, "qemu-img", 0);
	t_ours = ours_io(path("a.qcow2"), 0, BLK);
	t_peer = run("qemu-img bench -f qcow2 -t writeback -d 1 -s %u -c %llu '%s'", BLK,
		     (unsigned long long)n, path("b.qcow2"));
	ratio("qcow2 4k sequential read", t_ours, t_peer, "qemu-img", 0);
	newq(path("c.qcow2"));
	t_ours = ours_io(path("c.qcow2"), 1, STRIDE);
	run("qemu-img create -q -f qcow2 '%s' %llu", path("d.qcow2"), (unsigned long long)size);
	t_peer = run("qemu-img bench -f qcow2 -w -t writeback -d 1 -s %u -S %u -c %llu '%s'", BLK,
		     STRIDE, (unsigned long long)n, path("d.qcow2"));
	ratio("qcow2 4k strided write (alloc)", t_ours, t_peer, "qemu-img", 0);
	t_ours = ours_io(path("c.qcow2"), 0, STRIDE);
	t_peer = run("qemu-img bench -f qcow2 -t writeback -d 1 -s %u -S %u -c %llu '%s'", BLK,
		     STRIDE, (unsigned long long)n, path("d.qcow2"));
	ratio("qcow2 4k strided read", t_ours, t_peer, "qemu-img", 0);
	run("rm -f '%s' '%s' '%s' '%s'", path("a.qcow2"), path("b.qcow2"), path("c.qcow2"),
	    path("d.qcow2"));

big:
	/* A raw source of the mix kind_of() describes, durable before use. */
	buf = malloc(8 << 20);
	f = fopen(path("src.raw"), "w");
	if (!buf || !f)
		die("src.raw", NULL);
	for (uint64_t mb = 0; mb < size >> 20; mb++) {
		switch (kind_of(mb)) {
		case HOLE:
			fseeko(f, (off_t)(mb + 1) << 20, SEEK_SET);
			continue;
		case ZEROS:
			memset(buf, 0, 1 << 20);
			break;
		case TEXT:
			fill_text(buf, 1 << 20, mb);
			break;
		case RANDOM:
			fill_random(buf, 1 << 20, mb);
			break;
		case BINARY:
			fill(buf, 1 << 20, mb);
			break;
		}
		fwrite(buf, 1, 1 << 20, f);
	}
	if (ftruncate(fileno(f), (off_t)size))
		die("src.raw", NULL);
	fclose(f);

	/* Convert raw -> qcow2, as vmxd's disk-convert job does (8 MiB slices). */
	prepare(path("src.raw"));
	{
		struct img *src = openi(path("src.raw"), 0), *dst;
		double t0 = now();

		newq(path("conv.qcow2"));
		dst = openi(path("conv.qcow2"), IMG_RDWR);
		if (img_convert_range(src, dst, 0, size, buf, 8 << 20, &err))
			die("convert", &err);
		img_close(src, NULL);
		if (img_close(dst, &err))
			die("close", &err);
		t_ours = now() - t0;
	}
	prepare(path("src.raw"));
	t_peer = run("qemu-img convert -f raw -O qcow2 -t writeback '%s' '%s'", path("src.raw"),
		     path("qconv.qcow2"));
	ratio("convert raw -> qcow2", t_ours, t_peer, "qemu-img", 1.0);
	run("qemu-img compare -q '%s' '%s'", path("src.raw"), path("conv.qcow2"));

	/* Full backup vs cp of the same image file (the disk-read limit):
	 * first both reading the image from the page cache, then both from
	 * the disk (a second, empty repository: nothing deduplicates). */
	if (backup_repo_init(path("repo"), 0, &err) || backup_repo_init(path("repo2"), 0, &err))
		die("repo", &err);
	img = openi(path("conv.qcow2"), IMG_RDWR);
	if (img_bitmap_add(img, "bk", 16, &err))
		die("bitmap", &err);
	prepare(path("conv.qcow2"));
	t_cp = time_cp(path("conv.qcow2"), path("copy.qcow2"), &c_cp);
	prepare(path("conv.qcow2"));
	t_full = time_backup(path("repo"), img, &full, &st_full, &c_full);
	ratio("full backup, image cached", t_full, t_cp, "cp", 0.7);
	printf("%-34s %llu chunks stored, %.1f MiB compressed; CPU s: backup %.2f, cp %.2f\n",
	       "", (unsigned long long)st_full.new_chunks, st_full.bytes_stored / 1048576.0,
	       c_full, c_cp);
	prepare_cold(path("conv.qcow2"));
	t_peer = time_cp(path("conv.qcow2"), path("copy.qcow2"), &c_cp);
	prepare_cold(path("conv.qcow2"));
	t_ours = time_backup(path("repo2"), img, &cold, &st_cold, &c_cold);
	img_close(img, NULL);
	ratio("full backup, image not cached", t_ours, t_peer, "cp", 0.7);
	printf("%-34s CPU s: backup %.2f, cp %.2f\n", "", c_cold, c_cp);

	/* 5% of the clusters change; the VM "restarts" in between. */
	img = openi(path("conv.qcow2"), IMG_RDWR);
	for (uint64_t c = 0; c < size / 65536; c++) {
		rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
		if (rs % 100 < 5) {
			fill(buf, 65536, rs);
			if (img_write(img, buf, c * 65536, 65536, &err))
				die("change", &err);
			changed++;
		}
	}
	img_close(img, NULL);
	img = openi(path("conv.qcow2"), IMG_RDWR);
	prepare(path("conv.qcow2"));
	{
		double t0 = now();
		if (backup_create(path("repo"), img, &inc, NULL, &st_inc, &err))
			die("incremental backup", &err);
		t_inc = now() - t0;
	}
	img_close(img, NULL);
	printf("%-34s %.3f s vs full %.3f s: cost %.1f%% for %.1f%% of the disk changed "
	       "(%llu chunks read)\n", "incremental backup, 5% changed", t_inc, t_full,
	       100 * t_inc / t_full, 100.0 * (double)changed / (double)(size / 65536),
	       (unsigned long long)st_inc.read_chunks);
	free(buf);
	if (!getenv("BENCH_KEEP"))
		run("rm -rf '%s'", dir);
	return 0;
}
