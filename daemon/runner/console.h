/*
 * console: a runner's serial console server. Shared by every runner.
 *
 * The runner owns the guest's UART; this owns what the host sees of it:
 *  - a listening unix socket (<rundir>/vm/<uuid>.console, 0600) that vmxd
 *    connects to for `vmctl console` and hands to the client (PROTOCOL.md,
 *    "Console sockets"); one interactive client at a time, a second one is
 *    refused unless it asks to take over;
 *  - a log file (<uuid>.console.log) of everything the guest printed,
 *    appended across runs, capped at CONSOLE_LOG_MAX with one rotation to
 *    <log>.1 (both opened in console_open, so rotating needs no open or
 *    rename: the runner's sandbox forbids both);
 *  - a ring of the last CONSOLE_RING_SIZE bytes of output, which doubles as
 *    the client's send queue and is replayed to clients that ask for it.
 *
 * Nothing here blocks the runner: the client socket is non-blocking, and a
 * client that reads slower than the guest writes loses the oldest bytes
 * (counted in c_dropped) rather than stalling the guest. Input flows the
 * other way with back-pressure: the client is not read while CONSOLE_IN_MAX
 * bytes wait for the guest, so no keystroke is lost.
 *
 * No libuv, no threads: the runner adds console_pollfds() to its poll set and
 * calls console_handle() with the result. struct console holds the ring
 * (about 70 KiB in all): make it static or allocate it, not a stack local. Context: the runner's loop thread;
 * a runner with a console thread serialises every call itself.
 */
#ifndef RUNNER_CONSOLE_H
#define RUNNER_CONSOLE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vx_err.h"

#define CONSOLE_RING_SIZE   (64u * 1024)    /* output kept in memory */
#define CONSOLE_LOG_MAX     (1024u * 1024)  /* log size before rotation */
#define CONSOLE_IN_MAX      4096u           /* client input not yet taken */
#define CONSOLE_MAX_PENDING 4               /* connections before their hello */
#define CONSOLE_HELLO_MAX   128             /* the client's first line */
/* Most pollfds console_pollfds fills: listener, client, pending. */
#define CONSOLE_POLLFDS     (2 + CONSOLE_MAX_PENDING)

struct console_pending {
	int fd;                         /* -1: free */
	char line[CONSOLE_HELLO_MAX];
	size_t len;
	uint64_t seq;                   /* accept order: the oldest goes first */
};

struct console {
	int c_listen_fd;
	int c_client_fd;                /* -1: nobody attached */
	int c_client_eof;               /* client shut its write side */
	uint64_t c_client_pos;          /* next ring byte (c_total scale) to send */
	int c_log_fd, c_log1_fd;        /* -1: no log */
	off_t c_log_size;
	size_t c_log_max;               /* CONSOLE_LOG_MAX; tests lower it */
	uint8_t c_ring[CONSOLE_RING_SIZE];
	uint64_t c_total;               /* bytes of output ever */
	uint8_t c_in[CONSOLE_IN_MAX];
	size_t c_in_len;
	uint64_t c_dropped;             /* output a slow client did not get */
	uint64_t c_accepts;
	struct console_pending c_pending[CONSOLE_MAX_PENDING];
};

/*
 * Binds sock_path (replacing a stale socket, mode 0600) and opens the log:
 * log_path, or "<sock_path>.log" when NULL, appended, and "<log>.1" for the
 * rotation. Call before the sandbox. On error nothing is left open.
 */
int console_open(struct console *c, const char *sock_path, const char *log_path,
		 struct vx_err *err);

/*
 * The console socket path of the runner whose pidfile is pidfile
 * (<rundir>/vm/<uuid>.pid -> <rundir>/vm/<uuid>.console), the place vmxd
 * looks. -ENAMETOOLONG when it does not fit in len.
 */
int console_path_from_pidfile(const char *pidfile, char *out, size_t len);

/*
 * Fills out[0..max) with the descriptors to poll now; returns how many
 * (at most CONSOLE_POLLFDS). Call before every poll: the set changes.
 */
int console_pollfds(const struct console *c, struct pollfd *out, int max);

/*
 * Acts on poll results: accepts, reads hello lines and client input, sends
 * queued output. fds may be the runner's whole array; entries that are not
 * the console's are ignored.
 */
void console_handle(struct console *c, const struct pollfd *fds, int n);

/*
 * Guest output: appended to the log and the ring and sent to the client as
 * far as its socket takes it now; never blocks on the client.
 */
void console_output(struct console *c, const void *buf, size_t len);

/* Client input towards the guest: takes up to max bytes; returns how many. */
size_t console_take_input(struct console *c, void *buf, size_t max);

/* Bytes of client input waiting for console_take_input. */
size_t console_input_len(const struct console *c);

/* Is a client attached? */
int console_attached(const struct console *c);

/*
 * Closes the client, pending connections, the listener and the log. The
 * socket file stays (the sandbox forbids unlink; vmxd removes it).
 */
void console_close(struct console *c);

#endif
