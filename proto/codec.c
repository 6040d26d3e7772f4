/*
 * codec: proto_msg <-> frame. See proto.h and PROTOCOL.md.
 * Lengths are checked before content; every member is type-checked before
 * it is read. Context: any thread.
 */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wire names of enum proto_status, indexed by the enum. */
static const char *const proto_status_names[PROTO_STATUS_COUNT] = {
	[PROTO_OK]             = "ok",
	[PROTO_E_MALFORMED]    = "malformed",
	[PROTO_E_TOO_BIG]      = "too-big",
	[PROTO_E_VERSION]      = "version",
	[PROTO_E_UNKNOWN_VERB] = "unknown-verb",
	[PROTO_E_READONLY]     = "read-only",
	[PROTO_E_DENIED]       = "denied",
	[PROTO_E_NOT_FOUND]    = "not-found",
	[PROTO_E_EXISTS]       = "exists",
	[PROTO_E_INVALID]      = "invalid",
	[PROTO_E_UNSUPPORTED]  = "unsupported",
	[PROTO_E_STATE]        = "state",
	[PROTO_E_TIMEOUT]      = "timeout",
	[PROTO_E_CANCELLED]    = "cancelled",
	[PROTO_E_INTERNAL]     = "internal",
};

/* Wire names of enum proto_type. */
static const char *const proto_type_names[] = {
	[PROTO_HELLO]    = "hello",
	[PROTO_REQUEST]  = "request",
	[PROTO_RESPONSE] = "response",
	[PROTO_EVENT]    = "event",
};

const char *proto_status_name(enum proto_status st)
{
	if ((unsigned)st >= PROTO_STATUS_COUNT)
		return "internal";
	return proto_status_names[st];
}

int proto_status_parse(const char *name)
{
	for (int i = 0; i < PROTO_STATUS_COUNT; i++)
		if (strcmp(proto_status_names[i], name) == 0)
			return i;
	return -1;
}

enum proto_status proto_status_from_errno(int code)
{
	switch (-code) {
	case 0:          return PROTO_OK;
	case ENOENT:     return PROTO_E_NOT_FOUND;
	case EEXIST:     return PROTO_E_EXISTS;
	case EINVAL:     return PROTO_E_INVALID;
	case ENOTSUP:    return PROTO_E_UNSUPPORTED;
	case EBUSY:      /* fallthrough */
	case EALREADY:   return PROTO_E_STATE;
	case EROFS:      return PROTO_E_READONLY;
	case EPERM:      /* fallthrough */
	case EACCES:     return PROTO_E_DENIED;
	case ETIMEDOUT:  return PROTO_E_TIMEOUT;
	case ECANCELED:  return PROTO_E_CANCELLED;
	case EBADMSG:    return PROTO_E_MALFORMED;
	case EMSGSIZE:   return PROTO_E_TOO_BIG;
	case EPROTONOSUPPORT: return PROTO_E_VERSION;
	case ENOSYS:     return PROTO_E_UNKNOWN_VERB;
	default:         return PROTO_E_INTERNAL;
	}
}

int proto_status_to_errno(enum proto_status st)
{
	static const int codes[PROTO_STATUS_COUNT] = {
		[PROTO_OK] = 0,
		[PROTO_E_MALFORMED] = -EBADMSG,
		[PROTO_E_TOO_BIG] = -EMSGSIZE,
		[PROTO_E_VERSION] = -EPROTONOSUPPORT,
		[PROTO_E_UNKNOWN_VERB] = -ENOSYS,
		[PROTO_E_READONLY] = -EROFS,
		[PROTO_E_DENIED] = -EACCES,
		[PROTO_E_NOT_FOUND] = -ENOENT,
		[PROTO_E_EXISTS] = -EEXIST,
		[PROTO_E_INVALID] = -EINVAL,
		[PROTO_E_UNSUPPORTED] = -ENOTSUP,
		[PROTO_E_STATE] = -EBUSY,
		[PROTO_E_TIMEOUT] = -ETIMEDOUT,
		[PROTO_E_CANCELLED] = -ECANCELED,
		[PROTO_E_INTERNAL] = -EIO,
	};

	return (unsigned)st < PROTO_STATUS_COUNT ? codes[st] : -EIO;
}

void proto_msg_init(struct proto_msg *m, enum proto_type type)
{
	memset(m, 0, sizeof(*m));
	m->pm_type = type;
}

void proto_msg_clear(struct proto_msg *m)
{
	if (m->pm_body)
		json_object_put(m->pm_body);
	m->pm_body = NULL;
}

static void proto_copy_name(char dst[PROTO_NAME_MAX], const char *src)
{
	snprintf(dst, PROTO_NAME_MAX, "%s", src ? src : "");
}

void proto_msg_hello(struct proto_msg *m, const char *peer, json_object *body)
{
	proto_msg_init(m, PROTO_HELLO);
	m->pm_version = PROTO_VERSION;
	proto_copy_name(m->pm_name, peer);
	m->pm_body = body;
}

void proto_msg_request(struct proto_msg *m, uint64_t id, const char *verb,
		       json_object *body)
{
	proto_msg_init(m, PROTO_REQUEST);
	m->pm_id = id;
	proto_copy_name(m->pm_name, verb);
	m->pm_body = body;
}

void proto_msg_response(struct proto_msg *m, uint64_t id, json_object *result)
{
	proto_msg_init(m, PROTO_RESPONSE);
	m->pm_id = id;
	m->pm_status = PROTO_OK;
	m->pm_body = result;
}

void proto_msg_error(struct proto_msg *m, uint64_t id, enum proto_status st,
		     const char *fmt, ...)
{
	va_list ap;

	proto_msg_init(m, PROTO_RESPONSE);
	m->pm_id = id;
	m->pm_status = st;
	va_start(ap, fmt);
	vsnprintf(m->pm_error, sizeof(m->pm_error), fmt, ap);
	va_end(ap);
}

void proto_msg_event(struct proto_msg *m, const char *event, json_object *data)
{
	proto_msg_init(m, PROTO_EVENT);
	proto_copy_name(m->pm_name, event);
	m->pm_body = data;
}

/*
 * Member getters: each returns 0, -ENOENT when absent (and optional), or
 * -EBADMSG with err naming the member.
 */
static int proto_get_string(json_object *o, const char *key, int required,
			    char *dst, size_t dstlen, struct vx_err *err)
{
	json_object *v;
	const char *s;
	int len;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (required)
			return vx_err_set(err, -EBADMSG,
					  "proto: member \"%s\" missing", key);
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_string))
		return vx_err_set(err, -EBADMSG,
				  "proto: member \"%s\" is not a string", key);
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len < 0 || (size_t)len >= dstlen || strlen(s) != (size_t)len)
		return vx_err_set(err, -EBADMSG,
				  "proto: member \"%s\" too long or contains NUL",
				  key);
	memcpy(dst, s, (size_t)len + 1);
	return 0;
}

static int proto_get_uint(json_object *o, const char *key, uint64_t max,
			  uint64_t *out, struct vx_err *err)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return vx_err_set(err, -EBADMSG, "proto: member \"%s\" missing",
				  key);
	if (!json_object_is_type(v, json_type_int))
		return vx_err_set(err, -EBADMSG,
				  "proto: member \"%s\" is not an integer", key);
	errno = 0;
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > max || errno == EINVAL)
		return vx_err_set(err, -EBADMSG,
				  "proto: member \"%s\" out of range", key);
	*out = (uint64_t)n;
	return 0;
}

static int proto_get_object(json_object *o, const char *key, json_object **out,
			    struct vx_err *err)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return vx_err_set(err, -EBADMSG,
				  "proto: member \"%s\" is not an object", key);
	*out = json_object_get(v);
	return 0;
}

/* Largest id that survives a double in any JSON reader: 2^53. */
#define PROTO_ID_MAX ((uint64_t)1 << 53)

static int proto_decode_obj(json_object *o, struct proto_msg *m,
			    struct vx_err *err)
{
	char type[16], status[32];
	uint64_t n;
	int rc, st;

	rc = proto_get_string(o, "type", 1, type, sizeof(type), err);
	if (rc < 0)
		return rc;
	if (strcmp(type, "hello") == 0) {
		m->pm_type = PROTO_HELLO;
		if ((rc = proto_get_uint(o, "version", UINT32_MAX, &n, err)) < 0)
			return rc;
		m->pm_version = (uint32_t)n;
		rc = proto_get_string(o, "name", 1, m->pm_name,
				      sizeof(m->pm_name), err);
		if (rc < 0)
			return rc;
		return proto_get_object(o, "data", &m->pm_body, err);
	}
	if (strcmp(type, "request") == 0) {
		m->pm_type = PROTO_REQUEST;
		if ((rc = proto_get_uint(o, "id", PROTO_ID_MAX, &m->pm_id, err)) < 0)
			return rc;
		rc = proto_get_string(o, "verb", 1, m->pm_name,
				      sizeof(m->pm_name), err);
		if (rc < 0)
			return rc;
		return proto_get_object(o, "args", &m->pm_body, err);
	}
	if (strcmp(type, "response") == 0) {
		m->pm_type = PROTO_RESPONSE;
		if ((rc = proto_get_uint(o, "id", PROTO_ID_MAX, &m->pm_id, err)) < 0)
			return rc;
		rc = proto_get_string(o, "status", 1, status, sizeof(status), err);
		if (rc < 0)
			return rc;
		st = proto_status_parse(status);
		if (st < 0)
			return vx_err_set(err, -EBADMSG,
					  "proto: unknown status \"%s\"", status);
		m->pm_status = (enum proto_status)st;
		if (st != PROTO_OK) {
			rc = proto_get_string(o, "error", 1, m->pm_error,
					      sizeof(m->pm_error), err);
			return rc;
		}
		return proto_get_object(o, "result", &m->pm_body, err);
	}
	if (strcmp(type, "event") == 0) {
		m->pm_type = PROTO_EVENT;
		rc = proto_get_string(o, "event", 1, m->pm_name,
				      sizeof(m->pm_name), err);
		if (rc < 0)
			return rc;
		return proto_get_object(o, "data", &m->pm_body, err);
	}
	return vx_err_set(err, -EBADMSG, "proto: unknown message type \"%s\"",
			  type);
}

int proto_decode(const void *body, size_t len, struct proto_msg *m,
		 struct vx_err *err)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error jerr;
	size_t used;
	int rc;

	proto_msg_init(m, 0);
	if (len > PROTO_MAX_BODY)
		return vx_err_set(err, -EMSGSIZE,
				  "proto: message of %zu bytes exceeds the %u byte limit",
				  len, PROTO_MAX_BODY);
	if (len == 0)
		return vx_err_set(err, -EBADMSG, "proto: empty message");
	tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
	if (!tok)
		return vx_err_set(err, -ENOMEM, "proto: out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		if (o)
			json_object_put(o);
		return vx_err_set(err, -EBADMSG, "proto: invalid JSON: %s",
				  jerr == json_tokener_continue ?
				  "truncated" : json_tokener_error_desc(jerr));
	}
	if (used != len) {
		json_object_put(o);
		return vx_err_set(err, -EBADMSG,
				  "proto: %zu trailing bytes after the JSON object",
				  len - used);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return vx_err_set(err, -EBADMSG,
				  "proto: message is not a JSON object");
	}
	rc = proto_decode_obj(o, m, err);
	json_object_put(o);
	if (rc < 0)
		proto_msg_clear(m);
	return rc;
}

static json_object *proto_build_obj(const struct proto_msg *m)
{
	json_object *o = json_object_new_object();
	json_object *body = m->pm_body ? json_object_get(m->pm_body) : NULL;

	json_object_object_add(o, "type",
		json_object_new_string(proto_type_names[m->pm_type]));
	switch (m->pm_type) {
	case PROTO_HELLO:
		json_object_object_add(o, "version",
				       json_object_new_int64(m->pm_version));
		json_object_object_add(o, "name", json_object_new_string(m->pm_name));
		if (body)
			json_object_object_add(o, "data", body);
		break;
	case PROTO_REQUEST:
		json_object_object_add(o, "id", json_object_new_int64((int64_t)m->pm_id));
		json_object_object_add(o, "verb", json_object_new_string(m->pm_name));
		if (body)
			json_object_object_add(o, "args", body);
		break;
	case PROTO_RESPONSE:
		json_object_object_add(o, "id", json_object_new_int64((int64_t)m->pm_id));
		json_object_object_add(o, "status",
			json_object_new_string(proto_status_name(m->pm_status)));
		if (m->pm_status != PROTO_OK)
			json_object_object_add(o, "error",
					       json_object_new_string(m->pm_error));
		if (body) {
			if (m->pm_status == PROTO_OK)
				json_object_object_add(o, "result", body);
			else
				json_object_put(body);
		}
		break;
	case PROTO_EVENT:
		json_object_object_add(o, "event", json_object_new_string(m->pm_name));
		if (body)
			json_object_object_add(o, "data", body);
		break;
	}
	return o;
}

int proto_encode(const struct proto_msg *m, uint8_t **frame, size_t *len,
		 struct vx_err *err)
{
	json_object *o;
	const char *s;
	size_t n;
	uint8_t *f;

	if (m->pm_type < PROTO_HELLO || m->pm_type > PROTO_EVENT)
		return vx_err_set(err, -EINVAL, "proto: bad message type %d",
				  (int)m->pm_type);
	o = proto_build_obj(m);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(s);
	if (n > PROTO_MAX_BODY) {
		json_object_put(o);
		return vx_err_set(err, -EMSGSIZE,
				  "proto: message of %zu bytes exceeds the %u byte limit",
				  n, PROTO_MAX_BODY);
	}
	f = malloc(PROTO_HDR_LEN + n);
	if (!f) {
		json_object_put(o);
		return vx_err_set(err, -ENOMEM, "proto: out of memory");
	}
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	memcpy(f + PROTO_HDR_LEN, s, n);
	json_object_put(o);
	*frame = f;
	*len = PROTO_HDR_LEN + n;
	return 0;
}

void proto_rbuf_init(struct proto_rbuf *rb)
{
	memset(rb, 0, sizeof(*rb));
}

void proto_rbuf_free(struct proto_rbuf *rb)
{
	free(rb->rb_buf);
	proto_rbuf_init(rb);
}

static uint32_t proto_hdr_len(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Capacity for need bytes: doubling from 4 KiB, so small frames stay small. */
static int proto_rbuf_grow(struct proto_rbuf *rb, size_t need,
			   struct vx_err *err)
{
	size_t cap = rb->rb_cap ? rb->rb_cap : 4096;
	uint8_t *nb;

	if (need <= rb->rb_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	nb = realloc(rb->rb_buf, cap);
	if (!nb)
		return vx_err_set(err, -ENOMEM, "proto: out of memory");
	rb->rb_buf = nb;
	rb->rb_cap = cap;
	return 0;
}

ssize_t proto_rbuf_space(struct proto_rbuf *rb, size_t min, uint8_t **at,
			 struct vx_err *err)
{
	size_t need = rb->rb_len + min;
	int rc;

	/* An oversized header is proto_rbuf_next's to refuse; size for the rest. */
	if (rb->rb_len >= PROTO_HDR_LEN &&
	    proto_hdr_len(rb->rb_buf) <= PROTO_MAX_BODY &&
	    PROTO_HDR_LEN + (size_t)proto_hdr_len(rb->rb_buf) > need)
		need = PROTO_HDR_LEN + (size_t)proto_hdr_len(rb->rb_buf);
	if ((rc = proto_rbuf_grow(rb, need, err)) < 0)
		return rc;
	*at = rb->rb_buf + rb->rb_len;
	return (ssize_t)(rb->rb_cap - rb->rb_len);
}

void proto_rbuf_added(struct proto_rbuf *rb, size_t n)
{
	rb->rb_len += n;
}

int proto_rbuf_append(struct proto_rbuf *rb, const void *data, size_t n,
		      struct vx_err *err)
{
	size_t need = rb->rb_len + n;
	int rc;

	/* Refuse as soon as the header is known; never buffer a huge frame. */
	if (rb->rb_len >= PROTO_HDR_LEN || need >= PROTO_HDR_LEN) {
		uint8_t hdr[PROTO_HDR_LEN];
		size_t have = rb->rb_len < PROTO_HDR_LEN ? rb->rb_len : PROTO_HDR_LEN;

		if (have)
			memcpy(hdr, rb->rb_buf, have);
		if (have < PROTO_HDR_LEN)
			memcpy(hdr + have, data, PROTO_HDR_LEN - have);
		if (proto_hdr_len(hdr) > PROTO_MAX_BODY)
			return vx_err_set(err, -EMSGSIZE,
					  "proto: frame of %u bytes exceeds the %u byte limit",
					  proto_hdr_len(hdr), PROTO_MAX_BODY);
	}
	if ((rc = proto_rbuf_grow(rb, need, err)) < 0)
		return rc;
	if (n)
		memcpy(rb->rb_buf + rb->rb_len, data, n);
	rb->rb_len = need;
	return 0;
}

int proto_rbuf_next(struct proto_rbuf *rb, struct proto_msg *m,
		    struct vx_err *err)
{
	uint32_t blen;
	size_t flen;
	int rc;

	if (rb->rb_len < PROTO_HDR_LEN)
		return 0;
	blen = proto_hdr_len(rb->rb_buf);
	if (blen > PROTO_MAX_BODY)
		return vx_err_set(err, -EMSGSIZE,
				  "proto: frame of %u bytes exceeds the %u byte limit",
				  blen, PROTO_MAX_BODY);
	flen = PROTO_HDR_LEN + (size_t)blen;
	if (rb->rb_len < flen)
		return 0;
	rc = proto_decode(rb->rb_buf + PROTO_HDR_LEN, blen, m, err);
	memmove(rb->rb_buf, rb->rb_buf + flen, rb->rb_len - flen);
	rb->rb_len -= flen;
	return rc < 0 ? rc : 1;
}
