// Reference points for every flavour: `cat FILE | cat > /dev/null` (the floor: reading the file
// and moving the bytes through one pipe) and the common npm pipeline (split2 + strip-ansi,
// bench/npm-pipeline.mjs). Other sections' ratios are computed against these two rows.
export const name = 'baseline'
export const description = '`cat | cat` floor and the split2 + strip-ansi npm pipeline (ratios need it)'

export function measurements(ctx) {
  return ctx.flavours.map((flavour) => ctx.inputs[flavour]).flatMap((input) => [
    {
      id: `cat:${input.flavour}`,
      group: input.flavour,
      input,
      role: 'floor',
      label: '`cat FILE | cat > /dev/null`',
      cmd: 'sh',
      args: ['-c', 'cat "$1" | cat > /dev/null', 'sh', input.file],
    },
    {
      id: `npm:${input.flavour}`,
      group: input.flavour,
      input,
      role: 'npm',
      label: 'split2 + strip-ansi (`bench/npm-pipeline.mjs`)',
      cmd: ctx.node,
      args: [ctx.path('bench/npm-pipeline.mjs'), input.file],
      // the slowest row by far: full runs on legacy (where the issue compares against it), at most 3 elsewhere
      runs: input.flavour === 'legacy' ? ctx.runs : Math.min(ctx.runs, 3),
      timeoutMs: 600_000,
    },
  ])
}
