"""Composition root: builds and connects the parts of each open document; holds no logic.

For every document window: pycrdt ``Doc`` + ``Awareness`` -> ``LocalDocument`` (load the
offline copy, then persist every later change) -> ``SyncClient`` (a channel on the
server's one shared connection, from the app's ``ConnectionManager``) ->
``PresenceTracker`` -> ``DocumentModel`` -> ``EditorWidget`` -> ``MainWindow``. The
connections use the proxy chosen in Preferences (the platform's settings come from Qt:
``editor_app.qt.system_proxy``).

Tasks started from Qt signals are retained by a
:class:`~editor_app.ui.background.BackgroundTasks` (qasync's ``@asyncSlot`` fails on
zero-argument signals such as ``clicked``, qasync#177). Closing a window closes its
SyncClient cleanly; when the last window is gone, :func:`run_app` returns and the event
loop ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pycrdt
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from editor_app.core.connection_manager import ConnectionManager
from editor_app.core.diagnose import CheckResult, check_connection
from editor_app.core.links import DocumentLink, new_document_name, parse_document_link
from editor_app.core.local_store import LocalDocument, LocalStore
from editor_app.core.paths import resolve_data_dir
from editor_app.core.presence import PresenceTracker
from editor_app.core.proxy import ProxyResolver
from editor_app.core.server_connection import ServerConnection
from editor_app.core.sync_client import SyncClient
from editor_app.qt.connection_model import ConnectionModel
from editor_app.qt.document_model import DocumentModel
from editor_app.qt.icons import app_icon
from editor_app.qt.settings import Settings, os_account_name
from editor_app.qt.system_proxy import system_proxy
from editor_app.ui.background import BackgroundTasks
from editor_app.ui.dialogs import ConflictChoice, ask_conflict_choice, message_box
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.main_window import MainWindow
from editor_app.ui.name_dialog import NameDialog
from editor_app.ui.preferences import PreferencesDialog
from editor_app.ui.spell_highlighter import Spelling, shared_spelling
from editor_app.ui.start_window import StartWindow

LOCAL_STORE_FILE = "documents.sqlite3"


@dataclass
class OpenDocument:
    """Everything that belongs to one open document window."""

    link: DocumentLink
    doc: pycrdt.Doc[Any]
    awareness: pycrdt.Awareness
    local: LocalDocument
    client: SyncClient
    presence: PresenceTracker
    model: DocumentModel
    editor: EditorWidget
    connection: ConnectionModel
    window: MainWindow
    server_connection: ServerConnection | None = None
    run_task: asyncio.Task[None] | None = None
    closing: bool = field(default=False)
    resolving: bool = field(default=False)  # the conflict question is on screen


class CoscribeApp(QObject):
    """The running application: open documents, the start window, preferences."""

    def __init__(
        self,
        qapp: QApplication,
        *,
        data_dir: Path | None = None,
        name: str | None = None,
        server: str | None = None,
        spelling: Spelling | None = None,
    ) -> None:
        super().__init__()
        self.qapp = qapp
        self.data_dir = resolve_data_dir(data_dir)
        #: The spell checker of every window (default: the application's). Made first, so
        #: that its dictionaries load on their worker thread while the window is built.
        self.spelling = spelling if spelling is not None else shared_spelling()
        self.settings = Settings(self.data_dir)
        self.store = LocalStore(self.data_dir / LOCAL_STORE_FILE)
        self._name_override = name
        self._server_override = server
        self.spawner = BackgroundTasks()
        #: One connection per server, shared by that server's documents.
        self.connections = ConnectionManager(proxy=self.proxy_resolver(), memory=self.settings)
        self.spawner.spawn(self.connections.run())
        self.documents: dict[str, OpenDocument] = {}
        self.start_window: StartWindow | None = None
        self._done = asyncio.get_running_loop().create_future()
        self._closed = False
        qapp.setApplicationName("Coscribe")
        qapp.setWindowIcon(app_icon())
        qapp.setDesktopFileName("coscribe")  # Wayland: match coscribe.desktop (name, icon)
        qapp.setQuitOnLastWindowClosed(False)  # we close sync clients first, then end the loop

    # -- identity -----------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return self._name_override or self.settings.display_name

    @property
    def server(self) -> str:
        return self._server_override or self.settings.default_server

    def proxy_resolver(self) -> ProxyResolver:
        """The proxy choice from Preferences, with the platform's settings from Qt."""
        return self.settings.proxy_resolver(system=system_proxy)

    # -- windows ------------------------------------------------------------------------------
    def show_start(self) -> StartWindow:
        if self.start_window is None:
            self.start_window = StartWindow(
                self.store.recent(), servers=[self.server], proxy=self.proxy_resolver()
            )
            self.start_window.newDocumentRequested.connect(self.new_document)
            self.start_window.openRequested.connect(self.open_link)
            self.start_window.closed.connect(self._start_window_closed)
        else:
            self.start_window.set_recent(self.store.recent())
        self.start_window.show()
        self.start_window.raise_()
        return self.start_window

    def new_document(self) -> OpenDocument:
        name = new_document_name()
        return self.open_document(f"{self.server}/{name}")

    def open_link(self, text: str) -> OpenDocument | None:
        """Open a link typed or pasted by the user; a bad link gets a message, not a crash."""
        try:
            return self.open_document(text)
        except ValueError as exc:
            QMessageBox.warning(self.start_window or None, "Cannot open link", str(exc))
            return None

    def open_document(self, url: str) -> OpenDocument:
        """Open (or raise, if already open) the window of the document at ``url``."""
        link = parse_document_link(url)
        if link.url in self.documents:
            existing = self.documents[link.url]
            existing.window.show()
            existing.window.raise_()
            existing.window.activateWindow()
            return existing
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        awareness = pycrdt.Awareness(doc)
        local = self.store.open_document(link.url)
        local.load_into(doc)
        local.attach(doc)
        server_connection = self.connections.acquire(link.server)
        client = SyncClient(
            link.document_url,
            doc,
            awareness,
            incarnation=local.incarnation,
            token=link.token,
            connection=server_connection,
        )
        client.on_incarnation = local.set_incarnation
        model = DocumentModel(doc)
        model.inputHandled.connect(client.flush)
        presence = PresenceTracker(awareness, model.text, model.index)
        presence.set_user(self.display_name, self.settings.color)
        model.set_presence(presence)
        editor = EditorWidget(model, spelling=self.spelling)
        connection = ConnectionModel(
            client,
            link,
            connection=server_connection,
            tester=lambda: self._test_connection(link),
        )
        window = MainWindow(model, editor, connection, presence)
        window.set_you(self.display_name, self.settings.color)
        opened = OpenDocument(
            link, doc, awareness, local, client, presence, model, editor, connection, window
        )
        opened.server_connection = server_connection
        self.documents[link.url] = opened
        window.newDocumentRequested.connect(self.new_document)
        window.openLinkRequested.connect(self.open_link)
        window.importRequested.connect(self.import_file)
        window.preferencesRequested.connect(self.show_preferences)
        window.quitRequested.connect(self.quit)
        window.closed.connect(lambda: self.spawner.spawn(self.close_document(opened)))
        connection.conflictDetected.connect(
            lambda _detail: self.spawner.spawn(self._resolve_conflict(opened))
        )
        opened.run_task = self.spawner.spawn(client.run())
        window.show()
        # Without a window manager nothing activates a new window, and Qt acts on window
        # shortcuts and menu mnemonics only in the active one (Alt+I would type an "i").
        window.raise_()
        window.activateWindow()
        if self.start_window is not None:
            self.start_window.hide()
        return opened

    async def close_document(self, opened: OpenDocument, *, replaced: bool = False) -> None:
        """Close one document: stop syncing cleanly, forget the window (idempotent).

        ``replaced``: another window takes its place (conflict resolution), so closing the
        last window must not end the application.
        """
        if opened.closing:
            return
        opened.closing = True
        opened.connection.detach()
        await opened.client.close()
        if opened.run_task is not None:
            await asyncio.gather(opened.run_task, return_exceptions=True)
        if opened.server_connection is not None:
            await self.connections.release(opened.server_connection)
        opened.editor.close_binding()
        opened.model.close()
        opened.presence.close()
        opened.local.detach()
        opened.window.hide()
        opened.window.deleteLater()
        self.documents.pop(opened.link.url, None)
        if not replaced:
            self._maybe_done()

    def import_file(self, path: str) -> OpenDocument:
        """Import a .txt/.md/.html file into a NEW document and open it."""
        from editor_app.qt.export import import_into_editor

        opened = self.new_document()
        import_into_editor(Path(path), opened.editor)
        title = Path(path).stem
        if title and not opened.model.title():
            opened.model.set_title(title)
        return opened

    def ask_name_if_needed(self) -> NameDialog | None:
        """First start: ask once for the name others will see (the OS account's name is
        the default). Not asked when ``--name`` was given or a name was ever chosen."""
        if self._name_override or self.settings.has_display_name:
            return None
        # Parented to one of this app's own windows (never to whatever window is active).
        windows = [opened.window for opened in self.documents.values()]
        parent = windows[0] if windows else self.start_window
        dialog = NameDialog(os_account_name(), parent=parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(name: str) -> None:
            self.settings.display_name = name
            self._apply_preferences()

        dialog.nameChosen.connect(chosen)
        dialog.open()
        return dialog

    def show_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, parent=self.qapp.activeWindow())
        dialog.accepted.connect(self._apply_preferences)
        dialog.open()

    async def _test_connection(self, link: DocumentLink) -> CheckResult:
        return await check_connection(link.server, proxy=self.connections.proxy, token=link.token)

    def _apply_preferences(self) -> None:
        self.connections.set_proxy(self.proxy_resolver())
        self._name_override = None  # the user just chose a name; it wins over --name
        for opened in self.documents.values():
            opened.presence.set_user(self.display_name, self.settings.color)
            opened.window.set_you(self.display_name, self.settings.color)

    async def _resolve_conflict(self, opened: OpenDocument) -> None:
        """The server's document was re-created while we had offline changes: ask."""
        if opened.resolving or opened.closing:
            return
        opened.resolving = True
        try:
            choice = await ask_conflict_choice(opened.window, opened.link.name)
        finally:
            opened.resolving = False
        if choice is ConflictChoice.KEEP_COPY:
            stem = opened.link.name[:60]
            copy_link = parse_document_link(f"{opened.link.server}/{stem}-copy-{_suffix()}")
            opened.local.save_as_copy(copy_link.url)
            await self.close_document(opened, replaced=True)
            self.open_document(copy_link.url)
        elif choice is ConflictChoice.DISCARD:
            await self.close_document(opened, replaced=True)
            opened.local.discard()
            self.open_document(opened.link.url)

    def _start_window_closed(self) -> None:
        self.start_window = None
        self._maybe_done()

    def _maybe_done(self) -> None:
        visible_start = self.start_window is not None and self.start_window.isVisible()
        if not self.documents and not visible_start and not self._done.done():
            self._done.set_result(None)

    # -- lifecycle ----------------------------------------------------------------------------
    def quit(self) -> None:
        """End the application (File > Quit): :func:`run_app` then closes everything."""
        if not self._done.done():
            self._done.set_result(None)

    @property
    def is_done(self) -> bool:
        """True once the last window closed (or Quit was chosen)."""
        return self._done.done()

    async def wait_until_done(self) -> None:
        """Return when the last window was closed."""
        await asyncio.shield(self._done)

    async def aclose(self) -> None:
        """Close every document (sync clients first), then the local store (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for opened in list(self.documents.values()):
            await self.close_document(opened)
        if self.start_window is not None:
            window, self.start_window = self.start_window, None
            window.close()
            window.deleteLater()
        await self.connections.aclose()
        await self.spawner.aclose()
        self.store.close()
        # Delete closed windows now, while the QApplication exists: left to Python's
        # garbage collector at interpreter exit, Qt objects die in arbitrary order.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _suffix() -> str:
    """A short random suffix for the name of a kept copy (``notes-copy-k3x9``)."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(4))


async def run_app(
    qapp: QApplication,
    *,
    url: str | None = None,
    name: str | None = None,
    data_dir: Path | None = None,
    server: str | None = None,
) -> int:
    """Run the editor until its last window closes; returns the process exit status.

    SIGINT (Ctrl+C in the terminal) and SIGTERM quit like File > Quit: sync clients are
    closed cleanly and local copies are already on disk. An unexpected error in a task or
    slot is shown in a dialog instead of vanishing in a terminal nobody watches.
    """
    app = CoscribeApp(qapp, data_dir=data_dir, name=name, server=server)
    qapp.aboutToQuit.connect(app.quit)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, app.quit)
    previous_hook = sys.excepthook
    sys.excepthook = _error_dialog_hook(previous_hook)
    try:
        if url is None:
            app.show_start()
        else:
            app.open_document(url)
        app.ask_name_if_needed()
        await app.wait_until_done()
    finally:
        sys.excepthook = previous_hook
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await app.aclose()
    return 0


def _error_dialog_hook(
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], Any],
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """An excepthook that keeps the default report (stderr) and also tells the user."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        previous(kind, exc, tb)
        box = message_box(
            QApplication.activeWindow(),
            "errorDialog",
            "Something went wrong",
            f"{kind.__name__}: {exc}",
            "Your documents are kept on this computer. Details were written to the terminal.",
            QMessageBox.Icon.Critical,
        )
        box.setDetailedText("".join(traceback.format_exception(kind, exc, tb)))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    return hook
