#!/usr/bin/env node
// Drive a stock web editor (Quill 2 + y-quill + y-websocket in headless Chromium, the page
// index.html?ws=...&room=...) from Python, over the same line protocol as
// ../node/client.mjs: one JSON command per line on stdin, {"id": n, "cmd": name, ...args};
// one reply per line on stdout, {"id": n, "ok": true, "result": ...} or
// {"id": n, "ok": false, "error": "..."}. Nothing else is written to stdout.
//
// Usage: node driver.mjs <pageUrl>    (env CHROMIUM: the browser, default /usr/bin/chromium)
//
// stderr gets everything the page reported that a developer would see in the console:
// uncaught errors, console.error/console.warn, failed or 4xx/5xx requests. The tests assert
// it is empty. Indexes and lengths are Quill's: UTF-16 code units.
//
// Playwright (playwright-core: no browser download) drives Debian's Chromium, so keys typed
// with `type` go through Chromium's real input pipeline into Quill's contenteditable, as a
// person's keystrokes do.

import { createRequire } from 'node:module'
import { serveCommands } from '../node/line_protocol.mjs'

// playwright-core lives in ../node/node_modules, which Node's resolution does not search
// from this folder: resolve it from there.
const require = createRequire(new URL('../node/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const [pageUrl] = process.argv.slice(2)
if (!pageUrl) {
  process.stderr.write('usage: node driver.mjs <pageUrl>\n')
  process.exit(2)
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'

const report = (what) => process.stderr.write(`${what}\n`)

/** Launch Chromium, open the page and wait until page.mjs has set up window.coscribeQuill. */
const open = async () => {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } })
  page.on('pageerror', (err) => report(`page error: ${err.stack || err}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') report(`console.${msg.type()}: ${msg.text()}`)
  })
  page.on('requestfailed', (req) => report(`request failed: ${req.url()} ${req.failure()?.errorText}`))
  page.on('response', (res) => { if (res.status() >= 400) report(`HTTP ${res.status()}: ${res.url()}`) })
  await page.goto(pageUrl)
  await page.waitForFunction(() => window.coscribeQuill !== undefined, null, { timeout: 10000 })
  return { browser, page }
}

const session = open()
// A failed start must not become an unhandled rejection that kills the process before the
// first command can report it.
session.catch(() => {})

/** Evaluate `window.coscribeQuill[name](...args)` in the page and return its result. */
const hook = async (name, ...args) => {
  const { page } = await session
  return page.evaluate(([n, a]) => window.coscribeQuill[n](...a), [name, args])
}

/** Type `text` with real keystrokes at Quill index `index` (Enter for "\n"). */
const typeAt = async ({ index, text, delay = 0 }) => {
  const { page } = await session
  await hook('select', index, 0)
  await page.keyboard.type(text, { delay })
  return hook('selection')
}

let typing = null // the background `type_start`, awaited by `type_wait`

const commands = {
  wait_synced: async ({ ms = 10000 }) => {
    const { page } = await session
    await page.waitForFunction(() => window.coscribeQuill.synced(), null, { timeout: ms })
    return true
  },
  contents: () => hook('contents'),
  text: () => hook('text'),
  length: () => hook('length'),
  ytext_delta: () => hook('ytextDelta'),
  insert: ({ index, text, formats }) => hook('insertText', index, text, formats || {}),
  delete: ({ index, length }) => hook('deleteText', index, length),
  format_text: ({ index, length, formats }) => hook('formatText', index, length, formats),
  format_line: ({ index, length, formats }) => hook('formatLine', index, length, formats),
  type: (args) => typeAt(args),
  // Start typing and reply at once, so that other commands (and the other editor) run
  // while the keys are still going in; `type_wait` returns when the last key is in.
  type_start: (args) => {
    if (typing !== null) throw new Error('already typing')
    typing = typeAt(args)
    typing.catch(() => {}) // reported by type_wait
    return null
  },
  type_wait: async () => {
    if (typing === null) throw new Error('not typing')
    try {
      return await typing
    } finally {
      typing = null
    }
  },
  wait_text: async ({ text, ms = 10000 }) => {
    const { page } = await session
    try {
      await page.waitForFunction((t) => window.coscribeQuill.text() === t, text, { timeout: ms })
    } catch (err) {
      throw new Error(`${err.message}; Quill has ${JSON.stringify(await hook('text'))}`)
    }
    return true
  },
  screenshot: async ({ path }) => {
    const { page } = await session
    await page.screenshot({ path })
    return path
  },
  quit: async () => {
    const { browser } = await session
    await browser.close()
    setImmediate(() => process.exit(0))
    return null
  }
}

// The test went away: close the browser like a closed tab, then leave.
serveCommands(commands, () =>
  session
    .then(({ browser }) => browser.close())
    .catch((err) => report(`closing the browser: ${err.message}`))
    .finally(() => process.exit(0))
)
