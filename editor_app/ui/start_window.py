"""The window ``coscribe`` shows when started without a link: New, Open link…, and two
tabs: *Recent* (the documents opened on this computer) and *On this server* (the
server's document library, :class:`LibraryPanel`).

The library lists a server's documents (docs/api.md, "Documents (the library)") with their
title (or name), when they last changed ("5 min ago", "Yesterday 14:02", a date), who
changed them last and how many people are in them now; a search box filters by title or
name; a document opens with a double click or Enter, is retitled with *Rename…* (F2),
copied to a new document with *Make a copy* (:mod:`editor_app.ui.library_dialogs`),
moves to the trash after a confirmation, and comes back from the *Trash* view with
*Restore*. The same panel is the
body of *File ▸ Open…* (:mod:`editor_app.ui.open_dialog`).

Network work runs as asyncio tasks on the qasync loop, so the window never freezes; they
are started from plain callbacks, not ``@asyncSlot`` (qasync#177). Failures are said under
the list in plain words, with the server's own sentence when it refused.

The window only emits requests; the application decides what opening a document means.
"""

from __future__ import annotations

import datetime as dt
import html
import ssl as ssl_module
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.errors import LinkError
from editor_app.core.library_client import (
    DocumentEntry,
    LibraryClient,
    changed_ago,
    document_link,
    parse_server,
)
from editor_app.core.links import DEFAULT_SERVER, new_document_name
from editor_app.core.proxy import ProxyResolver
from editor_app.ui.background import BackgroundTasks
from editor_app.ui.dialogs import OpenLinkDialog
from editor_app.ui.library_dialogs import (
    MakeCopyDialog,
    RenameDialog,
    ServerAccess,
    describe_library_error,
)

URL_ROLE = Qt.ItemDataRole.UserRole


def _when(value: Any) -> str:
    """Format a last-opened time given as datetime, POSIX seconds or ISO text."""
    when: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, int | float):
        when = dt.datetime.fromtimestamp(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if when is None:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    if when.date() == dt.date.today():
        return when.strftime("today %H:%M")
    return when.strftime("%d %b %Y")


#: Where a document's name is kept on its row of the library list.
NAME_ROLE = Qt.ItemDataRole.UserRole
MUTED = "color: #5f6368"
ERROR = "color: #d93025"
#: Milliseconds the search waits after the last key before asking the server.
SEARCH_DELAY_MS = 300
TRASH_DAYS = 30


def unique_servers(*groups: Sequence[str]) -> list[str]:
    """The servers of ``groups`` (addresses or document links), each once, in order."""
    servers: list[str] = []
    for group in groups:
        for text in group:
            try:
                server = parse_server(text)[0]
            except LinkError:
                continue
            if server not in servers:
                servers.append(server)
    return servers


def _button(
    text: str, name: str, clicked: Callable[[], object] | None = None, *, tip: str = ""
) -> QPushButton:
    """A push button named ``name`` (what tests find it by) that calls ``clicked()``."""
    button = QPushButton(text)
    button.setObjectName(name)
    if tip:
        button.setToolTip(tip)
    if clicked is not None:
        button.clicked.connect(lambda *_: clicked())
    return button


class LibraryPanel(QWidget):
    """One server's documents (or its trash): a server box, a search box, the list, and
    Open / Rename… / Make a copy / Move to trash / Restore / New document.

    Signals:
        openRequested(str): the link of the document to open (with the token, if any).
        loaded(): a listing arrived, or failed (see :attr:`message`).
        changed(str): a document was renamed, moved to the trash or restored (its name),
            or made as a copy (the copy's name).
    """

    openRequested = Signal(str)
    loaded = Signal()
    changed = Signal(str)

    def __init__(
        self,
        servers: Sequence[str] = (),
        *,
        token: str | None = None,
        proxy: ProxyResolver | None = None,
        ssl: ssl_module.SSLContext | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self._proxy, self._ssl = proxy, ssl
        servers = unique_servers(servers) or [DEFAULT_SERVER]
        #: The access token to send to each server (given with the panel, or typed in the
        #: server box as ``?token=…``).
        self._tokens: dict[str, str] = {servers[0]: token} if token else {}
        self._token: str | None = None
        self._server: str | None = None
        self._entries: list[DocumentEntry] = []
        self._trash = False
        self._generation = 0  # answers to an older request than the last are dropped
        self._ever_loaded = False
        self._select_next: str | None = None  # the row to select once the list is back
        self._tasks = BackgroundTasks(on_change=self._update_buttons)
        self.confirmation: QMessageBox | None = None
        self._build(servers)

    # -- layout -------------------------------------------------------------------------------
    def _build(self, servers: list[str]) -> None:
        self.server_box = QComboBox()
        self.server_box.setObjectName("serverBox")
        self.server_box.setEditable(True)
        self.server_box.addItems(servers)
        self.server_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.server_box.setMinimumContentsLength(24)
        server_edit = QLineEdit()
        self.server_box.setLineEdit(server_edit)
        server_edit.setPlaceholderText("ws://host:port")
        server_edit.returnPressed.connect(self.reload)
        self.server_box.activated.connect(lambda *_: self.reload())
        self.refresh_button = _button(
            "Refresh", "refreshButton", self.reload, tip="List the documents again (F5)"
        )
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.reload)

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("librarySearch")
        self.search_edit.setPlaceholderText("Search titles and names")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search_edit.textChanged.connect(lambda *_: self._search_timer.start())
        self.search_edit.returnPressed.connect(self.reload)
        self.trash_button = _button(
            "Trash", "trashViewButton", tip="Show the documents in the trash"
        )
        self.trash_button.setCheckable(True)
        self.trash_button.toggled.connect(self.show_trash)

        top = QHBoxLayout()
        top.addWidget(QLabel("Server"))
        top.addWidget(self.server_box, 1)
        top.addWidget(self.refresh_button)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.trash_button)

        self.list = QTreeWidget()
        self.list.setObjectName("libraryList")
        self.list.setHeaderLabels(["Title", "Last modified", "Last edited by", "People"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setStyleSheet("QTreeWidget::item { padding: 5px 4px; }")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemActivated.connect(lambda *_: self.open_selected())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())

        self.message_label = QLabel()
        self.message_label.setObjectName("libraryMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.open_button = _button("Open", "openDocumentButton", self.open_selected)
        self.rename_button = _button(
            "Rename…", "renameButton", self.rename_selected, tip="Change the title (F2)"
        )
        QShortcut(QKeySequence(Qt.Key.Key_F2), self.list, self.rename_selected)
        self.copy_button = _button(
            "Make a copy",
            "makeCopyButton",
            self.copy_selected,
            tip="Make a new document holding a copy of this one",
        )
        self.trash_doc_button = _button("Move to trash", "moveToTrashButton", self.trash_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list, self.trash_selected)
        self.restore_button = _button("Restore", "restoreButton", self.restore_selected)
        self.new_button = _button(
            "New document here",
            "newOnServerButton",
            self.new_document,
            tip="Create a document on this server",
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.trash_doc_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addLayout(search_row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- what tests and callers read --------------------------------------------------------
    @property
    def server(self) -> str | None:
        """The server listed (None until a valid address was entered)."""
        return self._server

    @property
    def busy(self) -> bool:
        """Whether a request is under way."""
        return len(self._tasks) > 0

    @property
    def in_trash(self) -> bool:
        return self._trash

    @property
    def message(self) -> str:
        return self.message_label.text()

    def entries(self) -> list[DocumentEntry]:
        """The documents listed, in the list's order."""
        return list(self._entries)

    def titles(self) -> list[str]:
        """The titles as shown (a document's name when it has no title)."""
        return [item.text(0) for item in self._items()]

    def selected(self) -> DocumentEntry | None:
        item = self.list.currentItem()
        if item is None:
            return None
        name = item.data(0, NAME_ROLE)
        return next((e for e in self._entries if e.name == name), None)

    def select(self, name: str) -> bool:
        """Select document ``name``'s row; False if it is not listed."""
        for item in self._items():
            if item.data(0, NAME_ROLE) == name:
                self.list.setCurrentItem(item)
                return True
        return False

    def _items(self) -> list[QTreeWidgetItem]:
        rows = (self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount()))
        return [item for item in rows if item is not None]

    def add_servers(self, servers: Sequence[str]) -> None:
        """Offer these servers (addresses or document links) in the server box too."""
        known = [self.server_box.itemText(i) for i in range(self.server_box.count())]
        for server in unique_servers(servers):
            if server not in known:
                self.server_box.addItem(server)
                known.append(server)

    # -- actions ------------------------------------------------------------------------------
    def set_server(self, text: str) -> None:
        """List the documents of the server at ``text`` (an address, maybe with a token)."""
        self.server_box.setEditText(text)
        self.reload()

    def show_trash(self, trash: bool) -> None:
        """Show the trash (True) or the documents (False)."""
        if self.trash_button.isChecked() != trash:
            self.trash_button.setChecked(trash)  # comes back here through toggled
            return
        self._trash = trash
        self.list.headerItem().setText(1, "Moved to trash" if trash else "Last modified")
        self.reload()

    def reload(self) -> None:
        """Ask the server for the list again (search text and view as they are now)."""
        self._search_timer.stop()
        self._ever_loaded = True
        text = self.server_box.currentText().strip()
        try:
            server, token = parse_server(text)
        except LinkError as exc:
            self._generation += 1
            self._show_entries([])
            self._say(str(exc)[:1].upper() + str(exc)[1:] + ".", error=True)
            self.loaded.emit()
            return
        if token:
            self._tokens[server] = token
        self._server, self._token = server, self._tokens.get(server)
        self._generation += 1
        query = self.search_edit.text()
        self._tasks.spawn(self._load(self._generation, server, query, self._trash))

    def open_selected(self) -> None:
        entry = self.selected()
        if entry is None or self._server is None or self._trash:
            return
        self.openRequested.emit(document_link(self._server, entry.name, self._token))

    def new_document(self) -> None:
        """Open a new document (a fresh random name) on the server listed."""
        if self._server is not None:
            self.openRequested.emit(document_link(self._server, new_document_name(), self._token))

    def rename_selected(self) -> RenameDialog | None:
        """Ask the selected document's new title (prefilled with the current one); the
        dialog (None if nothing is selected). Renaming it lists the documents again."""
        entry, access = self.selected(), self._access()
        if entry is None or access is None or self._trash:
            return None
        dialog = RenameDialog(access, entry.name, entry.title, self)
        dialog.answered.connect(lambda answer: self._done(answer.name))
        dialog.open()
        return dialog

    def copy_selected(self) -> MakeCopyDialog | None:
        """Ask the name of a copy of the selected document (prefilled ``<name>-copy``);
        the dialog (None if nothing is selected). Once made, the list is loaded again with
        the copy selected."""
        entry, access = self.selected(), self._access()
        if entry is None or access is None or self._trash:
            return None
        dialog = MakeCopyDialog(access, entry.name, self)
        dialog.answered.connect(lambda answer: self._done(answer.name, select=True))
        dialog.open()
        return dialog

    def trash_selected(self) -> QMessageBox | None:
        """Ask whether to move the selected document to the trash; the question (None if
        nothing is selected). Its "Move to trash" button does it."""
        entry = self.selected()
        if entry is None or self._trash:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Move to trash?",
            f"Move “{entry.display_title}” to the trash?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("confirmTrash")
        box.setInformativeText(
            "Everyone who has it open is disconnected, and nobody can open it until it is "
            f"restored from the trash. After {TRASH_DAYS} days it is deleted for good."
        )
        confirm = box.addButton("Move to trash", QMessageBox.ButtonRole.AcceptRole)
        confirm.setObjectName("confirmTrashButton")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda button: self._change(entry, trash=True) if button is confirm else None
        )
        self.confirmation = box
        box.open()
        return box

    def restore_selected(self) -> None:
        entry = self.selected()
        if entry is not None and self._trash:
            self._change(entry, trash=False)

    # -- work ---------------------------------------------------------------------------------
    def _client(self, server: str) -> LibraryClient:
        return ServerAccess(server, self._token, self._proxy, self._ssl).client()

    def _access(self) -> ServerAccess | None:
        """The server listed, as the rename and copy dialogs reach it."""
        if self._server is None:
            return None
        return ServerAccess(self._server, self._token, self._proxy, self._ssl)

    def _done(self, name: str, *, select: bool = False) -> None:
        """Document ``name`` was changed (or made): list again, selecting it if ``select``."""
        if select:
            self._select_next = name
        self.changed.emit(name)
        self.reload()

    async def _load(self, generation: int, server: str, query: str, trash: bool) -> None:
        self._say("Loading…")
        try:
            async with self._client(server) as library:
                entries = await library.documents(query, trash=trash)
        except Exception as exc:  # noqa: BLE001 (every failure is said, in words)
            if generation == self._generation:
                self._show_entries([])
                self._say(describe_library_error(exc), error=True)
                self.loaded.emit()
            return
        if generation != self._generation:
            return
        self._show_entries(entries)
        if entries:
            self._say("")
        elif query.strip():
            self._say(f"Nothing matches “{query.strip()}”.")
        elif trash:
            self._say("The trash is empty.")
        else:
            self._say("No documents on this server yet. Create one with New document.")
        self.loaded.emit()

    def _change(self, entry: DocumentEntry, *, trash: bool) -> None:
        server = self._server
        if server is not None:
            self._tasks.spawn(self._move(server, entry, trash))

    async def _move(self, server: str, entry: DocumentEntry, trash: bool) -> None:
        self._say("Moving to the trash…" if trash else "Restoring…")
        try:
            async with self._client(server) as library:
                await (library.trash(entry.name) if trash else library.restore(entry.name))
        except Exception as exc:  # noqa: BLE001
            self._say(describe_library_error(exc), error=True)
            return
        self.changed.emit(entry.name)
        self.reload()

    def cancel(self) -> None:
        """Stop whatever request is under way (the window is closing)."""
        self._tasks.cancel()

    # -- display ------------------------------------------------------------------------------
    def _show_entries(self, entries: list[DocumentEntry]) -> None:
        selected = self.selected()
        keep = self._select_next or (selected.name if selected is not None else None)
        self._select_next = None
        self._entries = entries
        self.list.clear()
        now = time.time()
        for entry in entries:
            when = entry.trashed_at if self._trash and entry.trashed_at else entry.updated_at
            people = f"{entry.people} here" if entry.people else ""
            item = QTreeWidgetItem(
                [entry.display_title, changed_ago(when, now), entry.last_editor or "", people]
            )
            item.setData(0, NAME_ROLE, entry.name)
            stamp = dt.datetime.fromtimestamp(when).strftime("%A %d %B %Y, %H:%M")
            item.setToolTip(0, f"{entry.name} · {entry.size:,} bytes")
            item.setToolTip(1, stamp)
            self.list.addTopLevelItem(item)
        if keep is not None:
            self.select(keep)
        self._update_buttons()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR if error else MUTED)
        self.message_label.setVisible(bool(text))

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        for button in (self.open_button, self.rename_button, self.copy_button):
            button.setVisible(not self._trash)
            button.setEnabled(chosen)
        self.trash_doc_button.setVisible(not self._trash)
        self.new_button.setVisible(not self._trash)
        self.restore_button.setVisible(self._trash)
        self.trash_doc_button.setEnabled(chosen)
        self.restore_button.setEnabled(chosen)
        self.new_button.setEnabled(self._server is not None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._ever_loaded:
            self.reload()


class StartWindow(QWidget):
    newDocumentRequested = Signal()
    openRequested = Signal(str)  # a document URL
    closed = Signal()

    def __init__(
        self,
        recent: Sequence[Any],
        parent: QWidget | None = None,
        *,
        servers: Sequence[str] = (),
        proxy: ProxyResolver | None = None,
    ) -> None:
        """``servers``: those to offer first in *On this server* (the default server);
        the servers of the recent documents follow, then :data:`DEFAULT_SERVER`.
        ``proxy``: the proxy choice (Preferences) for the library's requests."""
        super().__init__(parent)
        self.setWindowTitle("Coscribe")
        self.setObjectName("startWindow")
        self.resize(760, 520)

        heading = QLabel("Coscribe")
        font = QFont(heading.font())
        font.setPointSize(font.pointSize() * 2)
        font.setBold(True)
        heading.setFont(font)

        self.new_button = _button("New document", "newDocumentButton")
        self.new_button.setDefault(True)
        self.open_button = _button("Open link…", "openLinkButton")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)

        self.recent_list = QListWidget()
        self.recent_list.setObjectName("recentList")
        self.empty_label = QLabel("No recent documents yet. Create one, or open a shared link.")
        self.empty_label.setStyleSheet("color: #5f6368")

        recent_tab = QWidget()
        recent_column = QVBoxLayout(recent_tab)
        recent_column.setContentsMargins(0, 0, 0, 0)
        recent_column.addWidget(self.recent_list, 1)
        recent_column.addWidget(self.empty_label)
        recent_urls = [str(entry.url) for entry in recent]
        self.library = LibraryPanel([*servers, *recent_urls, DEFAULT_SERVER], proxy=proxy)
        self.library.openRequested.connect(self.openRequested.emit)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("startTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(recent_tab, "Recent")
        self.tabs.addTab(self.library, "On this server")

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(self.tabs, 1)

        # Zero-argument lambdas: qasync's asyncSlot must not be used on `clicked` (#177).
        self.new_button.clicked.connect(lambda *_: self.newDocumentRequested.emit())
        self.open_button.clicked.connect(lambda *_: self.show_open_link())
        self.recent_list.itemActivated.connect(self._open_item)
        self.set_recent(recent)

    def show_library(self) -> LibraryPanel:
        """Switch to *On this server* (which lists the documents when first shown)."""
        self.tabs.setCurrentWidget(self.library)
        return self.library

    def set_recent(self, recent: Sequence[Any]) -> None:
        self.recent_list.clear()
        for entry in recent:
            url = str(entry.url)
            title = str(getattr(entry, "title", "") or "") or url.rsplit("/", 1)[-1]
            when = _when(getattr(entry, "last_opened", None))
            item = QListWidgetItem()
            item.setData(URL_ROLE, url)
            item.setToolTip(url)
            label = QLabel(
                f"<b>{html.escape(title)}</b><br><span style='color:#5f6368'>"
                f"{html.escape(url)}{'  ·  ' + when if when else ''}</span>"
            )
            label.setContentsMargins(8, 6, 8, 6)
            item.setSizeHint(label.sizeHint())
            self.recent_list.addItem(item)
            self.recent_list.setItemWidget(item, label)
        self.empty_label.setVisible(self.recent_list.count() == 0)

    def recent_urls(self) -> list[str]:
        return [
            str(self.recent_list.item(i).data(URL_ROLE)) for i in range(self.recent_list.count())
        ]

    def show_open_link(self) -> OpenLinkDialog:
        dialog = OpenLinkDialog(self)
        dialog.linkChosen.connect(self.openRequested.emit)
        dialog.open()
        return dialog

    def _open_item(self, item: QListWidgetItem) -> None:
        self.openRequested.emit(str(item.data(URL_ROLE)))

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.library.cancel()
        self.closed.emit()
