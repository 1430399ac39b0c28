// The line protocol the Node drivers speak with the Python tests (tests/interop/
// node_client.py): one JSON command per line on stdin ({id, cmd, ...}), one JSON reply per
// line on stdout ({id, ok, result} or {id, ok: false, error}). Commands run strictly one
// after another, in arrival order, so a test's sequence of commands means the same thing
// whether it awaits each reply or not.
import * as readline from 'node:readline'

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

/**
 * Serve `commands` ({name: async (msg) => result}) on stdin/stdout until stdin closes,
 * then run `onClose` (the controlling test went away: leave as a closed tab would).
 */
export const serveCommands = (commands, onClose) => {
  const handleLine = async (line) => {
    if (!line.trim()) return
    let msg
    try {
      msg = JSON.parse(line)
    } catch (err) {
      process.stderr.write(`bad command line: ${line}\n`)
      return
    }
    const handler = commands[msg.cmd]
    if (!handler) {
      reply({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` })
      return
    }
    try {
      const result = await handler(msg)
      reply({ id: msg.id, ok: true, result: result === undefined ? null : result })
    } catch (err) {
      reply({ id: msg.id, ok: false, error: String(err && err.message ? err.message : err) })
    }
  }
  let queue = Promise.resolve()
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', (line) => { queue = queue.then(() => handleLine(line)) })
  rl.on('close', () => { queue.then(onClose) })
}
