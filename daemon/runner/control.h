/*
 * control: a runner's side of the vmxd <-> runner channel (PROTOCOL.md,
 * "vmxd <-> runner"): the listening socket vmxd passed as fd 3, any number
 * of vmxd connections over the runner's life (vmxd may restart), hello,
 * requests dispatched to a verb table, domain-state events to every peer.
 * Also the runner's files: the pid file and the exit-reason file vmxd
 * reads when the runner is gone.
 *
 * Context: a runner's single-threaded poll loop.
 */
#ifndef RUNNER_CONTROL_H
#define RUNNER_CONTROL_H

#include <json-c/json.h>
#include <poll.h>
#include <stddef.h>

#include "proto/proto.h"
#include "vx_err.h"

#define RUNNER_CTL_MAX_PEERS	8

/* A verb: 0 (result may stay NULL) or -errno with err filled. */
typedef int (*runner_ctl_fn)(void *opaque, const struct proto_msg *req,
			     json_object **result, struct vx_err *err);

struct runner_ctl_verb {
	const char *verb;
	runner_ctl_fn fn;
};

struct runner_ctl_peer {
	int fd;			/* -1: free */
	int hello;
	struct proto_rbuf rb;
};

struct runner_ctl {
	int listen_fd;
	const char *name;			/* our hello's peer name */
	const struct runner_ctl_verb *verbs;
	size_t nverbs;
	/* Fills the hello's data: uuid, state, pid, ... */
	void (*describe)(void *opaque, json_object *data);
	void *opaque;
	/*
	 * Optional (NULL from runner_ctl_init; set it after): called once a
	 * request is answered, before the next is read, for what must follow
	 * the answer, e.g. an event about the new state or the runner's exit.
	 */
	void (*after_reply)(void *opaque);
	/* Optional: a peer went away (its index), e.g. to end its backup. */
	void (*peer_closed)(void *opaque, int peer);
	int cur_peer;		/* index of the peer whose request runs, else -1 */
	/*
	 * A verb may set these: raw bytes sent right after its (successful)
	 * response frame, the one exception to framing (backup-read's data);
	 * the buffer stays the verb's.
	 */
	const void *trailer;
	size_t trailer_len;
	struct runner_ctl_peer peers[RUNNER_CTL_MAX_PEERS];
};

void runner_ctl_init(struct runner_ctl *c, int listen_fd, const char *name,
		     const struct runner_ctl_verb *verbs, size_t nverbs,
		     void (*describe)(void *opaque, json_object *data), void *opaque);
/* The fds to poll (the listener and every peer); returns how many. */
int runner_ctl_pollfds(const struct runner_ctl *c, struct pollfd *out, int max);
/* After poll: accepts, reads, answers. p/n are what runner_ctl_pollfds filled. */
void runner_ctl_handle(struct runner_ctl *c, const struct pollfd *p, int n);
/* A domain-state event to every peer that said hello. */
void runner_ctl_event(struct runner_ctl *c, const char *state, const char *reason);
void runner_ctl_close(struct runner_ctl *c);

/* Writes "<pid>\n" to path. */
int runner_write_pidfile(const char *pidfile, struct vx_err *err);
/* Opens <pidfile minus ".pid">.exit for the reason written at exit
 * (opened early: a sandboxed runner cannot create files). */
int runner_open_exit_file(const char *pidfile);
void runner_write_exit_reason(int fd, const char *reason);

#endif
