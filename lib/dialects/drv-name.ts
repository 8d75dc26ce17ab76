/**
 * The name Nix shows for a derivation (`DrvName`): the store path's name without `.drv` and
 * without its version, i.e. up to the first `-` followed by a non-letter. `nix build -L` prefixes
 * lines with it; failures name the `.drv` path.
 */
export function drvDisplayName(drvPath: string): string {
  const base = drvPath.replace(/^.*\/[0-9a-df-np-sv-z]{32}-/, '').replace(/\.drv$/, '')
  const m = /-[^A-Za-z]/.exec(base)
  return m ? base.slice(0, m.index) : base
}

/** The `.drv` paths named as failed in a Nix error message (spec §6.5 step 6, D-19). */
export function failedDrvs(message: string): string[] {
  const found: string[] = []
  for (const m of message.matchAll(/(?:builder for|Cannot build) '(\/[^']+\.drv)'/g)) found.push(m[1]!)
  return found
}
