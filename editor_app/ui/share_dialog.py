"""Share (the button at the top right, *File ▸ Share…*), like Google Docs' Share dialog.

Which face the dialog shows is the server's answer to "list this document's links"
(docs/api.md, "Sharing (owners)"), the one authority on who may share:

* an **owner** (200) picks a role and an expiry and creates a link: the document's link
  with ``?token=...``, shown and copied to the clipboard at once. Below, every link
  minted for the document, newest first: its role, when it was created and when it
  expires, with Copy and Revoke (after a confirmation; the row then says "Revoked", and
  the people who opened it lose access within a second);
* anyone else (403) reads that only the document's owners can share it, and may copy the
  link they opened the document with (what *File ▸ Copy link* copies);
* a server in open mode (409) has no links: the dialog says so and copies the address;
* a failure (no answer, an older server) is said in a sentence, with Try again.

Network work runs as asyncio tasks on the qasync loop, started with plain callbacks (not
``@asyncSlot``: qasync#177), so the window never waits; the dialog's one
:class:`~editor_app.core.api_client.HistoryClient` is closed with it.
"""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.api_client import LinkEntry
from editor_app.core.errors import NetworkError, NotCoscribeV2, ServerRefused
from editor_app.qt.connection_model import ConnectionModel
from editor_app.ui.background import BackgroundTasks
from editor_app.ui.dialogs import hbox, message_box
from editor_app.ui.document_api import document_api
from editor_app.ui.version_history import _Scheme, _scheme, clock, day_heading, describe_error
from shared.access import Role

DAY = 86400
#: The roles a link may give, as the role menu lists them (Google Docs' words).
ROLE_CHOICES = (
    ("Editor", Role.EDITOR),
    ("Commenter", Role.COMMENTER),
    ("Viewer", Role.VIEWER),
    ("Owner", Role.OWNER),
)
ROLE_NAMES = {role: name for name, role in ROLE_CHOICES}
#: What whoever opens a link of each role may do, said under the role menu.
ROLE_HELP = {
    Role.EDITOR: "Anyone with the link can edit.",
    Role.COMMENTER: "Anyone with the link can read and comment, but not change the text.",
    Role.VIEWER: "Anyone with the link can read, but not change anything.",
    Role.OWNER: "Anyone with the link can edit, and share the document or revoke its links.",
}
EXPIRY_CHOICES = (("Never", None), ("1 day", DAY), ("7 days", 7 * DAY), ("30 days", 30 * DAY))
OWNER_HEIGHT, SHORT_HEIGHT = 500, 230  # the dialog's height, for owners and the rest
DEFAULT_ROLE = Role.VIEWER  # the least a link gives unless its owner picks more

NOT_OWNER = (
    "Only the document's owners can share it or make new links. Ask an owner if "
    "someone else needs access.\n\n"
    "You can pass on the link you opened it with: whoever opens it can do what you can."
)
OPEN_MODE = (
    "This server is in open mode: anyone on this computer can open the document. Copy its address:"
)


def explain(exc: BaseException) -> str:
    """A failure of the sharing requests in a person's words (the server's own sentence
    when it refused)."""
    if isinstance(exc, NotCoscribeV2):
        return "This server cannot share links from the app (it is older than this editor)."
    return describe_error(exc)


def when(at: float) -> str:
    """``today at 14:03``, ``yesterday at 09:12``, ``Friday 28 November at 14:03``."""
    day = day_heading(at)
    return f"{day.lower() if day in ('Today', 'Yesterday') else day} at {clock(at)}"


def expiry_text(entry: LinkEntry, now: float | None = None) -> str:
    if entry.expires_at is None:
        return "never expires"
    if entry.expires_at <= (time.time() if now is None else now):
        return f"expired {when(entry.expires_at)}"
    return f"expires {when(entry.expires_at)}"


class LinkRow(QFrame):
    """One link in the list: its role, created and expiry; Copy and Revoke, or "Revoked"."""

    def __init__(self, entry: LinkEntry, colors: _Scheme) -> None:
        super().__init__()
        self.setObjectName("linkRow")
        self.setStyleSheet(
            f"#linkRow {{ border: none; border-bottom: 1px solid {colors.border}; }}"
        )
        self.entry = entry
        role = QLabel(ROLE_NAMES.get(entry.role, str(entry.role)))
        role.setObjectName("linkRole")
        font = QFont(role.font())
        font.setBold(True)
        role.setFont(font)
        times = QLabel(f"Created {when(entry.created_at)} · {expiry_text(entry)}")
        times.setObjectName("linkTimes")
        times.setStyleSheet(f"color: {colors.muted}")
        column = QVBoxLayout()
        column.setSpacing(1)
        column.addWidget(role)
        column.addWidget(times)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copyLinkButton")
        self.copy_button.setToolTip("Copy this link to the clipboard")
        self.revoke_button = QPushButton("Revoke")
        self.revoke_button.setObjectName("revokeButton")
        self.revoke_button.setToolTip("Stop this link from working, for everyone who has it")
        self.revoked_label = QLabel("Revoked")
        self.revoked_label.setObjectName("revokedLabel")
        self.revoked_label.setStyleSheet(f"color: {colors.error}; font-weight: bold")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.addLayout(column, 1)
        row.addWidget(self.revoked_label)
        row.addWidget(self.copy_button)
        row.addWidget(self.revoke_button)
        revoked = entry.revoked
        self.revoked_label.setVisible(revoked)
        self.copy_button.setVisible(not revoked)
        self.revoke_button.setVisible(not revoked)
        if revoked:
            role.setStyleSheet(f"color: {colors.muted}")
        if entry.revoked_at is not None:
            times.setText(f"Created {when(entry.created_at)} · revoked {when(entry.revoked_at)}")


class ShareDialog(QDialog):
    """Share the document of ``connection`` (see the module's docstring).

    Signals:
        loaded(): the first answer arrived (see :attr:`mode`) or a (re)load ended.
        linkCreated(str): a new link was made and copied; its URL.
        linkRevoked(str): a link was revoked; its id.
    """

    loaded = Signal()
    linkCreated = Signal(str)
    linkRevoked = Signal(str)

    def __init__(
        self, connection: ConnectionModel, title: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shareDialog")
        self.setWindowTitle(f"Share “{title}”" if title else "Share")
        self._connection = connection
        self._api = document_api(connection)
        self._tasks = BackgroundTasks()
        self._links: list[LinkEntry] = []
        self._rows: dict[str, LinkRow] = {}
        self._mode = "loading"
        self._colors = _scheme(parent or self)
        self._build()
        self.finished.connect(self._closed)
        self.resize(620, SHORT_HEIGHT)

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        c = self._colors
        self.heading = QLabel(self.windowTitle())
        self.heading.setObjectName("shareHeading")
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.pages = QStackedWidget()
        self.loading_page = self._text_page("Loading…", "shareLoading")
        self.owner_page = self._build_owner_page()
        self.not_owner_page = self._text_page(NOT_OWNER, "notOwnerText")
        self.not_owner_copy = self._add_button(self.not_owner_page, "Copy link", "copyOwnLink")
        self.not_owner_copy.clicked.connect(lambda *_: self.copy_own_link())
        self.open_page = self._text_page(OPEN_MODE, "openModeText")
        self.address = QLineEdit(self._connection.link.document_url)
        self.address.setObjectName("documentAddress")
        self.address.setReadOnly(True)
        self.open_copy = self._add_button(self.open_page, "Copy", "copyAddress", self.address)
        self.open_copy.clicked.connect(lambda *_: self.copy_address())
        self.error_page = self._text_page("", "shareError")
        self.retry_button = self._add_button(self.error_page, "Try again", "retryButton")
        error_label = self.error_page.findChild(QLabel, "shareError")
        assert error_label is not None
        self.error_label = error_label
        self.retry_button.clicked.connect(lambda *_: self.start())
        for page in (
            self.loading_page,
            self.owner_page,
            self.not_owner_page,
            self.open_page,
            self.error_page,
        ):
            self.pages.addWidget(page)

        self.message_label = QLabel()
        self.message_label.setObjectName("shareMessage")
        self.message_label.setWordWrap(True)
        self.done_button = QPushButton("Done")
        self.done_button.setObjectName("doneButton")
        self.done_button.clicked.connect(lambda *_: self.accept())
        bottom = QHBoxLayout()
        bottom.addWidget(self.message_label, 1)
        bottom.addWidget(self.done_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.heading)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        self.setStyleSheet(f"QDialog#shareDialog {{ background: {c.panel}; color: {c.text}; }}")

    def _text_page(self, text: str, name: str) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        label = QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(True)
        column.addWidget(label)
        return page

    def _add_button(
        self, page: QWidget, text: str, name: str, field: QLineEdit | None = None
    ) -> QPushButton:
        """A button under the text of ``page`` (after ``field``, if any)."""
        button = QPushButton(text)
        button.setObjectName(name)
        row = QHBoxLayout()
        if field is not None:
            row.addWidget(field, 1)
        row.addWidget(button)
        if field is None:
            row.addStretch(1)
        column = page.layout()
        assert isinstance(column, QVBoxLayout)
        column.addLayout(row)
        column.addStretch(1)
        return button

    def _build_owner_page(self) -> QWidget:
        c = self._colors
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        bold = QFont(self.font())
        bold.setBold(True)
        create_heading = QLabel("Create a link")
        create_heading.setFont(bold)
        column.addWidget(create_heading)

        self.role_combo = QComboBox()
        self.role_combo.setObjectName("roleCombo")
        self.role_combo.addItems([label for label, _ in ROLE_CHOICES])
        self.role_combo.setCurrentIndex([role for _, role in ROLE_CHOICES].index(DEFAULT_ROLE))
        self.expiry_combo = QComboBox()
        self.expiry_combo.setObjectName("expiryCombo")
        for label, seconds in EXPIRY_CHOICES:
            self.expiry_combo.addItem(label, seconds)
        self.create_button = QPushButton("Create link")
        self.create_button.setObjectName("createLinkButton")
        self.create_button.setDefault(True)
        self.create_button.setStyleSheet(
            "QPushButton { background: #0b57d0; color: white; border-radius: 14px; "
            "padding: 5px 16px; } QPushButton:disabled { background: #8ab4f8; }"
        )
        self.create_button.clicked.connect(lambda *_: self.create_chosen())
        column.addLayout(
            hbox(
                QLabel("Role"), self.role_combo, 12, QLabel("Expires"), self.expiry_combo, None,
                self.create_button,
            )
        )  # fmt: skip
        self.role_help = QLabel()
        self.role_help.setObjectName("roleHelp")
        self.role_help.setStyleSheet(f"color: {c.muted}")
        self.role_combo.currentIndexChanged.connect(self._show_role_help)
        self._show_role_help()
        column.addWidget(self.role_help)

        self.new_link = QLineEdit()
        self.new_link.setObjectName("newLink")
        self.new_link.setReadOnly(True)
        self.new_link.setPlaceholderText("The new link will appear here")
        self.copied_note = QLabel()
        self.copied_note.setObjectName("copiedNote")
        self.copied_note.setStyleSheet("color: #188038; font-weight: bold")
        made = QHBoxLayout()
        made.addWidget(self.new_link, 1)
        made.addWidget(self.copied_note)
        column.addLayout(made)

        column.addSpacing(8)
        links_heading = QLabel("Links to this document")
        links_heading.setFont(bold)
        column.addWidget(links_heading)
        self.links_box = QWidget()
        self.links_box.setObjectName("linksBox")
        self.links_column = QVBoxLayout(self.links_box)
        self.links_column.setContentsMargins(0, 0, 0, 0)
        self.links_column.setSpacing(0)
        self.links_column.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("linksList")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.links_box)
        scroll.setStyleSheet(
            f"QScrollArea#linksList {{ border: 1px solid {c.border}; background: {c.panel}; }}"
            f"QWidget#linksBox {{ background: {c.panel}; }}"
        )
        column.addWidget(scroll, 1)
        self.no_links = QLabel("No links yet: the ones you create are listed here.")
        self.no_links.setObjectName("noLinks")
        self.no_links.setStyleSheet(f"color: {c.muted}; padding: 8px 12px")
        self.links_column.insertWidget(0, self.no_links)
        return page

    def _show_role_help(self, *_: object) -> None:
        self.role_help.setText(ROLE_HELP[self.chosen_role])

    # -- state --------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``loading``, ``owner``, ``not_owner``, ``open`` (open mode) or ``error``."""
        return self._mode

    @property
    def links(self) -> list[LinkEntry]:
        return list(self._links)

    @property
    def message(self) -> str:
        return self.message_label.text()

    @property
    def error_text(self) -> str:
        """What the dialog says when it could not load (mode ``error``)."""
        return self.error_label.text()

    @property
    def chosen_role(self) -> Role:
        index = self.role_combo.currentIndex()  # (Qt keeps a StrEnum as a plain str)
        return ROLE_CHOICES[index][1] if index >= 0 else DEFAULT_ROLE

    def row(self, link_id: str) -> LinkRow | None:
        """The list's row of link ``link_id``."""
        return self._rows.get(link_id)

    def link_url(self, entry: LinkEntry) -> str:
        return entry.url(self._connection.link.url)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        color = self._colors.error if error else self._colors.muted
        self.message_label.setStyleSheet(f"color: {color}")

    def _show(self, mode: str, page: QWidget) -> None:
        self._mode = mode
        self.pages.setCurrentWidget(page)
        # The owner's lists want room; a few sentences do not.
        self.resize(self.width(), OWNER_HEIGHT if mode == "owner" else SHORT_HEIGHT)

    # -- loading ------------------------------------------------------------------------------
    def start(self) -> None:
        """Ask the server (call once the dialog is shown)."""
        self._show("loading", self.loading_page)
        self._say("")
        self._tasks.spawn(self.load())

    async def load(self) -> None:
        """List the links; the answer decides what the dialog shows."""
        try:
            links = await self._api.links()
        except ServerRefused as exc:
            if exc.status == 403:
                self._show("not_owner", self.not_owner_page)
            elif exc.status == 409:
                self._show("open", self.open_page)
            else:
                self._failed(exc)
        except NetworkError as exc:
            self._failed(exc)
        else:
            self._links = links
            self._fill()
            self._show("owner", self.owner_page)
        self.loaded.emit()

    def _failed(self, exc: NetworkError) -> None:
        self.error_label.setText(f"Couldn't load this document's sharing settings. {explain(exc)}")
        self.error_label.setStyleSheet(f"color: {self._colors.error}")
        self._show("error", self.error_page)

    def _fill(self) -> None:
        for row in self._rows.values():
            row.hide()
            row.deleteLater()
        self._rows = {}
        for i, entry in enumerate(self._links):
            row = LinkRow(entry, self._colors)
            row.copy_button.clicked.connect(lambda *_, e=entry: self.copy_link(e))
            row.revoke_button.clicked.connect(lambda *_, i=entry.id: self.ask_revoke(i))
            self.links_column.insertWidget(i, row)
            self._rows[entry.id] = row
        self.no_links.setVisible(not self._links)

    # -- actions ------------------------------------------------------------------------------
    def create_chosen(self) -> None:
        """ "Create link" with the role and expiry chosen."""
        self._tasks.spawn(self.create_link(self.chosen_role, self.expiry_combo.currentData()))

    async def create_link(self, role: Role, expires_in: float | None) -> LinkEntry | None:
        """Mint a link, show it, copy it; the list then starts with it."""
        self.create_button.setEnabled(False)
        self.copied_note.setText("")
        self._say("Creating the link…")
        try:
            entry = await self._api.mint_link(role, expires_in)
        except NetworkError as exc:
            self._say(f"Couldn't create the link. {explain(exc)}", error=True)
            return None
        finally:
            self.create_button.setEnabled(True)
        url = self.link_url(entry)
        self.new_link.setText(url)
        self.new_link.setCursorPosition(0)
        QGuiApplication.clipboard().setText(url)
        self.copied_note.setText("Copied")
        self._say(f"{ROLE_HELP[role]} Share it only with the people it is for.")
        self._links.insert(0, entry)
        self._fill()
        self.linkCreated.emit(url)
        return entry

    def copy_link(self, entry: LinkEntry) -> None:
        QGuiApplication.clipboard().setText(self.link_url(entry))
        self._say(f"{ROLE_NAMES.get(entry.role, 'The')} link copied.")

    def copy_own_link(self) -> None:
        """The link this document was opened with (as *File ▸ Copy link*)."""
        QGuiApplication.clipboard().setText(self._connection.link.url)
        self._say("Your link copied.")

    def copy_address(self) -> None:
        """Open mode: the document's address (there is no token to pass on)."""
        QGuiApplication.clipboard().setText(self._connection.link.document_url)
        self._say("Address copied.")

    def ask_revoke(self, link_id: str) -> QMessageBox | None:
        """Ask before revoking link ``link_id``; "Revoke" then revokes it."""
        entry = next((e for e in self._links if e.id == link_id), None)
        if entry is None or entry.revoked:
            return None
        role = ROLE_NAMES.get(entry.role, str(entry.role)).lower()
        ask = message_box(
            self,
            "revokeConfirm",
            "Revoke link",
            f"Revoke this {role} link?",
            "It stops working at once: people who opened the document with it lose access "
            "within a second. This cannot be undone; you can create a new link.",
            QMessageBox.Icon.Warning,
        )
        revoke = ask.addButton("Revoke", QMessageBox.ButtonRole.DestructiveRole)
        revoke.setObjectName("confirmRevoke")
        ask.addButton(QMessageBox.StandardButton.Cancel)
        ask.setDefaultButton(QMessageBox.StandardButton.Cancel)
        revoke.clicked.connect(lambda *_: self._tasks.spawn(self.revoke(link_id)))
        ask.open()
        return ask

    async def revoke(self, link_id: str) -> bool:
        """Revoke link ``link_id`` (no question asked); its row then says Revoked."""
        row = self._rows.get(link_id)
        if row is not None:
            row.revoke_button.setEnabled(False)
        self._say("Revoking the link…")
        try:
            await self._api.revoke_link(link_id)
        except NetworkError as exc:
            if row is not None:
                row.revoke_button.setEnabled(True)
            self._say(f"Couldn't revoke the link. {explain(exc)}", error=True)
            return False
        now = time.time()
        self._links = [
            dataclasses.replace(e, revoked_at=now) if e.id == link_id else e for e in self._links
        ]
        self._fill()
        self._say("Link revoked: it no longer opens the document.")
        self.linkRevoked.emit(link_id)
        return True

    def _closed(self, *_: object) -> None:
        self._tasks.cancel()
        self._tasks.spawn(self._api.close())
