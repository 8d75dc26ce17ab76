import type { CsiSequence } from '../tokenizer/tokenizer.js'

/**
 * Nixpkgs stdenv's legacy nesting escapes (spec §2.1, §2.9 "Legacy dispatch"): a CSI is a legacy
 * code only with a final byte in `p q s a b e w`, no intermediates and no private marker, so that
 * `ESC[ q` (cursor style), `ESC[!p` (soft reset) and `ESC[?…p` keep their ECMA-48 meaning.
 */
export const enum LegacyCode {
  None = 0,
  Open = 0x70, // p
  Close = 0x71, // q
  Priority = 0x73, // s
  IgnoreLfOn = 0x61, // a
  IgnoreLfOff = 0x62, // b
  Error = 0x65, // e
  Warning = 0x77, // w
}

export function legacyCode(seq: CsiSequence): LegacyCode {
  switch (seq.final) {
    case 0x70: case 0x71: case 0x73: case 0x61: case 0x62: case 0x65: case 0x77:
      return seq.intermediateLength === 0 && seq.privateMarker === 0 ? (seq.final as LegacyCode) : LegacyCode.None
    default:
      return LegacyCode.None
  }
}

/** The argument of `p` and `s`: the first parameter, 1 when absent or not a number. */
export function legacyArgument(seq: CsiSequence): number {
  return seq.firstParam() ?? 1
}
