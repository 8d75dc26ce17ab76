/** A bind mount: SRC on the host, DST inside the sandbox (defaults to SRC). */
export interface BindSpec {
  src: string
  dst?: string
}

/** Options of runSandboxed(); they mirror the `buildlog run` command line. */
export interface SandboxOptions {
  /** The builder and its arguments.  A bare name is searched in the sandbox's PATH. */
  argv: string[]
  /** Read-only, nosuid, nodev recursive binds.  A symlink source is recreated as a symlink. */
  roBinds?: BindSpec[]
  /** Writable (nosuid, nodev) binds. */
  binds?: BindSpec[]
  /** Host directory mounted writable at /build; the builder's cwd, TMPDIR and NIX_BUILD_TOP. */
  buildDir?: string
  /** Store directory inside the sandbox (same path as on the host); mode 0111 on a read-only root. */
  storeDir?: string
  /** Store paths (under storeDir) bound read-only; nothing else in the store is visible. */
  paths?: string[]
  /** The builder's environment on top of the defaults (HOME, PATH, TMPDIR, TERM, ...). */
  env?: Record<string, string>
  /** Wall-clock limit from the helper's start (setup counts); 0/undefined = none. */
  timeoutMs?: number
  /** Limit on the time without log output; 0/undefined = none. */
  maxSilentMs?: number
  /** Log size limit: the log is cut at exactly this many bytes and the build killed. */
  maxLogBytes?: number
  /** Share the host network (default: a new netns with only loopback). */
  network?: boolean
  /** Required when running as root: the host uid (and gid, default = uid) the build runs as. */
  buildUid?: number
  buildGid?: number
  /** After a successful build, fail if an output of buildDir refers to one of these store paths. */
  disallow?: string[]
  /**
   * Run the builder on a pty (colours survive, stdout and stderr are merged in write order).
   * `true` = 80x24 (the default); `false` = a plain pipe.
   */
  pty?: boolean | { cols: number; rows: number }
  /** Working directory inside the sandbox (default /build with a buildDir, else /). */
  cwd?: string
  /** Let the builder create nested user namespaces (some test suites need them). */
  allowUserns?: boolean
  /** Set to false to skip the seccomp filter (controls in the test suite only). */
  seccomp?: boolean
  /** Use this helper binary instead of locating/building native/build/buildlog-sandbox. */
  helperPath?: string
  /**
   * A command that execs the helper, e.g. ['/usr/bin/setpriv', '--reuid=1500', ...]: the helper
   * is appended as its last argument.  The prefix must exec (not fork), so that the pid is the
   * helper's and the five stdio fds pass through.
   */
  launchPrefix?: string[]
}
