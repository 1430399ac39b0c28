"""Comments: the panel at the right of the page, *Insert ▸ Comment* (Ctrl+Alt+M), and the
yellow under commented text.

The panel lists the threads in document order. Each card shows the commented text (or
"The text was deleted" and what it was), every message with its author and time, a Reply
field, and Resolve / Re-open; a person's own messages have Edit and Delete. Resolved
threads are listed only with "Show resolved". Clicking a card selects its text in the page.

Who may comment comes from the link's role (HELLO): editors, owners and commenters; a
commenter's page stays read-only while the comment actions work, a viewer's are disabled.
:func:`install_comments` adds all of it to a document window.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence, QMouseEvent, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.comments import Anchors, Message, Thread
from editor_app.core.errors import PositionUnavailable
from editor_app.qt.comments_model import CommentsModel
from editor_app.ui.comment_highlights import DARK, LIGHT, CommentHighlighter
from editor_app.ui.dialogs import hbox

if TYPE_CHECKING:
    from editor_app.ui.main_window import MainWindow

SHORTCUT = "Ctrl+Alt+M"
EMPTY_TEXT = f"No comments yet. Select some text and press {SHORTCUT} to comment on it."
DELETED_TEXT = "The text was deleted"
PANEL_WIDTH = 300


def when(ms: float, now: datetime | None = None) -> str:
    """A message's time as people read it: "14:05" today, "3 Mar, 14:05" this year."""
    moment = datetime.fromtimestamp(ms / 1000)
    now = now or datetime.now()
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if moment.year == now.year:
        return f"{moment.day} {moment.strftime('%b, %H:%M')}"
    return f"{moment.day} {moment.strftime('%b %Y')}"


def _link_button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setStyleSheet("QPushButton { color: #1a73e8; border: none; padding: 0 4px; }")
    return button


class MessageView(QWidget):
    """One message: author and time, the text; Edit and Delete on one's own."""

    def __init__(self, card: ThreadCard, message: Message) -> None:
        super().__init__()
        self.setObjectName("commentMessage")
        self.message = message
        self._card = card
        column = self._column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 4)
        column.setSpacing(2)
        head = QHBoxLayout()
        author = QLabel(message.author or "Anonymous")
        author.setObjectName("messageAuthor")
        bold = QFont(author.font())
        bold.setBold(True)
        author.setFont(bold)
        stamp = QLabel(when(message.created_at) + (" (edited)" if message.edited_at else ""))
        stamp.setObjectName("messageTime")
        stamp.setStyleSheet("color: #80868b;")
        head.addWidget(author)
        head.addWidget(stamp)
        head.addStretch(1)
        column.addLayout(head)
        model = card.model
        self.editor: QLineEdit | None = None
        if message.deleted:
            body = QLabel("This comment was deleted")
            body.setStyleSheet("color: #80868b; font-style: italic;")
        else:
            body = QLabel(message.text)
            body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.setObjectName("messageText")
        body.setWordWrap(True)
        self.body = body
        column.addWidget(body)
        if model.is_mine(message) and not message.deleted:
            self.edit_button = _link_button("Edit", "editMessage")
            self.delete_button = _link_button("Delete", "deleteMessage")
            self.edit_button.clicked.connect(lambda *_: self.start_edit())
            self.delete_button.clicked.connect(lambda *_: self.delete())
            head.addWidget(self.edit_button)
            head.addWidget(self.delete_button)
            self.edit_button.setEnabled(model.can_comment)
            self.delete_button.setEnabled(model.can_comment)

    def start_edit(self, text: str | None = None) -> QLineEdit:
        """Edit in place: Enter saves, Escape cancels."""
        if self.editor is None:
            editor = QLineEdit(self.message.text if text is None else text)
            editor.setObjectName("editMessageField")
            editor.returnPressed.connect(self.save_edit)
            self._column.replaceWidget(self.body, editor)
            self.body.hide()
            self.editor = editor
            self._card.editing = self.message.id
        self.editor.setFocus()
        return self.editor

    def save_edit(self) -> None:
        if self.editor is not None:
            text = self.editor.text()
            self._card.editing = None
            self._card.model.edit_message(self._card.shown.id, self.message.id, text)

    def cancel_edit(self) -> None:
        self._card.editing = None
        self._card.show_thread(self._card.shown)

    def delete(self) -> None:
        self._card.model.delete_message(self._card.shown.id, self.message.id)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        if event.key() == Qt.Key.Key_Escape and self.editor is not None:
            self.cancel_edit()
            return
        super().keyPressEvent(event)


class ThreadCard(QFrame):
    """One thread: the quote, its messages, Reply, Resolve / Re-open."""

    clicked = Signal(str)

    def __init__(self, model: CommentsModel, thread: Thread) -> None:
        super().__init__()
        self.setObjectName("commentThread")
        self.model = model
        self.shown = thread
        self.editing: str | None = None  # the id of the message being edited
        self.setFrameShape(QFrame.Shape.StyledPanel)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(4)
        top = QHBoxLayout()
        self.quote = QLabel()
        self.quote.setObjectName("threadQuote")
        self.quote.setWordWrap(True)
        self.resolve_button = QPushButton()
        self.resolve_button.setObjectName("resolveButton")
        self.resolve_button.clicked.connect(lambda *_: self.toggle_resolved())
        top.addWidget(self.quote, 1)
        top.addWidget(self.resolve_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(top)
        self.messages = QVBoxLayout()
        self.messages.setSpacing(0)
        column.addLayout(self.messages)
        self.reply_field = QLineEdit()
        self.reply_field.setObjectName("replyField")
        self.reply_field.setPlaceholderText("Reply…")
        self.reply_field.returnPressed.connect(self.send_reply)
        column.addWidget(self.reply_field)
        self.set_active(False)
        self.show_thread(thread)

    def show_thread(self, thread: Thread) -> None:
        """Show ``thread`` (a newer state of this one); the reply being typed is kept."""
        self.shown = thread
        editing = self.editing
        edited_text = None
        for view in self.message_views():
            if view.editor is not None:
                edited_text = view.editor.text()
        gone = thread.text_deleted
        quote = thread.quote.strip().replace("\n", " ")
        if len(quote) > 160:
            quote = quote[:157] + "…"
        if gone:
            self.quote.setText(f"<i>{DELETED_TEXT}:</i> <s>{_html(quote)}</s>")
        else:
            self.quote.setText(f"“{_html(quote)}”")
        self.quote.setToolTip(thread.quote)
        self.resolve_button.setText("Re-open" if thread.resolved else "✓ Resolve")
        self.resolve_button.setToolTip(
            "Open this thread again" if thread.resolved else "Mark as resolved and hide"
        )
        while self.messages.count():
            item = self.messages.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        for message in thread.messages:
            view = MessageView(self, message)
            self.messages.addWidget(view)
            if message.id == editing:
                view.start_edit(edited_text)
        self.set_enabled(self.model.can_comment)

    def message_views(self) -> list[MessageView]:
        items = (self.messages.itemAt(i) for i in range(self.messages.count()))
        return [
            w
            for w in (item.widget() for item in items if item is not None)
            if isinstance(w, MessageView) and not w.isHidden()
        ]

    def set_enabled(self, allowed: bool) -> None:
        self.reply_field.setVisible(allowed and not self.shown.resolved)
        self.resolve_button.setEnabled(allowed)

    def set_active(self, active: bool) -> None:
        dark = self.palette().window().color().lightness() < 128
        background = "#2d2e30" if dark else "#ffffff"
        border = "#1a73e8" if active else ("#3c4043" if dark else "#dadce0")
        quote = "#e8eaed" if dark else "#3c4043"
        mark = DARK[0] if dark else LIGHT[0]  # the yellow of the commented text
        self.setStyleSheet(
            f"#commentThread {{ background: {background}; border: 1px solid {border}; "
            f"border-radius: 8px; }} #threadQuote {{ color: {quote}; background: {mark}; "
            "border-radius: 4px; padding: 3px 6px; }"
        )

    def send_reply(self) -> None:
        if self.model.reply(self.shown.id, self.reply_field.text()):
            self.reply_field.clear()

    def toggle_resolved(self) -> None:
        self.model.set_resolved(self.shown.id, not self.shown.resolved)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        super().mousePressEvent(event)
        self.clicked.emit(self.shown.id)


class DraftCard(QFrame):
    """A new thread being written: the quote, the comment field, Comment and Cancel."""

    def __init__(self, anchors: Anchors) -> None:
        super().__init__()
        self.setObjectName("commentDraft")
        self.anchors = anchors
        self.setStyleSheet(
            "#commentDraft { border: 1px solid #1a73e8; border-radius: 8px; }"
            f" #draftQuote {{ color: #3c4043; background: {LIGHT[0]}; border-radius: 4px;"
            " padding: 3px 6px; }"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        quote = QLabel(f"“{_html(anchors.quote.strip()[:160])}”")
        quote.setObjectName("draftQuote")
        quote.setWordWrap(True)
        self.field = QLineEdit()
        self.field.setObjectName("commentField")
        self.field.setPlaceholderText("Comment…  (Enter to post)")
        self.post = QPushButton("Comment")
        self.post.setObjectName("postComment")
        self.post.setDefault(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelComment")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.post)
        column.addWidget(quote)
        column.addWidget(self.field)
        column.addLayout(buttons)


class CommentsPanel(QDockWidget):
    """The comment threads at the right of the page."""

    def __init__(
        self, model: CommentsModel, editor: QPlainTextEdit, parent: QWidget | None = None
    ) -> None:
        super().__init__("Comments", parent)
        self.setObjectName("commentsPanel")
        self.model = model
        self.editor = editor
        self.highlighter = CommentHighlighter(editor, model)
        self.cards: dict[str, ThreadCard] = {}
        self.draft: DraftCard | None = None
        self.active: str | None = None

        body = QWidget()
        body.setObjectName("commentsBody")
        column = QVBoxLayout(body)
        column.setContentsMargins(8, 4, 8, 8)
        self.show_resolved = QCheckBox("Show resolved")
        self.show_resolved.setObjectName("showResolved")
        self.show_resolved.toggled.connect(lambda *_: self.refresh())
        self.count_label = QLabel()
        self.count_label.setObjectName("commentCount")
        self.count_label.setStyleSheet("color: #80868b;")
        column.addLayout(hbox(self.count_label, None, self.show_resolved))
        self.list = QWidget()
        self.list.setObjectName("commentList")
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(10)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("commentsEmpty")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #80868b; padding: 12px 4px;")
        self.list_layout.addWidget(self.empty)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("commentScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.list)
        column.addWidget(scroll, 1)
        self.setWidget(body)
        self.setMinimumWidth(PANEL_WIDTH)

        model.changed.connect(self.refresh)
        model.canCommentChanged.connect(self._can_comment_changed)
        editor.document().contentsChange.connect(self._text_changed)
        editor.cursorPositionChanged.connect(self._caret_moved)
        self.refresh()

    # ----------------------------------------------------------------- reading

    def visible_threads(self) -> list[Thread]:
        show_all = self.show_resolved.isChecked()
        return [t for t in self.model.threads if show_all or not t.resolved]

    def refresh(self) -> None:
        """Show the model's threads: cards kept (a reply being typed stays), in order."""
        threads = self.visible_threads()
        wanted = {t.id for t in threads}
        for thread_id in list(self.cards):
            if thread_id not in wanted:
                gone = self.cards.pop(thread_id)
                self.list_layout.removeWidget(gone)
                gone.hide()
                gone.deleteLater()
        for position, thread in enumerate(threads, start=1 if self.draft else 0):
            card = self.cards.get(thread.id)
            if card is None:
                card = ThreadCard(self.model, thread)
                card.clicked.connect(self.select_thread_text)
                self.cards[thread.id] = card
            elif card.shown != thread:
                card.show_thread(thread)
            if self.list_layout.indexOf(card) != position:
                self.list_layout.insertWidget(position, card)
            card.set_active(thread.id == self.active)
        open_count = sum(1 for t in self.model.threads if not t.resolved)
        resolved = len(self.model.threads) - open_count
        self.count_label.setText(
            f"{open_count} open" + (f", {resolved} resolved" if resolved else "")
            if self.model.threads
            else ""
        )
        self.empty.setVisible(not threads and self.draft is None)

    # ----------------------------------------------------------------- new threads

    def start_comment(self) -> DraftCard | None:
        """*Insert ▸ Comment*: a draft thread on the page's selection (or the word at the
        caret), its field focused. None when there is nothing to comment on."""
        if not self.model.can_comment:
            return None
        cursor = self.editor.textCursor()
        if not cursor.hasSelection():
            cursor.select(QTextCursor.SelectionType.WordUnderCursor)
        if not cursor.hasSelection():
            return None
        try:
            anchors = self.model.anchors(cursor.selectionStart(), cursor.selectionEnd())
        except PositionUnavailable:
            return None
        self.cancel_draft()
        draft = DraftCard(anchors)
        draft.field.returnPressed.connect(self.post_draft)
        draft.post.clicked.connect(lambda *_: self.post_draft())
        draft.cancel.clicked.connect(lambda *_: self.cancel_draft())
        self.draft = draft
        self.list_layout.insertWidget(0, draft)
        self.empty.hide()
        self.show()
        self.raise_()
        draft.field.setFocus()
        return draft

    def post_draft(self) -> str | None:
        draft = self.draft
        if draft is None:
            return None
        thread_id = self.model.open_thread(draft.anchors, draft.field.text())
        if thread_id is not None:
            self.cancel_draft()
            self.active = thread_id
            self.highlighter.set_active(thread_id)
            self.refresh()
        return thread_id

    def cancel_draft(self) -> None:
        if self.draft is not None:
            self.list_layout.removeWidget(self.draft)
            self.draft.hide()
            self.draft.deleteLater()
            self.draft = None
            self.refresh()

    # ----------------------------------------------------------------- page

    def select_thread_text(self, thread_id: str) -> None:
        """Select the thread's text in the page (its place, if the text was deleted)."""
        thread = self.model.find(thread_id)
        if thread is None or thread.start is None:
            return
        last = max(self.editor.document().characterCount() - 1, 0)
        cursor = self.editor.textCursor()
        cursor.setPosition(min(thread.start, last))
        if thread.end is not None and not thread.text_deleted:
            cursor.setPosition(min(thread.end, last), QTextCursor.MoveMode.KeepAnchor)
        self.editor.setTextCursor(cursor)
        self.editor.ensureCursorVisible()
        self._set_active(thread_id)

    def _set_active(self, thread_id: str | None) -> None:
        if thread_id == self.active:
            return
        self.active = thread_id
        self.highlighter.set_active(thread_id)
        for tid, card in self.cards.items():
            card.set_active(tid == thread_id)

    def _caret_moved(self) -> None:
        self._set_active(self.highlighter.thread_at(self.editor.textCursor().position()))

    def _text_changed(self, *_: object) -> None:
        self.model.schedule_refresh()

    def _can_comment_changed(self, allowed: bool) -> None:
        for card in self.cards.values():
            card.show_thread(card.shown)
        if not allowed:
            self.cancel_draft()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _presence_name(window: MainWindow) -> str:
    """The name others see for this person (presence ``user.name``)."""
    state = window.presence.awareness.get_local_state() or {}
    user = state.get("user")
    name = user.get("name") if isinstance(user, dict) else None
    return name if isinstance(name, str) else ""


def _menu(window: MainWindow, title: str) -> QAction | None:
    """The menu bar's action of the menu called ``title`` (ampersands ignored)."""
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            return action
    return None


def install_comments(window: MainWindow) -> CommentsPanel:
    """Comments in a document window: the panel (right), *Insert ▸ Comment* (Ctrl+Alt+M),
    *View ▸ Show comments*, the highlights, enabled by the link's role."""
    model = CommentsModel(window.model, lambda: _presence_name(window), window)
    panel = CommentsPanel(model, window.editor, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    panel.setVisible(any(not t.resolved for t in model.threads))

    action = QAction("&Comment", window)
    action.setObjectName("insertComment")
    action.setShortcut(QKeySequence(SHORTCUT))
    action.setToolTip(f"Comment on the selected text ({SHORTCUT})")
    action.triggered.connect(lambda *_: panel.start_comment())
    window.actions_by_name["insertComment"] = action
    window.addAction(action)  # the key works with the menu bar hidden too
    insert_menu = QMenu("&Insert", window)
    insert_menu.setObjectName("insertMenu")
    insert_menu.addAction(action)
    bar = window.menuBar()
    before = _menu(window, "Format")
    if before is not None:
        bar.insertMenu(before, insert_menu)
    else:
        bar.addMenu(insert_menu)
    show = panel.toggleViewAction()
    show.setText("Show &comments")
    show.setObjectName("showComments")
    window.actions_by_name["showComments"] = show
    view = _menu(window, "View")
    view_menu = view.menu() if view is not None else None
    if isinstance(view_menu, QMenu):
        after_outline = view_menu.actions()[1:2]  # (the separator after "Show outline")
        if after_outline:
            view_menu.insertAction(after_outline[0], show)
        else:
            view_menu.addAction(show)

    def allow(allowed: bool) -> None:
        model.set_can_comment(allowed)
        action.setEnabled(allowed)

    connection = window.connection
    connection.canCommentChanged.connect(allow)
    allow(connection.can_comment)
    # Threads seen for the first time (opening, or a collaborator's first) show the panel.
    shown_once = [panel.isVisible()]

    def reveal() -> None:
        if not shown_once[0] and any(not t.resolved for t in model.threads):
            shown_once[0] = True
            panel.show()

    model.changed.connect(reveal)
    return panel
