import t from 'tap'
import { groupDigits } from '../dist/tui/painter.js'
import { formatDuration } from '../dist/render/duration.js'

t.test('groupDigits writes counts as toLocaleString(en-US) does', async (t) => {
  const counts = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 65536, 99999, 100000, 123456, 999999, 1000000, 7080000, 1073741824, 2 ** 53 - 1]
  for (let n = 1; n < 1e15; n = n * 7 + 3) counts.push(n)
  for (const n of counts) t.equal(groupDigits(n), n.toLocaleString('en-US'), String(n))
})

t.test('formatDuration: one way for the pager and the page, rounded once', async (t) => {
  const cases: Array<[number, string]> = [
    [-5, '0 ms'], [0, '0 ms'], [340, '340 ms'], [999.4, '999 ms'], [999.6, '1.0 s'], [4200, '4.2 s'], [9949, '9.9 s'],
    [9950, '10 s'], [42_000, '42 s'], [59_600, '1 min 0 s'], [119_600, '2 min 0 s'], [125_000, '2 min 5 s'],
    [3_599_600, '1 h 0 min'], [11_100_000, '3 h 5 min'],
  ]
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, `${ms} ms`)
})
