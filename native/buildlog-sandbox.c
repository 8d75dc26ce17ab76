/*
 * buildlog-sandbox: the sandboxed build launcher behind `buildlog run`.
 *
 * Design: /work/shared/notes/sandbox.md (process shape H/P1/P2/P3, step order,
 * fd protocol, seccomp, limits).  Single-threaded on purpose: Node never does
 * namespace work (unshare(CLONE_NEWUSER) is EINVAL in a multithreaded process
 * and clone() can hang in setgroups()), so Node execs this helper and it only
 * ever uses fork()+unshare().
 *
 *   H   monitor (host namespaces, caller's uid): reads the spec, relays the
 *       log, enforces timeout / max-silent-time / max-log-size, emits events
 *   P1  unsharer (host pid ns): drops to the build uid when root, unshares,
 *       writes the id maps on /proc/self
 *   P2  init, pid 1 of the sandbox: builds the root, pivots, reaps, and kills
 *       everything when the builder exits
 *   P3  the builder (pid 2): no caps, NO_NEW_PRIVS, seccomp, clean env
 *
 * fds (all set up by Node as socketpairs):
 *   0  Node->H  control: "cancel\n" or EOF means cancel
 *   1  H->Node  raw log bytes (builder stdout+stderr merged)
 *   2  H->Node  diagnostics
 *   3  Node->H  spec: NUL-terminated tokens, read to EOF first
 *   4  H->Node  NDJSON events: {"event":"started",...} then one {"event":"exit",...}
 *
 * Spec: "v1", then keys with fixed operand counts, then "--" and the argv:
 *   ro SRC DST | rw SRC DST | symlink TARGET DST | store DIR | cwd DIR |
 *   env K=V | timeout-ms N | max-silent-ms N | max-log-bytes N |
 *   net none|host | build-uid U G | pty COLS ROWS | allow-userns | no-seccomp
 *
 * Exit codes (mirrored in lib/launcher/exit-codes.ts; the exit event on fd 4
 * is authoritative, because a builder may exit with any code itself):
 *
 *   code      reason          meaning
 *   0..255    exited          the builder's own exit code
 *   128+N     signaled        the builder was killed by signal N
 *   122       log-limit       --max-log-size reached (log cut at exactly N bytes)
 *   123       max-silent      --max-silent-time reached
 *   124       timeout         --timeout reached
 *   125       setup-error     invalid spec, missing input, mount failure, ...
 *   126       setup-error     builder found but not executable (step "execve")
 *   127       setup-error     builder not found (step "execve")
 *   130       cancelled       cancel on fd 0, EOF on fd 0, SIGINT/SIGTERM/SIGHUP,
 *                             or EPIPE on fd 1
 *   69        setup-error     sandbox unavailable (error.unavailable=true):
 *                             user namespaces disabled, AppArmor, masked /proc
 *   65        (Node only)     disallowed reference found by --disallow
 *   64        (CLI only)      usage error
 *
 * Deviation from the note: the note gives 124 to all three limits; issue 6
 * asks for distinct codes, hence 122/123/124.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* ---- constants the Debian 12 (6.1) headers or older glibc may lack ---- */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#define SYS_io_uring_enter 426
#define SYS_io_uring_register 427
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#define RESOLVE_NO_SYMLINKS_ 0x04
#define RESOLVE_NO_MAGICLINKS_ 0x02

struct mount_attr_ {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
struct open_how_ {
  uint64_t flags, mode, resolve;
};

/* ---- exit codes (see the table above) ---- */
enum {
  EXIT_DISALLOWED = 65,
  EXIT_UNAVAILABLE = 69,
  EXIT_LOG_LIMIT = 122,
  EXIT_MAX_SILENT = 123,
  EXIT_TIMEOUT = 124,
  EXIT_SETUP = 125,
  EXIT_NOEXEC = 126,
  EXIT_NOTFOUND = 127,
  EXIT_CANCELLED = 130,
};

#define SPEC_MAX (4u << 20)
#define INNER_UID 1000
#define INNER_GID 100
#define MAX_OPS 4096

enum op_kind { OP_RO, OP_RW, OP_SYMLINK };
struct op {
  enum op_kind kind;
  char *src; /* host path (ro/rw) or link target (symlink) */
  char *dst; /* path inside the sandbox */
};

struct spec {
  struct op ops[MAX_OPS];
  size_t nops;
  char *store;
  char *cwd;
  char **env;
  size_t nenv;
  char **argv;
  size_t nargv;
  uint64_t timeout_ms, max_silent_ms, max_log_bytes;
  int net_host;
  int have_build_uid;
  uid_t build_uid;
  gid_t build_gid;
  int pty;
  unsigned short pty_cols, pty_rows;
  int allow_userns;
  int no_seccomp;
};

static struct spec S;
static pid_t h_pid;
static int err_w = -1;      /* setup-error pipe, write end (CLOEXEC) */
static int log_w = -1;      /* log pipe write end, or pty slave */
static int status_w = -1;   /* P2 -> H: "exit N" / "signal N" */

/* ------------------------------------------------------------------------ */
/* small utilities                                                          */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        poll(&pfd, 1, -1);
        continue;
      }
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void diag(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  (void)!write(2, buf, (size_t)n);
}

/*
 * Report a setup error from P1/P2/P3 to H and exit.  One write of
 * "STEP\tERRNO\tUNAVAILABLE\tMESSAGE" (< PIPE_BUF, so atomic).
 */
static void __attribute__((noreturn)) child_fail(int code, const char *step, int err, int unavailable,
                                                 const char *fmt, ...) {
  char msg[1500], buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int n = snprintf(buf, sizeof buf, "%s\t%d\t%d\t%s", step, err, unavailable, msg);
  if (n > 0 && err_w >= 0) (void)!write(err_w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  _exit(code);
}
#define FAIL(step, fmt, ...) child_fail(EXIT_SETUP, step, errno, 0, fmt, ##__VA_ARGS__)

/* JSON string escaping: ", \ and bytes < 0x20 escaped; invalid UTF-8 -> U+FFFD. */
struct sbuf {
  char *p;
  size_t len, cap;
};
static void sb_put(struct sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_printf(struct sbuf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}
static void sb_json_str(struct sbuf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  sb_put(b, "\"", 1);
  while (n > 0) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sb_put(b, e, 2);
      p++, n--;
    } else if (c < 0x20) {
      sb_printf(b, "\\u%04x", c);
      p++, n--;
    } else {
      size_t l = utf8_seq_len(p, n);
      if (l == 0) {
        sb_put(b, "\xEF\xBF\xBD", 3);
        p++, n--;
      } else {
        sb_put(b, (const char *)p, l);
        p += l, n -= l;
      }
    }
  }
  sb_put(b, "\"", 1);
}

/* ------------------------------------------------------------------------ */
/* spec parsing and validation (H, before any fork)                         */

static char spec_err[1024];

static int parse_u64(const char *s, uint64_t *out) {
  if (!*s) return -1;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  *out = v;
  return 0;
}

/* absolute, normalised: starts with '/', no "//", no "." or ".." component, no trailing '/' (except "/") */
static int path_ok(const char *p) {
  if (p[0] != '/') return 0;
  if (strcmp(p, "/") == 0) return 1;
  const char *c = p;
  while (*c) {
    c++; /* skip '/' */
    const char *e = strchr(c, '/');
    size_t l = e ? (size_t)(e - c) : strlen(c);
    if (l == 0) return 0;
    if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.')) return 0;
    c += l;
  }
  return 1;
}

static int under(const char *p, const char *dir) {
  size_t l = strlen(dir);
  return strncmp(p, dir, l) == 0 && (p[l] == 0 || p[l] == '/');
}

static int dst_ok(const char *d) {
  if (!path_ok(d) || strcmp(d, "/") == 0) return 0;
  if (under(d, "/proc") || under(d, "/dev")) return 0;
  return 1;
}

static int cmp_op(const void *a, const void *b) {
  return strcmp(((const struct op *)a)->dst, ((const struct op *)b)->dst);
}

static int parse_spec(char *buf, size_t len) {
  /* every token is NUL-terminated, so the buffer must end in NUL */
  if (len == 0 || buf[len - 1] != 0) {
    snprintf(spec_err, sizeof spec_err, "spec is empty or not NUL-terminated");
    return -1;
  }
  size_t ntok = 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == 0) ntok++;
  char **tok = calloc(ntok + 1, sizeof *tok);
  S.env = calloc(ntok + 1, sizeof *S.env);
  if (!tok || !S.env) {
    snprintf(spec_err, sizeof spec_err, "out of memory");
    return -1;
  }
  size_t k = 0;
  for (char *p = buf; p < buf + len; p += strlen(p) + 1) tok[k++] = p;
  if (strcmp(tok[0], "v1") != 0) {
    snprintf(spec_err, sizeof spec_err, "unsupported spec version '%.40s'", tok[0]);
    return -1;
  }
  size_t i = 1;
#define NEED(n)                                                                                   \
  do {                                                                                            \
    if (i + (n) >= ntok) {                                                                        \
      snprintf(spec_err, sizeof spec_err, "spec key '%.40s' needs %d operand(s)", key, (int)(n)); \
      return -1;                                                                                  \
    }                                                                                             \
  } while (0)
  while (i < ntok) {
    const char *key = tok[i];
    if (strcmp(key, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(key, "ro") == 0 || strcmp(key, "rw") == 0 || strcmp(key, "symlink") == 0) {
      NEED(2);
      if (S.nops >= MAX_OPS) {
        snprintf(spec_err, sizeof spec_err, "too many mounts");
        return -1;
      }
      struct op *o = &S.ops[S.nops++];
      o->kind = key[0] == 'r' ? (key[1] == 'o' ? OP_RO : OP_RW) : OP_SYMLINK;
      o->src = tok[i + 1];
      o->dst = tok[i + 2];
      if (o->kind != OP_SYMLINK && !path_ok(o->src)) {
        snprintf(spec_err, sizeof spec_err, "source must be an absolute normalised path: %.900s", o->src);
        return -1;
      }
      if (o->kind == OP_SYMLINK && o->src[0] == 0) {
        snprintf(spec_err, sizeof spec_err, "empty symlink target for %.900s", o->dst);
        return -1;
      }
      if (!dst_ok(o->dst)) {
        snprintf(spec_err, sizeof spec_err,
                 "destination must be an absolute normalised path, not / and not under /proc or /dev: %.900s",
                 o->dst);
        return -1;
      }
      i += 3;
    } else if (strcmp(key, "store") == 0 || strcmp(key, "cwd") == 0) {
      NEED(1);
      char *v = tok[i + 1];
      if (!path_ok(v) || (key[0] == 's' && !dst_ok(v))) {
        snprintf(spec_err, sizeof spec_err, "%s must be an absolute normalised path: %.900s", key, v);
        return -1;
      }
      if (key[0] == 's') S.store = v;
      else S.cwd = v;
      i += 2;
    } else if (strcmp(key, "env") == 0) {
      NEED(1);
      char *v = tok[i + 1];
      if (!strchr(v, '=') || v[0] == '=') {
        snprintf(spec_err, sizeof spec_err, "env entry must be K=V: %.900s", v);
        return -1;
      }
      S.env[S.nenv++] = v;
      i += 2;
    } else if (strcmp(key, "timeout-ms") == 0 || strcmp(key, "max-silent-ms") == 0 ||
               strcmp(key, "max-log-bytes") == 0) {
      NEED(1);
      uint64_t v;
      if (parse_u64(tok[i + 1], &v) < 0) {
        snprintf(spec_err, sizeof spec_err, "%s needs a decimal number, got '%.40s'", key, tok[i + 1]);
        return -1;
      }
      if (key[0] == 't') S.timeout_ms = v;
      else if (key[4] == 's') S.max_silent_ms = v;
      else S.max_log_bytes = v;
      i += 2;
    } else if (strcmp(key, "net") == 0) {
      NEED(1);
      if (strcmp(tok[i + 1], "none") == 0) S.net_host = 0;
      else if (strcmp(tok[i + 1], "host") == 0) S.net_host = 1;
      else {
        snprintf(spec_err, sizeof spec_err, "net must be none or host");
        return -1;
      }
      i += 2;
    } else if (strcmp(key, "build-uid") == 0) {
      NEED(2);
      uint64_t u, g;
      if (parse_u64(tok[i + 1], &u) < 0 || parse_u64(tok[i + 2], &g) < 0 || u == 0 || g == 0 ||
          u >= 0xFFFFFFFFu || g >= 0xFFFFFFFFu) {
        snprintf(spec_err, sizeof spec_err, "build-uid needs a non-zero uid and gid");
        return -1;
      }
      S.have_build_uid = 1;
      S.build_uid = (uid_t)u;
      S.build_gid = (gid_t)g;
      i += 3;
    } else if (strcmp(key, "pty") == 0) {
      NEED(2);
      uint64_t c, r;
      if (parse_u64(tok[i + 1], &c) < 0 || parse_u64(tok[i + 2], &r) < 0 || c == 0 || r == 0 || c > 10000 ||
          r > 10000) {
        snprintf(spec_err, sizeof spec_err, "pty needs COLS ROWS in 1..10000");
        return -1;
      }
      S.pty = 1;
      S.pty_cols = (unsigned short)c;
      S.pty_rows = (unsigned short)r;
      i += 3;
    } else if (strcmp(key, "allow-userns") == 0) {
      S.allow_userns = 1;
      i += 1;
    } else if (strcmp(key, "no-seccomp") == 0) {
      S.no_seccomp = 1;
      i += 1;
    } else {
      snprintf(spec_err, sizeof spec_err, "unknown spec key '%.60s'", key);
      return -1;
    }
  }
  if (i >= ntok) {
    snprintf(spec_err, sizeof spec_err, "no builder given (spec needs '--' and an argv)");
    return -1;
  }
  S.argv = &tok[i];
  S.nargv = ntok - i;
  if (S.argv[0][0] == 0) {
    snprintf(spec_err, sizeof spec_err, "empty builder path");
    return -1;
  }
  qsort(S.ops, S.nops, sizeof S.ops[0], cmp_op);
  for (size_t j = 1; j < S.nops; j++)
    if (strcmp(S.ops[j - 1].dst, S.ops[j].dst) == 0) {
      snprintf(spec_err, sizeof spec_err, "duplicate destination %.900s", S.ops[j].dst);
      return -1;
    }
  if (S.store)
    for (size_t j = 0; j < S.nops; j++)
      if (strcmp(S.ops[j].dst, S.store) == 0) {
        snprintf(spec_err, sizeof spec_err, "the store dir itself cannot be a mount destination");
        return -1;
      }
#ifndef __x86_64__
  if (!S.no_seccomp) {
    snprintf(spec_err, sizeof spec_err, "seccomp filter is only implemented for x86_64; use no-seccomp");
    return -1;
  }
#endif
  return 0;
}

/* ------------------------------------------------------------------------ */
/* unavailability diagnosis                                                 */

static int read_sysctl(const char *path, long *out) {
  char b[64];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  *out = strtol(b, NULL, 10);
  return 0;
}

/* computed in P1 before unshare, while /proc is still the host's */
static char unavail_hint[600];
static void compute_unavail_hint(void) {
  long v;
  if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0)
    snprintf(unavail_hint, sizeof unavail_hint,
             "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0); "
             "fix: sysctl -w kernel.unprivileged_userns_clone=1");
  else if (read_sysctl("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
    snprintf(unavail_hint, sizeof unavail_hint,
             "user namespaces are disabled (user.max_user_namespaces=0); fix: sysctl -w user.max_user_namespaces=15000");
  else if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v == 1)
    snprintf(unavail_hint, sizeof unavail_hint,
             "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); "
             "fix: an AppArmor profile granting 'userns' to this helper, or "
             "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
  else
    snprintf(unavail_hint, sizeof unavail_hint,
             "user namespaces are unavailable (kernel without CONFIG_USER_NS, a container seccomp profile, "
             "or user.max_user_namespaces exhausted); check sysctl user.max_user_namespaces and "
             "kernel.unprivileged_userns_clone");
}

/* ------------------------------------------------------------------------ */
/* P2: mounts                                                               */

static int xopenat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct open_how_ how = {.flags = flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/*
 * Open (creating as needed) the destination DST below root fd ROOT, never
 * following a symlink (FS-8: a symlink planted in an rw bind must not redirect
 * the mount).  kind: 'd' dir, 'f' empty regular file, 'p' parent dir only
 * (returns the parent fd and stores the last component in *last).
 */
static int walk_dst(int root, const char *dst, int kind, const char **last, const char *step) {
  char path[PATH_MAX];
  if (strlen(dst) >= sizeof path) child_fail(EXIT_SETUP, step, ENAMETOOLONG, 0, "path too long: %s", dst);
  strcpy(path, dst);
  int fd = dup(root);
  char *c = path + 1;
  for (;;) {
    char *slash = strchr(c, '/');
    int final = slash == NULL;
    if (slash) *slash = 0;
    if (final && kind == 'p') {
      *last = dst + (c - path);
      return fd;
    }
    int nfd;
    if (!final || kind == 'd') {
      if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) FAIL(step, "mkdir %s: %s", dst, strerror(errno));
      nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (nfd < 0) FAIL(step, "%s: component '%s' is not a directory (symlinks are refused): %s", dst, c, strerror(errno));
    } else {
      nfd = openat(fd, c, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
      if (nfd >= 0) close(nfd);
      else if (errno != EEXIST) FAIL(step, "create %s: %s", dst, strerror(errno));
      nfd = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      if (nfd < 0 || fstat(nfd, &st) < 0 || !S_ISREG(st.st_mode))
        child_fail(EXIT_SETUP, step, nfd < 0 ? errno : EEXIST, 0, "%s: mount point exists and is not a regular file", dst);
    }
    close(fd);
    fd = nfd;
    if (final) return fd;
    c = slash + 1;
  }
}

/* bind SRC (a host path, opened below /oldroot without following any symlink) onto DST */
static void bind_path(int newroot, const char *src, const char *dst, uint64_t attrs, int recursive) {
  char host[PATH_MAX + 16];
  snprintf(host, sizeof host, "/oldroot%s", strcmp(src, "/") == 0 ? "" : src);
  /* the source was realpath'd by P1, so any symlink now means it was swapped (FS-8) */
  int sfd = xopenat2(AT_FDCWD, host, O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS_ | RESOLVE_NO_MAGICLINKS_);
  if (sfd < 0) FAIL("bind", "open %s: %s", src, strerror(errno));
  struct stat st;
  if (fstat(sfd, &st) < 0) FAIL("bind", "stat %s: %s", src, strerror(errno));
  int dfd = walk_dst(newroot, dst, S_ISDIR(st.st_mode) ? 'd' : 'f', NULL, "bind");
  unsigned tflags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  int tfd = (int)syscall(SYS_open_tree, sfd, "", tflags);
  if (tfd < 0) FAIL("bind", "open_tree %s: %s", src, strerror(errno));
  if (attrs) {
    struct mount_attr_ ma = {.attr_set = attrs};
    if (syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &ma, sizeof ma) < 0)
      FAIL("bind", "mount_setattr %s: %s", src, strerror(errno));
  }
  if (syscall(SYS_move_mount, tfd, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    FAIL("bind", "move_mount %s -> %s: %s", src, dst, strerror(errno));
  close(tfd);
  close(dfd);
  close(sfd);
}

static void write_file_at(int dirfd, const char *name, const char *content) {
  int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0 || write_all(fd, content, strlen(content)) < 0) FAIL("etc", "write /etc/%s: %s", name, strerror(errno));
  close(fd);
}

static void setattr_path(const char *path, uint64_t set, const char *step) {
  struct mount_attr_ ma = {.attr_set = set};
  if (syscall(SYS_mount_setattr, AT_FDCWD, path, 0, &ma, sizeof ma) < 0)
    FAIL(step, "mount_setattr %s: %s", path, strerror(errno));
}

static void mount_tmpfs(const char *path, unsigned long flags, const char *opts, const char *step) {
  if (mount("tmpfs", path, "tmpfs", flags, opts) < 0) FAIL(step, "mount tmpfs on %s: %s", path, strerror(errno));
}

/* P2 step 3..12: build the new root and switch to it */
static void setup_root(void) {
  /* 2. make / recursively private before any mount, or mounts would leak to the host */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) FAIL("mount-private", "make / private: %s", strerror(errno));
  /* 3. scratch tmpfs on /tmp; pivot into it so that the host is only below /oldroot */
  mount_tmpfs("/tmp", MS_NOSUID | MS_NODEV, "size=64k,mode=0700", "scratch");
  if (chdir("/tmp") < 0) FAIL("scratch", "chdir /tmp: %s", strerror(errno));
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) FAIL("scratch", "mkdir: %s", strerror(errno));
  mount_tmpfs("newroot", MS_NOSUID | MS_NODEV, "size=16m,mode=0755", "scratch");
  if (syscall(SYS_pivot_root, ".", "oldroot") < 0) FAIL("pivot_root", "pivot_root: %s", strerror(errno));
  if (chdir("/") < 0) FAIL("pivot_root", "chdir /: %s", strerror(errno));

  int newroot = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (newroot < 0) FAIL("scratch", "open /newroot: %s", strerror(errno));

  /* 8. /etc first, so that user binds may still cover single files in it */
  if (mkdirat(newroot, "etc", 0755) < 0) FAIL("etc", "mkdir /etc: %s", strerror(errno));
  int etc = openat(newroot, "etc", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (etc < 0) FAIL("etc", "open /etc: %s", strerror(errno));
  write_file_at(etc, "passwd",
                "root:x:0:0:root:/root:/noshell\n"
                "builder:x:1000:100:builder:/build:/noshell\n"
                "nobody:x:65534:65534:nobody:/:/noshell\n");
  write_file_at(etc, "group", "root:x:0:\nbuilder:x:100:\nnogroup:x:65534:\n");
  if (!S.net_host) write_file_at(etc, "hosts", "127.0.0.1 localhost\n::1 localhost\n");

  /* 7. /tmp, before the user mounts (deviation from the note's order: a declared destination
     under /tmp must land on top of the tmpfs, not be hidden by it) */
  if (mkdirat(newroot, "tmp", 01777) < 0) FAIL("tmp", "mkdir /tmp: %s", strerror(errno));
  mount_tmpfs("/newroot/tmp", MS_NOSUID | MS_NODEV, "size=50%,mode=1777", "tmp");

  /* 4. user mounts, parents first (ops are sorted by destination) */
  for (size_t i = 0; i < S.nops; i++) {
    struct op *o = &S.ops[i];
    if (o->kind == OP_SYMLINK) {
      const char *last;
      int pfd = walk_dst(newroot, o->dst, 'p', &last, "symlink");
      if (symlinkat(o->src, pfd, last) < 0) FAIL("symlink", "symlink %s -> %s: %s", o->dst, o->src, strerror(errno));
      close(pfd);
    } else {
      bind_path(newroot, o->src, o->dst,
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o->kind == OP_RO ? MOUNT_ATTR_RDONLY : 0), 1);
    }
  }
  if (S.net_host) {
    /* like Nix for fixed-output builds: the host's resolver config and CA bundle, read-only */
    static const char *const hostfiles[] = {"/etc/resolv.conf", "/etc/services", "/etc/hosts",
                                            "/etc/ssl/certs/ca-certificates.crt"};
    for (size_t i = 0; i < sizeof hostfiles / sizeof hostfiles[0]; i++) {
      char rp[PATH_MAX], host[PATH_MAX + 16];
      snprintf(host, sizeof host, "/oldroot%s", hostfiles[i]);
      if (!realpath(host, rp) || strncmp(rp, "/oldroot/", 9) != 0) continue;
      bind_path(newroot, rp + 8, hostfiles[i], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
    }
  }
  /* store: only the declared paths were bound (above); the dir itself is 0111 on a read-only root */
  if (S.store) {
    int sfd = walk_dst(newroot, S.store, 'd', NULL, "store");
    /* chmod through the fd (O_PATH fds cannot fchmod; the host's /proc magic link can) */
    char p[64];
    snprintf(p, sizeof p, "/oldroot/proc/self/fd/%d", sfd);
    if (chmod(p, 0111) < 0) FAIL("store", "chmod %s: %s", S.store, strerror(errno));
    /* and read-only even when it sits on a writable mount (e.g. below /tmp): a recursive
       read-only bind onto itself, so that chmod gives EROFS wherever the store is */
    int tfd = (int)syscall(SYS_open_tree, sfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    struct mount_attr_ ma = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (tfd < 0 || syscall(SYS_mount_setattr, tfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof ma) < 0 ||
        syscall(SYS_move_mount, tfd, "", sfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      FAIL("store", "read-only bind of %s: %s", S.store, strerror(errno));
    close(tfd);
    close(sfd);
  }

  /* 5. a fresh procfs, while still a member of the new pid ns and before the old root goes */
  if (mkdirat(newroot, "proc", 0555) < 0 && errno != EEXIST) FAIL("proc", "mkdir /proc: %s", strerror(errno));
  if (mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    child_fail(errno == EPERM ? EXIT_UNAVAILABLE : EXIT_SETUP, "proc", errno, errno == EPERM,
               "mount proc: %s (a masked /proc, e.g. in a container, prevents a fresh procfs; "
               "run with an unmasked /proc)",
               strerror(errno));

  /* 6. /dev: tmpfs with bind-mounted nodes (mknod is EPERM in a userns) */
  if (mkdirat(newroot, "dev", 0755) < 0) FAIL("dev", "mkdir /dev: %s", strerror(errno));
  mount_tmpfs("/newroot/dev", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755", "dev");
  static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    char s[64], d[64];
    snprintf(s, sizeof s, "/dev/%s", nodes[i]);
    snprintf(d, sizeof d, "/dev/%s", nodes[i]);
    bind_path(newroot, s, d, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0);
  }
  int dev = openat(newroot, "dev", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dev < 0) FAIL("dev", "open /dev: %s", strerror(errno));
  if (symlinkat("/proc/self/fd", dev, "fd") < 0 || symlinkat("/proc/self/fd/0", dev, "stdin") < 0 ||
      symlinkat("/proc/self/fd/1", dev, "stdout") < 0 || symlinkat("/proc/self/fd/2", dev, "stderr") < 0 ||
      symlinkat("pts/ptmx", dev, "ptmx") < 0)
    FAIL("dev", "symlinks in /dev: %s", strerror(errno));
  if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0) FAIL("dev", "mkdir: %s", strerror(errno));
  if (mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0) {
    /* fallback, as Nix does: the host's devpts */
    bind_path(newroot, "/dev/pts", "/dev/pts", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0);
  }
  mount_tmpfs("/newroot/dev/shm", MS_NOSUID | MS_NODEV, "size=64m,mode=1777", "dev");
  close(dev);

  if (fchmod(etc, 0555) < 0 && errno != EROFS && errno != EPERM) FAIL("etc", "chmod /etc: %s", strerror(errno));
  close(etc);

  /* 6 (end). /dev read-only, not recursively (pts and shm stay writable) */
  setattr_path("/newroot/dev", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "dev");

  /* 9. loopback up, hostname */
  if (!S.net_host) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
      child_fail(errno == EPERM || errno == EACCES ? EXIT_UNAVAILABLE : EXIT_SETUP, "loopback", errno,
                 errno == EPERM || errno == EACCES, "bring up lo: %s", strerror(errno));
    close(s);
  }
  if (sethostname("localhost", 9) < 0 || setdomainname("(none)", 6) < 0)
    FAIL("hostname", "sethostname: %s", strerror(errno));

  /* 10. drop the host */
  if (mount(NULL, "/oldroot", NULL, MS_REC | MS_PRIVATE, NULL) < 0) FAIL("umount-old", "private /oldroot: %s", strerror(errno));
  if (umount2("/oldroot", MNT_DETACH) < 0) FAIL("umount-old", "umount /oldroot: %s", strerror(errno));

  /* 11. second pivot: drop the scratch tmpfs too */
  if (chdir("/newroot") < 0) FAIL("pivot_root", "chdir /newroot: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) FAIL("pivot_root", "pivot_root .: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) FAIL("pivot_root", "umount scratch: %s", strerror(errno));
  if (chdir("/") < 0) FAIL("pivot_root", "chdir /: %s", strerror(errno));
  close(newroot);

  /* 12. root read-only: only rw binds, /tmp and /dev/shm stay writable */
  setattr_path("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "remount-ro");
}

/* ------------------------------------------------------------------------ */
/* P3: seccomp                                                              */

#ifdef __x86_64__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define RET_ERR(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static int install_seccomp(void) {
  struct sock_filter f[256];
  size_t n = 0;
#define ADD(x) (f[n++] = (struct sock_filter)x)
  /* 1. arch: int 0x80 would bypass every rule with i386 numbers */
  ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  ADD(RET_ERR(ENOSYS));
  /* 2. x32 */
  ADD(LD_NR);
  ADD(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
  ADD(RET_ERR(ENOSYS));
  /* 3a. no setuid/setgid bits via chmod */
  struct {
    int nr, arg;
  } chm[] = {{SYS_chmod, 1}, {SYS_fchmod, 1}, {SYS_fchmodat, 2}, {SYS_fchmodat2, 2}};
  for (size_t i = 0; i < sizeof chm / sizeof chm[0]; i++) {
    ADD(LD_NR);
    ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)chm[i].nr, 0, 3));
    ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(chm[i].arg)));
    ADD(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 0, 1));
    ADD(RET_ERR(EPERM));
  }
  /* 3b. whole-syscall denials */
  struct {
    int nr, err;
  } deny[] = {
      {SYS_setxattr, ENOTSUP},      {SYS_lsetxattr, ENOTSUP},     {SYS_fsetxattr, ENOTSUP},
      {SYS_getxattr, ENOTSUP},      {SYS_lgetxattr, ENOTSUP},     {SYS_fgetxattr, ENOTSUP},
      {SYS_listxattr, ENOTSUP},     {SYS_llistxattr, ENOTSUP},    {SYS_flistxattr, ENOTSUP},
      {SYS_removexattr, ENOTSUP},   {SYS_lremovexattr, ENOTSUP},  {SYS_fremovexattr, ENOTSUP},
      {SYS_setxattrat, ENOTSUP},    {SYS_getxattrat, ENOTSUP},    {SYS_listxattrat, ENOTSUP},
      {SYS_removexattrat, ENOTSUP}, {SYS_keyctl, EPERM},          {SYS_add_key, EPERM},
      {SYS_request_key, EPERM},     {SYS_io_uring_setup, EPERM},  {SYS_io_uring_enter, EPERM},
      {SYS_io_uring_register, EPERM},
  };
  for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++) {
    ADD(LD_NR);
    ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)deny[i].nr, 0, 1));
    ADD(RET_ERR(deny[i].err));
  }
  /* 3c. ioctl TIOCSTI / TIOCLINUX, comparing the low 32 bits of cmd (CVE-2019-10063) */
  ADD(LD_NR);
  ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 4));
  ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)));
  ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0));
  ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1));
  ADD(RET_ERR(EPERM));
  /* 3d. nested user namespaces unless allowed */
  if (!S.allow_userns) {
    ADD(LD_NR);
    ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
    ADD(RET_ERR(ENOSYS)); /* BPF cannot read clone3's struct; glibc falls back to clone */
    int cl[] = {SYS_unshare, SYS_clone};
    for (size_t i = 0; i < 2; i++) {
      ADD(LD_NR);
      ADD(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)cl[i], 0, 3));
      ADD(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
      ADD(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1));
      ADD(RET_ERR(EPERM));
    }
  }
  /* 4. allow */
  ADD(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef ADD
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
#else
static int install_seccomp(void) {
  errno = ENOSYS;
  return -1;
}
#endif

/* ------------------------------------------------------------------------ */
/* P3: the builder                                                          */

static const char *env_get(char **env, size_t n, const char *k) {
  size_t kl = strlen(k);
  for (size_t i = 0; i < n; i++)
    if (strncmp(env[i], k, kl) == 0 && env[i][kl] == '=') return env[i] + kl + 1;
  return NULL;
}

static void __attribute__((noreturn)) run_builder(const sigset_t *origmask) {
  /* 1. own session: no controlling tty (no TIOCSTI into the user's terminal) */
  sigprocmask(SIG_SETMASK, origmask, NULL);
  if (setsid() < 0) FAIL("setsid", "setsid: %s", strerror(errno));
  /* 2. fds */
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (nul < 0) FAIL("fds", "open /dev/null: %s", strerror(errno));
  int errfd = fcntl(err_w, F_DUPFD_CLOEXEC, 10);
  int lw = fcntl(log_w, F_DUPFD_CLOEXEC, 10);
  if (errfd < 0 || lw < 0) FAIL("fds", "dup: %s", strerror(errno));
  err_w = errfd;
  if (dup2(nul, 0) < 0 || dup2(lw, 1) < 0 || dup2(lw, 2) < 0) FAIL("fds", "dup2: %s", strerror(errno));
  /* 3. close everything else except the CLOEXEC setup-error fd (moved to 3) */
  if (dup3(err_w, 3, O_CLOEXEC) < 0) FAIL("fds", "dup3: %s", strerror(errno));
  err_w = 3;
  if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0) FAIL("fds", "close_range: %s", strerror(errno));
  /* 4. cwd, umask, no core dumps */
  const char *cwd = S.cwd ? S.cwd : "/";
  if (chdir(cwd) < 0) FAIL("chdir", "chdir %s: %s", cwd, strerror(errno));
  umask(022);
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* 5. no new privileges */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) FAIL("no-new-privs", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
  /* 6. drop all capabilities: bounding set, ambient set, then capset(0) */
  for (int c = 0; c <= 63; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) FAIL("caps", "drop cap %d: %s", c, strerror(errno));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) < 0) FAIL("caps", "capset: %s", strerror(errno));
  /* 7. seccomp, last */
  if (!S.no_seccomp && install_seccomp() < 0) FAIL("seccomp", "install seccomp filter: %s", strerror(errno));
  /* 8. clean environment: declared variables over the defaults (after Nix) */
  char **envp = calloc(S.nenv + 16, sizeof *envp);
  size_t ne = 0;
  static char dflt[10][PATH_MAX + 32];
  const char *names[] = {"HOME", "PATH", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "NIX_BUILD_TOP", "PWD", "NIX_LOG_FD", "TERM"};
  const char *tmpdir = S.cwd ? S.cwd : "/tmp";
  const char *vals[] = {"/homeless-shelter", "/path-not-set", tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, cwd, "2",
                        "xterm-256color"};
  for (size_t i = 0; i < 10; i++) {
    if (env_get(S.env, S.nenv, names[i])) continue;
    snprintf(dflt[i], sizeof dflt[i], "%s=%s", names[i], vals[i]);
    envp[ne++] = dflt[i];
  }
  for (size_t i = 0; i < S.nenv; i++) envp[ne++] = S.env[i];
  envp[ne] = NULL;
  const char *prog = S.argv[0];
  int err = ENOENT;
  if (strchr(prog, '/')) {
    execve(prog, S.argv, envp);
    err = errno;
  } else {
    /* search the sandbox's own PATH (execvp would use ours, which is empty) */
    const char *path = env_get(envp, ne, "PATH");
    char cand[PATH_MAX];
    int seen_eacces = 0;
    for (const char *p = path; p && *p;) {
      const char *e = strchr(p, ':');
      size_t l = e ? (size_t)(e - p) : strlen(p);
      if (l > 0 && l + strlen(prog) + 2 < sizeof cand) {
        memcpy(cand, p, l);
        cand[l] = '/';
        strcpy(cand + l + 1, prog);
        execve(cand, S.argv, envp);
        if (errno == EACCES) seen_eacces = 1;
        else if (errno != ENOENT && errno != ENOTDIR) {
          err = errno;
          break;
        }
      }
      p = e ? e + 1 : NULL;
    }
    if (seen_eacces && err == ENOENT) err = EACCES;
  }
  errno = err;
  child_fail(err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "execve", err, 0, "execve %s: %s", prog, strerror(err));
}

/* ------------------------------------------------------------------------ */
/* P2: init                                                                 */

static int strip_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)ftw;
  if (flag == FTW_F && S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)))
    (void)chmod(path, st->st_mode & 0777 & ~(mode_t)(S_ISUID | S_ISGID)); /* not ours: EPERM, ignored */
  return 0;
}

static void __attribute__((noreturn)) run_init(int hup_r) {
  /* 1. die with P1; getppid() is 0 across the pid ns, so check the pipe whose only writer is P1 */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct pollfd pfd = {.fd = hup_r, .events = POLLIN};
  if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR))) _exit(1);
  close(hup_r);

  setup_root();

  /* 13. block all signals, fork the builder */
  sigset_t all, orig;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &orig);
  pid_t p3 = fork();
  if (p3 < 0) FAIL("fork", "fork builder: %s", strerror(errno));
  if (p3 == 0) run_builder(&orig);
  close(log_w);
  close(err_w);
  err_w = -1;

  /* 14. reap until ECHILD; when the builder is reaped, kill everything else */
  int bstatus = 0, have = 0;
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == p3) {
      bstatus = st;
      have = 1;
      kill(-1, SIGKILL);
    }
  }
  /* everything in the namespace is dead now: canonicalise the outputs (no setuid/setgid
     artefacts; the seccomp chmod rule does not cover open(O_CREAT, 06755)) */
  for (size_t i = 0; i < S.nops; i++)
    if (S.ops[i].kind == OP_RW) nftw(S.ops[i].dst, strip_cb, 32, FTW_PHYS | FTW_MOUNT);
  char msg[64];
  int n = 0;
  if (have && WIFEXITED(bstatus)) n = snprintf(msg, sizeof msg, "exit %d\n", WEXITSTATUS(bstatus));
  else if (have && WIFSIGNALED(bstatus)) n = snprintf(msg, sizeof msg, "signal %d\n", WTERMSIG(bstatus));
  if (n > 0) (void)!write(status_w, msg, (size_t)n);
  _exit(0);
}

/* ------------------------------------------------------------------------ */
/* P1: unsharer                                                             */

static int write_proc(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, content, strlen(content));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(content) ? 0 : -1;
}

static void resolve_sources(void) {
  for (size_t i = 0; i < S.nops; i++) {
    struct op *o = &S.ops[i];
    if (o->kind == OP_SYMLINK) continue;
    struct stat st;
    if (lstat(o->src, &st) < 0) {
      if (errno == EACCES && S.have_build_uid)
        FAIL("input", "%s: %s (build uid %u cannot reach it; every parent directory must be searchable, e.g. 0711)",
             o->src, strerror(errno), (unsigned)S.build_uid);
      FAIL("input", "%s: %s", o->src, strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
      /* a symlink source is recreated, not bound */
      char t[PATH_MAX];
      ssize_t n = readlink(o->src, t, sizeof t - 1);
      if (n < 0) FAIL("input", "readlink %s: %s", o->src, strerror(errno));
      t[n] = 0;
      o->kind = OP_SYMLINK;
      o->src = strdup(t);
      continue;
    }
    char rp[PATH_MAX];
    if (!realpath(o->src, rp)) FAIL("input", "%s: %s", o->src, strerror(errno));
    o->src = strdup(rp);
  }
  if (S.cwd) {
    /* nothing to check on the host; cwd is inside the sandbox */
  }
}

static void __attribute__((noreturn)) run_unsharer(void) {
  signal(SIGPIPE, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Node's sockets are H's business only */
  for (int fd = 0; fd <= 4; fd++) {
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0 && nul != fd) {
      dup2(nul, fd);
      close(nul);
    }
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != h_pid) _exit(1);

  /* 2. root: drop to the build uid before unsharing; never map host root in */
  if (S.have_build_uid) {
    if (setgroups(0, NULL) < 0 || setresgid(S.build_gid, S.build_gid, S.build_gid) < 0 ||
        setresuid(S.build_uid, S.build_uid, S.build_uid) < 0)
      FAIL("build-uid", "switch to build uid %u:%u: %s", (unsigned)S.build_uid, (unsigned)S.build_gid, strerror(errno));
    /* the uid change cleared these two: uid_map needs DUMPABLE, and PDEATHSIG must be re-armed */
    prctl(PR_SET_DUMPABLE, 1);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != h_pid) _exit(1);
  }
  /* stat the sources after the drop, so that errors name the path */
  resolve_sources();
  compute_unavail_hint();

  /* 3. unshare (ids read first: afterwards they show as the overflow id until the maps exist) */
  uid_t outer_uid = geteuid();
  gid_t outer_gid = getegid();
  int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  if (!S.net_host) flags |= CLONE_NEWNET;
  if (unshare(flags) < 0) {
    int e = errno;
    if (e == EPERM || e == ENOSPC || e == EINVAL || e == EUSERS)
      child_fail(EXIT_UNAVAILABLE, "unshare", e, 1, "sandbox unavailable: unshare: %s: %s", strerror(e), unavail_hint);
    FAIL("unshare", "unshare: %s", strerror(e));
  }
  /* 4. maps on /proc/self (no pid-reuse race) */
  char map[64];
  if (write_proc("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
    child_fail(EXIT_UNAVAILABLE, "uid_map", errno, 1, "sandbox unavailable: write setgroups: %s: %s", strerror(errno),
               unavail_hint);
  snprintf(map, sizeof map, "%d %u 1", INNER_UID, (unsigned)outer_uid);
  if (write_proc("/proc/self/uid_map", map) < 0)
    child_fail(EXIT_UNAVAILABLE, "uid_map", errno, 1, "sandbox unavailable: write uid_map: %s: %s", strerror(errno),
               unavail_hint);
  snprintf(map, sizeof map, "%d %u 1", INNER_GID, (unsigned)outer_gid);
  if (write_proc("/proc/self/gid_map", map) < 0)
    child_fail(EXIT_UNAVAILABLE, "gid_map", errno, 1, "sandbox unavailable: write gid_map: %s: %s", strerror(errno),
               unavail_hint);

  /* 5. fork init */
  int hup[2];
  if (pipe2(hup, O_CLOEXEC) < 0) FAIL("fork", "pipe: %s", strerror(errno));
  pid_t p2 = fork();
  if (p2 < 0) FAIL("fork", "fork init: %s", strerror(errno));
  if (p2 == 0) {
    close(hup[1]);
    run_init(hup[0]);
  }
  close(hup[0]);
  close(log_w);
  close(err_w);
  close(status_w);
  err_w = -1;
  int st;
  while (waitpid(p2, &st, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ------------------------------------------------------------------------ */
/* H: monitor                                                               */

static volatile sig_atomic_t got_cancel_signal;
static void on_cancel_signal(int sig) { got_cancel_signal = sig; }

static int out_fd_flags = -1;

static void emit(const char *line) {
  (void)!write_all(4, line, strlen(line));
}

static uint64_t t0;

static int __attribute__((noreturn)) early_setup_error(const char *step, int err, int unavailable, const char *msg) {
  struct sbuf b = {0};
  uint64_t w = now_ms() - t0;
  sb_printf(&b, "{\"event\":\"exit\",\"reason\":\"setup-error\",\"exitCode\":null,\"signal\":null,\"status\":%d,",
            unavailable ? EXIT_UNAVAILABLE : EXIT_SETUP);
  sb_printf(&b, "\"wallMs\":%llu,\"setupMs\":%llu,\"runMs\":0,\"logBytes\":0,\"truncated\":false,",
            (unsigned long long)w, (unsigned long long)w);
  sb_printf(&b, "\"error\":{\"step\":");
  sb_json_str(&b, step);
  sb_printf(&b, ",\"errno\":%d,\"message\":", err);
  sb_json_str(&b, msg);
  sb_printf(&b, ",\"unavailable\":%s}}\n", unavailable ? "true" : "false");
  emit(b.p);
  diag("buildlog-sandbox: %s", msg);
  exit(unavailable ? EXIT_UNAVAILABLE : EXIT_SETUP);
}

int main(int argc, char **argv) {
  t0 = now_ms();
  h_pid = getpid();
  if (argc > 1) {
    if (strcmp(argv[1], "--version") == 0) {
      puts("buildlog-sandbox 1 (spec v1)");
      return 0;
    }
    fprintf(stderr,
            "usage: buildlog-sandbox 3<spec 4>events\n"
            "  spec on fd 3 (NUL-separated tokens), events on fd 4; see native/buildlog-sandbox.c\n");
    return 64;
  }
  /* make sure fds 0..4 exist, so that our own fds never land on them */
  for (int fd = 0; fd <= 4; fd++)
    if (fcntl(fd, F_GETFD) < 0) {
      int nul = open("/dev/null", O_RDWR);
      if (nul >= 0 && nul != fd) {
        dup2(nul, fd);
        close(nul);
      }
    }

  /* 1. read and validate the spec */
  size_t cap = 65536, len = 0;
  char *spec = malloc(cap);
  for (;;) {
    if (len == cap) {
      if (cap > SPEC_MAX) break;
      cap *= 2;
      spec = realloc(spec, cap);
    }
    if (!spec) early_setup_error("spec", ENOMEM, 0, "out of memory reading the spec");
    ssize_t n = read(3, spec + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      early_setup_error("spec", errno, 0, "cannot read the spec on fd 3");
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(3);
  {
    int nul = open("/dev/null", O_RDONLY); /* keep fd 3 occupied */
    if (nul >= 0 && nul != 3) dup2(nul, 3), close(nul);
  }
  if (len > SPEC_MAX) early_setup_error("spec", E2BIG, 0, "spec larger than 4 MiB");
  if (parse_spec(spec, len) < 0) early_setup_error("spec", EINVAL, 0, spec_err);

  uid_t euid = geteuid();
  if (euid == 0 && !S.have_build_uid)
    early_setup_error("build-uid", EPERM, 0,
                      "refusing to run as root without a build uid (--build-uid UID[:GID]); "
                      "host root is never mapped into the sandbox");
  if (euid != 0 && S.have_build_uid)
    early_setup_error("build-uid", EPERM, 0, "--build-uid needs root");

  /* root: an empty, root-owned build dir (the rw bind at cwd) is handed to the build uid, 0700 */
  if (S.have_build_uid && S.cwd) {
    for (size_t i = 0; i < S.nops; i++) {
      struct op *o = &S.ops[i];
      if (o->kind != OP_RW || strcmp(o->dst, S.cwd) != 0) continue;
      int dfd = open(o->src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      if (dfd < 0 || fstat(dfd, &st) < 0) break; /* reported later by P1, naming the path */
      if (st.st_uid != S.build_uid) {
        DIR *d = fdopendir(dup(dfd));
        int empty = 1;
        struct dirent *de;
        while (d && (de = readdir(d)))
          if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = 0;
        if (d) closedir(d);
        if (st.st_uid == 0 && empty) {
          if (fchown(dfd, S.build_uid, S.build_gid) < 0 || fchmod(dfd, 0700) < 0)
            early_setup_error("build-dir", errno, 0, "cannot hand the build dir to the build uid");
        } else {
          char m[PATH_MAX + 200];
          snprintf(m, sizeof m, "build dir %s must be empty or owned by the build uid %u", o->src,
                   (unsigned)S.build_uid);
          early_setup_error("build-dir", EPERM, 0, m);
        }
      }
      close(dfd);
    }
  }

  /* signals: SIGPIPE ignored; cancel signals blocked except inside ppoll */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cancel_signal; /* no SA_RESTART */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigset_t cancelset, pollmask;
  sigemptyset(&cancelset);
  sigaddset(&cancelset, SIGINT);
  sigaddset(&cancelset, SIGTERM);
  sigaddset(&cancelset, SIGHUP);
  sigprocmask(SIG_BLOCK, &cancelset, &pollmask);
  sigdelset(&pollmask, SIGINT);
  sigdelset(&pollmask, SIGTERM);
  sigdelset(&pollmask, SIGHUP);

  /* 2. pipes (and the pty, before any fork or unshare) */
  int logp[2], errp[2], statp[2];
  if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(statp, O_CLOEXEC) < 0)
    early_setup_error("pipe", errno, 0, "cannot create pipes");
  if (S.pty) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) early_setup_error("pty", errno, 0, "cannot open a pty");
    char *name = ptsname(m);
    int s = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (s < 0) early_setup_error("pty", errno, 0, "cannot open the pty slave");
    struct termios tio;
    if (tcgetattr(s, &tio) == 0) {
      cfmakeraw(&tio); /* no \n -> \r\n, no echo, no signal characters */
      tcsetattr(s, TCSANOW, &tio);
    }
    struct winsize ws = {.ws_row = S.pty_rows, .ws_col = S.pty_cols};
    ioctl(s, TIOCSWINSZ, &ws);
    logp[0] = m;
    logp[1] = s;
  } else if (pipe2(logp, O_CLOEXEC) < 0) {
    early_setup_error("pipe", errno, 0, "cannot create the log pipe");
  }
  err_w = errp[1];
  log_w = logp[1];
  status_w = statp[1];

  /* 3. fork P1 */
  pid_t p1 = fork();
  if (p1 < 0) early_setup_error("fork", errno, 0, "cannot fork");
  if (p1 == 0) {
    close(logp[0]);
    close(errp[0]);
    close(statp[0]);
    run_unsharer();
  }
  close(logp[1]);
  close(errp[1]);
  close(statp[1]);
  int log_r = logp[0], err_r = errp[0], stat_r = statp[0];
  fcntl(log_r, F_SETFL, fcntl(log_r, F_GETFL) | O_NONBLOCK);
  if (!S.pty) fcntl(log_r, F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups per MiB relayed; best effort */
  {
    int sz = 4 << 20; /* fd 1 is a socketpair from libuv: a bigger send buffer, best effort */
    setsockopt(1, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  }
  out_fd_flags = fcntl(1, F_GETFL);
  if (out_fd_flags >= 0) fcntl(1, F_SETFL, out_fd_flags | O_NONBLOCK);

  /* monitor loop (§5) */
  enum { R_NONE, R_TIMEOUT, R_SILENT, R_LOGLIMIT, R_CANCEL } trig = R_NONE;
  static char buf[1 << 18];
  size_t pend_off = 0, pend_len = 0;
  int log_open = 1, err_open = 1, ctl_open = 1, out_dead = 0, truncated = 0, started = 0;
  int use_splice = !S.pty, out_wait = 0;
  /* pty mode: the kernel's n_tty hands out at most 4 KiB per read (N_TTY_BUF_SIZE), so relaying
     each read at once meant one write to fd 1, and one 'data' event in Node, per 4 KiB.  Reads are
     coalesced instead: pending bytes go out once PTY_FLUSH_AT have gathered, PTY_HOLD_MS after the
     batch's first byte, at log EOF, or as soon as a limit or cancel fired.  Pipe mode splices. */
  enum { PTY_FLUSH_AT = 64 << 10, PTY_HOLD_MS = 2 };
  uint64_t hold_until = 0;
  uint64_t log_bytes = 0, last_byte = now_ms(), setup_ms = 0, start_ms = 0;
  char errbuf[2048];
  size_t errlen = 0;
  char ctlbuf[64];
  size_t ctllen = 0;

#define TRIGGER(r)                    \
  do {                                \
    if (trig == R_NONE) {             \
      trig = (r);                     \
      kill(p1, SIGKILL);              \
    }                                 \
  } while (0)

  while (log_open || err_open || pend_len > 0) {
    uint64_t now = now_ms();
    if (pend_len > 0 || out_wait) last_byte = now; /* the silence clock pauses while the consumer is slow */
    int64_t wait = -1;
    if (trig == R_NONE) {
      if (S.timeout_ms) {
        int64_t d = (int64_t)(t0 + S.timeout_ms) - (int64_t)now;
        if (d <= 0) TRIGGER(R_TIMEOUT);
        else wait = d;
      }
      if (S.max_silent_ms && started && trig == R_NONE) {
        int64_t d = (int64_t)(last_byte + S.max_silent_ms) - (int64_t)now;
        if (d <= 0) TRIGGER(R_SILENT);
        else if (wait < 0 || d < wait) wait = d;
      }
    }
    if (got_cancel_signal) TRIGGER(R_CANCEL);
    if (out_dead && pend_len > 0) pend_len = 0;
    if (out_dead) out_wait = 0;
    if (!log_open && !err_open && pend_len == 0) break;

    /* flush: write the pending bytes now (always in pipe mode; in pty mode see PTY_FLUSH_AT) */
    int flush = pend_len > 0 && (!S.pty || !log_open || trig != R_NONE || pend_len >= PTY_FLUSH_AT || now >= hold_until);
    if (pend_len > 0 && !flush) {
      int64_t d = (int64_t)(hold_until - now);
      if (wait < 0 || d < wait) wait = d;
    }
    if (pend_len == 0) pend_off = 0;
    else if (S.pty && pend_off > 0 && sizeof buf - (pend_off + pend_len) < 4096) {
      memmove(buf, buf + pend_off, pend_len);
      pend_off = 0;
    }
    /* room for another read: pipe mode reads only when nothing is pending; pty mode while a full
       n_tty buffer (4 KiB) still fits */
    int room = S.pty ? sizeof buf - (pend_off + pend_len) >= 4096 : pend_len == 0;

    struct pollfd pf[4];
    int np = 0, i_log = -1, i_err = -1, i_ctl = -1, i_out = -1;
    if (log_open && room && !out_wait) i_log = np, pf[np++] = (struct pollfd){.fd = log_r, .events = POLLIN};
    if (err_open) i_err = np, pf[np++] = (struct pollfd){.fd = err_r, .events = POLLIN};
    if (ctl_open) i_ctl = np, pf[np++] = (struct pollfd){.fd = 0, .events = POLLIN};
    if (flush || out_wait) i_out = np, pf[np++] = (struct pollfd){.fd = 1, .events = POLLOUT};
    struct timespec ts, *tsp = NULL;
    if (wait >= 0) {
      ts.tv_sec = wait / 1000;
      ts.tv_nsec = (wait % 1000) * 1000000 + 999999; /* round up: never wake early */
      if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
      tsp = &ts;
    }
    int pr = ppoll(pf, (nfds_t)np, tsp, &pollmask);
    if (pr < 0) {
      if (errno == EINTR) continue;
      diag("buildlog-sandbox: poll: %s", strerror(errno));
      TRIGGER(R_CANCEL);
      break;
    }
    /* output first, so that pending bytes drain */
    if (i_out >= 0 && pf[i_out].revents && out_wait) {
      out_wait = 0;
      if (pf[i_out].revents & (POLLERR | POLLHUP)) {
        out_dead = 1;
        TRIGGER(R_CANCEL);
      }
    } else if (i_out >= 0 && pf[i_out].revents) {
      ssize_t n = write(1, buf + pend_off, pend_len);
      if (n > 0) {
        pend_off += (size_t)n;
        pend_len -= (size_t)n;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        out_dead = 1; /* EPIPE: the reader went away, which means cancel */
        pend_len = 0;
        TRIGGER(R_CANCEL);
      }
    }
    if (i_log >= 0 && pf[i_log].revents && use_splice && !truncated && !out_dead &&
        !(S.max_log_bytes && log_bytes == S.max_log_bytes)) {
      /* pipe mode: splice the log pipe straight into fd 1, no copy through user space; the
         length is capped at what the limit leaves, so the cut stays exact */
      size_t len = 1u << 20;
      if (S.max_log_bytes && S.max_log_bytes - log_bytes < len) len = (size_t)(S.max_log_bytes - log_bytes);
      ssize_t n = splice(log_r, NULL, 1, NULL, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n > 0) {
        last_byte = now_ms();
        log_bytes += (uint64_t)n;
      } else if (n == 0) {
        log_open = 0;
      } else if (errno == EAGAIN) {
        out_wait = 1; /* the log pipe had data (POLLIN), so fd 1 is full: wait for POLLOUT */
      } else if (errno == EINVAL || errno == ENOSYS) {
        use_splice = 0; /* fd 1 cannot be spliced into: plain read/write from now on */
      } else if (errno == EPIPE || errno == ECONNRESET) {
        out_dead = 1;
        TRIGGER(R_CANCEL);
      } else if (errno != EINTR) {
        use_splice = 0;
      }
    } else if (i_log >= 0 && pf[i_log].revents) {
      char *at = buf + pend_off + pend_len; /* pend_len is 0 here unless in pty mode */
      ssize_t n = read(log_r, at, sizeof buf - (pend_off + pend_len));
      if (n > 0) {
        last_byte = now_ms();
        size_t keep = (size_t)n;
        if (truncated || out_dead) keep = 0;
        else if (S.max_log_bytes && log_bytes + keep > S.max_log_bytes) {
          keep = (size_t)(S.max_log_bytes - log_bytes); /* the exact cut */
          truncated = 1;
          TRIGGER(R_LOGLIMIT);
        }
        log_bytes += keep;
        if (keep > 0 && pend_len == 0) hold_until = last_byte + PTY_HOLD_MS;
        pend_len += keep;
        if (keep > 0 && (!S.pty || trig != R_NONE || pend_len >= PTY_FLUSH_AT)) {
          ssize_t w = write(1, buf + pend_off, pend_len);
          if (w > 0) {
            pend_off += (size_t)w;
            pend_len -= (size_t)w;
          } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            out_dead = 1;
            pend_len = 0;
            TRIGGER(R_CANCEL);
          }
        }
        if (S.max_log_bytes && log_bytes == S.max_log_bytes && !truncated) {
          /* exactly at the limit: one more byte would be a truncation; keep reading to see */
        }
      } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        log_open = 0; /* EOF, or EIO on a pty master once every slave is closed */
      }
    }
    if (i_err >= 0 && pf[i_err].revents) {
      ssize_t n = read(err_r, errbuf + errlen, sizeof errbuf - 1 - errlen);
      if (n > 0) errlen += (size_t)n;
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        err_open = 0;
        if (errlen == 0 && !started) {
          /* the CLOEXEC pipe closed without data: execve succeeded */
          started = 1;
          start_ms = now_ms();
          setup_ms = start_ms - t0;
          last_byte = start_ms;
          char ev[128];
          snprintf(ev, sizeof ev, "{\"event\":\"started\",\"setupMs\":%llu}\n", (unsigned long long)setup_ms);
          emit(ev);
        }
      }
    }
    if (i_ctl >= 0 && pf[i_ctl].revents) {
      ssize_t n = read(0, ctlbuf + ctllen, sizeof ctlbuf - 1 - ctllen);
      if (n > 0) {
        ctllen += (size_t)n;
        ctlbuf[ctllen] = 0;
        char *nl;
        while ((nl = strchr(ctlbuf, '\n'))) {
          *nl = 0;
          if (strcmp(ctlbuf, "cancel") == 0) TRIGGER(R_CANCEL);
          size_t rest = ctllen - (size_t)(nl + 1 - ctlbuf);
          memmove(ctlbuf, nl + 1, rest + 1);
          ctllen = rest;
        }
        if (ctllen >= sizeof ctlbuf - 1) ctllen = 0;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        ctl_open = 0; /* EOF on the control fd: Node went away, cancel */
        TRIGGER(R_CANCEL);
      }
    }
  }
  if (out_fd_flags >= 0) fcntl(1, F_SETFL, out_fd_flags);

  /* 4. reap P1, read the status, emit the exit event */
  struct rusage ru;
  int p1st = 0;
  memset(&ru, 0, sizeof ru);
  while (wait4(p1, &p1st, 0, &ru) < 0 && errno == EINTR) {
  }
  char stbuf[64];
  size_t stlen = 0;
  for (;;) {
    ssize_t n = read(stat_r, stbuf + stlen, sizeof stbuf - 1 - stlen);
    if (n > 0) stlen += (size_t)n;
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  stbuf[stlen] = 0;
  uint64_t end = now_ms();

  const char *reason;
  int code, bexit = -1, bsig = -1, unavailable = 0, eerr = 0;
  const char *estep = "", *emsg = "";
  char initmsg[160];
  errbuf[errlen] = 0;
  if (errlen > 0) {
    /* STEP \t ERRNO \t UNAVAILABLE \t MESSAGE */
    char *a = errbuf, *b = strchr(a, '\t'), *c = b ? strchr(b + 1, '\t') : NULL, *d = c ? strchr(c + 1, '\t') : NULL;
    if (b && c && d) {
      *b = *c = *d = 0;
      estep = a;
      eerr = atoi(b + 1);
      unavailable = atoi(c + 1);
      emsg = d + 1;
    } else {
      estep = "unknown";
      emsg = errbuf;
    }
  }
  if (trig == R_TIMEOUT) reason = "timeout", code = EXIT_TIMEOUT;
  else if (trig == R_SILENT) reason = "max-silent", code = EXIT_MAX_SILENT;
  else if (trig == R_LOGLIMIT) reason = "log-limit", code = EXIT_LOG_LIMIT;
  else if (trig == R_CANCEL) reason = "cancelled", code = EXIT_CANCELLED;
  else if (errlen > 0) {
    reason = "setup-error";
    if (strcmp(estep, "execve") == 0) code = eerr == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
    else code = unavailable ? EXIT_UNAVAILABLE : EXIT_SETUP;
  } else if (sscanf(stbuf, "exit %d", &bexit) == 1) reason = "exited", code = bexit;
  else if (sscanf(stbuf, "signal %d", &bsig) == 1) reason = "signaled", code = 128 + bsig;
  else {
    reason = "setup-error";
    code = EXIT_SETUP;
    estep = "init";
    snprintf(initmsg, sizeof initmsg, "the sandbox init process died without reporting a status (wait status %d)", p1st);
    emsg = initmsg;
  }
  struct sbuf sb = {0};
  sb_printf(&sb, "{\"event\":\"exit\",\"reason\":\"%s\",", reason);
  if (bexit >= 0) sb_printf(&sb, "\"exitCode\":%d,\"signal\":null,", bexit);
  else if (bsig >= 0) sb_printf(&sb, "\"exitCode\":null,\"signal\":%d,", bsig);
  else sb_printf(&sb, "\"exitCode\":null,\"signal\":null,");
  sb_printf(&sb, "\"status\":%d,\"wallMs\":%llu,\"setupMs\":%llu,\"runMs\":%llu,", code,
            (unsigned long long)(end - t0), (unsigned long long)(started ? setup_ms : end - t0),
            (unsigned long long)(started ? end - start_ms : 0));
  sb_printf(&sb, "\"logBytes\":%llu,\"truncated\":%s,", (unsigned long long)log_bytes, truncated ? "true" : "false");
  sb_printf(&sb, "\"userMs\":%llu,\"sysMs\":%llu",
            (unsigned long long)(ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000),
            (unsigned long long)(ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000));
  if (estep[0] && strcmp(reason, "setup-error") == 0) {
    sb_printf(&sb, ",\"error\":{\"step\":");
    sb_json_str(&sb, estep);
    sb_printf(&sb, ",\"errno\":%d,\"message\":", eerr);
    sb_json_str(&sb, emsg);
    sb_printf(&sb, ",\"unavailable\":%s}", unavailable ? "true" : "false");
    diag("buildlog-sandbox: %s: %s", estep, emsg);
  }
  sb_put(&sb, "}\n", 2);
  emit(sb.p);
  return code;
}
