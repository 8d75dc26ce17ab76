#!/usr/bin/env node
// Deterministic benchmark corpus generator for buildlog.
//
//   node bench/corpus.mjs --flavour legacy|modern|prefixed|internal-json|plain|single-line \
//                         --size 200M --out FILE [--seed N]
//
// The same flavour, size and seed always give the same bytes: all randomness comes from a seeded
// mulberry32 PRNG (never Math.random, never the clock). The output is written in 4 MiB chunks,
// so memory stays flat whatever the size, and is cut to exactly --size bytes (line flavours end
// at a line boundary followed by a filler line; single-line ends with filler text, no LF).
//
// Flavours (all imitate ../shared/samples and the spec, ../shared/spec/nix-log-protocols.md):
//   legacy         nixpkgs stdenv logs of 2004–2017: ESC[p / ESC[3p headers with LF, ESC[q closes
//                  without LF, patched make (ESC[p make[N]: Entering directory …, ESC[pbuilding T,
//                  ESC[3s ESC[a cmd ESC[b command echoes), occasional ESC[e / ESC[w; plus SGR
//                  colours (gcc diagnostics), store paths, CR progress (cmake, ninja `\r\x1b[K`,
//                  curl), long lines (10–100 KiB link commands / JSON dumps), UTF-8, warnings, errors.
//   modern         the same builds without legacy escapes, with stdenv phase markers in both
//                  spellings (`Running phase: X` + spaced `@nix { "action": "setPhase", … }`, the
//                  older echo form, and Nix's compact re-serialised form).
//   prefixed       `nix build -L` terminal output: 3 (1–4) builds interleaved, every build line
//                  prefixed `name> ` (plain when piped, `\x1b[2mname> \x1b[0m` + SGR when a tty),
//                  CR already applied, Nix's own unprefixed messages between them.
//   internal-json  `nix build --log-format internal-json`: every line `@nix {json}` with keys
//                  sorted: msg (levels 0–7, SGR as \u001b[31;1m inside strings, error infos with
//                  raw_msg and null positions), start/stop (types 0, 100–109, 105 builds with
//                  fields [drv,"",1,1]), results 101 (log lines), 104 (phases), 105 (progress),
//                  106 (expected); 64-bit activity ids above 2^53 (pid << 32, spec §6.3); with and
//                  without `parent` (Nix ≥ 2.18 / older).
//   plain          a GitHub Actions job log: timestamps, ##[group] / ::group:: / ::endgroup::,
//                  npm, jest, cargo, pytest, docker output with SGR and CR progress, no Nix protocol.
//   single-line    one line of the requested size without any LF (text, SGR, UTF-8, store paths).

import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

export const FLAVOURS = ['legacy', 'modern', 'prefixed', 'internal-json', 'plain', 'single-line']
export const GENERATOR_VERSION = 1

const CHUNK_BYTES = 4 * 1024 * 1024

/** "200M", "1G", "512K", "1048576", "1.5GiB" → bytes (binary multipliers). */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(String(text).trim())
  if (!m) throw new Error(`bad size '${text}' (use e.g. 200M, 1G, 512K)`)
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()]
  return Math.round(Number(m[1]) * mult)
}

// ───────────────────────────── PRNG ─────────────────────────────

class Rng {
  constructor(seed) {
    this.s = seed >>> 0
  }
  /** uint32, mulberry32 */
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  int(n) {
    return this.next() % n
  }
  /** integer in [lo, hi] */
  range(lo, hi) {
    return lo + (this.next() % (hi - lo + 1))
  }
  pick(a) {
    return a[this.next() % a.length]
  }
  chance(p) {
    return this.next() < p * 4294967296
  }
}

function seedOf(text) {
  // FNV-1a, to derive a per-flavour seed from a string
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

// ───────────────────────────── pools ─────────────────────────────

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz'
const ESC = '\x1b'

const PKG_NAMES = [
  'hello', 'zlib', 'openssl', 'curl', 'python3', 'perl', 'ncurses', 'readline', 'libxml2', 'glib',
  'gtk+3', 'bash', 'coreutils', 'gnugrep', 'gnused', 'gawk', 'findutils', 'diffutils', 'gnumake',
  'binutils', 'gcc', 'libffi', 'sqlite', 'expat', 'pcre2', 'libpng', 'libjpeg-turbo', 'freetype',
  'fontconfig', 'harfbuzz', 'cairo', 'pango', 'libuv', 'nodejs', 'git', 'openssh', 'gnutls',
  'nettle', 'gmp', 'mpfr', 'libmpc', 'isl', 'xz', 'bzip2', 'zstd', 'lz4', 'libarchive', 'cmake',
  'ninja', 'meson', 'pkg-config', 'autoconf', 'automake', 'libtool', 'gettext', 'texinfo',
  'util-linux', 'systemd', 'dbus', 'libcap', 'acl', 'attr', 'boost', 'icu', 'llvm', 'protobuf',
  'grpc', 'abseil-cpp', 'libevent', 'nghttp2', 'c-ares', 'brotli', 'libidn2', 'libunistring',
  'cabal-fmt', 'ghc', 'rustc', 'cargo', 'go', 'jq', 'ripgrep', 'fd', 'tmux', 'vim', 'emacs',
]
const WORDS = [
  'main', 'util', 'parse', 'lexer', 'buffer', 'hash', 'list', 'io', 'net', 'http', 'json', 'xml',
  'str', 'mem', 'log', 'config', 'crypto', 'thread', 'time', 'path', 'file', 'dir', 'map', 'vec',
  'queue', 'heap', 'tree', 'graph', 'cache', 'pool', 'socket', 'stream', 'codec', 'inflate',
  'deflate', 'utf8', 'unicode', 'locale', 'signal', 'proc', 'env', 'args', 'opts', 'error', 'test',
]
const SUFFIX = ['', '', '', '_impl', '_util', '_test', '2', '_posix', '_linux', '_common']
const CHECKS = [
  'for gcc... gcc', 'whether the C compiler works... yes', 'for C compiler default output file name... a.out',
  'for suffix of executables... ', 'whether we are cross compiling... no', 'for suffix of object files... o',
  'whether we are using the GNU C compiler... yes', 'whether gcc accepts -g... yes',
  'for gcc option to accept ISO C89... none needed', 'how to run the C preprocessor... gcc -E',
  'for grep that handles long lines and -e... /nix/store/GREP/bin/grep', 'for egrep... /nix/store/GREP/bin/grep -E',
  'for ANSI C header files... yes', 'for sys/types.h... yes', 'for sys/stat.h... yes', 'for stdlib.h... yes',
  'for string.h... yes', 'for memory.h... yes', 'for strings.h... yes', 'for inttypes.h... yes',
  'for stdint.h... yes', 'for unistd.h... yes', 'minix/config.h usability... no', 'minix/config.h presence... no',
  'for minix/config.h... no', 'whether it is safe to define __EXTENSIONS__... yes', 'for a BSD-compatible install... /nix/store/COREUTILS/bin/install -c',
  'whether build environment is sane... yes', 'for a thread-safe mkdir -p... /nix/store/COREUTILS/bin/mkdir -p',
  'for gawk... gawk', 'whether make sets $(MAKE)... yes', 'whether make supports nested variables... yes',
  'build system type... x86_64-unknown-linux-gnu', 'host system type... x86_64-unknown-linux-gnu',
  'for pthread_create in -lpthread... yes', 'for dlopen in -ldl... yes', 'for zlib.h... yes',
  'for inflateEnd in -lz... yes', 'for library containing clock_gettime... none required',
  'whether byte ordering is bigendian... no', 'size of long... 8', 'size of void *... 8',
  'for working alloca.h... yes', 'for alloca... yes', 'for mmap... yes', 'for iconv... yes',
  'for working iconv... yes', 'for nl_langinfo and CODESET... yes', 'whether NLS is requested... yes',
  'for msgfmt... /nix/store/GETTEXT/bin/msgfmt', 'whether the -Werror option is usable... yes',
  'for simple visibility declarations... yes', 'whether ld supports -Wl,--version-script... yes',
  'for ld used by gcc... /nix/store/BINUTILS/bin/ld', 'if the linker is GNU ld... yes',
  'for shared library run path origin... done', 'whether to build shared libraries... yes',
  'whether to build static libraries... no', 'for sysroot... no', 'for a working dd... /nix/store/COREUTILS/bin/dd',
]
const CMAKE_LINES = [
  '-- The C compiler identification is GNU 13.2.0', '-- The CXX compiler identification is GNU 13.2.0',
  '-- Detecting C compiler ABI info', '-- Detecting C compiler ABI info - done',
  '-- Check for working C compiler: /nix/store/GCCWRAP/bin/gcc - skipped', '-- Detecting C compile features',
  '-- Detecting C compile features - done', '-- Looking for pthread.h', '-- Looking for pthread.h - found',
  '-- Performing Test CMAKE_HAVE_LIBC_PTHREAD', '-- Performing Test CMAKE_HAVE_LIBC_PTHREAD - Success',
  '-- Found Threads: TRUE', '-- Found ZLIB: /nix/store/ZLIB/lib/libz.so (found version "1.3")',
  '-- Found PkgConfig: /nix/store/PKGCONFIG/bin/pkg-config (found version "0.29.2")',
  '-- Checking for module \'libffi\'', '--   Found libffi, version 3.4.4',
]
const WARN_KINDS = [
  ['unused variable', '-Wunused-variable'],
  ['implicit declaration of function', '-Wimplicit-function-declaration'],
  ['comparison of integer expressions of different signedness', '-Wsign-compare'],
  ['this statement may fall through', '-Wimplicit-fallthrough='],
  ['format specifies type \'int\' but the argument has type \'long\'', '-Wformat='],
  ['\'strncpy\' output may be truncated copying 64 bytes from a string of length 255', '-Wstringop-truncation'],
  ['unused parameter', '-Wunused-parameter'],
  ['variable set but not used', '-Wunused-but-set-variable'],
]
const UTF8_BITS = [
  'é', '€', 'ü', 'ñ', 'ß', '«é»', '日本語', 'Ωmega', '🎉', '✔', '✓', '✗', '⚠', '📦', '🚀', '—', '…',
  'naïve café', 'Größe', 'prix: 12,50 €', 'Ελληνικά', 'русский', '中文测试', 'emoji 👍🏽',
]
const TEST_NAMES = [
  'parses empty input', 'handles UTF-8 filenames', 'round-trips JSON', 'rejects invalid headers',
  'streams large files', 'decodes base64', 'sorts unicode keys', 'respects timeouts', 'follows redirects',
  'escapes HTML entities', 'normalises paths', 'computes SHA-256', 'reads gzip members', 'handles EINTR',
]

function nix32(r, n) {
  let s = ''
  for (let i = 0; i < n; i++) s += NIX32[r.next() & 31]
  return s
}

function version(r) {
  const major = r.range(0, 12)
  return r.chance(0.3) ? `${major}.${r.range(0, 30)}` : `${major}.${r.range(0, 30)}.${r.range(0, 20)}`
}

function makePools(r) {
  const pkgs = []
  for (let i = 0; i < 400; i++) {
    const name = r.pick(PKG_NAMES)
    const ver = version(r)
    const nv = `${name}-${ver}`
    pkgs.push({
      name,
      nv,
      out: `/nix/store/${nix32(r, 32)}-${nv}`,
      drv: `/nix/store/${nix32(r, 32)}-${nv}.drv`,
      src: `/nix/store/${nix32(r, 32)}-${nv}.tar.${r.pick(['gz', 'xz', 'bz2', 'zst'])}`,
      dev: r.chance(0.4) ? `/nix/store/${nix32(r, 32)}-${nv}-dev` : null,
    })
  }
  const deps = []
  for (let i = 0; i < 300; i++) deps.push(`/nix/store/${nix32(r, 32)}-${r.pick(PKG_NAMES)}-${version(r)}`)
  const tool = (n) => `/nix/store/${nix32(r, 32)}-${n}`
  const tools = {
    GREP: tool('gnugrep-3.11'), COREUTILS: tool('coreutils-9.4'), GETTEXT: tool('gettext-0.21.1'),
    BINUTILS: tool('binutils-2.40'), GCCWRAP: tool('gcc-wrapper-13.2.0'), ZLIB: tool('zlib-1.3'),
    PKGCONFIG: tool('pkg-config-wrapper-0.29.2'), BASH: tool('bash-5.2p26'), PY: tool('python3-3.11.8'),
    PERL: tool('perl-5.38.2'), PATCHELF: tool('patchelf-0.15.0'),
  }
  const fill = (s) => s.replace(/\/nix\/store\/([A-Z]+)/g, (_, k) => tools[k])
  return { pkgs, deps, tools, checks: CHECKS.map(fill), cmake: CMAKE_LINES.map(fill) }
}

// ───────────────────────────── output ─────────────────────────────

class Out {
  /**
   * @param fd      output file descriptor
   * @param limit   exact size in bytes
   * @param cutByte byte to cut at when the limit is reached (LF for line flavours, space otherwise)
   * @param pad     (n) => string of exactly n bytes appended after the cut
   */
  constructor(fd, limit, cutByte, pad) {
    this.fd = fd
    this.limit = limit
    this.cutByte = cutByte
    this.pad = pad
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES)
    this.pos = 0
    this.written = 0
    this.done = limit === 0
  }
  push(s) {
    if (this.done) return
    // a UTF-16 unit never takes more than 3 UTF-8 bytes
    if (this.pos + s.length * 3 > this.buf.length) {
      this.flush()
      if (this.done) return
      if (s.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafe(s.length * 3)
    }
    this.pos += this.buf.utf8Write(s, this.pos)
  }
  flush() {
    if (this.done || this.pos === 0) return
    const buf = this.buf.subarray(0, this.pos)
    this.pos = 0
    const room = this.limit - this.written
    if (buf.length < room) {
      this.writeAll(buf)
      return
    }
    // last chunk: cut at a safe byte, then pad to exactly `limit`
    let cut = room > 0 ? buf.lastIndexOf(this.cutByte, room - 1) + 1 : 0
    if (cut <= 0) cut = 0
    this.writeAll(buf.subarray(0, cut))
    const n = room - cut
    if (n > 0) {
      const p = Buffer.from(this.pad(n), 'utf8')
      if (p.length !== n) throw new Error(`internal: pad(${n}) gave ${p.length} bytes`)
      this.writeAll(p)
    }
    this.done = true
  }
  /** Called when the generator has nothing more; pads if the content ran short (never, in practice). */
  finish() {
    this.flush()
    if (!this.done) {
      const n = this.limit - this.written
      if (n > 0) this.writeAll(Buffer.from(this.pad(n), 'utf8'))
      this.done = true
    }
  }
  writeAll(buf) {
    let off = 0
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off)
    this.written += buf.length
  }
}

function padLines(n) {
  // a filler line (or several, if n is huge) of exactly n bytes, ending in LF
  if (n === 1) return '\n'
  const body = '# end of generated corpus (filler) '
  let s = ''
  while (n - s.length > 4097) s += body.padEnd(4096, '.') + '\n'
  const rest = n - s.length
  return s + (body + '.'.repeat(Math.max(0, rest))).slice(0, rest - 1) + '\n'
}

function padJson(n) {
  // filler as valid internal-json msg lines where possible
  const head = '@nix {"action":"msg","level":7,"msg":"'
  const tail = '"}\n'
  const min = head.length + tail.length
  let s = ''
  while (n - s.length > 4096 + min) s += head + 'x'.repeat(4096) + tail
  const rest = n - s.length
  if (rest >= min) return s + head + 'x'.repeat(rest - min) + tail
  return s + padLines(rest)
}

const padText = (n) => 'x'.repeat(n)

// ───────────────────────────── build-log content ─────────────────────────────
//
// A build is produced through a sink with these operations; each flavour renders them:
//   nest(title, prio)  a stdenv header: legacy ESC[<prio>p title LF; modern: title LF
//   close()            legacy ESC[q (no LF); modern: nothing
//   line(text)         text LF (text may carry SGR, CR progress)
//   flag(kind, text)   kind 'e' / 'w': legacy ESC[e / ESC[w then text LF; modern: text LF
//   cmd(text)          make's command echo: legacy ESC[3s ESC[a text ESC[b LF (text may hold LFs)
//   enter(text)        make's Entering directory: legacy ESC[p text LF; modern: text LF
//   target(name)       make's per-target nest: legacy ESC[pbuilding name LF; modern: nothing
//   phase(name, hdr)   a stdenv phase: legacy = nest(hdr); modern = @nix setPhase in one of 3 spellings
//   endPhase()         legacy ESC[q; modern nothing

const PHASES = [
  ['unpackPhase', 'unpacking sources'],
  ['patchPhase', 'patching sources'],
  ['configurePhase', 'configuring'],
  ['buildPhase', 'building'],
  ['checkPhase', 'running tests'],
  ['installPhase', 'installing'],
  ['fixupPhase', 'post-installation fixup'],
  ['installCheckPhase', 'running install tests'],
]

function srcFile(r, ext) {
  return `${r.pick(WORDS)}${r.pick(SUFFIX)}.${ext}`
}

function gccDiag(r, file, kind) {
  const ln = r.range(1, 3000)
  const col = r.range(1, 80)
  const v = r.pick(['buf', 'len', 'ctx', 'i', 'rc', 'flags', 'opts', 'tmp'])
  if (kind === 'error') {
    return [
      `${file}:${ln}:${col}: ${ESC}[01;31m${ESC}[Kerror: ${ESC}[m${ESC}[K‘${ESC}[01m${ESC}[K${v}${ESC}[m${ESC}[K’ undeclared (first use in this function)`,
      ` ${String(ln).padStart(4)} |   ${v} = ${r.pick(WORDS)}_init(${r.pick(['NULL', '0', '&opts', 'argv[1]'])});`,
      `      |   ${ESC}[01;31m${ESC}[K${'^'.padEnd(v.length, '~')}${ESC}[m${ESC}[K`,
    ]
  }
  const [msg, opt] = r.pick(WARN_KINDS)
  return [
    `${file}:${ln}:${col}: ${ESC}[01;35m${ESC}[Kwarning: ${ESC}[m${ESC}[K${msg} ‘${ESC}[01m${ESC}[K${v}${ESC}[m${ESC}[K’ [${ESC}[01;35m${ESC}[K${opt}${ESC}[m${ESC}[K]`,
    ` ${String(ln).padStart(4)} |     ${r.pick(['int', 'size_t', 'char *', 'unsigned'])} ${v}${r.pick(['', ' = 0', '[64]'])};`,
    `      |     ${' '.repeat(r.range(0, 8))}${ESC}[01;35m${ESC}[K${'^'.padEnd(v.length, '~')}${ESC}[m${ESC}[K`,
  ]
}

function longLine(r, P, pkg, minLen, maxLen) {
  const target = r.range(minLen, maxLen)
  const parts = []
  let len = 0
  const kind = r.int(3)
  if (kind === 0) {
    // a giant link command (libtool / cmake style)
    parts.push(`gcc -shared -fPIC -O2 -Wl,-soname,lib${pkg.name}.so.1 -o .libs/lib${pkg.name}.so.1.0.0`)
    while (len < target) {
      const p = r.chance(0.5) ? ` .libs/${srcFile(r, 'o')}` : r.chance(0.5) ? ` -L${r.pick(P.deps)}/lib` : ` -Wl,-rpath,${r.pick(P.deps)}/lib`
      parts.push(p)
      len += p.length
    }
    return { cmd: true, text: parts.join('') }
  }
  if (kind === 1) {
    // a JSON dump printed by a test
    parts.push('{"results":[')
    while (len < target) {
      const p = `{"name":"${r.pick(TEST_NAMES)}","ok":${r.chance(0.95)},"ms":${r.range(0, 900)},"path":"${r.pick(P.deps)}/share/${r.pick(WORDS)}","note":"${r.pick(UTF8_BITS)}"},`
      parts.push(p)
      len += p.length
    }
    parts.push('{}]}')
    return { cmd: false, text: parts.join('') }
  }
  // a NIX_CFLAGS_COMPILE / PATH style dump
  parts.push('NIX_CFLAGS_COMPILE= -frandom-seed=' + nix32(r, 10))
  while (len < target) {
    const p = ` -isystem ${r.pick(P.deps)}/include`
    parts.push(p)
    len += p.length
  }
  return { cmd: false, text: parts.join('') }
}

function progressSteps(r, pkg) {
  const kind = r.int(3)
  const steps = []
  if (kind === 0) {
    // cmake-ish percent progress collapsed with CR
    let pct = r.range(0, 60)
    const n = r.range(3, 12)
    for (let i = 0; i < n && pct <= 100; i++) {
      steps.push(`[${String(pct).padStart(3)}%] Building C object src/CMakeFiles/${pkg.name}.dir/${srcFile(r, 'c')}.o`)
      pct += r.range(1, 6)
    }
    return { sep: '\r', steps }
  }
  if (kind === 1) {
    // ninja in a pty: \r + ESC[K redraws
    const total = r.range(40, 900)
    let k = r.range(1, total - 20)
    const n = r.range(4, 20)
    for (let i = 0; i < n && k <= total; i++) {
      steps.push(`[${k}/${total}] ${r.pick(['Building C object', 'Building CXX object', 'Linking C shared library', 'Generating'])} ${r.pick(WORDS)}/${srcFile(r, 'c')}.o`)
      k += r.range(1, 4)
    }
    return { sep: `\r${ESC}[K`, steps }
  }
  // curl progress meter
  const total = r.range(100, 90000)
  const n = r.range(3, 10)
  for (let i = 1; i <= n; i++) {
    const pct = Math.floor((100 * i) / n)
    const k = Math.floor((total * i) / n)
    steps.push(`${String(pct).padStart(3)} ${String(total).padStart(5)}k  ${String(pct).padStart(3)} ${String(k).padStart(5)}k    0     0  ${r.range(900, 99999)}k      0  0:00:0${r.range(1, 9)} --:--:-- 0:00:0${r.range(1, 9)} ${r.range(900, 99999)}k`)
  }
  return { sep: '\r', steps }
}

/** One nixpkgs stdenv build, through sink S. Returns nothing; S accumulates or writes. */
function genBuild(r, P, S, pkg) {
  const out = pkg.out
  const dir = `/build/${pkg.nv}`
  const phases = [0, 1, 2, 3]
  if (r.chance(0.6)) phases.push(4)
  phases.push(5, 6)
  if (r.chance(0.1)) phases.push(7)
  const failing = r.chance(0.04)
  const style = r.int(10) // 0–5 autotools+make, 6–7 cmake+make (% progress), 8–9 meson/ninja
  S.buildStart(pkg)
  for (const pi of phases) {
    const [phase, header] = PHASES[pi]
    S.phase(phase, header)
    switch (pi) {
      case 0: // unpack
        S.nest(`unpacking source archive ${pkg.src}`, 3)
        S.close()
        S.line(`source root is ${pkg.nv}`)
        S.line(`setting SOURCE_DATE_EPOCH to timestamp ${r.range(1000000000, 1700000000)} of file ${pkg.nv}/${r.pick(['ChangeLog', 'NEWS', 'configure', 'README.md', 'src/main.c'])}`)
        break
      case 1: {
        const n = r.int(4)
        for (let i = 0; i < n; i++) {
          S.nest(`applying patch /nix/store/${nix32(r, 32)}-${r.pick(['fix-build', 'no-werror', 'darwin', 'CVE-2023-' + r.range(1000, 9999), 'musl', 'reproducible'])}.patch`, 3)
          const files = r.range(1, 4)
          for (let j = 0; j < files; j++) {
            S.line(`patching file ${r.pick(['src', 'lib', 'include', 'tests'])}/${srcFile(r, r.pick(['c', 'h', 'am', 'in']))}`)
            if (r.chance(0.3)) S.line(`Hunk #${r.range(1, 4)} succeeded at ${r.range(10, 2000)} (offset ${r.range(1, 40)} lines).`)
          }
          S.close()
        }
        if (r.chance(0.15)) S.flag('w', `substituteStream(): WARNING: pattern '/usr/bin/${r.pick(WORDS)}' doesn't match anything in file 'Makefile.in'`)
        break
      }
      case 2: {
        if (style < 6) {
          S.line(`configure flags: --disable-static --disable-dependency-tracking --prefix=${out}${pkg.dev ? ` --includedir=${pkg.dev}/include` : ''}`)
          const n = r.range(30, 220)
          for (let i = 0; i < n; i++) S.line(`checking ${r.pick(P.checks)}`)
          S.line('configure: creating ./config.status')
          for (const f of ['Makefile', 'src/Makefile', 'lib/Makefile', 'tests/Makefile', 'po/Makefile.in', 'config.h']) S.line(`config.status: creating ${f}`)
          S.line('config.status: executing depfiles commands')
        } else {
          S.line(`cmake flags: -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=${out} -GNinja`)
          const n = r.range(12, 60)
          for (let i = 0; i < n; i++) S.line(r.pick(P.cmake))
          S.line(`-- Configuring done (${r.range(0, 9)}.${r.range(0, 9)}s)`)
          S.line('-- Generating done (0.0s)')
          S.line(`-- Build files have been written to: ${dir}/build`)
        }
        break
      }
      case 3: {
        S.line(`build flags: -j2 SHELL=${P.tools.BASH}/bin/bash`)
        if (style < 6) {
          const dirs = r.range(1, 6)
          for (let d = 0; d < dirs; d++) {
            const sub = r.pick(['src', 'lib', 'libcore', 'tools', 'doc', 'po', 'gnulib/lib'])
            S.enter(`make[${d === 0 ? 1 : 2}]: Entering directory '${dir}/${sub}'`)
            const targets = r.range(3, 40)
            for (let t = 0; t < targets; t++) {
              const c = srcFile(r, 'c')
              const o = c.replace(/\.c$/, '.lo')
              S.target(o)
              if (r.chance(0.5)) {
                S.cmd(`/bin/sh ../libtool  --tag=CC   --mode=compile gcc -DHAVE_CONFIG_H -I. -I.. -I../include  ${pkg.dev ? `-I${pkg.dev}/include ` : ''} -g -O2 -Wall -MT ${o} -MD -MP -MF .deps/${o.replace('.lo', '.Tpo')} -c -o ${o} ${c}`)
                S.line(`libtool: compile:  gcc -DHAVE_CONFIG_H -I. -I.. -I../include -g -O2 -Wall -MT ${o} -MD -MP -MF .deps/${o.replace('.lo', '.Tpo')} -c ${c}  -fPIC -DPIC -o .libs/${o.replace('.lo', '.o')}`)
              } else {
                S.cmd(`gcc -DHAVE_CONFIG_H -I. -I.. \\\n    -g -O2 -Wall -c -o ${o.replace('.lo', '.o')} ${c}`)
              }
              if (r.chance(0.08)) for (const l of gccDiag(r, c, 'warning')) S.line(l)
              if (r.chance(0.02)) {
                const d2 = gccDiag(r, c, 'error')
                S.flag('e', d2[0])
                S.line(d2[1])
                S.line(d2[2])
              }
              S.close()
            }
            if (r.chance(0.02)) {
              const ll = longLine(r, P, pkg, 10 * 1024, 100 * 1024)
              if (ll.cmd) S.cmd(ll.text)
              else S.line(ll.text)
            }
            S.line(`make[${d === 0 ? 1 : 2}]: Leaving directory '${dir}/${sub}'`)
            S.close()
          }
        } else {
          const bursts = r.range(2, 12)
          for (let b = 0; b < bursts; b++) {
            S.progress(progressSteps(r, pkg))
            if (r.chance(0.15)) for (const l of gccDiag(r, `../src/${srcFile(r, 'c')}`, 'warning')) S.line(l)
          }
          if (r.chance(0.03)) {
            const ll = longLine(r, P, pkg, 10 * 1024, 100 * 1024)
            S.line(ll.text)
          }
          S.line(`[${r.range(50, 900)}/${r.range(900, 999)}] Linking C executable ${pkg.name}`)
        }
        if (r.chance(0.1)) S.progress(progressSteps(r, pkg))
        break
      }
      case 4: {
        S.line('check flags: -j2 VERBOSE=y check')
        const n = r.range(5, 80)
        let fails = 0
        for (let i = 0; i < n; i++) {
          const name = r.pick(TEST_NAMES)
          const k = r.int(4)
          if (failing && i === n - 2) {
            fails++
            S.flag('e', `${ESC}[0;31mFAIL${ESC}[m: test-${r.pick(WORDS)} — ${name} ${r.pick(UTF8_BITS)}`)
          } else if (k === 0) S.line(`PASS: test-${r.pick(WORDS)}${r.pick(SUFFIX)}`)
          else if (k === 1) S.line(`  ${ESC}[32m✓${ESC}[39m ${name} ${ESC}[2m(${r.range(0, 400)} ms)${ESC}[22m`)
          else if (k === 2) S.line(`ok ${i + 1} - ${name}: ${r.pick(UTF8_BITS)}`)
          else if (r.chance(0.1)) S.flag('w', `${ESC}[1;33mWARNING${ESC}[0m: ${name} is flaky, retrying ⚠`)
          else S.line(`test ${r.pick(WORDS)}::${r.pick(WORDS)}_${r.pick(WORDS)} ... ${ESC}[32mok${ESC}[0m`)
        }
        if (r.chance(0.02)) {
          const ll = longLine(r, P, pkg, 10 * 1024, 100 * 1024)
          S.line(ll.text)
        }
        S.line('============================================================================')
        S.line(`# TOTAL: ${n}`)
        S.line(`# PASS:  ${n - fails}`)
        S.line(`# FAIL:  ${fails}`)
        S.line('============================================================================')
        break
      }
      case 5: {
        S.line(`install flags: -j2 SHELL=${P.tools.BASH}/bin/bash install`)
        const n = r.range(5, 60)
        for (let i = 0; i < n; i++) {
          if (r.chance(0.5)) S.line(` ${P.tools.COREUTILS}/bin/mkdir -p '${out}/${r.pick(['bin', 'lib', 'share/man/man1', 'share/locale/fr/LC_MESSAGES', 'include'])}'`)
          else S.line(` ${P.tools.COREUTILS}/bin/install -c -m 644 ${srcFile(r, r.pick(['h', 'pc', '1', 'mo']))} '${pkg.dev ?? out}/${r.pick(['include', 'lib/pkgconfig', 'share/man/man1'])}'`)
        }
        break
      }
      case 6: {
        S.line(`shrinking RPATHs of ELF executables and libraries in ${out}`)
        const n = r.range(1, 12)
        for (let i = 0; i < n; i++) S.line(`shrinking ${out}/${r.pick(['bin', 'lib', 'libexec'])}/${r.pick(WORDS)}${r.pick(['', '.so.1.2.0', '-helper'])}`)
        S.line(`checking for references to /build/ in ${out}...`)
        S.line(`gzipping man pages under ${out}/share/man/`)
        S.nest(`stripping (with command strip and flags -S -p) in  ${out}/lib  ${out}/bin`, 1)
        S.close()
        S.line(`patching script interpreter paths in ${out}`)
        if (r.chance(0.5)) S.line(`${out}/bin/${pkg.name}-config: interpreter directive changed from "#!/usr/bin/env ${r.pick(['python3', 'perl', 'bash'])}" to "${r.pick([P.tools.PY + '/bin/python3', P.tools.PERL + '/bin/perl', P.tools.BASH + '/bin/bash'])}"`)
        if (pkg.dev) S.line(`moving ${out}/include to ${pkg.dev}/include`)
        break
      }
      case 7:
        S.line(`installcheck flags: -j2 installcheck`)
        S.line(`${ESC}[1m${pkg.name} --version${ESC}[0m: ${pkg.nv.slice(pkg.name.length + 1)} ✔`)
        break
    }
    if (failing && pi === 4) {
      S.flag('e', `make: *** [Makefile:${r.range(400, 2000)}: check-recursive] Error 1`)
      S.endPhase()
      S.buildEnd(false)
      return
    }
    S.endPhase()
  }
  S.buildEnd(true)
}

// Legacy: writes stdenv/make escapes directly.
class LegacySink {
  constructor(out) {
    this.o = out
  }
  buildStart(pkg) {
    this.o.push(`${ESC}[pbuilding ${pkg.out}\n`)
  }
  buildEnd() {
    this.o.push(`${ESC}[q`)
  }
  phase(_name, header) {
    this.o.push(`${ESC}[p${header}\n`)
  }
  endPhase() {
    this.o.push(`${ESC}[q`)
  }
  nest(title, prio) {
    this.o.push(prio === 1 ? `${ESC}[p${title}\n` : `${ESC}[${prio}p${title}\n`)
  }
  close() {
    this.o.push(`${ESC}[q`)
  }
  line(t) {
    this.o.push(t + '\n')
  }
  flag(k, t) {
    this.o.push(`${ESC}[${k}${t}\n`)
  }
  cmd(t) {
    this.o.push(`${ESC}[3s${ESC}[a${t}${ESC}[b\n`)
  }
  enter(t) {
    this.o.push(`${ESC}[p${t}\n`)
  }
  target(name) {
    this.o.push(`${ESC}[pbuilding ${name}\n`)
  }
  progress({ sep, steps }) {
    this.o.push(steps.join(sep) + '\n')
  }
}

const setPhaseSpaced = (p) => `@nix { "action": "setPhase", "phase": "${p}" }`
const setPhaseCompact = (p) => `@nix {"action":"setPhase","phase":"${p}"}`

// Modern stored build log: plain text + @nix setPhase lines.
class ModernSink {
  constructor(out, r) {
    this.o = out
    this.r = r
    this.spelling = 0
  }
  buildStart() {
    const x = this.r.int(20)
    this.spelling = x < 9 ? 0 : x < 16 ? 1 : 2 // printf form, echo form, compact (remote)
  }
  buildEnd() {}
  phase(name, header) {
    if (this.spelling === 0) this.o.push(`Running phase: ${name}\n${setPhaseSpaced(name)}\n`)
    else if (this.spelling === 1) this.o.push(`${setPhaseSpaced(name)}\n${header}\n`)
    else this.o.push(`Running phase: ${name}\n${setPhaseCompact(name)}\n`)
  }
  endPhase() {}
  nest(title) {
    this.o.push(title + '\n')
  }
  close() {}
  line(t) {
    this.o.push(t + '\n')
  }
  flag(_k, t) {
    this.o.push(t + '\n')
  }
  cmd(t) {
    this.o.push(t + '\n')
  }
  enter(t) {
    this.o.push(t + '\n')
  }
  target() {}
  progress({ sep, steps }) {
    this.o.push(steps.join(sep) + '\n')
  }
}

// Collects one build's lines (as Nix's line splitter would see them: CR applied, one entry per
// LF) and phase events, for the interleaved flavours.
class CollectSink extends ModernSink {
  constructor(r) {
    super(null, r)
    this.items = []
    this.failed = false
    const sink = this
    this.o = {
      push(s) {
        // split on LF, apply CR (variant C: text after the last CR not followed by LF)
        let start = 0
        for (;;) {
          const nl = s.indexOf('\n', start)
          if (nl < 0) break
          let ln = s.slice(start, nl)
          const cr = ln.lastIndexOf('\r')
          if (cr >= 0) ln = ln.slice(cr + 1)
          sink.items.push(ln)
          start = nl + 1
        }
      },
    }
  }
  phase(name, header) {
    if (this.spelling === 1) {
      this.items.push({ phase: name })
      this.items.push(header)
    } else {
      this.items.push(`Running phase: ${name}`)
      this.items.push({ phase: name })
    }
  }
  buildEnd(ok) {
    this.failed = !ok
  }
}

// ───────────────────────────── flavours ─────────────────────────────

function genLegacy(r, P, out) {
  const S = new LegacySink(out)
  while (!out.done) genBuild(r, P, S, r.pick(P.pkgs))
}

function genModern(r, P, out) {
  const S = new ModernSink(out, r)
  while (!out.done) genBuild(r, P, S, r.pick(P.pkgs))
}

function collectBuild(r, P, pkg) {
  const S = new CollectSink(r)
  genBuild(r, P, S, pkg)
  return S
}

/** Picks the session's builds and yields [buildIndex, item] in a plausible interleaving. */
function* interleave(r, builds) {
  const pos = builds.map(() => 0)
  const active = builds.map((_, i) => i)
  // builds start staggered: only the first is running at first
  let running = 1
  while (active.length > 0) {
    if (running < active.length && r.chance(0.02)) running++
    const k = active[r.int(Math.min(running, active.length))]
    const b = builds[k].items
    const burst = r.range(1, 24)
    for (let j = 0; j < burst && pos[k] < b.length; j++) yield [k, b[pos[k]++]]
    if (pos[k] >= b.length) {
      active.splice(active.indexOf(k), 1)
      yield [k, null] // build finished
    }
  }
}

const SGR_ONLY_KEEP = /\x1b\[[0-9;:?<=>]*[ -/]*[@-ln-~]/g // drop every CSI except SGR
const ALL_CSI = /\x1b\[[0-9;:?<=>]*[ -/]*[@-~]/g

function genPrefixed(r, P, out) {
  while (!out.done) {
    const n = r.chance(0.7) ? 3 : r.range(1, 4)
    const pkgs = []
    for (let i = 0; i < n; i++) pkgs.push(r.pick(P.pkgs))
    const tty = r.chance(0.5)
    out.push(`these ${n} derivations will be built:\n`)
    for (const p of pkgs) out.push(`  ${p.drv}\n`)
    if (r.chance(0.5)) {
      const m = r.range(1, 6)
      out.push(`these ${m} paths will be fetched (${r.range(1, 90)}.${r.range(0, 99)} MiB download, ${r.range(90, 400)}.${r.range(0, 99)} MiB unpacked):\n`)
      for (let i = 0; i < m; i++) out.push(`  ${r.pick(P.deps)}\n`)
      for (let i = 0; i < m; i++) out.push(`copying path '${r.pick(P.deps)}' from 'https://cache.nixos.org'...\n`)
    }
    const builds = pkgs.map((p) => collectBuild(r, P, p))
    const prefixes = pkgs.map((p) => (tty ? `${ESC}[2m${p.name}> ${ESC}[0m` : `${p.name}> `))
    const started = pkgs.map(() => false)
    for (const [k, item] of interleave(r, builds)) {
      if (!started[k]) {
        started[k] = true
        out.push(`building '${pkgs[k].drv}'...\n`)
      }
      if (item === null) {
        if (builds[k].failed) {
          out.push(`error: builder for '${pkgs[k].drv}' failed with exit code 2;\n       last 10 log lines:\n`)
          const tail = builds[k].items.filter((x) => typeof x === 'string').slice(-10)
          for (const t of tail) out.push(`       > ${t.replace(ALL_CSI, '')}\n`)
          out.push(`       For full logs, run 'nix log ${pkgs[k].drv}'.\n`)
        }
        continue
      }
      if (typeof item !== 'string') continue // @nix setPhase: consumed by Nix
      const text = item.indexOf(ESC) < 0 ? item : item.replace(tty ? SGR_ONLY_KEEP : ALL_CSI, '')
      out.push(prefixes[k] + text + '\n')
    }
  }
}

function jstr(s) {
  return JSON.stringify(s)
}

class JsonSession {
  constructor(r, out, withParent) {
    this.r = r
    this.out = out
    this.withParent = withParent
    // id = counter + (pid << 32); pid ≥ 2^21 makes ids exceed 2^53 (spec §6.3)
    this.base = BigInt(r.range(2 ** 21, 2 ** 22 - 1)) << 32n
    this.counter = BigInt(r.range(0, 50))
  }
  newId() {
    return (this.base + this.counter++).toString()
  }
  start(id, type, level, text, parent, fields) {
    const f = fields ? `"fields":[${fields.map((x) => (typeof x === 'number' ? String(x) : jstr(x))).join(',')}],` : ''
    const p = this.withParent ? `"parent":${parent ?? 0},` : ''
    this.out.push(`@nix {"action":"start",${f}"id":${id},"level":${level},${p}"text":${jstr(text)},"type":${type}}\n`)
  }
  stop(id) {
    this.out.push(`@nix {"action":"stop","id":${id}}\n`)
  }
  result(id, type, fields) {
    this.out.push(`@nix {"action":"result","fields":[${fields.map((x) => (typeof x === 'number' ? String(x) : jstr(x))).join(',')}],"id":${id},"type":${type}}\n`)
  }
  msg(level, text) {
    this.out.push(`@nix {"action":"msg","level":${level},"msg":${jstr(text)}}\n`)
  }
  errorMsg(text, raw) {
    this.out.push(`@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":${jstr(text)},"raw_msg":${jstr(raw)}}\n`)
  }
}

function genInternalJson(r, P, out) {
  while (!out.done) {
    const J = new JsonSession(r, out, r.chance(0.6))
    const n = r.chance(0.7) ? 3 : r.range(1, 4)
    const pkgs = []
    for (let i = 0; i < n; i++) pkgs.push(r.pick(P.pkgs))
    const evalId = J.newId()
    J.start(evalId, 0, 4, `evaluating derivation 'git+file:///home/user/src/project#packages.x86_64-linux.default'`, 0)
    const files = r.range(2, 30)
    for (let i = 0; i < files; i++) J.msg(4, `evaluating file '${r.pick(P.deps)}/${r.pick(['default.nix', 'lib/attrsets.nix', 'pkgs/top-level/all-packages.nix', 'lib/fixed-points.nix'])}'`)
    J.stop(evalId)
    const realise = J.newId()
    const buildsId = J.newId()
    const copies = J.newId()
    J.start(realise, 102, 0, '', 0)
    J.start(buildsId, 104, 0, '', realise)
    J.start(copies, 103, 0, '', realise)
    J.result(realise, 106, [101, 0])
    J.result(realise, 106, [100, 0])
    const q = J.newId()
    J.start(q, 0, 6, 'querying info about missing paths', 0)
    J.stop(q)
    J.msg(3, `these ${n} derivations will be built:`)
    for (const p of pkgs) J.msg(3, `  ${p.drv}`)
    // substitutions / downloads before the builds
    const subs = r.range(0, 6)
    let done = 0
    for (let i = 0; i < subs; i++) {
      const path = r.pick(P.deps)
      const hash = path.slice(11, 43)
      const qi = J.newId()
      J.start(qi, 109, 4, `querying info about '${path}' on 'https://cache.nixos.org'`, realise, [path, 'https://cache.nixos.org'])
      const dl = J.newId()
      J.start(dl, 101, 4, `downloading 'https://cache.nixos.org/${hash}.narinfo'`, qi, [`https://cache.nixos.org/${hash}.narinfo`])
      J.stop(dl)
      J.stop(qi)
      const sub = J.newId()
      J.start(sub, 108, 4, `copying path '${path}' from 'https://cache.nixos.org'`, realise, [path, 'https://cache.nixos.org'])
      const cp = J.newId()
      J.start(cp, 100, 3, `copying path '${path}' from 'https://cache.nixos.org'`, sub, [path, 'https://cache.nixos.org', 'local://'])
      const size = r.range(10000, 90000000)
      const steps = r.range(1, 6)
      for (let s = 1; s <= steps; s++) J.result(cp, 105, [Math.floor((size * s) / steps), size, 0, 0])
      J.stop(cp)
      J.stop(sub)
      J.result(copies, 105, [++done, subs, 0, 0])
    }
    const builds = pkgs.map((p) => collectBuild(r, P, p))
    const ids = pkgs.map(() => null)
    let finished = 0
    let since = 0
    for (const [k, item] of interleave(r, builds)) {
      if (ids[k] === null) {
        ids[k] = J.newId()
        J.start(ids[k], 105, 3, `building '${pkgs[k].drv}'`, buildsId, [pkgs[k].drv, '', 1, 1])
        J.result(buildsId, 105, [finished, n, ids.filter((x) => x !== null).length - finished, 0])
      }
      if (item === null) {
        J.stop(ids[k])
        finished++
        J.result(buildsId, 105, [finished, n, ids.filter((x) => x !== null).length - finished, 0])
        if (builds[k].failed) {
          J.errorMsg(
            `\x1b[31;1merror:\x1b[0m builder for '\x1b[35;1m${pkgs[k].drv}\x1b[0m' failed with exit code 2;\n       last 10 log lines:\n       > make: *** [Makefile:1234: check-recursive] Error 1\n       For full logs, run '\x1b[35;1mnix log ${pkgs[k].drv}\x1b[0m'.`,
            `builder for '\x1b[35;1m${pkgs[k].drv}\x1b[0m' failed with exit code 2`,
          )
        }
        continue
      }
      if (typeof item === 'string') J.result(ids[k], 101, [item])
      else J.result(ids[k], 104, [item.phase])
      if (++since >= 40 && r.chance(0.1)) {
        since = 0
        J.result(realise, 106, [r.pick([100, 101]), r.range(0, 40)])
        if (r.chance(0.3)) J.msg(r.pick([1, 2, 5, 6, 7]), r.pick([`\x1b[35;1mwarning:\x1b[0m Git tree '/home/user/src/project' is dirty`, `download buffer is full; consider increasing the 'download-buffer-size' setting`, `acquiring write lock on '/nix/var/nix/temproots/${r.range(1000, 4000000)}'`]))
      }
    }
    if (builds.some((b) => b.failed)) {
      J.errorMsg(
        `\x1b[31;1merror:\x1b[0m build of ${pkgs.map((p) => `'\x1b[35;1m${p.drv}\x1b[0m'`).join(', ')} failed`,
        `build of ${pkgs.map((p) => `'\x1b[35;1m${p.drv}\x1b[0m'`).join(', ')} failed`,
      )
    }
    J.stop(copies)
    J.stop(buildsId)
    J.stop(realise)
  }
}

/** Deterministic GitHub-style timestamps ("2024-05-01T00:00:01.2340000Z") from a ms counter. */
class Clock {
  constructor() {
    this.t = 0
    this.sec = -1
    this.prefix = ''
  }
  advance(ms) {
    this.t += ms
    const sec = Math.floor(this.t / 1000)
    if (sec !== this.sec) {
      this.sec = sec
      this.prefix = new Date(Date.UTC(2024, 4, 1) + sec * 1000).toISOString().slice(0, 20)
    }
    const ms3 = this.t % 1000
    return `${this.prefix}${ms3 < 10 ? '00' : ms3 < 100 ? '0' : ''}${ms3}0000Z`
  }
}

function genPlain(r, P, out) {
  const clock = new Clock()
  const L = (s) => out.push(`${clock.advance(r.int(40))} ${s}\n`)
  while (!out.done) {
    L(`##[group]Run ${r.pick(['actions/checkout@v4', 'actions/setup-node@v4', 'npm ci', 'npm test', 'cargo build --release', 'pytest -q', 'docker build .', 'make -j2'])}`)
    L(`${ESC}[36;1mshell: /usr/bin/bash -e {0}${ESC}[0m`)
    L(`##[endgroup]`)
    const step = r.int(6)
    const n = r.range(20, 400)
    if (step === 0) {
      L('::group::npm ci')
      for (let i = 0; i < n; i++) {
        if (r.chance(0.2)) L(`${ESC}[K${r.pick(['⠋', '⠙', '⠹', '⠸', '⠼'])} reify:${r.pick(WORDS)}: ${ESC}[2mtiming${ESC}[22m reifyNode:node_modules/${r.pick(WORDS)}\r${ESC}[K${r.pick(['⠋', '⠙'])} reify:${r.pick(WORDS)}: ${ESC}[32;40mhttp${ESC}[0m fetch GET 200 https://registry.npmjs.org/${r.pick(WORDS)} ${r.range(5, 900)}ms`)
        else if (r.chance(0.1)) L(`npm ${ESC}[33mWARN${ESC}[39m deprecated ${r.pick(WORDS)}@${version(r)}: This package is no longer supported.`)
        else L(`added ${r.range(1, 900)} packages, and audited ${r.range(900, 2000)} packages in ${r.range(1, 59)}s`)
      }
      L('::endgroup::')
    } else if (step === 1) {
      for (let i = 0; i < n; i++) {
        if (r.chance(0.85)) L(`  ${ESC}[32m✓${ESC}[39m ${r.pick(TEST_NAMES)} ${ESC}[2m(${r.range(0, 300)} ms)${ESC}[22m ${r.chance(0.1) ? r.pick(UTF8_BITS) : ''}`)
        else if (r.chance(0.3)) L(`  ${ESC}[31m✕${ESC}[39m ${r.pick(TEST_NAMES)} ${ESC}[2m(${r.range(0, 300)} ms)${ESC}[22m`)
        else L(`${ESC}[1m${ESC}[32m PASS ${ESC}[39m${ESC}[22m src/${r.pick(WORDS)}.test.ts`)
      }
      L(`${ESC}[1mTests:${ESC}[22m       ${ESC}[1m${ESC}[32m${n} passed${ESC}[39m${ESC}[22m, ${n} total`)
      if (r.chance(0.2)) L(`::error file=src/${r.pick(WORDS)}.ts,line=${r.range(1, 500)},col=${r.range(1, 80)}::Expected ${r.range(1, 9)} but received ${r.range(10, 99)}`)
    } else if (step === 2) {
      for (let i = 0; i < n; i++) {
        if (r.chance(0.9)) L(`${ESC}[1m${ESC}[32m   Compiling${ESC}[0m ${r.pick(WORDS)}-${r.pick(WORDS)} v${version(r)}`)
        else L(`${ESC}[1m${ESC}[33mwarning${ESC}[0m${ESC}[1m: unused import: \`${r.pick(WORDS)}::${r.pick(WORDS)}\`${ESC}[0m`)
        if (r.chance(0.05)) L(`${ESC}[1m${ESC}[36m    Building${ESC}[0m [${'='.repeat(r.range(1, 20))}>${' '.repeat(r.range(1, 20))}] ${r.range(1, 400)}/${r.range(400, 500)}: ${r.pick(WORDS)}\r${ESC}[K`)
      }
      L(`${ESC}[1m${ESC}[32m    Finished${ESC}[0m \`release\` profile [optimized] target(s) in ${r.range(1, 300)}.${r.range(10, 99)}s`)
    } else if (step === 3) {
      L('::group::pytest')
      for (let i = 0; i < n; i++) L(`tests/test_${r.pick(WORDS)}.py::test_${r.pick(WORDS)}_${r.pick(WORDS)} ${r.chance(0.95) ? `${ESC}[32mPASSED${ESC}[0m` : `${ESC}[31mFAILED${ESC}[0m`}${' '.repeat(r.range(1, 20))}[${String(Math.floor((100 * i) / n)).padStart(3)}%]`)
      L(`${ESC}[32m===== ${n} passed in ${r.range(1, 99)}.${r.range(10, 99)}s =====${ESC}[0m`)
      L('::endgroup::')
    } else if (step === 4) {
      for (let i = 0; i < n; i++) {
        const layer = r.range(1, 12)
        if (r.chance(0.3)) {
          const steps = []
          for (let k = 1; k <= 5; k++) steps.push(`#${layer} sha256:${nix32(r, 12)} ${r.range(1, 40)}.${r.range(0, 9)}MB / ${r.range(40, 90)}.0MB ${k}.${r.range(0, 9)}s`)
          L(steps.join('\r'))
        } else L(`#${layer} [${r.range(1, 6)}/6] RUN apt-get install -y ${r.pick(WORDS)} ${r.pick(WORDS)}`)
        if (r.chance(0.05)) L(`#${layer} ${r.range(0, 9)}.${r.range(100, 999)} Setting up ${r.pick(WORDS)} (${version(r)}) ... ${r.pick(UTF8_BITS)}`)
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (r.chance(0.9)) L(`gcc -O2 -Wall -c -o build/${r.pick(WORDS)}.o src/${srcFile(r, 'c')}`)
        else for (const l of gccDiag(r, `src/${srcFile(r, 'c')}`, 'warning')) L(l)
        if (r.chance(0.0003)) L(longLine(r, P, P.pkgs[0], 10 * 1024, 100 * 1024).text)
      }
      if (r.chance(0.2)) L(`::warning file=src/${r.pick(WORDS)}.c,line=${r.range(1, 900)}::${r.pick(WARN_KINDS)[0]}`)
    }
  }
}

function genSingleLine(r, P, out) {
  // No LF and no CR anywhere: one line, mixed text / SGR / UTF-8 / store paths. Built from a pool
  // of 4096 random segments (~0.3 KiB each) picked at random, which keeps it fast.
  const pool = []
  for (let i = 0; i < 4096; i++) {
    let s = ''
    while (s.length < 256) {
      const k = r.int(8)
      if (k === 0) s += `${ESC}[${r.pick(['1', '31', '32', '33;1', '35;1', '0', '2', '38;5;208', '38;2;255;128;0', '4:3'])}m`
      else if (k === 1) s += `${r.pick(P.deps)}/${r.pick(['bin', 'lib', 'share'])}/${r.pick(WORDS)} `
      else if (k === 2) s += `${r.pick(UTF8_BITS)} `
      else if (k === 3) s += `${ESC}[0m `
      else s += `${r.pick(WORDS)} ${r.pick(WORDS)}${r.pick(SUFFIX)} ${r.range(0, 99999)} `
    }
    pool.push(s)
  }
  while (!out.done) out.push(pool[r.next() & 4095])
}

const GENERATORS = {
  legacy: [genLegacy, 10, padLines],
  modern: [genModern, 10, padLines],
  prefixed: [genPrefixed, 10, padLines],
  'internal-json': [genInternalJson, 10, padJson],
  plain: [genPlain, 10, padLines],
  'single-line': [genSingleLine, 0x20, padText],
}

/** Writes `size` bytes of `flavour` to `file` (atomically: to file.tmp, then renamed). */
export function generate({ flavour, size, out: file, seed = 1 }) {
  const g = GENERATORS[flavour]
  if (!g) throw new Error(`unknown flavour '${flavour}' (one of ${FLAVOURS.join(', ')})`)
  const [fn, cutByte, pad] = g
  const tmp = `${file}.tmp-${process.pid}`
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const fd = fs.openSync(tmp, 'w')
  try {
    const r = new Rng(seedOf(`${flavour}/${seed}/v${GENERATOR_VERSION}`))
    const P = makePools(new Rng(seedOf(`pools/${seed}`)))
    const out = new Out(fd, size, cutByte, pad)
    fn(r, P, out)
    out.finish()
    if (out.written !== size) throw new Error(`internal: wrote ${out.written} bytes, wanted ${size}`)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

function main() {
  const { values } = parseArgs({
    options: {
      flavour: { type: 'string' },
      size: { type: 'string', default: '200M' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help || !values.flavour || !values.out) {
    process.stdout.write(`Usage: node bench/corpus.mjs --flavour ${FLAVOURS.join('|')} [--size 200M] --out FILE [--seed N]\n`)
    process.exit(values.help ? 0 : 2)
  }
  const size = parseSize(values.size)
  const t0 = process.hrtime.bigint()
  generate({ flavour: values.flavour, size, out: values.out, seed: Number(values.seed) })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  process.stderr.write(`${values.out}: ${values.flavour}, ${size} bytes in ${s.toFixed(2)} s (${(size / 1048576 / s).toFixed(0)} MiB/s)\n`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
