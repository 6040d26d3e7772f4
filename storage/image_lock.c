/*
 * image_lock: QEMU-compatible image locking with OFD byte-range locks.
 *
 * QEMU (block/file-posix.c) describes each permission bit i it holds with a
 * shared lock on byte 100+i, and each permission it refuses to share with a
 * shared lock on byte 200+i; a newcomer tests the opposite bytes for a lock
 * it could not override. Using the same bytes makes a writer here and a
 * qemu / qemu-img writer refuse each other. OFD locks belong to the open file
 * description, so closing the fd releases them. Context: caller's thread.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#define LOCK_PERM_BASE    100
#define LOCK_SHARED_BASE  200
#define PERM_CONSISTENT_READ  0  /* bit numbers, as QEMU's BLK_PERM_* */
#define PERM_WRITE            1
#define PERM_WRITE_UNCHANGED  2
#define PERM_RESIZE           3
#define PERM_NBITS            5

static int lock_byte(int fd, int cmd, short type, off_t byte, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = byte;
	fl->l_len = 1;
	return fcntl(fd, cmd, fl);
}

int img_lock(int fd, const char *path, int write, struct vx_err *err)
{
	unsigned held, unshared;
	struct flock fl;
	int i;

	held = 1u << PERM_CONSISTENT_READ;
	if (write)
		held |= 1u << PERM_WRITE | 1u << PERM_RESIZE;
	/* Readers need the disk to stay still; writers also refuse writers. */
	unshared = 1u << PERM_WRITE | 1u << PERM_RESIZE;

	for (i = 0; i < PERM_NBITS; i++) {
		if ((held & (1u << i)) &&
		    lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + i, &fl) < 0)
			goto busy;
		if ((unshared & (1u << i)) &&
		    lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_SHARED_BASE + i, &fl) < 0)
			goto busy;
	}
	for (i = 0; i < PERM_NBITS; i++) {
		/* Someone refuses to share what we hold? */
		if (held & (1u << i)) {
			if (lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_SHARED_BASE + i, &fl) < 0)
				return vx_err_errno(err, -errno, "img: lock test on %s", path);
			if (fl.l_type != F_UNLCK)
				goto busy;
		}
		/* Someone holds what we refuse to share? */
		if (unshared & (1u << i)) {
			if (lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + i, &fl) < 0)
				return vx_err_errno(err, -errno, "img: lock test on %s", path);
			if (fl.l_type != F_UNLCK)
				goto busy;
		}
	}
	return 0;
busy:
	return vx_err_set(err, -EBUSY,
			  "img: %s is in use: another process has it open %s",
			  path, write ? "(a writer or reader holds its lock)"
				      : "for writing");
}
