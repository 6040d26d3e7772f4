/*
 * lab-pty CMD [ARG...]: runs CMD on a fresh pseudo-terminal and copies
 * everything it writes there to our standard output, until it exits; exits
 * with its status.
 *
 * Bochs' only display library without a GUI ("term") needs a terminal. It
 * used to get one from script(1), which stops reading the terminal after
 * its own standard input reaches end of file: once the screen output filled
 * the pty buffer, Bochs blocked in write() and the lab looked hung. This
 * reads the terminal to the end and never writes to it.
 */
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 25, .ws_col = 80 };
	char buf[4096];
	int master, status;

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
		ssize_t n = read(master, buf, sizeof(buf));

		if (n > 0) {
			/* The emulated screen and Bochs' own messages: kept for
			 * post-mortems, never allowed to stop the drain. */
			ssize_t ignored = write(STDOUT_FILENO, buf, n);

			(void)ignored;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;		/* EIO: the child closed the terminal */
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
