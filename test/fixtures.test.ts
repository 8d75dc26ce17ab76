import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { fixtures, sharedDir } from './helpers/fixtures.js'

// The committed copies must be the ground truth, not an old version of it.
const pairs: Array<[string, string]> = [['vectors.json', 'spec/vectors.json']]
for (const name of fs.readdirSync(path.join(fixtures, 'samples'))) pairs.push([`samples/${name}`, `samples/${name}`])

t.test('fixtures equal ../shared', { skip: fs.existsSync(sharedDir) ? false : 'no ../shared beside this checkout' }, async (t) => {
  for (const [copy, original] of pairs) {
    t.ok(fs.readFileSync(path.join(fixtures, copy)).equals(fs.readFileSync(path.join(sharedDir, original))), copy)
  }
})
