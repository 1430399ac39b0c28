"""File ▸ Version history (Ctrl+Alt+Shift+H, as in Google Docs).

Left, the document's versions from the server (docs/api.md), newest first and grouped by
day ("Today", "Yesterday", then dates), each with its time, its name in bold (or
"Automatic") and the people whose edits it holds. Right, the selected version as it read:
the version's bytes in a document of their own, shown by the editor's own page
(:class:`~editor_app.ui.editor_widget.EditorWidget` over a read-only
:class:`~editor_app.qt.document_model.DocumentModel`, so the same Quill → Qt conversion
and the same look). Buttons: "Restore this version", "Name current version…" (both only
for editors: the server refuses the rest, so a viewer's or commenter's buttons are
disabled) and "Close".

"Show changes" (as in Google Docs) shows the selected version with what changed since the
version before it (the next older one): :mod:`editor_app.core.version_diff` finds the
changes and builds a document that reads like them (deleted text kept where it was), and
the page marks them: inserted text with a light background and an underline in its
author's colour (one neutral colour when several people wrote the version; their names
are listed above the page), deleted text struck through in grey, reformatted text with
the light background only. Formats are kept, and pictures are shown as on the page; a
picture is one embed, so it changes as one unit: an inserted one is framed in the
author's colour, a deleted one faded and struck through, a resized one thinly framed
(:func:`editor_app.qt.images.change_mark`). The oldest version shows everything as new.

Restoring is an edit (:mod:`editor_app.core.restore`): the difference is written into the
CRDT in one local-edit transaction, so it is sent and undone like typing. The model does
not mirror local edits into Qt (the binding wrote them), so the page is then reloaded from
the CRDT by the binding's own loader, without sending anything back.

Network work runs as asyncio tasks on the qasync loop (never blocking the window); they
are started with plain callbacks, not ``@asyncSlot`` (qasync#177: zero-argument signals
such as ``clicked`` break it). Loading and failures are said in the dialog in plain words.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import pycrdt
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.api_client import VersionEntry
from editor_app.core.errors import (
    NetworkError,
    NotCoscribeV2,
    ProxyAuthRequired,
    ServerRefused,
    Unreachable,
    UnreadableEncoding,
)
from editor_app.core.restore import RestoreEdit, content_delta, document_from_update, restore
from editor_app.core.schema import title as title_of
from editor_app.core.sync_client import ClientStatus, Status
from editor_app.core.version_diff import (
    Change,
    Part,
    author_color,
    changes_document,
    diff_versions,
    spans16,
)
from editor_app.qt import images
from editor_app.qt.binding import QtTextBinding
from editor_app.qt.connection_model import ConnectionModel
from editor_app.qt.document_model import DocumentModel
from editor_app.ui.background import BackgroundTasks
from editor_app.ui.document_api import document_api
from editor_app.ui.editor_widget import EditorWidget

#: Where a version's id is kept on its list item (day headings have none).
VERSION_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class _Scheme:
    """The dialog's colours, as the main window's desk and page (light or dark)."""

    text: str
    muted: str
    error: str
    panel: str
    border: str
    selected: str
    hover: str
    desk: str


_LIGHT = _Scheme(
    "#1f1f1f", "#5f6368", "#d93025", "#ffffff", "#dadce0", "#d3e3fd", "#f1f3f4", "#f1f3f4"
)
_DARK = _Scheme(
    "#e8eaed", "#9aa0a6", "#f28b82", "#2d2e30", "#3c4043", "#394457", "#3c4043", "#1f1f1f"
)


def _scheme(widget: QWidget) -> _Scheme:
    hint = QGuiApplication.styleHints().colorScheme()
    if hint == Qt.ColorScheme.Unknown:
        dark = widget.palette().window().color().lightness() < 128
    else:
        dark = hint == Qt.ColorScheme.Dark
    return _DARK if dark else _LIGHT


#: The changes' colour when several people (or nobody known) wrote a version.
NEUTRAL_COLOR = "#5f6368"
#: How much of the author's colour tints the background of inserted text.
TINT = 0.22


def tint(color: QColor, background: QColor, amount: float = TINT) -> QColor:
    """``color`` mixed into ``background``: a light highlight that keeps text readable."""
    return QColor.fromRgbF(
        background.redF() + (color.redF() - background.redF()) * amount,
        background.greenF() + (color.greenF() - background.greenF()) * amount,
        background.blueF() + (color.blueF() - background.blueF()) * amount,
    )


def changes_color(entry: VersionEntry) -> QColor:
    """The colour of a version's changes: its author's, or a neutral one."""
    if len(entry.authors) == 1:
        return QColor(author_color(entry.authors[0]))
    return QColor(NEUTRAL_COLOR)


#: How long naming a version waits for this editor's unsaved edits to reach the server.
SETTLE_SECONDS = 5.0
EDITORS_ONLY = "Only people who can edit this document can do this"


def day_heading(created_at: float, now: float | None = None) -> str:
    """ "Today", "Yesterday", or the date (local time), as the list groups versions."""
    day = time.localtime(created_at)
    today = time.localtime(time.time() if now is None else now)
    ordinal = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 12, 0, 0, 0, 0, -1))
    today_ordinal = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 12, 0, 0, 0, 0, -1))
    days_ago = round((today_ordinal - ordinal) / 86400)
    if days_ago == 0:
        return "Today"
    if days_ago == 1:
        return "Yesterday"
    if day.tm_year == today.tm_year:
        return f"{time.strftime('%A', day)} {day.tm_mday} {time.strftime('%B', day)}"
    return f"{day.tm_mday} {time.strftime('%B %Y', day)}"


def clock(created_at: float) -> str:
    return time.strftime("%H:%M", time.localtime(created_at))


def describe_error(exc: BaseException) -> str:
    """A failure in a person's words (no traceback, no HTTP jargon where avoidable)."""
    if isinstance(exc, ServerRefused):
        message = str(exc).strip().rstrip(".") or f"the server refused (HTTP {exc.status})"
        return message[:1].upper() + message[1:] + "."
    if isinstance(exc, ProxyAuthRequired):
        return "The proxy needs a user name and password (File ▸ Preferences…)."
    if isinstance(exc, Unreachable):
        return "Can't reach the server. Check the connection and try again."
    if isinstance(exc, NotCoscribeV2):
        return "This server does not keep a version history."
    if isinstance(exc, UnreadableEncoding):
        return "This version could not be read."
    if isinstance(exc, NetworkError):
        return f"The connection to the server failed ({exc})."
    return "Something went wrong."


class _VersionRow(QWidget):
    """One version in the list: time, name (bold) or "Automatic", authors."""

    def __init__(self, entry: VersionEntry, colors: _Scheme) -> None:
        super().__init__()
        muted = f"color: {colors.muted}"
        when = QLabel(clock(entry.created_at))
        when.setStyleSheet(muted)
        name = QLabel(entry.label or "Automatic")
        name.setObjectName("versionName")
        if entry.label:
            font = QFont(name.font())
            font.setBold(True)
            name.setFont(font)
        else:
            name.setStyleSheet(muted)
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(when)
        top.addWidget(name, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 7, 8, 7)
        column.setSpacing(2)
        column.addLayout(top)
        if entry.authors:
            people = QLabel(", ".join(entry.authors))
            people.setObjectName("versionAuthors")
            people.setStyleSheet(muted)
            column.addWidget(people)
        self.setToolTip(f"{entry.size:,} bytes stored")


class VersionHistoryDialog(QDialog):
    """The version history of the document shown in ``editor``.

    Signals:
        versionsLoaded(): the list was (re)loaded, or failed to (see :attr:`message`).
        previewShown(int): the preview shows that version.
        restored(str): a version was restored; the text says which, for a status bar.
    """

    versionsLoaded = Signal()
    previewShown = Signal(int)
    restored = Signal(str)

    def __init__(
        self,
        model: DocumentModel,
        editor: EditorWidget,
        connection: ConnectionModel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("versionHistoryDialog")
        self.setWindowTitle("Version history")
        self._model = model
        self._editor = editor
        self._connection = connection
        self._api = document_api(connection)
        self._tasks = BackgroundTasks()
        self._versions: list[VersionEntry] = []
        self._contents: dict[int, bytes] = {}
        self._shown: VersionEntry | None = None
        self._shown_doc: pycrdt.Doc[Any] | None = None
        self._preview_model: DocumentModel | None = None
        self._preview: EditorWidget | None = None
        self._changes: list[Part] | None = None
        self._colors = _scheme(parent or self)
        self._build()
        connection.readOnlyChanged.connect(self._update_buttons)
        self.finished.connect(self._closed)
        self._update_buttons()
        self.resize(980, 640)

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.list = QListWidget()
        self.list.setObjectName("versionList")
        self.list.setMinimumWidth(260)
        c = self._colors
        self.list.setStyleSheet(
            f"QListWidget {{ background: {c.panel}; color: {c.text}; "
            f"border: 1px solid {c.border}; }}"
            f"QListWidget::item:selected {{ background: {c.selected}; color: {c.text}; }}"
            f"QListWidget::item:hover:!selected {{ background: {c.hover}; }}"
        )
        self.list.currentItemChanged.connect(self._selection_changed)
        self.message_label = QLabel()
        self.message_label.setObjectName("historyMessage")
        self.message_label.setWordWrap(True)
        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Versions")
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        heading.setFont(font)
        left_column.addWidget(heading)
        left_column.addWidget(self.list, 1)
        left_column.addWidget(self.message_label)

        self.preview_heading = QLabel("Select a version to see it")
        self.preview_heading.setObjectName("previewHeading")
        self.preview_heading.setFont(font)
        self.preview_title = QLabel()
        self.preview_title.setObjectName("previewTitle")
        self.preview_title.setStyleSheet(f"color: {c.muted}")
        self.changes_box = QCheckBox("Show changes")
        self.changes_box.setObjectName("showChanges")
        self.changes_box.setToolTip("Mark what changed since the version before this one")
        self.changes_box.toggled.connect(self._changes_toggled)
        self.changes_label = QLabel()
        self.changes_label.setObjectName("changesLegend")
        self.changes_label.setTextFormat(Qt.TextFormat.RichText)
        self.changes_label.setWordWrap(True)
        self.changes_label.hide()
        title_row = QHBoxLayout()
        title_row.addWidget(self.preview_title, 1)
        title_row.addWidget(self.changes_box)
        self._desk = QWidget()
        self._desk.setObjectName("previewDesk")
        self._desk.setStyleSheet(f"#previewDesk {{ background: {c.desk}; }}")
        self._desk_layout = QHBoxLayout(self._desk)
        self._desk_layout.setContentsMargins(12, 12, 12, 0)
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self.preview_heading)
        right_column.addLayout(title_row)
        right_column.addWidget(self.changes_label)
        right_column.addWidget(self._desk, 1)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 680])

        self.restore_button = QPushButton("Restore this version")
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.setDefault(True)
        self.restore_button.clicked.connect(lambda *_: self.restore_selected())
        self.name_button = QPushButton("Name current version…")
        self.name_button.setObjectName("nameVersionButton")
        self.name_button.clicked.connect(lambda *_: self.ask_label())
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("closeButton")
        self.close_button.clicked.connect(lambda *_: self.reject())
        buttons = QHBoxLayout()
        buttons.addWidget(self.name_button)
        buttons.addStretch(1)
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    # -- state --------------------------------------------------------------------------------
    @property
    def versions(self) -> list[VersionEntry]:
        return list(self._versions)

    @property
    def shown(self) -> VersionEntry | None:
        """The version in the preview."""
        return self._shown

    @property
    def preview(self) -> EditorWidget | None:
        return self._preview

    @property
    def changes(self) -> list[Part] | None:
        """What the preview marks as changed (None: the version as it is)."""
        return self._changes

    @property
    def message(self) -> str:
        return self.message_label.text()

    @property
    def can_edit(self) -> bool:
        return not self._connection.read_only

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        color = self._colors.error if error else self._colors.muted
        self.message_label.setStyleSheet(f"color: {color}")

    def _update_buttons(self, *_: object) -> None:
        editor = self.can_edit
        self.restore_button.setEnabled(editor and self._shown_doc is not None)
        self.name_button.setEnabled(editor)
        tip = "" if editor else EDITORS_ONLY
        self.restore_button.setToolTip(tip)
        self.name_button.setToolTip(tip)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` on the event loop, kept until done; a failure reaches sys.excepthook."""
        return self._tasks.spawn(coro)

    # -- loading ------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the list (call once the dialog is shown)."""
        self._say("Loading versions…")
        self.spawn(self.load())

    async def load(self, select: int | None = None) -> None:
        """(Re)load the list and select ``select`` (default: the newest version)."""
        self._say("Loading versions…")
        try:
            versions = await self._api.versions()
        except NetworkError as exc:
            self._say(f"Couldn't load the version history. {describe_error(exc)}", error=True)
            self.versionsLoaded.emit()
            return
        self._versions = versions
        self._fill(versions, select)
        if versions:
            self._say("")
        else:
            self._say(
                "No versions yet. The server saves one while the document is edited; "
                "“Name current version…” saves one now."
            )
        self.versionsLoaded.emit()

    def _fill(self, versions: list[VersionEntry], select: int | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        heading_font = QFont(self.list.font())
        heading_font.setBold(True)
        current_day = None
        newest: QListWidgetItem | None = None
        chosen: QListWidgetItem | None = None
        for entry in versions:
            day = day_heading(entry.created_at)
            if day != current_day:
                current_day = day
                header = QListWidgetItem(day)
                header.setFlags(Qt.ItemFlag.ItemIsEnabled)
                header.setFont(heading_font)
                header.setSizeHint(QSize(0, 34))
                header.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
                self.list.addItem(header)
            item = QListWidgetItem()
            item.setData(VERSION_ROLE, entry.id)
            row = _VersionRow(entry, self._colors)
            item.setSizeHint(row.sizeHint())
            self.list.addItem(item)
            self.list.setItemWidget(item, row)
            newest = newest or item
            if entry.id == select:
                chosen = item
        self.list.blockSignals(False)
        target = chosen or newest
        if target is not None:
            self.list.setCurrentItem(target)

    def _selection_changed(self, current: QListWidgetItem | None, *_: object) -> None:
        version_id = current.data(VERSION_ROLE) if current is not None else None
        if isinstance(version_id, int):
            self.spawn(self.show_version(version_id))

    def select_version(self, version_id: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item is not None and item.data(VERSION_ROLE) == version_id:
                self.list.setCurrentItem(item)
                return

    def _entry(self, version_id: int) -> VersionEntry | None:
        return next((v for v in self._versions if v.id == version_id), None)

    async def show_version(self, version_id: int) -> None:
        """Show version ``version_id`` in the preview (fetched once, then kept); with
        "Show changes", marked with what changed since the version before it."""
        entry = self._entry(version_id)
        if entry is None:
            return
        show_changes = self.changes_box.isChecked()
        before = self._older(entry) if show_changes else None
        wanted = [entry] + ([before] if before is not None else [])
        if any(v.id not in self._contents for v in wanted):
            self._say("Loading this version…")
        try:
            version = await self._version(version_id)
            older = await self._version(before.id) if before is not None else None
        except (NetworkError, UnreadableEncoding) as exc:
            if self._is_selected(version_id):
                self._say(f"Couldn't show this version. {describe_error(exc)}", error=True)
            return
        if not self._is_selected(version_id) or self.changes_box.isChecked() != show_changes:
            return  # another version was picked meanwhile, or the box changed
        changes = None
        if show_changes:
            old = content_delta(older) if older is not None else None
            changes = diff_versions(old, content_delta(version))
        self._set_preview(entry, version, changes)
        self._legend(entry, before, changes)
        self._say("")
        self.previewShown.emit(version_id)

    async def _version(self, version_id: int) -> pycrdt.Doc[Any]:
        """Version ``version_id`` as a document (its bytes fetched once, then kept)."""
        update = self._contents.get(version_id)
        if update is None:
            update = await self._api.content(version_id)
            version = document_from_update(update)
            self._contents[version_id] = update
            return version
        return document_from_update(update)

    def _older(self, entry: VersionEntry) -> VersionEntry | None:
        """The version before ``entry`` (the next older one in the list), if any."""
        later = [v.id for v in self._versions].index(entry.id) + 1
        return self._versions[later] if later < len(self._versions) else None

    def _changes_toggled(self, on: bool) -> None:
        self.changes_label.setVisible(on)
        item = self.list.currentItem()
        version_id = item.data(VERSION_ROLE) if item is not None else None
        if isinstance(version_id, int):
            self.spawn(self.show_version(version_id))

    def _is_selected(self, version_id: int) -> bool:
        item = self.list.currentItem()
        return item is not None and bool(item.data(VERSION_ROLE) == version_id)

    def _set_preview(
        self, entry: VersionEntry, version: pycrdt.Doc[Any], changes: list[Part] | None
    ) -> None:
        self._drop_preview()
        shown = version if changes is None else changes_document(changes, title_of(version))
        model = DocumentModel(shown, parent=self)
        model.read_only = True
        page = EditorWidget(model)
        page.setObjectName("versionPreview")
        page.setMaximumWidth(820)
        c = self._colors
        page.setStyleSheet(
            f"#versionPreview {{ background: {c.panel}; color: {c.text}; "
            f"border: 1px solid {c.border}; padding: 20px 32px; }}"
        )
        self._desk_layout.addWidget(page)
        self._preview_model, self._preview = model, page
        self._shown, self._shown_doc = entry, version
        self._changes = changes
        if changes is not None:
            self._mark(page, changes, changes_color(entry))
        when = f"{day_heading(entry.created_at)}, {clock(entry.created_at)}"
        self.preview_heading.setText(f"{when} — {entry.label}" if entry.label else when)
        doc_title = title_of(version)
        self.preview_title.setText(f"Title: {doc_title}" if doc_title else "Untitled document")
        self._update_buttons()

    def _mark(self, page: EditorWidget, changes: list[Part], color: QColor) -> None:
        """Draw the changes on the page (Qt only: nothing reaches the document)."""
        c = self._colors
        inserted = QTextCharFormat()
        inserted.setBackground(tint(color, QColor(c.panel)))
        inserted.setFontUnderline(True)
        inserted.setUnderlineColor(color)
        deleted = QTextCharFormat()
        deleted.setFontStrikeOut(True)
        deleted.setForeground(QColor(c.muted))
        formatted = QTextCharFormat()
        formatted.setBackground(inserted.background())
        looks: dict[Change, QTextCharFormat] = {
            "insert": inserted,
            "delete": deleted,
            "format": formatted,
        }
        for change, look in looks.items():  # a picture draws its own mark (one unit)
            look.merge(images.change_mark(change, QColor(c.muted) if change == "delete" else color))
        document = page.document()
        last = document.characterCount() - 1
        with page.binding.presentation_only():
            cursor = QTextCursor(document)
            cursor.beginEditBlock()
            for change, start, length in spans16(changes):
                end = min(start + length, last)
                if start < end:
                    cursor.setPosition(start)
                    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
                    cursor.mergeCharFormat(looks[change])
            cursor.endEditBlock()

    def _legend(
        self, entry: VersionEntry, before: VersionEntry | None, changes: list[Part] | None
    ) -> None:
        """Above the page: whose changes these are, and since when."""
        if changes is None:
            self.changes_label.clear()
            return
        color = changes_color(entry)
        background = tint(color, QColor(self._colors.panel)).name()
        since = (
            f"since {day_heading(before.created_at).lower()}, {clock(before.created_at)}"
            if before is not None
            else "— the first version: all of it is new"
        )
        people = ", ".join(html.escape(name) for name in entry.authors)
        who = f" by {people}" if people else ""
        self.changes_label.setText(
            f'<span style="color: {color.name()}">■</span> Changes{who} {since}: '
            f'<u style="background-color: {background}">added</u>, '
            f'<s style="color: {self._colors.muted}">removed</s>'
        )

    def _drop_preview(self) -> None:
        page, model = self._preview, self._preview_model
        self._preview = self._preview_model = None
        self._shown = self._shown_doc = None
        self._changes = None
        if page is not None:
            page.close_binding()
            page.hide()
            page.deleteLater()
        if model is not None:
            model.close()
            model.deleteLater()

    # -- actions ------------------------------------------------------------------------------
    def restore_selected(self) -> RestoreEdit | None:
        """Make the document read like the previewed version (one undoable edit)."""
        entry, version = self._shown, self._shown_doc
        if entry is None or version is None or not self.can_edit:
            return None
        model, editor = self._model, self._editor
        edit = restore(model.doc, version, index=model.index)
        if not edit.empty:
            _reload_page(editor, model)
        when = f"{day_heading(entry.created_at).lower()} at {clock(entry.created_at)}"
        if entry.label:
            when = f"“{entry.label}” ({when})"
        self.restored.emit(f"Restored the version of {when} — Undo (Ctrl+Z) brings it back")
        self.accept()
        return edit

    def ask_label(self) -> QInputDialog:
        """Ask a name for the current version; naming it is then a POST."""
        ask = QInputDialog(self)
        ask.setObjectName("nameVersionDialog")
        ask.setWindowTitle("Name current version")
        ask.setLabelText("Name this version (for example “Sent to Ana”):")
        ask.setOkButtonText("Save")
        ask.textValueSelected.connect(lambda label: self.spawn(self.name_current(label)))
        ask.open()
        return ask

    async def name_current(self, label: str) -> VersionEntry | None:
        """Name the document's current state ``label`` on the server, then show it."""
        label = label.strip()
        if not label or not self.can_edit:
            return None
        await self._settled()
        self._say("Naming the current version…")
        try:
            entry = await self._api.name_current(label)
        except NetworkError as exc:
            self._say(f"Couldn't name the version. {describe_error(exc)}", error=True)
            return None
        await self.load(select=entry.id)
        return entry

    async def _settled(self, within: float = SETTLE_SECONDS) -> None:
        """Wait (a little) until the server has this editor's last edits: the server names
        what it has stored, and the version should hold what the person sees."""
        client = self._connection.client
        if client.status.status is not Status.SAVING:
            return
        self._say("Saving your last changes…")
        done = asyncio.Event()

        def changed(status: ClientStatus) -> None:
            if status.status is not Status.SAVING:
                done.set()

        unsubscribe = client.add_listener(changed)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await done.wait()
        finally:
            unsubscribe()

    def _closed(self, *_: object) -> None:
        self._drop_preview()
        self._tasks.cancel()
        self.spawn(self._api.close())


def _reload_page(editor: EditorWidget, model: DocumentModel) -> None:
    """Show the CRDT's text in ``editor`` again after a local edit written around Qt.

    The binding's own loader fills the page from the CRDT (the editor's one Quill → Qt
    conversion) while the editor's binding is told the change is Qt-only, so nothing is
    sent back. The caret keeps its offset (clamped), the view its scroll position.
    """
    caret = editor.textCursor().position()
    scroll = editor.verticalScrollBar().value()
    with editor.binding.presentation_only():
        loader = QtTextBinding(editor.document(), model)
        loader.close()
    loader.deleteLater()
    cursor = editor.textCursor()
    cursor.setPosition(min(caret, editor.document().characterCount() - 1))
    editor.setTextCursor(cursor)
    editor.verticalScrollBar().setValue(scroll)
