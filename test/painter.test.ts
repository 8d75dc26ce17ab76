import t from 'tap'
import { groupDigits } from '../dist/tui/painter.js'

t.test('groupDigits writes counts as toLocaleString(en-US) does', async (t) => {
  const counts = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 65536, 99999, 100000, 123456, 999999, 1000000, 7080000, 1073741824, 2 ** 53 - 1]
  for (let n = 1; n < 1e15; n = n * 7 + 3) counts.push(n)
  for (const n of counts) t.equal(groupDigits(n), n.toLocaleString('en-US'), String(n))
})
