// The web side of the Quill interop test: a stock Quill 2 editor bound to the document's
// Y.Text by y-quill, synced by y-websocket, exactly as a web app embeds them. Nothing here
// knows about Coscribe beyond the document's URL and the name of its text (docs/schema.md).
//
// Query string: ws (relay URL, ws://host:port), room (document name), text (Y.Text name,
// default "content"). Everything the driver needs is on window.coscribeQuill; indexes and
// lengths are Quill's, i.e. UTF-16 code units.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { QuillBinding } from 'y-quill'

const params = new URLSearchParams(window.location.search)
const serverUrl = params.get('ws')
const room = params.get('room')
const textName = params.get('text') || 'content'
if (!serverUrl || !room) throw new Error('index.html needs ?ws=<relay url>&room=<document>')

const Quill = window.Quill
// Snow's toolbar with a button or picker for every format the test uses, as a full web
// editor would show it (it also makes a screenshot of the page readable).
const toolbar = [
  [{ font: [] }, { size: ['small', false, 'large', 'huge'] }, { header: [1, 2, 3, false] }],
  ['bold', 'italic', 'underline', 'strike', 'link', 'code'],
  [{ script: 'super' }, { script: 'sub' }, { color: [] }, { background: [] }],
  [{ list: 'ordered' }, { list: 'bullet' }, { list: 'check' }, { indent: '-1' }, { indent: '+1' }],
  ['blockquote', 'code-block', { align: [] }, 'clean']
]
const quill = new Quill('#editor', { theme: 'snow', modules: { toolbar } })

const doc = new Y.Doc()
const ytext = doc.getText(textName)
const provider = new WebsocketProvider(serverUrl, room, doc, { disableBc: true })
const binding = new QuillBinding(ytext, quill, provider.awareness)

const state = { synced: false }
provider.on('sync', (synced) => { state.synced = synced })

/** Quill's contents as plain JSON ops: [{insert, attributes?}, ...]. */
const contents = () => JSON.parse(JSON.stringify(quill.getContents().ops))

window.coscribeQuill = {
  quill,
  ydoc: doc,
  ytext,
  provider,
  binding,
  synced: () => state.synced,
  contents,
  text: () => quill.getText(),
  length: () => quill.getLength(),
  // What y-quill wrote into the shared document (for failure messages).
  ytextDelta: () => JSON.parse(JSON.stringify(ytext.toDelta())),
  // Edits through Quill's API with source "user": what its toolbar and keyboard do.
  insertText: (index, text, formats) => quill.insertText(index, text, formats || {}, 'user'),
  deleteText: (index, length) => quill.deleteText(index, length, 'user'),
  formatText: (index, length, formats) => quill.formatText(index, length, formats, 'user'),
  formatLine: (index, length, formats) => quill.formatLine(index, length, formats, 'user'),
  // Put the caret (and focus) where real keystrokes should land.
  select: (index, length) => { quill.focus(); quill.setSelection(index, length || 0, 'user') },
  selection: () => quill.getSelection()
}
