// Security suite of sandbox.md §8 as an unprivileged user: buildlog-ci (uid 1500, created by
// .ci/run) when the suite runs as root, else the current user (see test/helpers/sandbox-suite.ts).
import t from 'tap'
import { securitySuite } from './helpers/sandbox-suite.js'

securitySuite(t, 'user')
