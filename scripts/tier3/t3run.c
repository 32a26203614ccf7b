/* t3run: runs inside the tier-3 L1 guest (built static by scripts/tier3/run).
 *
 *   t3run -t <timeout_s> -m <marker> -l <logfile> -- <command> [args...]
 *
 * Runs <command> in its own process group with stdout and stderr on a pipe, copies every line it
 * prints to <logfile> (each prefixed "[+<ms since the fork>] "), notes the time from just before the fork to the first output line that
 * contains <marker>, and kills the group after <timeout_s> seconds. Prints one line of shell
 * assignments for the caller to eval:
 *   T3_EXIT=<exit code, or 128+signal> T3_MARKER_MS=<ms or -1> T3_TOTAL_MS=<ms> T3_TIMEOUT=<0|1>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    int timeout_s = 60;
    const char *marker = NULL, *logpath = "/dev/null";
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) { i++; break; }
        if (i + 1 >= argc) goto usage;
        if (!strcmp(argv[i], "-t")) timeout_s = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-m")) marker = argv[++i];
        else if (!strcmp(argv[i], "-l")) logpath = argv[++i];
        else goto usage;
    }
    if (i >= argc) goto usage;

    int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (logfd < 0) { perror(logpath); return 2; }
    int p[2];
    if (pipe(p)) { perror("pipe"); return 2; }

    long long start = now_ms();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[i], &argv[i]);
        fprintf(stderr, "t3run: exec %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(p[1]);

    long long marker_ms = -1;
    int timed_out = 0;
    char line[4096];
    size_t len = 0;
    long long deadline = start + (long long)timeout_s * 1000;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* EOF: every writer closed */
        long long t = now_ms();
        for (ssize_t k = 0; k < n; k++) {
            char c = buf[k];
            if (c == '\n' || len == sizeof line - 1) {
                line[len] = 0;
                if (marker && marker_ms < 0 && strstr(line, marker)) marker_ms = t - start;
                /* The log gets each line with the ms since the fork: a profile of the VMM's start. */
                dprintf(logfd, "[+%lld] %s\n", t - start, line);
                len = 0;
            } else {
                line[len++] = c;
            }
        }
    }
    if (len > 0) {
        line[len] = 0;
        if (marker && marker_ms < 0 && strstr(line, marker)) marker_ms = now_ms() - start;
        dprintf(logfd, "[+%lld] %s\n", now_ms() - start, line);
    }
    close(p[0]);

    /* The pipe may close before the child exits; wait for it within the same deadline. */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (!timed_out && now_ms() >= deadline) {
            timed_out = 1;
            kill(-pid, SIGKILL);
        }
        usleep(20000);
    }
    kill(-pid, SIGKILL); /* anything the command left behind in its group */
    long long total = now_ms() - start;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    close(logfd);
    printf("T3_EXIT=%d T3_MARKER_MS=%lld T3_TOTAL_MS=%lld T3_TIMEOUT=%d\n", code, marker_ms, total,
           timed_out);
    return 0;

usage:
    fprintf(stderr, "usage: t3run -t <timeout_s> -m <marker> -l <logfile> -- <command> [args...]\n");
    return 2;
}
