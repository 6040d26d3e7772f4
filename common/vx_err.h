/*
 * vx_err: the error carried out of a userspace call.
 *
 * Calls return 0 or a negative errno (libuv style) and, when the caller passes
 * a struct vx_err, a sentence for the human at the edge that names what was
 * wrong ("qcow2: refcount table beyond end of file"). Context: any thread.
 */
#ifndef VX_ERR_H
#define VX_ERR_H

#include <stddef.h>

struct vx_err {
	int code;        /* negative errno, 0 when no error */
	char msg[256];   /* human text, "" when none */
};

/* Records code and message (when err is not NULL) and returns code. */
int vx_err_set(struct vx_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like vx_err_set, appending ": strerror(-code)". */
int vx_err_errno(struct vx_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void vx_err_clear(struct vx_err *err);

#endif
