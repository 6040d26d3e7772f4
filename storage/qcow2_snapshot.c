/* qcow2_snapshot: placeholder until internal snapshots land. */
#include "qcow2.h"

#include <stdlib.h>

int qcow2_snapshots_load(struct qcow2 *s, struct vx_err *err)
{
	(void)s;
	(void)err;
	return 0;
}

void qcow2_snapshots_free(struct qcow2 *s)
{
	(void)s;
}
