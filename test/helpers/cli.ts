import { spawn, type SpawnOptions } from 'node:child_process'
import path from 'node:path'
import { repoRoot } from './fixtures.js'

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

/** Runs one of the project's executables as a child process, feeding `input` on stdin (or stdin from `stdio[0]`, a descriptor). */
export function runBin(name: 'nixlog-clean' | 'buildlog', args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } & SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', name), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? { PATH: process.env.PATH },
      stdio: options.stdio ?? ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    let err = ''
    child.stdout!.on('data', (d: Buffer) => out.push(d))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }))
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input ?? '')
  })
}
