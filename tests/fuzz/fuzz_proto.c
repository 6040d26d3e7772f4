/*
 * fuzz_proto: libFuzzer target for the frame decoder. The input is a byte
 * stream as a peer would send it; it is fed to proto_rbuf in two pieces and
 * every frame is decoded, re-encoded and decoded again. Any crash, leak or
 * sanitizer report is a bug; so is a re-encoded message that does not decode.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_rbuf rb;
	struct proto_msg m, m2;
	struct vx_err err;
	size_t half = size / 2;
	uint8_t *frame;
	size_t flen;
	int rc;

	proto_rbuf_init(&rb);
	if (proto_rbuf_append(&rb, data, half, &err) == 0 &&
	    proto_rbuf_append(&rb, data + half, size - half, &err) == 0) {
		while ((rc = proto_rbuf_next(&rb, &m, &err)) != 0) {
			if (rc == -EMSGSIZE)
				break;
			if (rc < 0)
				continue;
			if (proto_encode(&m, &frame, &flen, &err) == 0) {
				if (proto_decode(frame + PROTO_HDR_LEN,
						 flen - PROTO_HDR_LEN, &m2, &err) != 0)
					abort();
				if (m2.pm_type != m.pm_type || m2.pm_id != m.pm_id ||
				    strcmp(m2.pm_name, m.pm_name) != 0)
					abort();
				proto_msg_clear(&m2);
				free(frame);
			}
			proto_msg_clear(&m);
		}
	}
	proto_rbuf_free(&rb);
	return 0;
}
