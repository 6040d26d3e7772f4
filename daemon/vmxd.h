/*
 * vmxd: the vmxcore daemon. Shared types and the prototypes each file
 * exports, grouped by file (vmd.h style).
 *
 * One process, one libuv loop, one thread. Clients talk proto/ over two unix
 * sockets (read-write, read-only); each running domain is its own runner
 * process that listens on <rundir>/vm/<uuid>.sock and outlives the daemon.
 */
#ifndef VMXD_H
#define VMXD_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <uv.h>

#include "daemon/store.h"
#include "daemon/xml.h"
#include "proto/proto.h"
#include "vx_err.h"

#define VMXD_PATH_MAX 256

struct vmxd_conf {
	char vc_socket[VMXD_PATH_MAX];     /* read-write socket */
	char vc_socket_ro[VMXD_PATH_MAX];  /* read-only socket */
	char vc_db[VMXD_PATH_MAX];         /* sqlite database */
	char vc_rundir[VMXD_PATH_MAX];     /* runner sockets, pidfiles, logs */
	char vc_runner_sim[VMXD_PATH_MAX]; /* runner for type='test' */
	char vc_runner_kvm[VMXD_PATH_MAX]; /* runner for type='kvm', "" = none yet */
	char vc_group[64];                 /* group allowed on the rw socket */
	int vc_shutdown_timeout_ms;        /* default wait for shutdown --wait */
	int vc_log_level;                  /* LOG_ERR .. LOG_DEBUG */
	int vc_autostart;                  /* run autostart at start (1) */
};

struct vmxd_conn;
struct vmxd_vm;
struct vmxd_job;

/* A client request whose response waits for a runner. */
struct vmxd;

struct vmxd_pending {
	struct vmxd_conn *vp_conn;   /* holds a reference */
	uint64_t vp_client_id;       /* id of the client's request */
	uint64_t vp_runner_id;       /* id sent to the runner, 0: hello */
	char vp_verb[PROTO_NAME_MAX];
	int vp_wait_stop;            /* reply when the runner is gone */
	/*
	 * Optional: sees the runner's answer before the client does and may
	 * change it (code, msg of PROTO_ERRMSG_MAX, *result); then frees
	 * vp_done_arg. Also called, with an error, when the runner goes.
	 */
	void (*vp_done)(struct vmxd *v, void *arg, int *code, char *msg,
			json_object **result);
	void *vp_done_arg;
	struct vmxd_pending *vp_next;
};

struct vmxd {
	uv_loop_t *loop;
	struct vmxd_conf conf;
	struct store *store;
	uv_pipe_t srv_rw, srv_ro;
	int srv_rw_open, srv_ro_open;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog;
	struct vmxd_conn *conns;     /* every open client connection */
	struct vmxd_vm *vms;         /* every domain with a live runner */
	struct vmxd_job *jobs;       /* running jobs (job.c) */
	gid_t group_gid;             /* vc_group's gid, or (gid_t)-1 */
	json_object *list_cache[2][3]; /* list's answer [all][form]; rpc.c */
	int64_t list_cache_gen[2][3];  /* store_changes() it was built at */
	unsigned list_cache_cols[2];   /* [all]: the table form's columns */
	int nconns;
	int stopping;
};

struct vmxd_conn {
	uv_pipe_t vc_pipe;
	struct vmxd *vc_vmxd;
	struct proto_rbuf vc_rb;
	struct ucred vc_cred;        /* SO_PEERCRED at accept */
	int vc_readonly;             /* accepted on the read-only socket */
	int vc_hello;                /* hello exchanged */
	int vc_denied;               /* SO_PEERCRED says no: refuse, then close */
	int vc_subscribed;           /* wants events */
	int vc_refs;                 /* pending replies + 1 while open */
	int vc_closing;
	struct vmxd_conn *vc_next;
};

struct vmxd_vm {
	struct vmxd *vm_vmxd;
	char vm_uuid[37];
	char vm_name[XML_NAME_MAX];
	int vm_pid;
	char vm_state[16];
	char vm_reason[32];
	int vm_transient;
	uv_pipe_t vm_pipe;           /* connection to the runner */
	uv_timer_t vm_timer;         /* shutdown wait / destroy escalation */
	int vm_handles;              /* open libuv handles; freed at 0 */
	int vm_gone;                 /* runner connection closed */
	int vm_hello;                /* runner answered hello */
	int vm_destroying;
	int vm_starting;             /* spawned by this vmxd, hello pending */
	struct proto_rbuf vm_rb;
	uint64_t vm_next_id;
	struct vmxd_pending *vm_pending;
	struct vmxd_vm *vm_next;
};

/* log.c */
void vmxd_log_init(int level, int to_journal);
void vmxd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...)   vmxd_log(3, __VA_ARGS__)
#define log_warn(...)  vmxd_log(4, __VA_ARGS__)
#define log_info(...)  vmxd_log(6, __VA_ARGS__)
#define log_debug(...) vmxd_log(7, __VA_ARGS__)

/*
 * log.c: test hook. VMXD_TEST_CRASH=<point> makes vmxd SIGKILL itself at
 * that point: define-mid (store.c), start-mid (runner.c, after the spawn),
 * snapshot-mid and backup-mid (storage.c, after the first disk).
 */
void vmxd_test_crash(const char *point);

/* conf.c */
void vmxd_conf_defaults(struct vmxd_conf *c);
int vmxd_conf_load(struct vmxd_conf *c, const char *path, struct vx_err *err);

/* loop.c */
int vmxd_listen(struct vmxd *v, struct vx_err *err);
void vmxd_send(struct vmxd_conn *c, struct proto_msg *m);
/*
 * Sends m with fd attached (SCM_RIGHTS on the frame's first byte), which must
 * be the next byte on the stream: -EBUSY while answers are still queued on c,
 * -EAGAIN when its socket takes nothing now. fd stays open here.
 */
int vmxd_send_with_fd(struct vmxd_conn *c, struct proto_msg *m, int fd,
		      struct vx_err *err);
void vmxd_reply(struct vmxd_conn *c, uint64_t id, json_object *result);
void vmxd_reply_err(struct vmxd_conn *c, uint64_t id, int code, const char *msg);
void vmxd_conn_ref(struct vmxd_conn *c);
void vmxd_conn_unref(struct vmxd_conn *c);
void vmxd_broadcast(struct vmxd *v, const char *event, json_object *data);
void vmxd_stop(struct vmxd *v);
void vmxd_status(struct vmxd *v);

/* console_verbs.c */
/*
 * Cap of a console-log answer: control characters become \u00XX in JSON (6
 * bytes each), so 128 KiB of the worst output still fits a 1 MiB frame.
 */
#define VCON_LOG_DEFAULT (64 * 1024)
#define VCON_LOG_MAX     (128 * 1024)
/*
 * Connects to the runner's console socket, sends the attach line and answers
 * request id on c with the connected descriptor attached (it has answered
 * when this returns 0; on error the caller answers).
 */
int vcon_attach(struct vmxd *v, struct vmxd_conn *c, uint64_t id,
		const struct store_domain *sd, int force, int replay,
		struct vx_err *err);
/* The last want bytes of the domain's console log: name, log, truncated. */
int vcon_log(struct vmxd *v, const struct store_domain *sd, int64_t want,
	     json_object **result, struct vx_err *err);

/* rpc.c */
#define RPC_DEFERRED 1  /* handler will answer later through vmxd_reply */
void rpc_dispatch(struct vmxd_conn *c, struct proto_msg *req);
int rpc_verb_is_write(const char *verb);

/* The device type 'kvm' domains run on. */
#define VMXD_VMXCORE_DEV "/dev/vmxcore"

/* runner_args.c: a runner's argv (NULL-terminated, strings owned). */
#define RUNNER_ARGS_MAX 40
struct runner_args {
	char *argv[RUNNER_ARGS_MAX];
	int argc;
};
int runner_args_build(struct runner_args *a, const char *prog, const struct store_domain *sd,
		      const char *xml_path, const char *pidfile, struct vx_err *err);
void runner_args_free(struct runner_args *a);
int runner_args_state_dir(struct runner_args *a, const char *dir);

/* runner.c */
int runner_start(struct vmxd *v, const struct store_domain *sd,
		 struct vmxd_conn *c, uint64_t id, struct vx_err *err);
int runner_command(struct vmxd *v, struct vmxd_vm *vm, const char *verb,
		   struct vmxd_conn *c, uint64_t id, int wait_stop,
		   int timeout_ms, struct vx_err *err);
/* A verb with arguments (args: taken over) whose answer goes through done
 * (struct vmxd_pending) before it reaches the client. */
int runner_command_args(struct vmxd *v, struct vmxd_vm *vm, const char *verb,
			json_object *args, struct vmxd_conn *c, uint64_t id,
			void (*done)(struct vmxd *v, void *arg, int *code, char *msg,
				     json_object **result),
			void *done_arg, struct vx_err *err);
/* <state dir>/snapshots/<uuid>: the runner's --state-dir (memsnap.c). */
void runner_state_dir(struct vmxd *v, const char *uuid, char *out, size_t len);
/* on_reboot = destroy: a reboot request stops the domain instead. */
int runner_reboot_destroys(struct vmxd *v, const char *uuid);
struct vmxd_vm *runner_find(struct vmxd *v, const char *uuid);
/* Re-attaches to the runners of domains the store records as active. */
void runner_reattach_all(struct vmxd *v);
void runner_autostart_all(struct vmxd *v);
void runner_detach_all(struct vmxd *v);
/* State change: store, event, log. */
void runner_set_state(struct vmxd *v, const char *uuid, const char *name,
		      const char *state, const char *reason, int pid);

#endif
