/*
 * The Android-only commands of the fake terminal's real-shell root (realshell.py), one
 * static binary installed under several names:
 *
 *   run-as PKG [--user N] [CMD ARGS...]  setuid root, like AOSP system/core/run-as: reads
 *       /data/system/packages.list, refuses unknown or non-debuggable packages with
 *       Android's texts (run-as.c before Android 8, run-as.cpp after), then switches to the
 *       app's uid and data folder and execs CMD (or /system/bin/sh) itself.
 *   su [0|root] [CMD ARGS...] | su -c SCRIPT   setuid root, AOSP system/extras/su plus the
 *       -c form of Magisk/SuperSU; installed only on a rooted fixture.
 *   tsd-enter ROOT UID GID GROUPS CMD ARGS...   run by the fake on the host, never installed in
 *       a root: what `chroot --userspec=UID:GID --groups=GROUPS ROOT CMD` does (chroot, chdir
 *       to /, groups, gid, uid, exec), as one static exec instead of coreutils' dynamic one.
 *   anything else (getprop, dumpsys, pm, ...)   asks the fake over the unix socket
 *       /dev/socket/fakeadb.<session id>, handing over its stdin/stdout/stderr; the fake
 *       answers from the fixture, writing straight to them, then sends the exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AID_ROOT 0
#define AID_SHELL 2000

static const char *base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int sdk(void) {
    FILE *f = fopen("/system/build.prop", "r");
    char line[512];
    int value = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "ro.build.version.sdk=", 21)) value = atoi(line + 21);
    if (f) fclose(f);
    return value;
}

static int die(int code, const char *fmt, const char *a, int err) {
    fprintf(stderr, fmt, a);
    if (err) fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
    return code;
}

static int become(unsigned uid, const gid_t *groups, int ngroups) {
    return setgroups(ngroups, groups) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid);
}

static int run_as(int argc, char **argv) {
    uid_t caller = getuid();
    int old = sdk() <= 25;
    if (caller != AID_SHELL && caller != AID_ROOT)
        return die(1, "run-as: only 'shell' or 'root' users can run this program%s", "", 0);
    if (argc < 2)
        return die(1, "run-as: usage: run-as <package-name> [--user <uid>] <command> [<args>]%s", "", 0);
    const char *pkg = argv[1];
    int first = 2;
    if (argc > 3 && !strcmp(argv[2], "--user")) first = 4;
    FILE *list = fopen("/data/system/packages.list", "r");
    char line[4096], name[512], dir[1024];
    unsigned uid = 0;
    int debuggable = -1;
    while (list && fgets(line, sizeof line, list)) {
        int dbg;
        if (sscanf(line, "%511s %u %d %1023s", name, &uid, &dbg, dir) == 4 && !strcmp(name, pkg)) {
            debuggable = dbg;
            break;
        }
    }
    if (list) fclose(list);
    if (debuggable < 0)
        return die(1, old ? "run-as: Package '%s' is unknown" : "run-as: unknown package: %s", pkg, 0);
    if (!debuggable)
        return die(1, old ? "run-as: Package '%s' is not debuggable" : "run-as: package not debuggable: %s",
                   pkg, 0);
    gid_t groups[] = {uid, 3003, 9997, uid + 10000, uid + 40000};  /* app, inet, everybody, cache, all */
    if (become(uid, groups, 5)) return die(1, "run-as: setresuid failed%s", "", errno);
    if (chdir(dir)) return die(1, "run-as: couldn't chdir to package's data directory '%s'", dir, errno);
    if (first >= argc) {
        execl("/system/bin/sh", "/system/bin/sh", (char *)0);
        return die(1, "run-as: exec failed for %s", "/system/bin/sh", errno);
    }
    execvp(argv[first], argv + first);
    return die(1, "run-as: exec failed for %s", argv[first], errno);
}

static int su(int argc, char **argv) {
    uid_t caller = getuid();
    if (caller != AID_SHELL && caller != AID_ROOT) {
        fprintf(stderr, "su: uid %u not allowed to su\n", caller);
        return 1;
    }
    gid_t groups[] = {0};
    if (become(0, groups, 1)) return die(1, "su: setuid failed%s", "", errno);
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "0") || !strcmp(argv[i], "root"))) i++;
    if (i < argc && !strcmp(argv[i], "-c")) {
        size_t len = 1;
        for (int j = i + 1; j < argc; j++) len += strlen(argv[j]) + 1;
        char *script = calloc(1, len);
        for (int j = i + 1; j < argc; j++) {
            if (j > i + 1) strcat(script, " ");
            strcat(script, argv[j]);
        }
        execl("/system/bin/sh", "/system/bin/sh", "-c", script, (char *)0);
        return die(1, "su: failed to exec %s", "/system/bin/sh", errno);
    }
    if (i >= argc) {
        execl("/system/bin/sh", "/system/bin/sh", (char *)0);
        return die(1, "su: failed to exec %s", "/system/bin/sh", errno);
    }
    execvp(argv[i], argv + i);
    return die(1, "su: failed to exec %s", argv[i], errno);
}

/* Ask the fake: u32 length + "argv0\0arg1\0...\0\0cwd\0" with our fds 0, 1, 2 attached; the
 * socket stays open until the answer (a live logcat answers never: the fake waits for us to die). */
static int ask_fake(int argc, char **argv) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/dev/socket/fakeadb.%d", (int)getsid(0));
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    for (int tries = 0; connect(sock, (struct sockaddr *)&addr, sizeof addr); tries++) {
        /* the fake names its socket right after spawning the shell, but on a loaded host its thread
         * may not run for a second or more (a full test suite on 2 cores lost logcat's answer so) */
        if (tries > 6000) return die(1, "%s: the fake terminal does not answer", base(argv[0]), errno);
        struct timespec pause = {0, 5000000};
        nanosleep(&pause, 0);
    }
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
    size_t len = 0;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    len += 1 + strlen(cwd) + 1;
    char *msg = calloc(1, len), *p = msg;
    for (int i = 0; i < argc; i++) p = stpcpy(p, i ? argv[i] : base(argv[0])) + 1;
    p++;
    strcpy(p, cwd);

    int fds[3] = {0, 1, 2};
    char control[CMSG_SPACE(sizeof fds)] = {0};
    unsigned int size = (unsigned int)len;
    struct iovec iov[2] = {{&size, sizeof size}, {msg, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control,
                        .msg_controllen = sizeof control};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    if (sendmsg(sock, &mh, 0) < 0) return die(1, "%s: the fake terminal does not answer", base(argv[0]), errno);
    unsigned char status = 1;
    if (read(sock, &status, 1) != 1) return 1;
    return status;
}

static int enter(int argc, char **argv) {
    if (getuid() != AID_ROOT || argc < 6) /* the real uid: not the setuid run-as renamed by exec -a */
        return die(125, "tsd-enter: only the fake (root) enters a root%s", "", 0);
    gid_t groups[64];
    int n = 0;
    for (char *p = argv[4]; *p && n < 64; p += *p == ',') groups[n++] = (gid_t)strtoul(p, &p, 10);
    gid_t gid = (gid_t)strtoul(argv[3], 0, 10);
    uid_t uid = (uid_t)strtoul(argv[2], 0, 10);
    if (chroot(argv[1]) || chdir("/") || setgroups(n, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
        return die(125, "tsd-enter: cannot enter %s", argv[1], errno);
    execv(argv[5], argv + 5);
    return die(127, "tsd-enter: cannot run %s", argv[5], errno);
}

int main(int argc, char **argv) {
    const char *name = base(argv[0]);
    if (!strcmp(name, "tsd-enter")) return enter(argc, argv);
    if (!strcmp(name, "run-as")) return run_as(argc, argv);
    if (!strcmp(name, "su")) return su(argc, argv);
    return ask_fake(argc, argv);
}
