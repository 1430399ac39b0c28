"""Coscribe's relay server: rooms of y-websocket peers around durable Yjs documents."""
