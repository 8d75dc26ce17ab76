import t from 'tap'
import ansiRegex from 'ansi-regex'
import { CleanStream, LogDecoderStream, cleanBuffer, decode, type LogEvent } from '../dist/index.js'
import { BuildLogFramer } from '../dist/dialects/build-log-framer.js'
import { CleanWriter } from '../dist/render/clean.js'
import { BuildLogDecoder } from '../dist/dialects/build-log.js'
import { loadNativePassThrough } from '../dist/dialects/native-pass-through.js'
import { sample } from './helpers/fixtures.js'
import { invariantProblems } from './helpers/events.js'
import { fuzzInput, prng, randomChunks } from './helpers/random.js'

const SGR_ONLY = /^\x1b\[[0-9;:]*m$/

function checkCleanInvariants(t: Tap.Test, out: Buffer, color: boolean, label: string): void {
  // As a UTF-8 terminal reads it: a lone 0x9B byte is invalid UTF-8 (shown as U+FFFD), not a C1 CSI.
  const s = out.toString('utf8')
  if (/[\u0080-\u009f]/.test(s)) t.fail(`${label}: C1 control`)
  if (!color) {
    if (s.includes('\x1b')) t.fail(`${label}: ESC in plain output`)
    return
  }
  // Every escape left must be a plain SGR: remove SGR matches, then no ESC may remain.
  for (const m of s.matchAll(ansiRegex())) if (!SGR_ONLY.test(m[0])) t.fail(`${label}: non-SGR sequence ${JSON.stringify(m[0])}`)
  if (s.replace(/\x1b\[[0-9;:]*m/g, '').includes('\x1b')) t.fail(`${label}: stray ESC`)
  if (s.includes('\x07')) t.fail(`${label}: BEL`)
}

function checkBalanced(t: Tap.Test, events: LogEvent[], label: string): void {
  const problems = invariantProblems(events)
  if (problems.length) t.fail(`${label}: ${problems.slice(0, 3).join('; ')}`)
}

async function streamed(stream: NodeJS.ReadWriteStream, chunks: Buffer[]): Promise<unknown[]> {
  const out: unknown[] = []
  stream.on('data', (d: unknown) => out.push(d))
  const done = new Promise((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  for (const c of chunks) stream.write(c)
  stream.end()
  await done
  return out
}

const serialise = (events: LogEvent[]): string => JSON.stringify(events, (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))

t.test('random input: never throws, invariants hold, chunking does not matter', async (t) => {
  const rnd = prng(20261129)
  for (let n = 0; n < 600; n++) {
    const input = fuzzInput(rnd, 1 + rnd(60))
    const label = `case ${n} ${JSON.stringify(input.toString('latin1'))}`
    for (const color of [true, false]) {
      const whole = cleanBuffer(input, { color })
      checkCleanInvariants(t, whole, color, label)
      const parts = (await streamed(new CleanStream({ color }), randomChunks(rnd, input))) as Buffer[]
      if (!Buffer.concat(parts).equals(whole)) t.fail(`${label}: clean (${color}) depends on chunking`)
    }
    const events = decode(input)
    checkBalanced(t, events, label)
    const streamedEvents = (await streamed(new LogDecoderStream(), randomChunks(rnd, input))) as LogEvent[]
    if (serialise(streamedEvents) !== serialise(events)) t.fail(`${label}: events depend on chunking`)
  }
  t.pass('600 random logs')
})

t.test('mutated real logs', async (t) => {
  const rnd = prng(7)
  const originals = [sample('synthetic-legacy-stdenv-nesting.log'), sample('nom-integration-fail.stderr.json'), sample('nom-integration-standard.stderr.json')]
  for (let n = 0; n < 60; n++) {
    const base = Buffer.from(originals[n % originals.length]!)
    for (let k = 0; k < 1 + rnd(20); k++) {
      const at = rnd(base.length)
      switch (rnd(3)) {
        case 0: base[at] = rnd(256); break
        case 1: base[at] = 0x1b; break
        default: base[at] = [0x0a, 0x0d, 0x5b, 0x07][rnd(4)]!
      }
    }
    for (const color of [true, false]) checkCleanInvariants(t, cleanBuffer(base, { color }), color, `mutation ${n}`)
    checkBalanced(t, decode(base), `mutation ${n}`)
  }
  t.pass('60 mutated logs')
})

// Framers use the C run for small chunks only once the addon is loaded (it costs ~3 ms to load);
// the inputs below are small, and the comparisons with the JavaScript path are about the C run.
loadNativePassThrough()

// The pass-through fast path (BuildLogFramer.runNatively) settles whole lines and their escapes
// itself; it must frame exactly as the byte-by-byte path does, whatever the chunking.
class RecordingCleanWriter extends CleanWriter {
  override readonly wantsStructure = true
  readonly structure: string[] = []
  override open(priority: number, offset: number): void {
    this.structure.push(`open ${priority} @${offset}`)
  }
  override close(offset: number): void {
    this.structure.push(`close @${offset}`)
  }
  override diagnostic(code: string, _message: string, offset: number): void {
    this.structure.push(`${code} @${offset}`)
  }
}
class LineByLineCleanWriter extends RecordingCleanWriter {
  override readonly passThrough = false
}
/** As nixlog-clean's writer is: it takes no structure, so pass-through does not record any. */
class StructureBlindCleanWriter extends RecordingCleanWriter {
  override readonly wantsStructure = false
}

function framed(Writer: typeof RecordingCleanWriter, color: boolean, chunks: Buffer[], scratchInput = false): { out: Buffer; structure: string[] } {
  const writer = new Writer({ scratchInput })
  const framer = new BuildLogFramer(writer, { keepSgr: color })
  const out: Buffer[] = []
  for (const chunk of chunks) {
    // With scratchInput the writer overwrites the chunk: give it a copy, and copy its output out.
    framer.write(scratchInput ? Buffer.from(chunk) : chunk)
    out.push(...writer.takePieces().map((piece) => Buffer.from(piece)))
  }
  framer.end()
  out.push(...writer.takePieces())
  return { out: Buffer.concat(out), structure: writer.structure }
}

t.test('the pass-through fast path frames exactly as the line-by-line path', async (t) => {
  const rnd = prng(424242)
  const inputs: Buffer[] = []
  for (let n = 0; n < 800; n++) inputs.push(fuzzInput(rnd, 1 + rnd(80)))
  inputs.push(sample('synthetic-legacy-stdenv-nesting.log'))
  // Lines around MAX_LINE_BYTES, with escapes inside, in one chunk: the fast path must hand them over.
  const long = Buffer.alloc(1024 * 1024 + 100, 0x61)
  long.write('\x1b[31m', 1000, 'latin1')
  long.write('\x1b[e', 500_000, 'latin1')
  inputs.push(Buffer.concat([Buffer.from('\x1b[pheader\n'), long, Buffer.from('\n\x1b[qnext\r\nline\x1b[K\n')]))
  // An escape across MAX_LINE_BYTES from the run's start: the run must not take the line past it.
  const across = Buffer.alloc(1024 * 1024 + 2, 0x62)
  across.write('\x1b[0m', 1024 * 1024 - 2, 'latin1')
  inputs.push(Buffer.concat([Buffer.from('\x1b[pheader\n'), across, Buffer.from('\nnext\n')]))
  // Past the native path's limits in one chunk: more sections than its operation list holds, more
  // removed escapes or kept SGR in a line than it tracks.
  inputs.push(Buffer.from('\x1b[3pHead\nbody \x1b[1mline\x1b[0m\n\x1b[q'.repeat(3000), 'latin1'))
  inputs.push(Buffer.from(`${'x\x1b[K'.repeat(300)}\ncut\n${'\x1b[31my'.repeat(300)}\rover\n${'\x1b[32m'.repeat(300)}z\r\x1b[qtail\n`, 'latin1'))
  // Lines the sink must see in the middle of runs, inside newline groups and after escapes; a
  // character split by an escape.
  // Timestamped (a downloaded GitHub Actions log): markers after the stamp, near misses that are text.
  const stamped = ['2024-05-01T00:00:00.0230000Z ##[group]g\n', '2024-05-01T00:00:01Z ::endgroup::\n', '2024-05-01T00:00:02.5Z travis_fold:end:x\n', '2024-05-01T00:00:03.0230000Z @nix {"action":"setPhase","phase":"p"}\n', '2024-05-01T00:00:04.0230000Z plain\n', '2024-05-01T00:00:05.0000000000Z ::group::ten digits\n', '2024-05-01T00:00:06.Z ::group::no digits\n', '2024-05-01 00:00:07Z ::group::space\n', 'x 2024-05-01T00:00:08Z ::group::mid-line\n', '2024-05-01T00:00:09Z\x1b[31m ::group::sgr\n', '2024-05-01T00:00:10Z :\x1b[31m:group::sgr in the prefix\n',
    // escapes between the stamp and the text: CSI the text loses (markers behind them are markers), and others
    '2024-05-01T00:00:11Z \x1b[36;1m##[group]sgr before\n', '2024-05-01T00:00:12Z \x1b[1m\x1b[31m::group::two sgr\n', '2024-05-01T00:00:13Z \x1b[36;1mshell: text\x1b[0m\n',
    '2024-05-01T00:00:14Z \x1b[K::endgroup::\n', '2024-05-01T00:00:15Z \x1b[1m:\x1b[0m:group::sgr both sides\n', '2024-05-01T00:00:16Z \x1b[e::group::legacy code\n',
    '2024-05-01T00:00:17Z \x1b]0;t\x07::group::osc\n', '2024-05-01T00:00:18Z \x1b(B::group::charset\n', '2024-05-01T00:00:19Z \x1b[?25l::group::private\n', '2024-05-01T00:00:20Z \x1b[31m@nix {"action":"setPhase","phase":"q"}\n',
    '2024-05-01T00:00:21Z \x1b[31msection_start:1:s\r\x1b[0Kheader\n', '2024-05-01T00:00:22Z \x1b[31m', '2024-05-01T00:00:23Z \x1b[31m\rtravis_fold:start:x\n']
  const mustSee = ['@nix {"action":"setPhase","phase":"buildPhase"}\n', '::group::g\n', '##[group]g\n', 'section_end:1:x\r\x1b[0K\n', 'travis_fold:end:x\n', '@nix {bad\n', ...stamped]
  for (let n = 0; n < 40; n++) {
    const lines: string[] = []
    for (let k = 0; k < 60; k++) lines.push(['plain line\n', '\x1b[pHead\n', '\x1b[q', '\x1b[a', '\x1b[b', '\x1b[31m', '50%\r', 'caf\xc3\x1b[31m\xa9\n', '\x1b[e', 'x\r\x1b[w', mustSee[rnd(mustSee.length)]!][rnd(11)]!)
    inputs.push(Buffer.from(lines.join(''), 'latin1'))
  }
  let checked = 0
  for (const [n, input] of inputs.entries()) {
    const label = `input ${n} ${JSON.stringify(input.subarray(0, 300).toString('latin1'))}`
    for (const color of [true, false]) {
      const reference = framed(LineByLineCleanWriter, color, [input])
      for (const chunks of [[input], randomChunks(rnd, input), [input.subarray(0, rnd(input.length + 1)), input.subarray(0)].map((c, i, a) => (i === 1 ? input.subarray(a[0]!.length) : c))]) {
        const fast = framed(RecordingCleanWriter, color, chunks)
        const slow = framed(LineByLineCleanWriter, color, chunks)
        const inPlace = framed(RecordingCleanWriter, color, chunks, true)
        const blind = framed(StructureBlindCleanWriter, color, chunks, true)
        if (!fast.out.equals(reference.out) || !slow.out.equals(reference.out)) t.fail(`${label}: output differs (color ${color})`)
        else if (!inPlace.out.equals(reference.out)) t.fail(`${label}: output differs when written in place (color ${color})`)
        else if (!blind.out.equals(reference.out)) t.fail(`${label}: output differs without structure (color ${color})`)
        else if (fast.structure.join('\n') !== reference.structure.join('\n')) t.fail(`${label}: structure differs (color ${color})`)
        else checked++
      }
    }
  }
  t.equal(checked, inputs.length * 6, 'every input, both colour modes, three chunkings')
})

// The event decoder takes runs of plain lines as spans (BuildLogDecoder.span) instead of line by
// line, and lines with escapes from the C run's line mode (nativeLines); with both off the framer
// frames every line in JavaScript, which gives the reference.
class LineByLineDecoder extends BuildLogDecoder {
  constructor(...[emit, context, options]: ConstructorParameters<typeof BuildLogDecoder>) {
    super(emit, context, { ...options, nativeLines: false })
  }
}
Object.defineProperty(LineByLineDecoder.prototype, 'span', { value: undefined })
/** Line mode without spans: the C run takes plain lines too. */
class AllNativeLinesDecoder extends BuildLogDecoder {}
Object.defineProperty(AllNativeLinesDecoder.prototype, 'span', { value: undefined })

function decodedBy(Decoder: typeof BuildLogDecoder, input: Buffer, chunks: Buffer[] | number, prefixed: boolean): string {
  const events: LogEvent[] = []
  const decoder = new Decoder((e) => events.push(e), undefined, { prefixed })
  if (typeof chunks === 'number') {
    // Every chunk in the same Buffer object, as from a reading loop: nothing may keep it.
    const scratch = Buffer.alloc(chunks)
    for (let at = 0; at < input.length; at += chunks) {
      const n = input.copy(scratch, 0, at, at + chunks)
      decoder.write(n === chunks ? scratch : scratch.subarray(0, n))
      scratch.fill(0x78)
    }
  } else for (const chunk of chunks) decoder.write(chunk)
  decoder.end()
  return serialise(events)
}

t.test('plain-line spans give the events of the line-by-line path', async (t) => {
  const rnd = prng(31337)
  const inputs: Buffer[] = []
  for (let n = 0; n < 600; n++) inputs.push(fuzzInput(rnd, 1 + rnd(80)))
  // Whole plain lines in runs (what spans are for), between the fuzz pieces.
  for (let n = 0; n < 200; n++) {
    const parts = [fuzzInput(rnd, rnd(10))]
    for (let k = rnd(30); k > 0; k--) parts.push(Buffer.from(['plain line ' + k, 'hello> built ' + k, 'Running phase: checkPhase', '@nix {"action":"setPhase","phase":"p' + k + '"}', 'error: failed ' + k, '::group::g' + k][rnd(6)]! + '\n'))
    parts.push(fuzzInput(rnd, rnd(10)))
    inputs.push(Buffer.concat(parts))
  }
  inputs.push(sample('synthetic-legacy-stdenv-nesting.log'))
  // A plain line longer than MAX_LINE_BYTES in one chunk: a span must not take it whole.
  inputs.push(Buffer.concat([Buffer.from('a\n'), Buffer.alloc(1024 * 1024 + 10, 0x62), Buffer.from('\nc\n')]))
  // Newline groups as patched make writes commands (`ESC[a` cmd `\` LF … `ESC[b` LF), and what
  // line mode must leave to the ordinary path around them: a b before more text, a CR inside, a
  // group a close ends, an empty group, SGR before the group.
  const newlineGroups = ['\x1b[3s\x1b[agcc -c \\\n    -o x.o x.c\x1b[b\n', '\x1b[a\x1b[b\n', '\x1b[ax\ny\x1b[b z\n', '\x1b[ax\r\ny\x1b[b\n', '\x1b[ax\ny\x1b[q', '\x1b[a\nlead\x1b[b\n', '\x1b[1m\x1b[acc \x1b[0m\\\n y\x1b[b\n', '\x1b[a\x1b[ecc\n y\x1b[b\n', 'x\x1b[a\ny\x1b[b\n']
  for (let n = 0; n < 100; n++) {
    const lines: string[] = []
    for (let k = 20 + rnd(60); k > 0; k--) lines.push(rnd(2) === 0 ? newlineGroups[rnd(newlineGroups.length)]! : ['plain line\n', '\x1b[3pHead\n', '\x1b[q', 'built \x1b[1mx\x1b[0m\n'][rnd(4)]!)
    inputs.push(Buffer.from(lines.join(''), 'latin1'))
  }
  // `-L` output as Nix writes it (each line `ESC[2mname> ESC[0m…`), mixed with what line mode must
  // leave to the ordinary path or settle exactly: CRLF, a CR before q, bare CRs, e/w before and
  // after text, removed escapes, newline groups, SGR-only lines, a character split by an escape.
  const lineModePieces = ['\x1b[2mhello> \x1b[0mbuilding\n', 'text\x1b[3pheader\n', 'text\x1b[3s', '\x1b[w\n', '\x1b[2mworld> \x1b[0m\x1b[31merror:\x1b[0m x\n', 'hello> plain\n', '\x1b[2mhello> \x1b[0mRunning phase: buildPhase\n', 'crlf\r\n', 'x\r\x1b[q', '50%\r100%\n', '\x1b[e', 'text\x1b[w', '\x1b[K', '\x1b]0;t\x07', '\x1b[a', '\x1b[b', '\x1b[1m\n', '\x1b[3phead\n', '\x1b[q', '\x1b[2s', 'caf\xc3\x1b[31m\xa9\n', '@nix {"action":"msg","level":0,"msg":"m"}\n', '::group::g\n', '\x1b[2mhello> \x1b[0m\x1b[e\x1b[31mred\n', ...newlineGroups,
    // bare CRs (progress redraws): what goes, what stays (kept SGR, an escape before any kept byte), what a line start is after one
    '[1/3] a.o\r\x1b[K[2/3] b.o\r\x1b[K[3/3] c.o\n', '\x1b[Kx\r@nix {"action":"msg","level":0,"msg":"m"}\n', '\x1b[31mx\r@nix {"action":"msg","level":0,"msg":"m"}\n',
    '\x1b[1mbold\x1b[K\r\x1b[Kplain\r\n', 'start\rsection_end:1:x\r\x1b[0K\n', 'section_start:1:s\r\x1b[0Kheader\n', 'tick\r\r\x1b[32mdone\x1b[0m\n',
    // styled prefixes that line mode may put into spans (styled_prefix_line), and near misses it must not
    '\x1b[2mhello> \x1b[mbuilt\n', '\x1b[2mhello> \x1b[0m\n', '\x1b[2mhello> \x1b[0mRunning phase: installPhase\n', `\x1b[2m${'n'.repeat(255)}> \x1b[0mlongest name\n`, `\x1b[2m${'n'.repeat(256)}> \x1b[0mtoo long a name\n`,
    '\x1b[2m.dot> \x1b[0mx\n', '\x1b[2m-dash> \x1b[0mx\n', '\x1b[2mhello>\x1b[0mno space\n', '\x1b[2mhel lo> \x1b[0mx\n', '\x1b[22mhello> \x1b[0mx\n', '\x1b[2mhello> \x1b[1mbold\n',
    '\x1b[2mhello> \x1b[0mx\ry\n', '\x1b[2mhello> \x1b[0mx\x1b[31my\n', '\x1b[2mhello> \x1b[0mx\x1b[q', '\x1b[2mhello> \x1b[0m@nix {"action":"msg","level":0,"msg":"m"}\n', '\x1b[2mhello> \x1b[0m::group::g\n', '\x1b[2mhello> \x1b[0mcaf\xc3\xa9\n',
    // removed escapes that line mode leaves in place for the decoder (gcc's erase-line after each colour): in the text, the prefix, the name, next to SGR, alone
    'f.c:1:5: \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kunused \x1b[01m\x1b[K\xe2\x80\x98x\xe2\x80\x99\x1b[m\x1b[K\n', '\x1b[2mhello> \x1b[0m\x1b[01;31m\x1b[Kerror:\x1b[m\x1b[K x\n',
    '\x1b[Kleading erase\n', 'trailing erase\x1b[K\n', '\x1b[2mhel\x1b[Klo> \x1b[0mx\n', '\x1b[2mhello> \x1b[K\x1b[0mx\n', 'hello> \x1b[Kx\n', 'hello>\x1b[K x\n', '\x1b[Khello> x\n',
    'Running\x1b[K phase: x\n', '\x1b[KRunning phase: buildPhase\n', '\x1b[1m\x1b[K\n', '\x1b[K\n', '\x1b[H\x1b[2Jcleared\x1b[?25l\n', '::gr\x1b[Koup::g\n', '\x1b[K::group::g\n', 'x\x1b[K\x1b[3pheader\n']
  for (let n = 0; n < 150; n++) {
    const lines: string[] = []
    for (let k = 40 + rnd(80); k > 0; k--) lines.push(rnd(3) === 0 ? lineModePieces[rnd(lineModePieces.length)]! : lineModePieces[rnd(4)]!)
    inputs.push(Buffer.from(lines.join(''), 'latin1'))
  }
  // Past line mode's limits in one chunk: more sections than its operation list holds, more SGR in
  // a line than it tracks, lines around MAX_LINE_BYTES.
  inputs.push(Buffer.from('\x1b[3pHead\n\x1b[2mhi> \x1b[0mbody \x1b[1mline\x1b[0m\n\x1b[q'.repeat(3000), 'latin1'))
  inputs.push(Buffer.from(`\x1b[2mhi> \x1b[0m${'\x1b[31my'.repeat(300)}\n\x1b[2mhi> \x1b[0mafter\n`, 'latin1'))
  const long = Buffer.alloc(1024 * 1024 + 100, 0x61)
  long.write('\x1b[31m', 1000, 'latin1')
  inputs.push(Buffer.concat([Buffer.from('\x1b[2mhi> \x1b[0mshort\n'), long, Buffer.from('\n\x1b[2mhi> \x1b[0mnext\n'), long.subarray(0, 1024 * 1024 - 3), Buffer.from('\x1b[0m\n')]))
  let checked = 0
  for (const [n, input] of inputs.entries()) {
    const label = `input ${n} ${JSON.stringify(input.subarray(0, 300).toString('latin1'))}`
    for (const prefixed of [false, true]) {
      const reference = decodedBy(LineByLineDecoder, input, [input], prefixed)
      const results = [[input], randomChunks(rnd, input), 1 + rnd(200)].map((chunks) => decodedBy(BuildLogDecoder, input, chunks, prefixed))
      results.push(decodedBy(AllNativeLinesDecoder, input, [input], prefixed))
      if (results.every((r) => r === reference)) checked++
      else t.fail(`${label}: events differ (prefixed ${prefixed}: ${results.map((r) => r === reference)})`)
    }
  }
  t.equal(checked, inputs.length * 2, 'every input, plain and -L mode, whole, chunked, and chunked into one reused buffer')
})

t.test('LogDecoderStream({ batch: true }) pushes the same events, an array per chunk', async (t) => {
  const rnd = prng(99)
  for (const input of [sample('synthetic-legacy-stdenv-nesting.log'), sample('nom-integration-fail.stderr.json'), fuzzInput(rnd, 200)]) {
    const batches = (await streamed(new LogDecoderStream({ batch: true }), randomChunks(rnd, input))) as LogEvent[][]
    t.ok(batches.every((b) => Array.isArray(b) && b.length > 0), 'every push is a non-empty array')
    t.equal(serialise(batches.flat()), serialise(decode(input)), 'flattened, they are decode()')
  }
})

t.test('a C1 control split by a removed escape never reaches the output', async (t) => {
  const escapes = ['\x1b[q', '\x1b[p', '\x1b[3s', '\x1b[K', '\x1b[e', '\x1b[a', '\x1b[31m', '\x1b]0;t\x07', '\r\x1b[q']
  let checked = 0
  for (const escape of escapes) {
    for (const follower of [0x85, 0x94, 0x9b]) {
      const input = Buffer.concat([Buffer.from('a\xc2', 'latin1'), Buffer.from(escape, 'latin1'), Buffer.from([follower]), Buffer.from('b\n')])
      for (const color of [true, false]) {
        const label = `${JSON.stringify(escape)} then 0x${follower.toString(16)} (color ${color})`
        const reference = framed(LineByLineCleanWriter, color, [input]).out
        for (let cut = 0; cut <= input.length; cut++) {
          const chunks = [input.subarray(0, cut), input.subarray(cut)]
          const fast = framed(RecordingCleanWriter, color, chunks).out
          checkCleanInvariants(t, fast, color, `${label}, split at ${cut}`)
          if (!fast.equals(reference)) t.fail(`${label}, split at ${cut}: ${JSON.stringify(fast.toString('latin1'))} ≠ ${JSON.stringify(reference.toString('latin1'))}`)
          else checked++
        }
        checkCleanInvariants(t, cleanBuffer(input, { color }), color, label)
      }
    }
  }
  t.equal(checked, escapes.reduce((n, e) => n + 3 * 2 * (6 + e.length), 0), 'every escape, follower, colour and split')
})
