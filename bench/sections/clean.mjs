// `nixlog-clean` in both colour modes on every flavour, stdout to /dev/null.
export const name = 'clean'
export const description = '`nixlog-clean --color=always|never FILE > /dev/null`'

export function measurements(ctx) {
  const specs = []
  for (const flavour of ctx.flavours) {
    const input = ctx.inputs[flavour]
    for (const color of ['always', 'never']) {
      const targets = []
      if (flavour === 'legacy') {
        targets.push(
          { issue: 2, text: 'nixlog-clean ≥ 500 MiB/s', metric: 'mibs', min: 500 },
          { issue: 2, text: 'nixlog-clean ≥ 10× split2+strip-ansi', metric: 'vsNpm', min: 10 },
          { issue: 2, text: 'nixlog-clean within 4× of `cat | cat`', metric: 'vsCat', max: 4 },
        )
      }
      specs.push({
        id: `clean-${color}:${flavour}`,
        group: flavour,
        input,
        label: `\`nixlog-clean --color=${color}\``,
        cmd: ctx.bin('nixlog-clean'),
        args: [`--color=${color}`, input.file],
        targets,
      })
    }
    if (flavour === 'legacy') {
      // Where the pass-through addon is missing (no compiler or Node-API headers): for reference.
      specs.push({
        id: `clean-always-js:${flavour}`,
        group: flavour,
        input,
        label: '`BUILDLOG_NATIVE=0 nixlog-clean --color=always` (JavaScript path only)',
        cmd: 'env',
        args: ['BUILDLOG_NATIVE=0', ctx.bin('nixlog-clean'), '--color=always', input.file],
        targets: [],
      })
    }
  }
  return specs
}
