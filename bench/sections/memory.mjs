// Peak RSS where it matters most: nixlog-clean on a 1 GiB legacy log (memory must not grow with
// the input) and on a 200 MiB single line without LF (nor with the line length). The decoder and
// the npm pipeline run on the single line too, for comparison (the npm pipeline has a timeout:
// split2 keeps the unfinished line as a growing string, which is quadratic).
import { decoderSpec } from './decoder.mjs'

export const name = 'memory'
export const description = 'peak RSS: nixlog-clean on a 1 GiB legacy log and on a single line without LF'

export function measurements(ctx) {
  const specs = []
  const rss = (what) => [{ issue: 2, text: `nixlog-clean peak RSS ≤ 96 MiB ${what}`, metric: 'rss', max: 96 }]
  const floor = (input, id) => ({
    id: `cat:${id}`,
    group: 'memory',
    input,
    role: 'floor',
    label: '`cat FILE | cat > /dev/null`',
    cmd: 'sh',
    args: ['-c', 'cat "$1" | cat > /dev/null', 'sh', input.file],
    runs: 1,
  })
  if (ctx.inputs.big) {
    const input = ctx.inputs.big
    specs.push(floor(input, 'big'))
    for (const color of ['always', 'never']) {
      specs.push({
        id: `clean-${color}:big`,
        group: 'memory',
        input,
        label: `\`nixlog-clean --color=${color}\``,
        cmd: ctx.bin('nixlog-clean'),
        args: [`--color=${color}`, input.file],
        runs: 1,
        targets: rss(`on ${input.sizeLabel} legacy`),
      })
    }
  }
  const line = ctx.inputs['single-line']
  if (line) {
    const runs = Math.min(ctx.runs, 3)
    specs.push({ ...floor(line, 'single-line'), runs })
    for (const color of ['always', 'never']) {
      specs.push({
        id: `clean-${color}:single-line`,
        group: 'memory',
        input: line,
        label: `\`nixlog-clean --color=${color}\``,
        cmd: ctx.bin('nixlog-clean'),
        args: [`--color=${color}`, line.file],
        runs,
        targets: rss(`on a ${line.sizeLabel} single line`),
      })
    }
    specs.push(decoderSpec(ctx, line, 'memory', { runs }))
    specs.push({
      id: 'npm:single-line',
      group: 'memory',
      input: line,
      label: 'split2 + strip-ansi (`bench/npm-pipeline.mjs`)',
      cmd: ctx.node,
      args: [ctx.path('bench/npm-pipeline.mjs'), line.file],
      role: 'npm',
      runs: 1,
      timeoutMs: ctx.npmLineTimeoutMs,
    })
  }
  return specs
}
