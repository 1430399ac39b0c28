"""Interoperability tests: stock Yjs clients (Node, from npm) and Coscribe on one document.

A real JavaScript Yjs peer (``node/client.mjs``: yjs + y-websocket's WebsocketProvider) is
the oracle that keeps Coscribe's relay and Python client honest about the y-websocket
protocol, the Yjs update format, UTF-16 vs UTF-8 text positions and awareness.
"""
