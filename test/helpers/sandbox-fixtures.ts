/**
 * Shared fixtures for the sandbox security suite (test/sandbox-*.test.ts); not a test itself.
 *
 * Everything a sandboxed run needs is copied into a fresh 0755 mkdtemp dir under /tmp: the helper
 * binary, a compiled C probe and a setuid-root copy of `id`, because the checkout itself may sit
 * in a 0700 dir that the unprivileged CI user (buildlog-ci, uid 1500) or the build uid cannot
 * traverse.  Fixtures are built as root before any identity switch.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureHelperBinary, runSandboxed, type SandboxOptions, type SandboxResult, type SandboxEvent } from '../../lib/launcher/index.js'

export const CI_USER = 'buildlog-ci'
export const ROOT_BUILD_UID = 15001 // an unused uid: the root identity's --build-uid

export interface Identity {
  name: string
  /** host uid the builder runs as (what files it creates belong to) */
  hostUid: number
  hostGid: number
  buildUid?: number
  launchPrefix?: string[]
}

export function ciUser(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', CI_USER], { encoding: 'utf8' })
  if (r.status !== 0) return undefined
  const g = spawnSync('id', ['-g', CI_USER], { encoding: 'utf8' })
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
}

export const isRoot = process.getuid?.() === 0

/** The identity for a suite, or a skip reason. */
export function identity(kind: 'root' | 'user'): Identity | string {
  if (kind === 'root') {
    if (!isRoot) return 'the root-mode suite needs root'
    return { name: 'root+build-uid', hostUid: ROOT_BUILD_UID, hostGid: ROOT_BUILD_UID, buildUid: ROOT_BUILD_UID }
  }
  if (!isRoot) {
    const uid = process.getuid?.() ?? 0
    return { name: `uid ${uid}`, hostUid: uid, hostGid: process.getgid?.() ?? 0 }
  }
  const u = ciUser()
  if (!u) return `user ${CI_USER} does not exist (.ci/run creates it: useradd -m -u 1500 ${CI_USER})`
  return {
    name: CI_USER,
    hostUid: u.uid,
    hostGid: u.gid,
    launchPrefix: ['/usr/bin/setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups'],
  }
}

const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/xattr.h>
static void res(const char *what, long r) {
  if (r < 0) printf("%s: %s\n", what, strerrorname_np(errno));
  else printf("%s: OK\n", what);
}
int main(int argc, char **argv) {
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "int80")) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory"); /* i386 getpid */
    printf("int80: %ld\n", ret);
  } else if (!strcmp(c, "tiocsti")) {
    if (getsid(0) != getpid()) setsid();
    int m = posix_openpt(O_RDWR);
    if (m < 0 || grantpt(m) || unlockpt(m)) { res("openpt", -1); return 1; }
    int s = open(ptsname(m), O_RDWR); /* no O_NOCTTY: becomes the controlling tty */
    if (s < 0) { res("open slave", -1); return 1; }
    char ch = 'x';
    res("tiocsti", ioctl(s, TIOCSTI, &ch));
  } else if (!strcmp(c, "xattr")) {
    const char *p = argv[2];
    res("setxattr", setxattr(p, "user.x", "1", 1, 0));
    res("lsetxattr", lsetxattr(p, "user.x", "1", 1, 0));
    int fd = open(p, O_RDONLY);
    res("fsetxattr", fsetxattr(fd, "user.x", "1", 1, 0));
    struct { unsigned long long value; unsigned size, flags; } args = { (unsigned long long)(unsigned long)"1", 1, 0 };
    res("setxattrat", syscall(463, AT_FDCWD, p, 0, "user.x", &args, sizeof args));
    char buf[64];
    res("getxattr", getxattr(p, "user.x", buf, sizeof buf));
    res("removexattr", removexattr(p, "user.x"));
  } else if (!strcmp(c, "keyctl")) {
    res("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    res("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3));
  } else if (!strcmp(c, "io_uring")) {
    char params[120];
    memset(params, 0, sizeof params);
    res("io_uring_setup", syscall(425, 4, params));
  } else if (!strcmp(c, "chmod-suid")) {
    res("chmod", chmod(argv[2], 04755));
    int fd = open(argv[2], O_RDONLY);
    res("fchmod", fchmod(fd, 02755));
    res("fchmodat", fchmodat(AT_FDCWD, argv[2], 06755, 0));
    res("fchmodat2", syscall(452, AT_FDCWD, argv[2], 04755, 0));
    res("chmod-plain", chmod(argv[2], 0755));
  } else if (!strcmp(c, "creat-suid")) {
    umask(0);
    int fd = open(argv[2], O_CREAT | O_WRONLY, 06755);
    res("creat", fd);
    struct stat st;
    fstat(fd, &st);
    printf("mode: %o\n", st.st_mode & 07777);
  } else if (!strcmp(c, "unshare-user")) {
    res("unshare", unshare(CLONE_NEWUSER));
  } else if (!strcmp(c, "connect")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3])) };
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    res("connect", connect(s, (struct sockaddr *)&a, sizeof a));
  } else if (!strcmp(c, "connect-abstract")) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t l = strlen(argv[2]);
    memcpy(a.sun_path + 1, argv[2], l);
    /* libuv may bind the name zero-padded to the full sun_path: try the exact length, then that */
    long r = connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l));
    if (r < 0) { close(s); s = socket(AF_UNIX, SOCK_STREAM, 0); r = connect(s, (struct sockaddr *)&a, sizeof a); }
    res("connect-abstract", r);
  } else if (!strcmp(c, "fds")) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    printf("fds:");
    while ((e = readdir(d)))
      if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d)) printf(" %s", e->d_name);
    printf("\n");
  } else if (!strcmp(c, "kill0")) {
    res("kill0", kill(atoi(argv[2]), 0));
  } else {
    fprintf(stderr, "probe: unknown command %s\n", c);
    return 2;
  }
  return 0;
}
`

export interface Fixture {
  base: string
  helper: string
  probe: string
  suidId?: string
  inputs: string
  store: string
  known: string
  unknown: string
  marker: string
  shmMarker: string
  /** 200 MiB of random bytes (inputs/random.bin) and its sha256 */
  random: string
  /** sha256 of the first n bytes of random */
  randomSha256(n: number): string
  /** a fresh build dir owned by the identity (or, for root mode, empty and root-owned) */
  buildDir(): string
  cleanup(): void
}

// valid nix32 hashes (no e, o, u, t)
export const KNOWN_HASH = '0c7y6q8ifd2b7j9wm0l3zsn2kap1x4gh'
export const UNKNOWN_HASH = '1ab2cd3fg4hi5jk6lm7np8qr9sv0wxyz'

export function makeFixture(id: Identity): Fixture {
  const base = mkdtempSync('/tmp/buildlog-sandbox-test-')
  chmodSync(base, 0o755)
  const helper = join(base, 'buildlog-sandbox')
  copyFileSync(ensureHelperBinary(), helper)
  chmodSync(helper, 0o755)
  const probe = join(base, 'probe')
  writeFileSync(join(base, 'probe.c'), PROBE_C)
  execFileSync(process.env.CC || 'cc', ['-O1', '-o', probe, join(base, 'probe.c')], { stdio: 'pipe' })
  chmodSync(probe, 0o755)
  let suidId: string | undefined
  if (isRoot) {
    suidId = join(base, 'suid-id')
    copyFileSync('/usr/bin/id', suidId)
    chownSync(suidId, 0, 0)
    chmodSync(suidId, 0o4755)
  }
  const inputs = join(base, 'inputs')
  mkdirSync(inputs, { mode: 0o755 })
  writeFileSync(join(inputs, 'data.txt'), 'input data\n')
  const random = join(inputs, 'random.bin')
  const rnd = randomBytes(200 * 1024 * 1024)
  writeFileSync(random, rnd)
  const randomSha256 = (n: number) => createHash('sha256').update(rnd.subarray(0, n)).digest('hex')
  const store = join(base, 'store')
  mkdirSync(store, { mode: 0o755 })
  const known = join(store, `${KNOWN_HASH}-known`)
  const unknown = join(store, `${UNKNOWN_HASH}-secret`)
  mkdirSync(known, { mode: 0o755 })
  writeFileSync(join(known, 'file'), 'known content\n')
  mkdirSync(unknown, { mode: 0o755 })
  writeFileSync(join(unknown, 'file'), 'secret content\n')
  const marker = join(base, 'host-marker')
  writeFileSync(marker, 'host\n')
  const shmMarker = `/dev/shm/buildlog-sandbox-test-${process.pid}`
  writeFileSync(shmMarker, 'x')
  if (isRoot) {
    // inputs belong to the caller, i.e. the uid the builder runs as: read-only must come from the mount
    for (const p of [inputs, join(inputs, 'data.txt')]) chownSync(p, id.hostUid, id.hostGid)
  }
  let n = 0
  return {
    base,
    helper,
    probe,
    ...(suidId ? { suidId } : {}),
    inputs,
    store,
    known,
    unknown,
    marker,
    shmMarker,
    random,
    randomSha256,
    buildDir() {
      const d = join(base, `build-${n++}`)
      mkdirSync(d, { mode: 0o755 })
      // root mode: leave it empty and root-owned; the helper hands it to the build uid (0700)
      if (isRoot && id.buildUid === undefined) chownSync(d, id.hostUid, id.hostGid)
      return d
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true })
      rmSync(shmMarker, { force: true })
    },
  }
}

export const SYSTEM_BINDS = ['/usr', '/bin', '/lib', '/lib64'].map(src => ({ src }))

export interface Captured {
  res: SandboxResult
  log: Buffer
  text: string
  events: SandboxEvent[]
  sha256: string
  bytes: number
  wallMs: number
}

export interface RunOpts extends Partial<SandboxOptions> {
  /** hash the log instead of keeping it */
  hashOnly?: boolean
  /** called with the helper pid once the builder has started */
  onStarted?: (pid: number, cancel: () => void) => void
  /** called with each log chunk as it arrives, while the builder may still be running */
  onLog?: (chunk: Buffer) => void
}

/** Runs a /bin/sh script (or argv) in the sandbox as the identity, capturing everything. */
export async function run(id: Identity, fx: Fixture, script: string | string[], o: RunOpts = {}): Promise<Captured> {
  const { hashOnly, onStarted, onLog, ...opts } = o
  const argv = typeof script === 'string' ? ['/bin/sh', '-c', script] : script
  const t = performance.now()
  const r = runSandboxed({
    roBinds: [...SYSTEM_BINDS, { src: fx.base + '/probe', dst: '/probe' }, ...(opts.roBinds ?? [])],
    env: { PATH: '/usr/bin:/bin', ...(opts.env ?? {}) },
    pty: false,
    ...(id.buildUid !== undefined ? { buildUid: id.buildUid } : {}),
    ...(id.launchPrefix ? { launchPrefix: id.launchPrefix } : {}),
    helperPath: fx.helper,
    ...Object.fromEntries(Object.entries(opts).filter(([k]) => k !== 'roBinds' && k !== 'env')),
    argv,
  })
  const hash = createHash('sha256')
  const chunks: Buffer[] = []
  let bytes = 0
  r.log.on('data', (b: Buffer) => {
    bytes += b.length
    hash.update(b)
    if (!hashOnly) chunks.push(b)
    onLog?.(b)
  })
  if (onStarted) r.events.once('started', () => onStarted(r.pid as number, () => r.cancel()))
  const res = await r.result
  const log = Buffer.concat(chunks)
  return { res, log, text: log.toString('utf8'), events: [...r.events.seen], sha256: hash.digest('hex'), bytes, wallMs: performance.now() - t }
}

/** Host processes whose command line starts with `sleep TAG` (anchored, as sandbox.md §8 says). */
export function countSleepers(tag: string): number {
  let n = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')
      if (cmd[0] === 'sleep' && cmd[1] === tag) n++
    } catch {
      // gone
    }
  }
  return n
}

/** Waits until no `sleep TAG` is left (the kernel tears a pid namespace down asynchronously). */
export async function sleepersLeft(tag: string, waitMs = 3000): Promise<number> {
  const end = Date.now() + waitMs
  for (;;) {
    const n = countSleepers(tag)
    if (n === 0 || Date.now() > end) return n
    await new Promise(r => setTimeout(r, 50))
  }
}

/** A unique sleep duration per test and identity, so leftovers can be counted exactly. */
let tagSeq = 0
export function sleepTag(id: Identity): string {
  return `10${String(++tagSeq).padStart(2, '0')}.${id.buildUid !== undefined ? 1 : 2}${process.pid % 1000}`
}

export function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex')
}
