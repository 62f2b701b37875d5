// The limit: a C reader with 64 KiB read() and memchr (lines), or plain reads (bulk, frames).
//   c_reader PORT lines|frames|bulk
// Prints "count seconds maxRSSKiB 0 cpuSeconds".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("connect"); return 1; }
    const char *mode = argv[2];
    size_t capacity = 1 << 20, start = 0, end = 0, count = 0;
    char *buffer = malloc(capacity);
    double began = now();
    for (;;) {
        if (capacity - end < 65536) {
            memmove(buffer, buffer + start, end - start);
            end -= start;
            start = 0;
        }
        ssize_t n = read(fd, buffer + end, 65536);
        if (n <= 0) break;
        end += (size_t)n;
        if (strcmp(mode, "bulk") == 0) {
            count += (size_t)n;
            start = end = 0;
        } else if (strcmp(mode, "lines") == 0) {
            char *p;
            while ((p = memchr(buffer + start, '\n', end - start)) != NULL) {
                count++;
                start = (size_t)(p - buffer) + 1;
            }
        } else {
            while (end - start >= 4) {
                uint32_t be;
                memcpy(&be, buffer + start, 4);
                size_t frame = ntohl(be);
                if (end - start < 4 + frame) break;
                count++;
                start += 4 + frame;
            }
        }
    }
    double elapsed = now() - began;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    printf("%zu %.6f %ld 0 %.6f\n", count, elapsed, usage.ru_maxrss, cpu);
    return 0;
}
