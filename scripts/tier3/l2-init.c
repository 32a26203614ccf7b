/* The tier-3 L2 guest's /sbin/init (built with gcc -static by scripts/tier3/run).
 *
 * Prints few lines on purpose: every serial byte is a VM exit, and many exits trip a QEMU TCG
 * nested-paging bug (TESTING.md, tier 3). Checks are chosen by kernel command-line parameters,
 * which the kernel hands to init as environment variables:
 *   t3blk=<device>   read the host's pattern at offset 0, write ours at offset 4096, fsync
 *   t3vsock=<port>   accept one vsock stream on <port> and echo one line back
 *   t3dmesg=1        copy the kernel log (timestamps of a quiet boot) to the t3blk device at 64 KiB,
 *                    where L1 reads it: a boot profile without serial output
 * Ends with a reset (reboot=k on the command line: an i8042 reset, which ends berth-vmm with 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_PATTERN "BERTH-T3-HOST-PATTERN\n"
#define GUEST_PATTERN "BERTH-T3-GUEST-PATTERN\n"

static int out = 1;

static void say(const char *s) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "L2: %s\n", s);
    if (write(out, buf, (size_t)n) < 0) { /* nowhere else to report */ }
}

static void blk_check(const char *dev) {
    char buf[4096];
    int fd = open(dev, O_RDWR | O_SYNC);
    if (fd < 0) { say("blk FAIL open"); return; }
    if (pread(fd, buf, 512, 0) != 512) { say("blk FAIL read"); close(fd); return; }
    if (memcmp(buf, HOST_PATTERN, strlen(HOST_PATTERN)) != 0) say("blk FAIL read pattern mismatch");
    else say("blk read ok");
    memset(buf, 0, sizeof buf);
    memcpy(buf, GUEST_PATTERN, strlen(GUEST_PATTERN));
    if (pwrite(fd, buf, sizeof buf, 4096) != (ssize_t)sizeof buf || fsync(fd) != 0) {
        say("blk FAIL write");
        close(fd);
        return;
    }
    /* Read back through the device: drop our page cache copy first. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    memset(buf, 0, sizeof buf);
    if (pread(fd, buf, sizeof buf, 4096) == (ssize_t)sizeof buf &&
        memcmp(buf, GUEST_PATTERN, strlen(GUEST_PATTERN)) == 0)
        say("blk write ok");
    else
        say("blk FAIL write readback");
    close(fd);
}

static void vsock_echo(unsigned port) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) { say("vsock FAIL socket"); return; }
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 1)) {
        say("vsock FAIL bind");
        close(s);
        return;
    }
    say("vsock listening");
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    if (poll(&pfd, 1, 30000) != 1) { say("vsock FAIL no connection in 30 s"); close(s); return; }
    int c = accept(s, NULL, NULL);
    if (c < 0) { say("vsock FAIL accept"); close(s); return; }
    char buf[128];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        pfd.fd = c;
        if (poll(&pfd, 1, 10000) != 1) break;
        ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        if (memchr(buf, '\n', len)) break;
    }
    if (len == 0 || !memchr(buf, '\n', len)) { say("vsock FAIL no line"); close(c); close(s); return; }
    if (write(c, buf, len) != (ssize_t)len) say("vsock FAIL write");
    else say("vsock echo ok");
    shutdown(c, SHUT_WR);
    /* Give the reply time to leave before the reset; the host closes first. */
    pfd.fd = c;
    poll(&pfd, 1, 2000);
    close(c);
    close(s);
}

static void dmesg_to_disk(const char *dev) {
    static char log[65536];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof log - 1);
    int fd = open(dev, O_WRONLY | O_SYNC);
    if (n <= 0 || fd < 0) { say("dmesg FAIL"); if (fd >= 0) close(fd); return; }
    memset(log + n, 0, sizeof log - (size_t)n);
    if (pwrite(fd, log, sizeof log, 65536) != (ssize_t)sizeof log || fsync(fd) != 0) say("dmesg FAIL write");
    close(fd);
}

int main(void) {
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL); /* EBUSY when the kernel mounted it: fine */
    if (fcntl(1, F_GETFD) < 0) {
        out = open("/dev/console", O_WRONLY | O_NOCTTY);
        if (out < 0) out = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
    }
    say("init reached");
    const char *blk = getenv("t3blk");
    if (blk && *blk) blk_check(blk);
    const char *dm = getenv("t3dmesg");
    if (dm && *dm && blk && *blk) dmesg_to_disk(blk);
    const char *vs = getenv("t3vsock");
    if (vs && *vs) vsock_echo((unsigned)atoi(vs));
    say("done, resetting");
    sync();
    reboot(RB_AUTOBOOT);
    say("FAIL reboot returned");
    for (;;) pause();
}
