/**
 * Exit codes of `buildlog run` and of native/buildlog-sandbox (the table at the top of
 * native/buildlog-sandbox.c is the same).  The `exit` event on fd 4 is authoritative: a builder
 * may itself exit with any of these numbers.
 *
 * | code    | reason                 | meaning                                                      |
 * |---------|------------------------|--------------------------------------------------------------|
 * | 0..255  | exited                 | the builder's own exit code                                  |
 * | 128+N   | signaled               | the builder was killed by signal N                           |
 * | 122     | log-limit              | --max-log-size reached; the log is cut at exactly N bytes    |
 * | 123     | silence                | --max-silent-time reached                                    |
 * | 124     | timeout                | --timeout reached                                            |
 * | 125     | setup-error            | bad spec, missing input, mount failure, root without a uid   |
 * | 126     | setup-error            | the builder exists but cannot be executed                    |
 * | 127     | setup-error            | the builder was not found                                    |
 * | 130     | cancelled              | cancel(), SIGINT/SIGTERM/SIGHUP to the helper, Node gone     |
 * | 69      | unavailable            | no user namespaces / AppArmor / masked /proc / helper unbuilt |
 * | 65      | disallowed-reference   | --disallow: an output refers to a forbidden store path       |
 * | 70      | internal               | the helper ended without an exit event: a bug                |
 *
 * sandbox.md §6 gives 124 to timeout, max-silent and log-limit alike; issue 6 asks for distinct
 * codes, hence 122/123/124.
 */
export const EXIT_DISALLOWED_REFERENCE = 65
export const EXIT_UNAVAILABLE = 69
export const EXIT_INTERNAL = 70
export const EXIT_LOG_LIMIT = 122
export const EXIT_SILENCE = 123
export const EXIT_TIMEOUT = 124
export const EXIT_SETUP_ERROR = 125
export const EXIT_NOT_EXECUTABLE = 126
export const EXIT_NOT_FOUND = 127
export const EXIT_CANCELLED = 130
export const EXIT_SIGNAL_BASE = 128

export type SandboxReason =
  | 'exited'
  | 'signaled'
  | 'timeout'
  | 'silence'
  | 'log-limit'
  | 'cancelled'
  | 'unavailable'
  | 'setup-error'
  | 'disallowed-reference'
  | 'internal'

/** The exit code for a reason that has a fixed code (not `exited`/`signaled`/`setup-error`). */
export const FIXED_EXIT_CODES: Readonly<Partial<Record<SandboxReason, number>>> = {
  timeout: EXIT_TIMEOUT,
  silence: EXIT_SILENCE,
  'log-limit': EXIT_LOG_LIMIT,
  cancelled: EXIT_CANCELLED,
  unavailable: EXIT_UNAVAILABLE,
  'disallowed-reference': EXIT_DISALLOWED_REFERENCE,
  internal: EXIT_INTERNAL,
}
