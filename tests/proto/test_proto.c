/* Unit tests for proto/codec.c and proto/io.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto/proto.h"

static int decode_str(const char *s, struct proto_msg *m, struct vx_err *err)
{
	return proto_decode(s, strlen(s), m, err);
}

static void roundtrip(struct proto_msg *in, struct proto_msg *out)
{
	uint8_t *f;
	size_t len;
	struct vx_err err;

	assert_int_equal(proto_encode(in, &f, &len, &err), 0);
	assert_true(len > PROTO_HDR_LEN);
	assert_int_equal(((uint32_t)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3]),
			 len - PROTO_HDR_LEN);
	assert_int_equal(proto_decode(f + PROTO_HDR_LEN, len - PROTO_HDR_LEN,
				      out, &err), 0);
	free(f);
}

static void proto_request_roundtrip(void **state)
{
	struct proto_msg m, r;
	json_object *args = json_object_new_object();

	(void)state;
	json_object_object_add(args, "name", json_object_new_string("vm1"));
	proto_msg_request(&m, 42, "dominfo", args);
	roundtrip(&m, &r);
	assert_int_equal(r.pm_type, PROTO_REQUEST);
	assert_int_equal(r.pm_id, 42);
	assert_string_equal(r.pm_name, "dominfo");
	assert_non_null(r.pm_body);
	assert_string_equal(json_object_get_string(
		json_object_object_get(r.pm_body, "name")), "vm1");
	proto_msg_clear(&m);
	proto_msg_clear(&r);
}

static void proto_error_response_roundtrip(void **state)
{
	struct proto_msg m, r;

	(void)state;
	proto_msg_error(&m, 7, PROTO_E_READONLY, "verb %s needs the read-write socket",
			"define");
	roundtrip(&m, &r);
	assert_int_equal(r.pm_type, PROTO_RESPONSE);
	assert_int_equal(r.pm_status, PROTO_E_READONLY);
	assert_string_equal(r.pm_error, "verb define needs the read-write socket");
	assert_null(r.pm_body);
}

static void proto_hello_and_event_roundtrip(void **state)
{
	struct proto_msg m, r;

	(void)state;
	proto_msg_hello(&m, "vmctl", NULL);
	roundtrip(&m, &r);
	assert_int_equal(r.pm_type, PROTO_HELLO);
	assert_int_equal(r.pm_version, PROTO_VERSION);
	assert_string_equal(r.pm_name, "vmctl");
	proto_msg_event(&m, "domain-state", json_object_new_object());
	roundtrip(&m, &r);
	assert_int_equal(r.pm_type, PROTO_EVENT);
	assert_string_equal(r.pm_name, "domain-state");
	proto_msg_clear(&m);
	proto_msg_clear(&r);
}

static void proto_decode_rejects_malformed(void **state)
{
	static const struct { const char *json; const char *msg; } cases[] = {
		{ "not json", "invalid JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{}", "member \"type\" missing" },
		{ "{\"type\":\"bogus\"}", "unknown message type \"bogus\"" },
		{ "{\"type\":\"request\",\"verb\":\"x\"}", "member \"id\" missing" },
		{ "{\"type\":\"request\",\"id\":\"1\",\"verb\":\"x\"}", "\"id\" is not an integer" },
		{ "{\"type\":\"request\",\"id\":-5,\"verb\":\"x\"}", "\"id\" out of range" },
		{ "{\"type\":\"request\",\"id\":1,\"verb\":7}", "\"verb\" is not a string" },
		{ "{\"type\":\"request\",\"id\":1,\"verb\":\"x\",\"args\":3}", "\"args\" is not an object" },
		{ "{\"type\":\"response\",\"id\":1,\"status\":\"weird\"}", "unknown status" },
		{ "{\"type\":\"response\",\"id\":1,\"status\":\"invalid\"}", "\"error\" missing" },
		{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\"} x", "invalid JSON" },
		{ "{\"type\":\"request\",\"id\":1,\"verb\":\"a\\u0000b\"}", "contains NUL" },
	};
	struct proto_msg m;
	struct vx_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vx_err_clear(&err);
		assert_int_equal(decode_str(cases[i].json, &m, &err), -EBADMSG);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
				 cases[i].msg);
		assert_null(m.pm_body);
	}
}

static void proto_decode_rejects_deep_nesting(void **state)
{
	char buf[512];
	struct proto_msg m;
	struct vx_err err;
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"event\",\"event\":\"e\",\"data\":");
	for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++)
		buf[n++] = '[';
	for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = 0;
	assert_int_equal(decode_str(buf, &m, &err), -EBADMSG);
}

static void proto_rbuf_refuses_oversized_frame_early(void **state)
{
	struct proto_rbuf rb;
	struct vx_err err;
	uint8_t hdr[4] = { 0x00, 0x10, 0x00, 0x01 }; /* 1 MiB + 1 */

	(void)state;
	proto_rbuf_init(&rb);
	assert_int_equal(proto_rbuf_append(&rb, hdr, 2, &err), 0);
	assert_int_equal(proto_rbuf_append(&rb, hdr + 2, 2, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "exceeds"));
	proto_rbuf_free(&rb);
}

static void proto_rbuf_reassembles_byte_by_byte(void **state)
{
	struct proto_rbuf rb;
	struct proto_msg m, r;
	struct vx_err err;
	uint8_t *f;
	size_t len;
	int got = 0;

	(void)state;
	proto_msg_request(&m, 3, "list", NULL);
	assert_int_equal(proto_encode(&m, &f, &len, &err), 0);
	proto_rbuf_init(&rb);
	for (int rep = 0; rep < 2; rep++)
		for (size_t i = 0; i < len; i++) {
			assert_int_equal(proto_rbuf_append(&rb, f + i, 1, &err), 0);
			int rc = proto_rbuf_next(&rb, &r, &err);

			assert_true(rc >= 0);
			if (rc == 1) {
				assert_int_equal(i, len - 1);
				assert_string_equal(r.pm_name, "list");
				proto_msg_clear(&r);
				got++;
			}
		}
	assert_int_equal(got, 2);
	assert_int_equal(rb.rb_len, 0);
	free(f);
	proto_rbuf_free(&rb);
}

static void proto_rbuf_malformed_frame_keeps_stream_in_sync(void **state)
{
	struct proto_rbuf rb;
	struct proto_msg r;
	struct vx_err err;
	const char bad[] = "\0\0\0\3abc";
	const char good[] = "\0\0\0\x1c{\"type\":\"event\",\"event\":\"e\"}";

	(void)state;
	proto_rbuf_init(&rb);
	assert_int_equal(proto_rbuf_append(&rb, bad, sizeof(bad) - 1, &err), 0);
	assert_int_equal(proto_rbuf_append(&rb, good, sizeof(good) - 1, &err), 0);
	assert_int_equal(proto_rbuf_next(&rb, &r, &err), -EBADMSG);
	assert_int_equal(proto_rbuf_next(&rb, &r, &err), 1);
	assert_string_equal(r.pm_name, "e");
	assert_int_equal(proto_rbuf_next(&rb, &r, &err), 0);
	proto_rbuf_free(&rb);
}

/* Reading straight into rb: room for the whole announced frame at once. */
static void proto_rbuf_space_covers_the_announced_frame(void **state)
{
	struct proto_rbuf rb;
	struct vx_err err;
	uint8_t hdr[4] = { 0x00, 0x03, 0x0d, 0x40 }; /* 200000 */
	uint8_t big[4] = { 0x00, 0x10, 0x00, 0x01 }; /* 1 MiB + 1 */
	struct proto_msg m;
	uint8_t *at;
	ssize_t room;

	(void)state;
	proto_rbuf_init(&rb);
	room = proto_rbuf_space(&rb, 100, &at, &err);
	assert_true(room >= 100 && room < 200000);
	memcpy(at, hdr, 2);
	proto_rbuf_added(&rb, 2);
	/* Half a header: not yet known, so just the minimum again. */
	room = proto_rbuf_space(&rb, 100, &at, &err);
	assert_true(room >= 100 && room < 200000);
	memcpy(at, hdr + 2, 2);
	proto_rbuf_added(&rb, 2);
	room = proto_rbuf_space(&rb, 100, &at, &err);
	assert_true(room >= 200000);
	assert_ptr_equal(at, rb.rb_buf + 4);
	assert_int_equal(proto_rbuf_next(&rb, &m, &err), 0); /* body not in */
	proto_rbuf_free(&rb);
	/* An oversized header gets no room for itself; next refuses it. */
	proto_rbuf_init(&rb);
	room = proto_rbuf_space(&rb, 4, &at, &err);
	memcpy(at, big, 4);
	proto_rbuf_added(&rb, 4);
	room = proto_rbuf_space(&rb, 100, &at, &err);
	assert_true(room >= 100 && room < (ssize_t)PROTO_MAX_BODY);
	assert_int_equal(proto_rbuf_next(&rb, &m, &err), -EMSGSIZE);
	proto_rbuf_free(&rb);
}

/* A frame larger than any one read arrives whole, and the one behind it too. */
static void proto_recv_large_frame_then_small(void **state)
{
	size_t n = 600 * 1024;
	char *s = malloc(n + 1);
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	int sv[2], st;
	pid_t pid;

	(void)state;
	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = '\0';
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "s", json_object_new_string(s));
		proto_msg_response(&m, 1, o);
		if (proto_send_fd(sv[1], &m, &err) < 0)
			_exit(1);
		proto_msg_clear(&m);
		proto_msg_event(&m, "after", NULL);
		_exit(proto_send_fd(sv[1], &m, &err) < 0);
	}
	close(sv[1]);
	proto_rbuf_init(&rb);
	assert_int_equal(proto_recv_fd(sv[0], &rb, &m, 5000, &err), 0);
	assert_int_equal(m.pm_id, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(m.pm_body, "s")), s);
	proto_msg_clear(&m);
	assert_int_equal(proto_recv_fd(sv[0], &rb, &m, 5000, &err), 0);
	assert_string_equal(m.pm_name, "after");
	proto_msg_clear(&m);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sv[0]);
	proto_rbuf_free(&rb);
	free(s);
}

/*
 * hello and the first request leave together; the answer to the hello is
 * checked first (a refusal is the call's error), then the request's.
 */
static void proto_hello_call_sends_both_then_checks_hello(void **state)
{
	struct proto_rbuf rb, srb;
	struct proto_msg m, resp;
	struct vx_err err;
	int sv[2];

	(void)state;
	for (int refuse = 0; refuse < 2; refuse++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		proto_rbuf_init(&rb);
		proto_rbuf_init(&srb);
		/* The server's answers are queued before the call: it cannot
		 * have waited for the request to answer the hello. */
		if (refuse)
			proto_msg_error(&m, 0, PROTO_E_DENIED, "go away");
		else
			proto_msg_hello(&m, "server", NULL);
		assert_int_equal(proto_send_fd(sv[1], &m, &err), 0);
		proto_msg_clear(&m);
		proto_msg_response(&m, 4, json_object_new_object());
		assert_int_equal(proto_send_fd(sv[1], &m, &err), 0);
		proto_msg_clear(&m);
		if (refuse) {
			assert_int_equal(proto_hello_call(sv[0], &rb, "t", 4, "ping", NULL,
							  &resp, 1000, &err), -EACCES);
			assert_non_null(strstr(err.msg, "go away"));
		} else {
			assert_int_equal(proto_hello_call(sv[0], &rb, "t", 4, "ping", NULL,
							  &resp, 1000, &err), 0);
			assert_int_equal(resp.pm_id, 4);
			proto_msg_clear(&resp);
		}
		/* Both frames arrived, in order. */
		assert_int_equal(proto_recv_fd(sv[1], &srb, &m, 1000, &err), 0);
		assert_int_equal(m.pm_type, PROTO_HELLO);
		assert_string_equal(m.pm_name, "t");
		proto_msg_clear(&m);
		assert_int_equal(proto_recv_fd(sv[1], &srb, &m, 1000, &err), 0);
		assert_int_equal(m.pm_type, PROTO_REQUEST);
		assert_string_equal(m.pm_name, "ping");
		proto_msg_clear(&m);
		close(sv[0]);
		close(sv[1]);
		proto_rbuf_free(&rb);
		proto_rbuf_free(&srb);
	}
}

static void proto_status_names_roundtrip(void **state)
{
	(void)state;
	for (int i = 0; i < PROTO_STATUS_COUNT; i++) {
		assert_int_equal(proto_status_parse(proto_status_name(i)), i);
		/* errno and status map both ways (EBUSY/EALREADY share "state"). */
		assert_int_equal(proto_status_from_errno(proto_status_to_errno(i)), i);
	}
	assert_int_equal(proto_status_parse("nope"), -1);
	assert_int_equal(proto_status_from_errno(-ENOENT), PROTO_E_NOT_FOUND);
	assert_int_equal(proto_status_from_errno(-EIO), PROTO_E_INTERNAL);
}

static void proto_call_over_socketpair(void **state)
{
	int sv[2];
	struct proto_rbuf rb, srb;
	struct proto_msg m, resp;
	struct vx_err err;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	proto_rbuf_init(&rb);
	proto_rbuf_init(&srb);
	/* Server side answers before the call is made: an event, then the reply. */
	proto_msg_event(&m, "noise", NULL);
	assert_int_equal(proto_send_fd(sv[1], &m, &err), 0);
	proto_msg_response(&m, 9, json_object_new_object());
	assert_int_equal(proto_send_fd(sv[1], &m, &err), 0);
	proto_msg_clear(&m);
	assert_int_equal(proto_call(sv[0], &rb, 9, "ping", NULL, &resp, 1000, &err), 0);
	assert_int_equal(resp.pm_status, PROTO_OK);
	proto_msg_clear(&resp);
	assert_int_equal(proto_recv_fd(sv[1], &srb, &m, 1000, &err), 0);
	assert_string_equal(m.pm_name, "ping");
	/* Timeout, then EOF. */
	assert_int_equal(proto_recv_fd(sv[0], &rb, &m, 20, &err), -ETIMEDOUT);
	close(sv[1]);
	assert_int_equal(proto_recv_fd(sv[0], &rb, &m, 1000, &err), -ECONNRESET);
	close(sv[0]);
	proto_rbuf_free(&rb);
	proto_rbuf_free(&srb);
}

/* A descriptor rides with a frame; one nobody asked for is closed. */
static void proto_passes_a_descriptor_with_a_frame(void **state)
{
	struct proto_rbuf rb;
	struct proto_msg m, got;
	struct vx_err err;
	int sv[2], pp[2], passed = -1;
	char c = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(pp), 0);
	proto_rbuf_init(&rb);
	proto_msg_response(&m, 9, json_object_new_object());
	assert_int_equal(proto_send_with_fd(sv[0], &m, pp[0], &err), 0);
	assert_int_equal(proto_recv_with_fd(sv[1], &rb, &got, &passed, 1000, &err), 0);
	assert_int_equal(got.pm_id, 9);
	assert_true(passed >= 0 && passed != pp[0]);
	assert_int_equal(write(pp[1], "x", 1), 1);
	assert_int_equal(read(passed, &c, 1), 1);   /* the same pipe */
	assert_int_equal(c, 'x');
	close(passed);
	proto_msg_clear(&got);
	/* Unasked: proto_recv_fd closes it, so the pipe's last reader is gone. */
	close(pp[0]);
	assert_int_equal(pipe(pp), 0);
	assert_int_equal(proto_send_with_fd(sv[0], &m, pp[0], &err), 0);
	close(pp[0]);
	assert_int_equal(proto_recv_fd(sv[1], &rb, &got, 1000, &err), 0);
	proto_msg_clear(&got);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write(pp[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(pp[1]);
	proto_msg_clear(&m);
	proto_rbuf_free(&rb);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proto_request_roundtrip),
		cmocka_unit_test(proto_error_response_roundtrip),
		cmocka_unit_test(proto_hello_and_event_roundtrip),
		cmocka_unit_test(proto_decode_rejects_malformed),
		cmocka_unit_test(proto_decode_rejects_deep_nesting),
		cmocka_unit_test(proto_rbuf_refuses_oversized_frame_early),
		cmocka_unit_test(proto_rbuf_reassembles_byte_by_byte),
		cmocka_unit_test(proto_rbuf_malformed_frame_keeps_stream_in_sync),
		cmocka_unit_test(proto_rbuf_space_covers_the_announced_frame),
		cmocka_unit_test(proto_recv_large_frame_then_small),
		cmocka_unit_test(proto_hello_call_sends_both_then_checks_hello),
		cmocka_unit_test(proto_status_names_roundtrip),
		cmocka_unit_test(proto_call_over_socketpair),
		cmocka_unit_test(proto_passes_a_descriptor_with_a_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
