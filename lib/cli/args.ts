/**
 * A small command-line parser for the conventions users know: `--flag`, `--opt=value`,
 * `--opt value`, short flags, `-` as an operand (stdin) and `--` ending the options.
 */

export class UsageError extends Error {}

export interface OptionSpec {
  /** Takes a value (`--color=never` or `--color never`). */
  value?: boolean
  /** May be given several times; values collect into an array. */
  repeat?: boolean
  /** Short alias, e.g. `o` for `-o`. */
  short?: string
  /** Allowed values. */
  choices?: readonly string[]
}

export interface ParsedArgs {
  options: Map<string, string | true | string[]>
  operands: string[]
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const options = new Map<string, string | true | string[]>()
  const operands: string[] = []
  const byShort = new Map<string, string>()
  for (const [name, s] of Object.entries(spec)) if (s.short) byShort.set(s.short, name)

  const set = (name: string, value: string | true): void => {
    const s = spec[name]!
    if (s.choices && (value === true || !s.choices.includes(value))) {
      throw new UsageError(`invalid value for --${name}: '${value === true ? '' : value}' (expected ${s.choices.join(', ')})`)
    }
    if (s.repeat) {
      const list = (options.get(name) as string[] | undefined) ?? []
      list.push(value as string)
      options.set(name, list)
    } else {
      options.set(name, value)
    }
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      operands.push(...argv.slice(i + 1))
      break
    }
    let name: string | undefined
    let inline: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      inline = eq === -1 ? undefined : arg.slice(eq + 1)
      if (!(name in spec)) throw new UsageError(`unknown option '--${name}'`)
    } else if (arg.length > 1 && arg.startsWith('-') && !/^-\d/.test(arg)) {
      name = byShort.get(arg.slice(1, 2))
      if (name === undefined) throw new UsageError(`unknown option '${arg.slice(0, 2)}'`)
      if (arg.length > 2) inline = arg.slice(2)
    } else {
      operands.push(arg)
      continue
    }
    const s = spec[name]!
    if (s.value) {
      if (inline === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' needs a value`)
        inline = argv[++i]!
      }
      set(name, inline)
    } else {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`)
      set(name, true)
    }
  }
  return { options, operands }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name)
  return typeof v === 'string' ? v : undefined
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true
}
