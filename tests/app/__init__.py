"""Tests of the editor's Qt-free core (offsets, text ops, presence, store, sync client)."""
