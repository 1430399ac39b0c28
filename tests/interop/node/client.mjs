#!/usr/bin/env node
// A stock Yjs client (yjs + y-websocket's WebsocketProvider over `ws`), remote-controlled over
// stdin/stdout so that Python tests can drive a real JavaScript Yjs peer.
//
// Usage: node client.mjs <serverUrl> <room> [textName]
//
// Protocol: one JSON object per line on stdin, {"id": <n>, "cmd": <name>, ...args}; one JSON
// reply per line on stdout, {"id": <n>, "ok": true, "result": ...} or
// {"id": <n>, "ok": false, "error": "..."}. Nothing else is ever written to stdout, so the
// Python side can parse every line. Diagnostics (including y-websocket's own
// console.error/console.warn, e.g. "Unable to compute message" on an unknown message type)
// go to stderr, which the tests assert to be empty.
//
// Indexes and lengths are UTF-16 code units, exactly as Yjs counts them.

import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { serveCommands } from './line_protocol.mjs'

const [serverUrl, room, textName = 'content'] = process.argv.slice(2)
if (!serverUrl || !room) {
  process.stderr.write('usage: node client.mjs <serverUrl> <room> [textName]\n')
  process.exit(2)
}

// Every message type the server sent us, by the first varUint byte (all y-websocket types are
// < 128, so the first byte is the type). A Coscribe extension message (100, 101) reaching a
// stock client would be a server bug; the tests read this through the `received_types` command.
const receivedTypes = {}

// The stock `ws` class, plus a listener that tallies incoming message types. WebsocketProvider
// sets `onmessage` itself; an extra 'message' listener does not interfere with it.
class CountingWebSocket extends WebSocket {
  constructor (...args) {
    super(...args)
    this.on('message', (data) => {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data)
      const kind = bytes.length > 0 ? String(bytes[0]) : 'empty'
      receivedTypes[kind] = (receivedTypes[kind] || 0) + 1
    })
  }
}

const doc = new Y.Doc()
const ytext = doc.getText(textName)
const provider = new WebsocketProvider(serverUrl, room, doc, {
  WebSocketPolyfill: CountingWebSocket,
  // Separate processes never share a BroadcastChannel anyway; disabling it makes sure every
  // byte a test observes went through the server.
  disableBc: true
})
const awareness = provider.awareness

/** Resolve when `predicate()` is true, re-checking on `emitter` events; reject after `ms`. */
const waitFor = (predicate, subscribe, ms, what) => new Promise((resolve, reject) => {
  if (predicate()) return resolve(true)
  let unsubscribe = () => {}
  const timer = setTimeout(() => {
    unsubscribe()
    reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
  }, ms)
  unsubscribe = subscribe(() => {
    if (predicate()) {
      clearTimeout(timer)
      unsubscribe()
      resolve(true)
    }
  })
})

const onSync = (cb) => { provider.on('sync', cb); return () => provider.off('sync', cb) }
const onDocUpdate = (cb) => { doc.on('update', cb); return () => doc.off('update', cb) }

/** UTF-16 offset of code point `cp` in `s` (clamped to the end): never inside a surrogate pair. */
const cpToUtf16 = (s, cp) => {
  let units = 0
  let seen = 0
  for (const ch of s) {
    if (seen === cp) break
    units += ch.length
    seen++
  }
  return units
}

const statesAsObject = () => {
  const out = {}
  for (const [clientId, state] of awareness.getStates()) out[String(clientId)] = state
  return out
}

const commands = {
  client_id: () => doc.clientID,
  wait_synced: ({ ms = 5000 }) => waitFor(() => provider.synced, onSync, ms, 'sync'),
  insert: ({ index, text, attrs }) => { ytext.insert(index, text, attrs || undefined); return ytext.length },
  delete: ({ index, length }) => { ytext.delete(index, length); return ytext.length },
  // Code-point positions, resolved against the text at the moment of the edit (as an editor
  // does), so concurrent remote edits can never make the position split a surrogate pair.
  insert_cp: ({ cp, text, attrs }) => {
    const at = cpToUtf16(ytext.toString(), cp)
    ytext.insert(at, text, attrs || undefined)
    return at
  },
  delete_cp: ({ cp, count }) => {
    const s = ytext.toString()
    const from = cpToUtf16(s, cp)
    const to = cpToUtf16(s, cp + count)
    if (to > from) ytext.delete(from, to - from)
    return to - from
  },
  code_points: () => [...ytext.toString()].length,
  format: ({ index, length, attrs }) => { ytext.format(index, length, attrs); return null },
  text: () => ytext.toString(),
  length: () => ytext.length,
  delta: () => ytext.toDelta(),
  // Wait in Node (event driven, no polling) until the text equals `text`.
  wait_text: ({ text, ms = 5000 }) =>
    waitFor(() => ytext.toString() === text, onDocUpdate, ms, `text ${JSON.stringify(text)}`)
      .catch((err) => { throw new Error(`${err.message}; have ${JSON.stringify(ytext.toString())}`) }),
  set_awareness: ({ state }) => { awareness.setLocalState(state); return awareness.clientID },
  set_awareness_field: ({ field, value }) => { awareness.setLocalStateField(field, value); return null },
  awareness_states: () => statesAsObject(),
  received_types: () => receivedTypes,
  // Comment threads (docs/schema.md 3.1) as a web Yjs client reads them: each thread's
  // anchors resolved with Yjs's own relative positions, and the text they cover now.
  comments: () => {
    const out = {}
    for (const [id, thread] of doc.getMap('comments')) {
      const at = (key) => {
        const abs = Y.createAbsolutePositionFromRelativePosition(
          Y.decodeRelativePosition(thread.get(key)), doc)
        return abs === null ? null : abs.index
      }
      const start = at('start')
      const end = at('end')
      out[id] = {
        quote: thread.get('quote'),
        resolved: thread.get('resolved'),
        covered: start === null || end === null ? null : ytext.toString().slice(start, end),
        messages: thread.get('messages').toJSON().map((m) => [m.author, m.text])
      }
    }
    return out
  },
  // A reply written the way docs/schema.md 3.1 says, by a stock client.
  reply: ({ thread, author, text }) => {
    const message = new Y.Map()
    doc.transact(() => {
      message.set('id', 'js-' + doc.clientID)
      message.set('author', author)
      message.set('text', text)
      message.set('created_at', Date.now())
      message.set('deleted', false)
      doc.getMap('comments').get(thread).get('messages').push([message])
    })
    return null
  },
  disconnect: () => { provider.disconnect(); return null },
  connect: () => { provider.connect(); return null },
  status: () => ({ synced: provider.synced, wsconnected: provider.wsconnected }),
  quit: () => {
    provider.destroy()
    doc.destroy()
    // Reply first, then exit once stdout drained.
    setImmediate(() => process.exit(0))
    return null
  }
}

serveCommands(commands, () => {
  provider.destroy()
  process.exit(0)
})
