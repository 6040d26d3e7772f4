/* qcow2_bitmap: placeholder until persistent bitmaps land. */
#include "qcow2.h"

int qcow2_bitmaps_load(struct qcow2 *s, const uint8_t *ext, uint32_t len,
		       struct vx_err *err)
{
	(void)s; (void)ext; (void)len; (void)err;
	return 0;
}
int qcow2_bitmaps_mark(struct qcow2 *s, uint64_t off, uint64_t len)
{
	(void)s; (void)off; (void)len;
	return 0;
}
int qcow2_bitmaps_store(struct qcow2 *s, struct vx_err *err)
{
	(void)s; (void)err;
	return 0;
}
int qcow2_bitmaps_begin(struct qcow2 *s, struct vx_err *err)
{
	(void)s; (void)err;
	return 0;
}
void qcow2_bitmaps_free(struct qcow2 *s)
{
	(void)s;
}
void qcow2_bitmaps_ext(struct qcow2 *s, uint8_t out[24], uint32_t *len)
{
	(void)s; (void)out;
	*len = 0;
}
