/*
 * crash: a sandboxed runner's last words. Without them a runner that hits
 * a memory error dies by seccomp and says nothing: glibc reports heap
 * corruption (and stack smashing) on /dev/tty, and openat is not on the
 * allow-list, so the kernel kills the process before the message exists.
 * Context: runner process, single-threaded, before entering the sandbox.
 */
#ifndef RUNNER_CRASH_H
#define RUNNER_CRASH_H

/*
 * Sends glibc's fatal messages to stderr (LIBC_FATAL_STDERR_), and on
 * SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGSYS (a syscall the
 * sandbox refused: which one) writes the signal and a backtrace to stderr
 * (the runner's log), then dies of that signal as it would have. The
 * unwinder is loaded here: inside the sandbox it could not be opened.
 */
void runner_crash_report_setup(void);

#endif
