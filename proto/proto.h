/*
 * proto: the vmxcore control protocol (see proto/PROTOCOL.md).
 *
 * One codec for every peer: vmctl <-> vmxd, vmxd <-> runner. A frame is a
 * 4-byte big-endian body length followed by one JSON object. The codec checks
 * the length before it looks at the body and every member before it is used;
 * nothing it is fed can make it crash, only return an error.
 * Context: any thread; a struct proto_rbuf belongs to one reader.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "vx_err.h"

#define PROTO_VERSION     1          /* highest version this codec speaks */
#define PROTO_VERSION_MIN 1          /* lowest version this codec accepts */
#define PROTO_HDR_LEN     4          /* big-endian u32 body length */
#define PROTO_MAX_BODY    (1u << 20) /* 1 MiB; larger frames are refused */
#define PROTO_MAX_DEPTH   32         /* JSON nesting limit */
#define PROTO_NAME_MAX    64         /* verb / event / peer name, with NUL */
#define PROTO_ERRMSG_MAX  512        /* error message, with NUL */

enum proto_type {
	PROTO_HELLO = 1,   /* first message each way: version negotiation */
	PROTO_REQUEST,     /* id + verb + args */
	PROTO_RESPONSE,    /* id + status + result or error */
	PROTO_EVENT,       /* event + data, unsolicited */
};

/* Status of a response; the wire carries the name (proto_status_name). */
enum proto_status {
	PROTO_OK = 0,
	PROTO_E_MALFORMED,    /* frame or JSON not understood */
	PROTO_E_TOO_BIG,      /* frame longer than PROTO_MAX_BODY */
	PROTO_E_VERSION,      /* no common protocol version */
	PROTO_E_UNKNOWN_VERB, /* verb not in the handler table */
	PROTO_E_READONLY,     /* write verb on the read-only socket */
	PROTO_E_DENIED,       /* caller not allowed */
	PROTO_E_NOT_FOUND,    /* no such domain / job */
	PROTO_E_EXISTS,       /* name or uuid already taken */
	PROTO_E_INVALID,      /* bad argument or domain XML */
	PROTO_E_UNSUPPORTED,  /* valid but not supported by vmxcore */
	PROTO_E_STATE,        /* not allowed in the domain's current state */
	PROTO_E_TIMEOUT,      /* gave up waiting */
	PROTO_E_CANCELLED,    /* job cancelled */
	PROTO_E_INTERNAL,     /* daemon-side failure (I/O, database) */
	PROTO_STATUS_COUNT
};

struct proto_msg {
	enum proto_type pm_type;
	uint64_t pm_id;                    /* request/response correlation */
	uint32_t pm_version;               /* hello: highest version offered */
	char pm_name[PROTO_NAME_MAX];      /* hello: peer; request: verb; event */
	enum proto_status pm_status;       /* response */
	char pm_error[PROTO_ERRMSG_MAX];   /* response with pm_status != OK */
	json_object *pm_body;              /* args / result / data; owned, may be NULL */
};

/* Stream reassembly of frames for one connection. */
struct proto_rbuf {
	uint8_t *rb_buf;
	size_t rb_len;   /* bytes held */
	size_t rb_cap;
};

const char *proto_status_name(enum proto_status st);
/* Returns the status for a wire name, or -1 when unknown. */
int proto_status_parse(const char *name);
/* Maps a negative errno from a daemon call to a status. */
enum proto_status proto_status_from_errno(int code);
/* The errno a status stands for (inverse of proto_status_from_errno). */
int proto_status_to_errno(enum proto_status st);

void proto_msg_init(struct proto_msg *m, enum proto_type type);
void proto_msg_clear(struct proto_msg *m); /* drops pm_body */

/* Builders; they take ownership of body (NULL allowed). */
void proto_msg_hello(struct proto_msg *m, const char *peer, json_object *body);
void proto_msg_request(struct proto_msg *m, uint64_t id, const char *verb,
		       json_object *body);
void proto_msg_response(struct proto_msg *m, uint64_t id, json_object *result);
void proto_msg_error(struct proto_msg *m, uint64_t id, enum proto_status st,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void proto_msg_event(struct proto_msg *m, const char *event, json_object *data);

/*
 * Decodes one frame body (without its header) into m. On error m holds
 * nothing to free and err names what was wrong; -EBADMSG for malformed
 * content, -EMSGSIZE for an oversized body.
 */
int proto_decode(const void *body, size_t len, struct proto_msg *m,
		 struct vx_err *err);

/* Encodes m into a malloc'd frame (header included). */
int proto_encode(const struct proto_msg *m, uint8_t **frame, size_t *len,
		 struct vx_err *err);

void proto_rbuf_init(struct proto_rbuf *rb);
void proto_rbuf_free(struct proto_rbuf *rb);
/* Appends received bytes. -EMSGSIZE once the pending frame is too big. */
int proto_rbuf_append(struct proto_rbuf *rb, const void *data, size_t n,
		      struct vx_err *err);
/*
 * Room to receive into, for a reader that reads straight into rb (no copy):
 * at least min bytes, and once the pending frame's header is in, the whole
 * rest of that frame, so a large answer is one allocation and as few reads
 * as the socket allows. *at gets where to write; returns the free bytes or
 * -ENOMEM. proto_rbuf_added() then counts what was written there.
 */
ssize_t proto_rbuf_space(struct proto_rbuf *rb, size_t min, uint8_t **at,
			 struct vx_err *err);
void proto_rbuf_added(struct proto_rbuf *rb, size_t n);
/*
 * Takes the next complete frame out of rb. Returns 1 and fills m, 0 when more
 * bytes are needed, or a negative errno: -EBADMSG when the frame's content was
 * malformed (the frame is consumed, the stream stays in sync: answer with an
 * error and go on), -EMSGSIZE when the header announces an oversized body
 * (the stream cannot be resynchronised: answer and close).
 */
int proto_rbuf_next(struct proto_rbuf *rb, struct proto_msg *m,
		    struct vx_err *err);

/* Blocking helpers on a connected stream socket (proto/io.c). */
int proto_send_fd(int fd, const struct proto_msg *m, struct vx_err *err);
/* timeout_ms < 0 waits forever. -ETIMEDOUT, -ECONNRESET on EOF. */
int proto_recv_fd(int fd, struct proto_rbuf *rb, struct proto_msg *m,
		  int timeout_ms, struct vx_err *err);
/* Connects to a unix socket path; returns the fd or a negative errno. */
int proto_connect_unix(const char *path, struct vx_err *err);
/* hello exchange as the client; fills *server (may be NULL) with its hello. */
int proto_client_hello(int fd, struct proto_rbuf *rb, const char *peer,
		       struct proto_msg *server, int timeout_ms,
		       struct vx_err *err);
/*
 * hello and a first request sent together, without waiting for the hello's
 * answer (the server handles a connection's messages in order, and one that
 * fails the hello never handles the request): a connection used for one
 * call costs one round trip, not two. The hello's answer is checked as
 * proto_client_hello does; then as proto_call.
 */
int proto_hello_call(int fd, struct proto_rbuf *rb, const char *peer,
		     uint64_t id, const char *verb, json_object *args,
		     struct proto_msg *resp, int timeout_ms, struct vx_err *err);
/*
 * One request/response round trip; takes ownership of args; events arriving
 * meanwhile are dropped. resp must be cleared by the caller.
 */
int proto_call(int fd, struct proto_rbuf *rb, uint64_t id, const char *verb,
	       json_object *args, struct proto_msg *resp, int timeout_ms,
	       struct vx_err *err);

/*
 * Descriptor passing (PROTOCOL.md, "Passing descriptors"): a frame may carry
 * one file descriptor as SCM_RIGHTS ancillary data on its first byte. A
 * receiver that does not expect one closes it (every recv here does).
 */
/* Blocking send of m with pass_fd attached; pass_fd stays open here. */
int proto_send_with_fd(int sock, const struct proto_msg *m, int pass_fd,
		       struct vx_err *err);
/*
 * One sendmsg of buf with pass_fd attached (flags: MSG_DONTWAIT for a
 * non-blocking caller such as vmxd). Returns the bytes sent (the descriptor
 * went with them) or a negative errno (it did not).
 */
ssize_t proto_sendmsg_fd(int sock, const void *buf, size_t len, int pass_fd,
			 int flags);
/*
 * proto_recv_fd that keeps a passed descriptor: *passed (set it to -1 first)
 * gets the first one that arrives while reading; further ones are closed.
 */
int proto_recv_with_fd(int sock, struct proto_rbuf *rb, struct proto_msg *m,
		       int *passed, int timeout_ms, struct vx_err *err);
/* proto_call that keeps a descriptor passed with the answer (or before it). */
int proto_call_with_fd(int fd, struct proto_rbuf *rb, uint64_t id,
		       const char *verb, json_object *args,
		       struct proto_msg *resp, int *passed, int timeout_ms,
		       struct vx_err *err);

#endif
