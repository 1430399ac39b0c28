#!/usr/bin/env node
// The y-websocket reference server (@y/websocket-server's setupWSConnection), listening on an
// ephemeral port. It is the cross-check for Coscribe's relay: the same interop tests run
// against both. Unlike the package's own server.js, this prints the port actually bound, so
// port 0 works:  "reference-server listening on ws://127.0.0.1:<port>".
//
// Usage: node reference-server.mjs [host]     (SIGTERM or closing stdin stops it)

import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const host = process.argv[2] || '127.0.0.1'
const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)

const server = http.createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' })
  response.end('okay')
})
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))
})

const stop = () => {
  for (const ws of wss.clients) ws.terminate()
  server.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
process.stdin.resume()

server.listen(0, host, () => {
  const { port } = server.address()
  process.stdout.write(`reference-server listening on ws://${host}:${port}\n`)
})
