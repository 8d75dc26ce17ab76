/**
 * The one place that touches blessed's screen setup (pager.md §3): default import only, pinned
 * terminfo for 256-colour TERMs, console.error muted while blessed parses terminfo, wheel-only SGR
 * mouse, and casts for the members its typings miss.
 */

import blessed from 'blessed'
import type { Widgets } from 'blessed'

export interface ScreenStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number }
}

export function pickTerminal(term: string | undefined): string {
  const t = term ?? 'xterm'
  return /256color|direct|kitty|alacritty|wezterm|ghostty|foot|^xterm$|^tmux|^screen/.test(t) ? 'xterm-256color' : t
}

export function createScreen(streams: ScreenStreams, term?: string): Widgets.Screen {
  const err = console.error
  const warn = console.warn
  console.error = () => {}
  console.warn = () => {}
  try {
    const screen = blessed.screen({
      input: streams.input as never,
      output: streams.output as never,
      terminal: pickTerminal(term ?? process.env.TERM),
      smartCSR: true,
      fullUnicode: true,
      forceUnicode: true,
      warnings: false,
      autoPadding: false,
      dockBorders: false,
      sendFocus: false,
      title: undefined as never,
    } as Widgets.IScreenOptions)
    // A log's box-drawing characters, middle dots and degree signs go out as the UTF-8 they are:
    // blessed would switch to the DEC line-drawing set for them (ESC ( 0 … ESC ( B), which shows
    // letters where a terminal or a copy does not follow the switch.
    ;(screen.tput as unknown as { brokenACS: boolean }).brokenACS = true
    return screen
  } finally {
    console.error = err
    console.warn = warn
  }
}

/** Wheel events only (1000 + SGR 1006), not all-motion tracking (snippet C). */
export function enableWheel(screen: Widgets.Screen, box: Widgets.BoxElement, onWheel: (delta: number) => void): void {
  box.on('wheeldown', () => onWheel(3))
  box.on('wheelup', () => onWheel(-3))
  const program = screen.program as unknown as { setMouse(opts: Record<string, boolean>, on: boolean): void }
  program.setMouse({ allMotion: false, cellMotion: false, utfMouse: false }, true)
  program.setMouse({ vt200Mouse: true, sgrMouse: true }, true)
}

export function suspend(screen: Widgets.Screen, after: () => void): void {
  ;(screen as unknown as { sigtstp(cb: () => void): void }).sigtstp(after)
}
