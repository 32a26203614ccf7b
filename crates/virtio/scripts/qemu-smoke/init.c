#include <sys/socket.h>
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define VMADDR_CID_ANY 0xFFFFFFFFu
struct sockaddr_vm { unsigned short svm_family; unsigned short svm_reserved1; unsigned int svm_port; unsigned int svm_cid; unsigned char svm_zero[4]; };
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>

static char buf[1 << 16];

static int readline(int c, char *out, int max) {
    int n = 0;
    while (n < max - 1) { char ch; if (read(c, &ch, 1) != 1) return -1; if (ch == '\n') break; out[n++] = ch; }
    out[n] = 0; return n;
}

static void serve(int c) {
    char cmd[64];
    if (readline(c, cmd, sizeof cmd) < 0) return;
    if (cmd[0] == 'S') { long long total = 0; ssize_t n; while ((n = read(c, buf, sizeof buf)) > 0) total += n;
        char out[64]; int l = snprintf(out, sizeof out, "%lld\n", total); write(c, out, l); }
    else if (cmd[0] == 'G') { long long want = atoll(cmd + 2); memset(buf, 'x', sizeof buf);
        while (want > 0) { ssize_t n = write(c, buf, want < (long long)sizeof buf ? want : (long long)sizeof buf); if (n <= 0) break; want -= n; } }
    else if (cmd[0] == 'E') { ssize_t n; while ((n = read(c, buf, sizeof buf)) > 0) write(c, buf, n); }
    else if (cmd[0] == 'Q') { sync(); reboot(RB_AUTOBOOT); }
}

int main(void) {
    signal(SIGCHLD, SIG_IGN);
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = 5000 };
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) { write(s, "hello from guest\n", 17); close(s); }
    else perror("guest connect to host 5000");
    int s2 = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm b = { .svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = 5001 };
    if (connect(s2, (struct sockaddr *)&b, sizeof b) != 0) printf("GUEST: connect to unlistened port refused: ok\n");
    int l = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm la = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 1234 };
    if (bind(l, (struct sockaddr *)&la, sizeof la) || listen(l, 128)) { perror("listen"); }
    printf("GUEST: listening on 1234\n"); fflush(stdout);
    for (;;) { int c = accept(l, 0, 0); if (c < 0) continue;
        if (fork() == 0) { close(l); serve(c); close(c); _exit(0); }
        close(c); }
}
