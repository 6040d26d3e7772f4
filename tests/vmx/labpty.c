/*
 * lab-pty CMD [ARG...]: runs CMD (Bochs) on a fresh pseudo-terminal, copies
 * what it writes there to our standard output, and drains the screen
 * terminal it opens, until it exits; exits with its status.
 *
 * Bochs' only display library without a GUI ("term") needs a terminal, and
 * Debian's build, which has the debugger built in, keeps stdin/stdout for
 * the debugger and draws the emulated screen on a second pseudo-terminal it
 * creates itself, announced as: Bochs connected to screen "/dev/pts/N".
 * Nobody reads that one by default: once its buffer fills, Bochs blocks in
 * write() and the whole lab stops, at a random point of the run (how much
 * screen output came first). So this opens it and reads it to the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SCREEN_MARK "connected to screen \""

static pid_t child;

/* Bochs does not always die of SIGTERM: give it 5 s, then SIGKILL. */
static void kill_child(int sig)
{
	(void)sig;
	if (child > 0)
		kill(child, SIGKILL);
}

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
	signal(SIGALRM, kill_child);
	alarm(5);
}

/*
 * Opens a terminal for reading in raw mode: no line buffering (the screen
 * stream has few newlines) and no echo back towards Bochs.
 */
static int open_raw(const char *path)
{
	struct termios t;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 && tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/* Looks for the screen announcement in what Bochs printed so far. */
static int open_announced_screen(const char *seen)
{
	const char *start = strstr(seen, SCREEN_MARK), *end;
	char path[64];

	if (!start)
		return -1;
	start += strlen(SCREEN_MARK);
	end = strchr(start, '"');
	if (!end || end - start >= (long)sizeof(path))
		return -1;
	memcpy(path, start, end - start);
	path[end - start] = '\0';
	return open_raw(path);
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 25, .ws_col = 80 };
	struct pollfd fds[2];
	char buf[4096], seen[8192] = "";
	size_t seen_len = 0;
	int master, screen = -1, status;

	if (argc < 2) {
		fprintf(stderr, "usage: lab-pty CMD [ARG...]\n");
		return 2;
	}
	child = forkpty(&master, NULL, NULL, &ws);
	if (child < 0) {
		perror("lab-pty: forkpty");
		return 1;
	}
	if (child == 0) {
		execvp(argv[1], argv + 1);
		perror("lab-pty: exec");
		_exit(127);
	}
	signal(SIGTERM, forward_signal);
	signal(SIGINT, forward_signal);
	signal(SIGHUP, forward_signal);

	for (;;) {
		int nfds = 1;
		ssize_t n;

		fds[0] = (struct pollfd){ .fd = master, .events = POLLIN };
		if (screen >= 0)
			fds[nfds++] = (struct pollfd){ .fd = screen, .events = POLLIN };
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* The emulated VGA screen: nobody watches it. */
			if (read(screen, buf, sizeof(buf)) <= 0) {
				close(screen);
				screen = -2;	/* gone; do not reopen */
			}
		}
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EIO: the child closed its terminal */
		/* Bochs' own messages: kept for post-mortems. */
		if (write(STDOUT_FILENO, buf, n) < 0 && errno == EBADF)
			break;
		if (screen == -1 && seen_len + n < sizeof(seen)) {
			memcpy(seen + seen_len, buf, n);
			seen_len += n;
			seen[seen_len] = '\0';
			screen = open_announced_screen(seen);
		}
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
