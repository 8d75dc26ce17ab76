export type ColorChoice = 'auto' | 'always' | 'never'

/**
 * Whether to write colour (spec §3.3 and the usual conventions): an explicit `--color` wins;
 * otherwise FORCE_COLOR forces it (unless it is `0` or `false`), NO_COLOR / NOCOLOR or
 * TERM=dumb turn it off, and it is on only when stdout is a terminal.
 */
export function wantColor(choice: ColorChoice, isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (choice === 'always') return true
  if (choice === 'never') return false
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '0' && force !== 'false') return true
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.NOCOLOR !== undefined && env.NOCOLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return isTTY
}
