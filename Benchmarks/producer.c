// Loopback producer for the benchmarks: listens on 127.0.0.1 (a free port, printed on stdout),
// accepts one connection, sends an exact workload as fast as the kernel takes it, and closes.
// It reports its own CPU time on stderr so the runner can show it is not the bottleneck.
//
//   producer lines COUNT SIZE TERM     COUNT lines of SIZE bytes ending in TERM ("lf" or "crlf")
//   producer frames COUNT SIZE         COUNT frames: 4-byte big-endian length + SIZE bytes
//   producer bulk BYTES                BYTES bytes
//   producer longline BYTES PIECE      one line of BYTES bytes ("\n" last) in PIECE-byte writes
//   producer sink BYTES                reads BYTES bytes (for write benchmarks) and closes
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n <= 0) { perror("write"); exit(1); }
        data += n;
        length -= (size_t)n;
    }
}

static char *pattern_block(size_t unit, size_t units, const char *term, int frame) {
    size_t record = frame ? unit + 4 : unit;
    char *block = malloc(record * units);
    for (size_t i = 0; i < units; i++) {
        char *r = block + i * record;
        if (frame) {
            uint32_t be = htonl((uint32_t)unit);
            memcpy(r, &be, 4);
            r += 4;
        }
        for (size_t k = 0; k < unit; k++) r[k] = 'a' + (char)((i + k) % 26);
        if (!frame) {
            size_t t = strlen(term);
            memcpy(r + unit - t, term, t);
        }
    }
    return block;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: see producer.c\n"); return 2; }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind"); return 1; }
    listen(listener, 1);
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("%d\n", ntohs(address.sin_port));
    fflush(stdout);
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) { perror("accept"); return 1; }
    const char *kind = argv[1];
    if (strcmp(kind, "lines") == 0 || strcmp(kind, "frames") == 0) {
        size_t count = strtoull(argv[2], NULL, 10), size = strtoull(argv[3], NULL, 10);
        int frame = strcmp(kind, "frames") == 0;
        const char *term = (argc > 4 && strcmp(argv[4], "crlf") == 0) ? "\r\n" : "\n";
        size_t per_block = 4096;
        char *block = pattern_block(size, per_block, term, frame);
        size_t record = frame ? size + 4 : size;
        for (size_t sent = 0; sent < count; sent += per_block) {
            size_t n = count - sent < per_block ? count - sent : per_block;
            send_all(fd, block, n * record);
        }
    } else if (strcmp(kind, "bulk") == 0) {
        size_t total = strtoull(argv[2], NULL, 10), chunk = 1 << 20;
        char *block = malloc(chunk);
        memset(block, 'x', chunk);
        for (size_t sent = 0; sent < total; sent += chunk) send_all(fd, block, total - sent < chunk ? total - sent : chunk);
    } else if (strcmp(kind, "longline") == 0) {
        size_t total = strtoull(argv[2], NULL, 10), piece = strtoull(argv[3], NULL, 10);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char *line = malloc(total);
        memset(line, 'a', total);
        line[total - 1] = '\n';
        for (size_t sent = 0; sent < total; sent += piece) {
            send_all(fd, line + sent, total - sent < piece ? total - sent : piece);
            usleep(20);  // let the reader see the pieces one by one
        }
    } else if (strcmp(kind, "sink") == 0) {
        size_t total = strtoull(argv[2], NULL, 10), got = 0;
        char *buffer = malloc(1 << 20);
        while (got < total) {
            ssize_t n = read(fd, buffer, 1 << 20);
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (got != total) { fprintf(stderr, "sink: got %zu of %zu\n", got, total); return 1; }
    }
    shutdown(fd, SHUT_WR);
    char drain[4096];
    while (read(fd, drain, sizeof drain) > 0) {}
    close(fd);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    fprintf(stderr, "producer-cpu %.6f\n",
            usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
    return 0;
}
