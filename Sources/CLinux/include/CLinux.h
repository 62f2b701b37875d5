// Thin wrappers for the Linux calls that Glibc's Swift module does not expose
// (epoll, eventfd) or exposes awkwardly (packed epoll_event, gettid, errno,
// thread-local storage for IOLoop.current), and one scan Swift cannot write as fast (ws_memchr2).
#ifndef WIRESTREAM_CLINUX_H
#define WIRESTREAM_CLINUX_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define WS_EPOLLIN 0x001u
#define WS_EPOLLOUT 0x004u
#define WS_EPOLLERR 0x008u
#define WS_EPOLLHUP 0x010u
#define WS_EPOLLRDHUP 0x2000u

int ws_epoll_create(void);
/// op: 1 add, 2 delete, 3 modify (EPOLL_CTL_*). Returns 0 or -errno.
int ws_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/// Waits and unpacks the (packed) epoll_event array into two plain arrays.
/// Returns the number of events, or -errno.
int ws_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int maxevents, int timeout_ms);

int ws_eventfd(void);
int ws_eventfd_signal(int fd);
int ws_eventfd_drain(int fd);

uint64_t ws_monotonic_ns(void);
/// Names the calling thread (at most 15 bytes are kept). Returns 0 or an errno.
int ws_set_thread_name(const char *name);
int ws_errno(void);
int ws_set_nonblocking(int fd);
int ws_pipe(int fds[2]);

/// The first byte equal to `a` or `b` in `s[0..<n]`, or NULL: memchr for two bytes (a regex
/// such as `\r?\n` can start with either), 16 bytes at a time. Inline, so Swift calls no function.
static inline const void *ws_memchr2(const void *s, int a, int b, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
#if defined(__SSE2__)
    const __m128i wantA = _mm_set1_epi8((char)a), wantB = _mm_set1_epi8((char)b);
    while (n >= 16) {
        __m128i chunk = _mm_loadu_si128((const __m128i *)p);
        int hits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, wantA), _mm_cmpeq_epi8(chunk, wantB)));
        if (hits) return p + __builtin_ctz((unsigned)hits);
        p += 16;
        n -= 16;
    }
#endif
    for (; n > 0; p++, n--) {
        if (*p == (unsigned char)a || *p == (unsigned char)b) return p;
    }
    return 0;
}

/// Per-thread pointer to the IOLoop running on this thread (NULL elsewhere). Every stream
/// operation asks it (`inLoopThread`), so it is read inline with the initial-exec TLS model: one
/// load relative to the thread pointer, where the default model for position-independent code
/// called __tls_get_addr each time (about 3% of a buffered read).
extern __thread void *ws_current_loop_storage __attribute__((tls_model("initial-exec")));
static inline void *ws_current_loop_get(void) { return ws_current_loop_storage; }
static inline void ws_current_loop_set(void *loop) { ws_current_loop_storage = loop; }

ssize_t ws_writev(int fd, const struct iovec *iov, int iovcnt);

/// ThreadSanitizer's happens-before annotations (`__tsan_acquire`/`__tsan_release`), or nothing
/// when the TSan runtime is not linked: they are weak references, null in ordinary builds.
void ws_tsan_acquire(void *address);
void ws_tsan_release(void *address);

void ws_ignore_sigpipe(void);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; the new fd or -errno.
int ws_accept(int fd);

#endif
