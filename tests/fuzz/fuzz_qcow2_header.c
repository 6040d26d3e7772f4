/*
 * libFuzzer target for the qcow2 header and metadata parser.
 *
 * The input is a whole image file. It is opened read-only (header, header
 * extensions, L1, refcount table, snapshot table, bitmaps) and read through
 * (L2 entries, compressed clusters), then opened read-write and written,
 * discarded and snapshotted (allocation against hostile refcounts). Any crash,
 * sanitizer report or hang is a bug; errors are the expected outcome.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Icommon -I. \
 *     tests/fuzz/fuzz_qcow2_header.c storage/[a-z]*.c common/vx_err.c \
 *     -lzstd -lz -lcrypto -ljson-c
 *   (or: make fuzz-storage; see storage/build.mk for how to run it)
 *
 * tests/storage/test_fuzz_replay.c runs the corpus and mutations of it as a
 * unit test.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/bitmap.h"
#include "storage/image.h"
#include "storage/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_exercise(const char *path, int flags)
{
	struct img_snapshot_info *sl;
	struct img_bitmap_info *bl;
	struct img *img = NULL;
	static uint8_t buf[65536];
	uint64_t off, pnum, n;
	int fb, cnt;

	if (img_open(path, "qcow2", flags, &img, NULL))
		return;
	/* Read a bounded prefix and a few scattered places. */
	for (off = 0; off < img->size && off < (1u << 20); off += sizeof(buf)) {
		n = img->size - off < sizeof(buf) ? img->size - off : sizeof(buf);
		img_read(img, buf, off, (size_t)n, NULL);
		img_status(img, off, n, &pnum, &fb, NULL);
	}
	if (img->size > 4096)
		img_read(img, buf, img->size / 2 & ~511ull, 4096, NULL);
	if (!img_snapshot_list(img, &sl, &cnt, NULL))
		free(sl);
	if (!img_bitmap_list(img, &bl, &cnt, NULL))
		free(bl);
	if (flags & IMG_RDWR) {
		memset(buf, 0x5a, 8192);
		if (img->size >= 8192) {
			img_write(img, buf, 0, 8192, NULL);
			img_write(img, buf, img->size - 4096, 4096, NULL);
			img_discard(img, 0, 4096, NULL);
		}
		img_snapshot_create(img, "fz", NULL);
		img_bitmap_add(img, "fzb", 0, NULL);
		img_write(img, buf, 0, 512 < img->size ? 512 : (size_t)img->size, NULL);
		img_snapshot_delete(img, "fz", NULL);
	}
	img_close(img, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;

	fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fuzz_exercise(path, IMG_SHARED | IMG_NO_BACKING);
	fuzz_exercise(path, IMG_RDWR | IMG_NO_BACKING);
	close(fd);
	return 0;
}
