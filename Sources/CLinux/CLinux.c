#define _GNU_SOURCE
#include "CLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int ws_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ws_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int ws_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int maxevents, int timeout_ms) {
    struct epoll_event evs[256];
    if (maxevents > 256) maxevents = 256;
    int n = epoll_wait(epfd, evs, maxevents, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        events[i] = evs[i].events;
    }
    return n;
}

int ws_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int ws_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) < 0 ? -errno : 0;
}

int ws_eventfd_drain(int fd) {
    uint64_t value;
    return read(fd, &value, sizeof value) < 0 ? -errno : 0;
}

uint64_t ws_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ws_errno(void) { return errno; }

int ws_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -errno;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    int fdflags = fcntl(fd, F_GETFD, 0);
    if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC);
    return 0;
}

int ws_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
}

__thread void *ws_current_loop_storage __attribute__((tls_model("initial-exec"))) = 0;

ssize_t ws_writev(int fd, const struct iovec *iov, int iovcnt) {
    ssize_t n = writev(fd, iov, iovcnt);
    return n < 0 ? -errno : n;
}


#include <signal.h>

#include <pthread.h>
static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;
static void ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
void ws_ignore_sigpipe(void) { pthread_once(&sigpipe_once, ignore_sigpipe); }  // once per process

#include <sys/socket.h>
int ws_accept(int fd) {
    int client = accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return client < 0 ? -errno : client;
}

int ws_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

// Weak: resolved only when the ThreadSanitizer runtime is linked (`--sanitize=thread`).
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

void ws_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

void ws_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}
