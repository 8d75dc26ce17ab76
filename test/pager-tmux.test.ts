// End-to-end: the real CLI in tmux (send-keys, capture-pane), from a file and from a pipe.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const hasTmux = spawnSync('tmux', ['-V']).status === 0
if (!hasTmux) {
  t.plan(0, 'tmux not installed')
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildlog-tmux-'))
  const server = `bvtest${process.pid}`
  const tm = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' })
  t.teardown(() => {
    spawnSync('tmux', ['-L', server, 'kill-server'])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const cmd = `node ${path.join(root, 'bin/buildlog')} view`

  const E = '\x1b'
  let log = ''
  for (let k = 0; k < 40; k++) {
    log += `${E}[pbuilding /nix/store/0c8bgvyx2kv4mjz3qc7ipj6j5ak2bhz6-pkg${k}-1.0\n${E}[pbuildPhase\n`
    for (let i = 0; i < 20; i++) log += `cc -c f${i}.c # pkg${k}\n`
    if (k === 25) log += `error: boom in pkg25\n`
    log += `${E}[q${E}[q`
  }
  log += `title ${E}]0;PWNED-TITLE\x07 clip ${E}]52;c;Y3VybCBldmlsfHNo\x07 end\n`
  const file = path.join(dir, 'build.log')
  fs.writeFileSync(file, log)

  const capture = (): string => tm('capture-pane', '-p', '-t', 'v')
  const waitFor = async (re: RegExp, ms = 8000): Promise<string> => {
    const t0 = Date.now()
    let s = ''
    while (Date.now() - t0 < ms) {
      s = capture()
      if (re.test(s)) return s
      await new Promise((r) => setTimeout(r, 50))
    }
    return s
  }
  // The shell around the pager prints its exit status: tmux's own #{pane_dead_status} is empty
  // now and then when a process exits right after a signal.
  const waitDead = async (ms = 10000): Promise<string> => {
    const m = /EXIT:(\d+)/.exec(await waitFor(/EXIT:\d+/, ms))
    return m ? m[1]! : 'alive'
  }
  const pagerPid = (): number => {
    const shell = tm('display', '-p', '-t', 'v', '#{pane_pid}').trim()
    return Number(execFileSync('pgrep', ['-P', shell, 'node'], { encoding: 'utf8' }).trim().split('\n')[0])
  }
  const start = (shell: string): void => {
    spawnSync('tmux', ['-L', server, 'kill-session', '-t', 'v'])
    tm('new-session', '-d', '-s', 'v', '-x', '100', '-y', '30', `TERM=xterm-256color sh -c '${shell}; echo EXIT:$?; sleep 120'`)
    tm('set', '-t', 'v', 'remain-on-exit', 'on')
    tm('set', '-g', 'set-clipboard', 'on')
  }

  t.test('from a file: first failure, keys, hostile title/clipboard, restore on q', async (t) => {
    start(`${cmd} ${file}`)
    const s = await waitFor(/error: boom in pkg25/)
    t.match(s, /error: boom in pkg25/, 'opens at the first error')
    t.match(s, /…-pkg25-1\.0 › buildPhase/, 'breadcrumb')
    tm('send-keys', '-t', 'v', 'G')
    t.match(await waitFor(/title ␛ clip ␛ end/), /title ␛ clip ␛ end/, 'OSC removed from the text, a placeholder where it was')
    const title = tm('display', '-p', '-t', 'v', '#{pane_title}')
    t.notMatch(title, /PWNED/, 'pane title unchanged')
    t.equal(spawnSync('tmux', ['-L', server, 'list-buffers'], { encoding: 'utf8' }).stdout.trim(), '', 'no OSC 52 clipboard write')
    tm('send-keys', '-t', 'v', 'g')
    t.match(await waitFor(/^▸ building …-pkg0-1\.0/m), /^▸ building …-pkg0-1\.0/m)
    tm('send-keys', '-l', '-t', 'v', '\x1b[<65;10;3M')
    t.match(await waitFor(/^▸ building …-pkg3-1\.0/m), /^▸ building …-pkg3-1\.0/m, 'wheel scrolls')
    tm('resize-window', '-t', 'v', '-x', '50', '-y', '8')
    t.ok((await waitFor(/L\d/)).split('\n').every((l) => l.length <= 50), 'reflows to 50 columns')
    tm('send-keys', '-t', 'v', 'q')
    t.equal(await waitDead(), '0', 'exit 0 on q')
    t.equal(tm('display', '-p', '-t', 'v', '#{alternate_on}|#{mouse_any_flag}').trim(), '0|0', 'terminal restored')
  })

  t.test('--at opens at a line, as = names it', async (t) => {
    // line 96: pkg4's header is line 89 (four packages of 22 lines before it), its phase 90, f0.c 91
    start(`${cmd} --at=#L96 ${file}`)
    const s = await waitFor(/L96\//)
    t.match(s.split('\n')[1]!, /cc -c f5\.c # pkg4/, 'the line on top, not the first error')
    t.match(s, /…-pkg4-1\.0 › buildPhase/)
    tm('send-keys', '-t', 'v', '=')
    t.match(await waitFor(/#L96 ∙/), /#L96 ∙ 882 lines/)
    tm('send-keys', '-t', 'v', 'q')
    t.equal(await waitDead(), '0')
    start(`${cmd} --at L3-L2 --at nowhere ${file}`)
    t.equal(await waitDead(), '2', 'exit 2 on a bad anchor')
    t.match(capture(), /buildlog: --at: 'nowhere' is not a line or section anchor/)
  })

  t.test('buildlog run: the build live in the pager, its sections timed from their arrival', async (t) => {
    // the builder reads its script from a bind of this directory, as the build user when root
    fs.chmodSync(dir, 0o755)
    const script = path.join(dir, 'build.sh')
    // (the sandbox's PATH names nothing, as Nix's does)
    const sleep = ['/bin/sleep', '/usr/bin/sleep'].find((p) => fs.existsSync(p))!
    fs.writeFileSync(script, `printf "\\033[pbuilding x\\n"; ${sleep} 1; printf "compiling\\n"; ${sleep} 1; printf "\\033[q\\033[pbuilding y\\nerror: y broke\\n\\033[q"\n`)
    fs.chmodSync(script, 0o644)
    const binds = ['/bin', '/usr', '/lib', ...(fs.existsSync('/lib64') ? ['/lib64'] : []), dir].flatMap((p) => ['--ro-bind', p])
    const asRoot = process.getuid?.() === 0 ? ['--build-uid', '15001'] : []
    start(`node ${path.join(root, 'bin/buildlog')} run --store-dir ${path.join(dir, 'store')} ${[...asRoot, ...binds].join(' ')} -- /bin/sh ${script}`)
    const s = await waitFor(/error: y broke/, 20000)
    t.match(s, /error: y broke/, 'the build streams into the pager')
    // opened as the build began: timed from there (a pipe's first section, read before the pager
    // waited for its writer, would have none)
    t.match(s, /^▸ building x ∙ 1 line ∙ [1-9]\.\d s$/m, 'the finished section folded, with how long it took')
    tm('send-keys', '-t', 'v', 'q')
    t.equal(await waitDead(), '0', "the builder's exit status")
  })

  t.test('from a pipe: keys from /dev/tty', async (t) => {
    start(`cat ${file} | ${cmd} -`)
    t.match(await waitFor(/error: boom in pkg25/), /error: boom in pkg25/)
    tm('send-keys', '-t', 'v', 'g')
    t.match(await waitFor(/^▸ building …-pkg0-1\.0/m), /^▸ building …-pkg0-1\.0/m, 'keys arrive')
    const saved = path.join(dir, 'from-pipe.log')
    tm('send-keys', '-t', 'v', '-l', `s${saved}`)
    tm('send-keys', '-t', 'v', 'Enter')
    t.match(await waitFor(/saved [\d,]+ bytes/), /saved [\d,]+ bytes/)
    t.ok(fs.readFileSync(saved).equals(fs.readFileSync(file)), 's FILE saves the spooled input')
    tm('send-keys', '-t', 'v', 'q')
    t.equal(await waitDead(), '0')
    t.equal(tm('display', '-p', '-t', 'v', '#{alternate_on}|#{mouse_any_flag}').trim(), '0|0')
  })

  for (const [sig, code] of [['TERM', '143'], ['HUP', '129'], ['INT', '130']] as const) {
    t.test(`SIG${sig} restores the terminal, exit ${code}`, async (t) => {
      start(`${cmd} ${file}`)
      await waitFor(/error: boom/)
      process.kill(pagerPid(), `SIG${sig}`)
      t.equal(await waitDead(), code)
      t.equal(tm('display', '-p', '-t', 'v', '#{alternate_on}|#{mouse_any_flag}').trim(), '0|0')
    })
  }
}
