/**
 * HTML escaping for log text. Every character that could end a text or attribute context is
 * escaped; control characters never reach the page raw: C0 (except TAB and LF), DEL and C1 become
 * visible placeholders, as do bidirectional overrides/isolates (which could reorder what the reader
 * sees). Text handed to these functions is already escape-free (the tokenizer removed sequences)
 * and already decoded (invalid UTF-8 became U+FFFD).
 */

const ATTR_OR_TEXT = /[&<>"']/g
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for an element body or a quoted attribute value (no placeholders). */
export function escapeHtml(s: string): string {
  return s.replace(ATTR_OR_TEXT, (c) => ENTITY[c]!)
}

// eslint-disable-next-line no-control-regex
const LOG_TEXT = /[&<>"'\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g
const LOG_TEXT_ANY = /[&<>"'\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0')
}

/** The placeholder markup for a control character (`code` is its code point). */
export function controlPlaceholder(code: number): string {
  const picture = code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : '\ufffd'
  return `<span class="cc" title="U+${hex4(code)}">${picture}</span>`
}

/** Escapes displayed log text: entities, and placeholders for controls. TAB and LF stay as they are. */
export function escapeLogText(s: string): string {
  if (!LOG_TEXT_ANY.test(s)) return s
  return s.replace(LOG_TEXT, (c) => ENTITY[c] ?? controlPlaceholder(c.charCodeAt(0)))
}

/** JSON that is safe inside `<script type="application/json">`: no `<`, `>`, `&`, U+2028/2029. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + hex4(c.charCodeAt(0)))
}
