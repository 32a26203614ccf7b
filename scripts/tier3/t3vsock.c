/* t3vsock: the L1 side of the tier-3 vsock round trip (built static by scripts/tier3/run).
 *
 *   t3vsock <uds path> <port> <timeout_s>
 *
 * Speaks the hybrid vsock protocol of berth-vmm's --vsock-uds socket: connect, send
 * "CONNECT <port>\n", read "OK <n>\n", then send one line and expect it echoed. Retries until the
 * guest listens or the timeout passes. Prints "vsock round trip ok" and exits 0 on success.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int read_line(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t len = 0;
    while (len < cap - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) != 1) return -1;
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0) return -1;
        if (buf[len++] == '\n') break;
    }
    buf[len] = 0;
    return (int)len;
}

static int attempt(const char *path, const char *port, const char *msg) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) { if (s >= 0) close(s); return 1; }
    char buf[256];
    int n = snprintf(buf, sizeof buf, "CONNECT %s\n", port);
    if (write(s, buf, (size_t)n) != n || read_line(s, buf, sizeof buf, 5000) < 0 ||
        strncmp(buf, "OK ", 3) != 0) {
        close(s);
        return 1;
    }
    if (write(s, msg, strlen(msg)) != (ssize_t)strlen(msg) ||
        read_line(s, buf, sizeof buf, 10000) < 0) {
        close(s);
        return 2;
    }
    close(s);
    if (strcmp(buf, msg) != 0) return 2;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: t3vsock <uds path> <port> <timeout_s>\n");
        return 2;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "berth-t3-ping-%ld\n", (long)time(NULL));
    time_t deadline = time(NULL) + atoi(argv[3]);
    int r = 1;
    while (time(NULL) < deadline) {
        r = attempt(argv[1], argv[2], msg);
        if (r != 1) break; /* 1: not listening yet, try again */
        usleep(200000);
    }
    if (r == 0) { puts("vsock round trip ok"); return 0; }
    printf("vsock round trip FAIL (%s)\n", r == 1 ? "no connection" : "no echo");
    return 1;
}
