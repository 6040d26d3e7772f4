/* vx_err: see vx_err.h. */
#include "vx_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vx_err_format(struct vx_err *err, int code, int add_errno,
			  const char *fmt, va_list ap)
{
	size_t len;

	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (!add_errno)
		return;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(-code));
}

int vx_err_set(struct vx_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vx_err_format(err, code, 0, fmt, ap);
		va_end(ap);
	}
	return code;
}

int vx_err_errno(struct vx_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vx_err_format(err, code, 1, fmt, ap);
		va_end(ap);
	}
	return code;
}

void vx_err_clear(struct vx_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
