// How a request/reply client sleeps, and what that does to its round trips (docs/performance.md,
// "Sleeping like redis-benchmark"). Sends pipelines of P GETs of "key:bench" (a 3-byte value) to
// redis-server and waits for the replies, N GETs in all, in one of these ways:
//   0  the socket registered once (level-triggered EPOLLIN): writev, epoll_wait, read
//   1  redis-benchmark's way: DEL + ADD for EPOLLOUT, wait, send; DEL + ADD for EPOLLIN, wait, recv
//   2  as 0, then DEL + ADD of the socket after the write, before the wait
//   6  as 0, then EPOLL_CTL_MOD of the socket (same events) after the write
//   8  as 0, registered edge-triggered
//   9  as 0, then two epoll_wait(0) after the write (the same delay, no registration change)
//  10  as 0, then DEL + ADD of an unrelated, never-signalled eventfd after the write
//  13  as 0, with a 1 ms epoll_wait timeout instead of 10 s
//  14  as 0, with a non-blocking recv after the write (Tornado's inline read; nearly always EAGAIN)
// cc -O2 -o epoll_modes Benchmarks/epoll_modes.c; ./epoll_modes PORT N P MODE (prints seconds)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void reregister(int ep, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s PORT N P MODE\n", argv[0]); return 2; }
    int port = atoi(argv[1]), n = atoi(argv[2]), p = atoi(argv[3]), mode = atoi(argv[4]);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (connect(fd, (void *)&addr, sizeof addr)) { perror("connect"); return 1; }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *get = "*2\r\n$3\r\nGET\r\n$9\r\nkey:bench\r\n";
    size_t length = strlen(get), want = 9 * (size_t)p;  // each reply: "$3\r\nxxx\r\n"
    char request[64 * 64], buffer[65536];
    if (p < 1 || p > 64) { fprintf(stderr, "P: 1 to 64\n"); return 2; }
    for (int i = 0; i < p; i++) memcpy(request + i * length, get, length);
    struct iovec iov = {request, length * p};
    int ep = epoll_create1(0), idle = eventfd(0, 0);
    struct epoll_event ev = {.events = EPOLLIN | (mode == 8 ? EPOLLET : 0), .data.fd = fd}, out[16];
    if (mode != 1) epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event idle_ev = {.events = EPOLLIN, .data.fd = idle};
    epoll_ctl(ep, EPOLL_CTL_ADD, idle, &idle_ev);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int batch = 0; batch < n / p; batch++) {
        if (mode == 1) {
            reregister(ep, fd, EPOLLOUT);
            epoll_wait(ep, out, 16, 244);
            send(fd, request, length * p, 0);
            reregister(ep, fd, EPOLLIN);
        } else {
            writev(fd, &iov, 1);
            if (mode == 2) reregister(ep, fd, EPOLLIN);
            if (mode == 6) epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
            if (mode == 9) { epoll_wait(ep, out, 16, 0); epoll_wait(ep, out, 16, 0); }
            if (mode == 10) reregister(ep, idle, EPOLLIN);
        }
        size_t early = 0;  // what mode 14's recv found already there
        if (mode == 14) {
            ssize_t r = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (r > 0) early = (size_t)r;
        }
        for (size_t got = early; got < want;) {
            epoll_wait(ep, out, 16, mode == 1 ? 244 : mode == 13 ? 1 : 10000);
            ssize_t r = mode == 1 ? recv(fd, buffer, sizeof buffer, 0) : read(fd, buffer, sizeof buffer);
            if (r <= 0) { perror("read"); return 1; }
            got += (size_t)r;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.3f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
