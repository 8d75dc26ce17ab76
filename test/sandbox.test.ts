// Security suite of sandbox.md §8 as root with a dedicated build uid (see test/helpers/sandbox-suite.ts).
import t from 'tap'
import { securitySuite } from './helpers/sandbox-suite.js'

securitySuite(t, 'root')
