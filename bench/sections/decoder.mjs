// The library decoder: bench/decoder.mjs streams the file through `new LogDecoderStream()` and
// counts the events it emits, one event per push and with `{ batch: true }` (an array per chunk).
export const name = 'decoder'
export const description = '`LogDecoderStream` (bytes → events), via bench/decoder.mjs'

const TARGETS = {
  legacy: [{ issue: 2, text: 'decoder into events ≥ 150 MiB/s (legacy)', metric: 'mibs', min: 150 }],
  modern: [{ issue: 3, text: 'decoder on @nix modern log ≥ 150 MiB/s', metric: 'mibs', min: 150 }],
  prefixed: [{ issue: 3, text: 'decoder on `nix build -L` prefixed log ≥ 150 MiB/s', metric: 'mibs', min: 150 }],
  'internal-json': [{ issue: 3, text: 'internal-json decoding ≥ 80 MiB/s', metric: 'mibs', min: 80 }],
}

const LABELS = {
  '': '`LogDecoderStream` (`bench/decoder.mjs`)',
  batch: '`LogDecoderStream({ batch: true })` (`bench/decoder.mjs … batch`)',
  floor: 'floor, no decoding: an event object and a Buffer view per line, pushed as `LogDecoderStream` pushes (`bench/decoder.mjs … floor`)',
}

/** `mode`: '' (one event per push), 'batch' or 'floor' (see bench/decoder.mjs). */
export function decoderSpec(ctx, input, group, extra = {}, mode = '') {
  return {
    id: `decoder${mode ? `-${mode}` : ''}:${group}:${input.flavour}`,
    group,
    input,
    label: LABELS[mode],
    cmd: ctx.node,
    args: [ctx.path('bench/decoder.mjs'), input.file, ctx.dist, ...(mode ? [mode] : [])],
    stdout: 'pipe',
    parse(stdout) {
      const line = stdout.trim().split('\n').pop()
      return JSON.parse(line)
    },
    describe(summary) {
      const x = summary.extra
      if (!x) return ''
      const inproc = x.seconds > 0 ? input.size / 1048576 / summary.medianInner : NaN
      const evs = x.events / summary.medianWall
      const parts = [`${fmtCount(x.events)} events (${fmtCount(x.lines)} lines, ${fmtCount(x.sections)} sections)`, `${fmtCount(evs)} events/s`]
      if (Number.isFinite(inproc)) parts.push(`${inproc.toFixed(0)} MiB/s in-process`)
      return parts.join('; ')
    },
    ...extra,
  }
}

function fmtCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`
  return String(Math.round(n))
}

export function measurements(ctx) {
  return ctx.flavours.flatMap((flavour) => [
    decoderSpec(ctx, ctx.inputs[flavour], flavour, { targets: TARGETS[flavour] ?? [] }),
    decoderSpec(ctx, ctx.inputs[flavour], flavour, { targets: TARGETS[flavour] ?? [] }, 'batch'),
    // what the targets leave for decoding: the same file through the floor
    decoderSpec(ctx, ctx.inputs[flavour], flavour, {}, 'floor'),
  ])
}
