"""Tests of the sans-I/O sync core in ``shared/`` (messages, session, state machine)."""
