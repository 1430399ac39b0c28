"""Walks over a Qt text document's blocks and a block's fragments, as Python iterators.

Why: Qt's own idiom is C++'s iterator (``it = block.begin(); while not it.atEnd():
frag = it.fragment(); ...; it += 1``) and a linked list of blocks (``block =
qdoc.firstBlock(); while block.isValid(): ...; block = block.next()``). Written out by
hand it was copied ~17 times across the editor, and a forgotten ``it += 1`` or
``block = block.next()`` (a ``continue`` that skips it) hangs the editor. Here each is
written once and a caller says ``for frag in fragments(block)``.

Caveat: a caller must not change formats while walking a block's fragments. Setting a
char format merges or splits Qt's fragments under the iterator, so what it gives next
is undefined: collect the ``(position, length, format)`` to change first, then set
them (as :func:`editor_app.qt.images.change_image_formats` does). :func:`blocks` reads
the next block only once the caller's loop body has run, as the hand-written loop did,
so changing a block's characters in the body is as safe as it was there; inserting or
removing blocks is not.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtGui import QTextBlock, QTextDocument, QTextFragment


def fragments(block: QTextBlock) -> Iterator[QTextFragment]:
    """The fragments (runs of one char format) of ``block``, in order."""
    it = block.begin()
    while not it.atEnd():
        yield it.fragment()
        it += 1


def blocks(qdoc: QTextDocument, first: QTextBlock | None = None) -> Iterator[QTextBlock]:
    """The blocks of ``qdoc`` from ``first`` (default: its first block) to its last."""
    block = qdoc.firstBlock() if first is None else first
    while block.isValid():
        yield block
        block = block.next()
