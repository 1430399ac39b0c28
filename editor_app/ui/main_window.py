"""The document window, laid out like Google Docs: title and people on top, a formatting
toolbar, the page, and a status bar with the connection status and the word count.

Wiring only: formatting goes to EditorWidget, title/undo/redo to DocumentModel, status comes
from ConnectionModel. Requests that concern the whole application (new, open, import,
preferences, quit) leave as signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QPixmap,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrintPreviewDialog
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.images import ImageRefused
from editor_app.qt import export
from editor_app.qt.connection_model import ConnectionModel
from editor_app.qt.icons import align_icon
from editor_app.ui.about import about_box
from editor_app.ui.comments_panel import install_comments
from editor_app.ui.desk_scrollbar import DeskScrollBar
from editor_app.ui.dialogs import LinkDialog, OpenLinkDialog
from editor_app.ui.find_replace import FindReplaceDialog
from editor_app.ui.library_dialogs import MakeCopyDialog, ServerAccess
from editor_app.ui.open_dialog import OpenDocumentDialog
from editor_app.ui.outline import OutlinePanel
from editor_app.ui.pageless import pageless_action
from editor_app.ui.people_list import PeopleList, Person
from editor_app.ui.share_dialog import ShareDialog
from editor_app.ui.shortcuts import ShortcutsDialog
from editor_app.ui.spell_highlighter import shared_spelling
from editor_app.ui.status_badge import StatusBadge
from editor_app.ui.version_history import VersionHistoryDialog
from editor_app.ui.word_count import PageIndicator, WordCountDialog

HEADING_CHOICES = (("Normal text", None),) + tuple((f"Heading {n}", n) for n in range(1, 7))
ZOOM_LEVELS = (50, 75, 90, 100, 125, 150, 175, 200)
FONT_CHOICES = (("Sans", None), ("Serif", "serif"), ("Monospace", "monospace"))
SIZE_CHOICES = (("Small", "small"), ("Normal", None), ("Large", "large"), ("Huge", "huge"))
#: Quill's default colour palette (a subset), as CSS hex strings Quill itself writes.
TEXT_COLORS = (
    ("Black", "#000000"),
    ("Dark grey", "#444444"),
    ("Red", "#e60000"),
    ("Orange", "#ff9900"),
    ("Green", "#008a00"),
    ("Blue", "#0066cc"),
    ("Purple", "#9933ff"),
)
HIGHLIGHTS = (
    ("Yellow", "#ffff00"),
    ("Light green", "#cce8cc"),
    ("Light blue", "#cce0f5"),
    ("Pink", "#facccc"),
    ("Light purple", "#ebd6ff"),
)
ALIGN_CHOICES = (
    ("alignLeft", "Align &left", "⯇", None, "Ctrl+Shift+L"),
    ("alignCenter", "Align &center", "≡", "center", "Ctrl+Shift+E"),
    ("alignRight", "Align &right", "⯈", "right", "Ctrl+Shift+R"),
    ("alignJustify", "&Justify", "☰", "justify", "Ctrl+Shift+J"),
)
LIST_CHOICES = (
    ("ordered", "&Numbered list", "1.", "ordered", "Ctrl+Shift+7"),
    ("bullet", "&Bulleted list", "•", "bullet", "Ctrl+Shift+8"),
    ("checklist", "&Checklist", "☑", "unchecked", "Ctrl+Shift+9"),
)
UNTITLED = "Untitled document"
STANDARD = QKeySequence.StandardKey
#: What *Insert ▸ Image…* offers to open (any of them is scaled and re-encoded).
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.webp *.bmp);;All files (*)"
#: Actions that change the document: disabled (keys included) for a viewer.
EDITING_ACTIONS = (
    "insertImage",
    "undo",
    "redo",
    "bold",
    "italic",
    "underline",
    "strike",
    "link",
    "bullet",
    "ordered",
    "normal",
    "heading1",
    "heading2",
    "heading3",
    "heading4",
    "heading5",
    "heading6",
    "code",
    "superscript",
    "subscript",
    "clear",
    "textColor",
    "highlight",
    "alignLeft",
    "alignCenter",
    "alignRight",
    "alignJustify",
    "checklist",
    "indent",
    "outdent",
    "blockquote",
    "codeBlock",
    "rightToLeft",
    "paintFormat",
    "pasteFormat",
    "replace",
    "cut",
    "paste",
    "pastePlain",
)


class MainWindow(QMainWindow):
    newDocumentRequested = Signal()
    openLinkRequested = Signal(str)
    importRequested = Signal(str)
    preferencesRequested = Signal()
    quitRequested = Signal()
    closed = Signal()

    def __init__(
        self,
        model: Any,  # DocumentModel
        editor: Any,  # EditorWidget
        connection: ConnectionModel,
        presence: Any,  # PresenceTracker
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.model = model
        self.editor = editor
        self.connection = connection
        self.presence = presence
        self._you = Person("You", "#1a73e8", is_you=True)
        self.actions_by_name: dict[str, QAction] = {}
        self.find_dialog = FindReplaceDialog(editor, self)
        self.resize(1000, 760)

        self.outline = OutlinePanel(editor, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.outline)
        self.outline.hide()
        self._build_header()
        self._build_toolbar()
        self._build_menus()
        self._build_page()
        self._build_status_bar()
        self._connect_model()
        self.comments = install_comments(self)  # the panel, Insert ▸ Comment, highlights
        self._install_insert_image()
        # Open with the caret in the page, as a word processor does (not in the title).
        self.editor.setFocus()

    # -- construction -------------------------------------------------------------------------
    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(lambda *_: slot())
        self.actions_by_name[name] = action
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_header(self) -> None:
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.title_edit.setPlaceholderText(UNTITLED)
        self.title_edit.setFrame(False)
        font = QFont(self.title_edit.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.title_edit.setFont(font)
        self.title_edit.setMinimumWidth(280)
        self.people = PeopleList()
        self.share_button = QPushButton("Share")
        self.share_button.setObjectName("shareButton")
        self.share_button.setToolTip("Share this document: links to edit, comment or view")
        self.share_button.setStyleSheet(
            "QPushButton { background: #c2e7ff; color: #001d35; border-radius: 14px; "
            "padding: 5px 16px; font-weight: bold; }"
        )
        self.share_button.clicked.connect(lambda *_: self.show_share())
        header = QWidget()
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 6, 12, 2)
        row.addWidget(self.title_edit, 1)
        row.addWidget(self.people)
        row.addSpacing(8)
        row.addWidget(self.share_button)
        self._header = header
        self.title_edit.textEdited.connect(self.model.set_title)
        # Enter in the title goes on to the page, as in Google Docs.
        self.title_edit.returnPressed.connect(self._title_done)

    def _build_toolbar(self) -> None:
        e = self.editor
        bar = QToolBar("Formatting")
        bar.setObjectName("formattingToolbar")
        bar.setMovable(False)
        self.toolbar = bar
        undo = self._action("undo", "↶ Undo", self.model.undo, STANDARD.Undo)
        redo = self._action("redo", "↷ Redo", self.model.redo, "Ctrl+Y")
        redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        undo.setEnabled(False)
        redo.setEnabled(False)
        bar.addAction(undo)
        bar.addAction(redo)
        bar.addSeparator()
        self.zoom_combo = self._combo(
            "zoomCombo",
            [(f"{percent}%", percent) for percent in ZOOM_LEVELS],
            lambda percent: e.set_zoom(int(percent)),
            tooltip="Zoom (Ctrl+wheel, Ctrl+= / Ctrl+-)",
        )
        self.zoom_combo.setCurrentIndex(ZOOM_LEVELS.index(100))
        e.zoomChanged.connect(self._show_zoom)
        bar.addWidget(self.zoom_combo)
        bar.addSeparator()
        self.heading_combo = self._combo("headingCombo", HEADING_CHOICES, e.set_heading)
        bar.addWidget(self.heading_combo)
        bar.addSeparator()
        for name, text, icon_text, slot, key in (
            ("bold", "&Bold", "B", e.toggle_bold, STANDARD.Bold),
            ("italic", "&Italic", "I", e.toggle_italic, STANDARD.Italic),
            ("underline", "&Underline", "U", e.toggle_underline, STANDARD.Underline),
            ("strike", "&Strikethrough", "S", e.toggle_strike, "Alt+Shift+5"),
        ):
            # Words in the menu, the letter on the toolbar button.
            action = self._action(name, text, slot, key, checkable=True)
            action.setIconText(icon_text)
            font = QFont()
            font.setBold(name == "bold")
            font.setItalic(name == "italic")
            font.setUnderline(name == "underline")
            font.setStrikeOut(name == "strike")
            action.setFont(font)
            action.setToolTip(f"{text.replace('&', '')} ({action.shortcut().toString()})")
            bar.addAction(action)
        bar.addAction(self._action("link", "Link", self.edit_link, "Ctrl+K"))
        a = self._action
        # Formats without a toolbar button of their own are in the Format menu (words).
        a("code", "&Code", e.toggle_code, "Ctrl+Shift+K", checkable=True)
        a("superscript", "Su&perscript", lambda: e.toggle_script("super"), "Ctrl+.")
        a("subscript", "Subscrip&t", lambda: e.toggle_script("sub"), "Ctrl+,")
        a("clear", "C&lear formatting", e.clear_formatting, "Ctrl+\\")
        self.actions_by_name["superscript"].setCheckable(True)
        self.actions_by_name["subscript"].setCheckable(True)
        self.font_combo = self._combo(
            "fontCombo", FONT_CHOICES, partial(e.set_inline, "font"), tooltip="Font"
        )
        self.size_combo = self._combo(
            "sizeCombo", SIZE_CHOICES, partial(e.set_inline, "size"), tooltip="Text size"
        )
        bar.insertWidget(self.actions_by_name["bold"], self.font_combo)
        bar.insertWidget(self.actions_by_name["bold"], self.size_combo)
        bar.insertSeparator(self.actions_by_name["bold"])
        self.color_menu = self._swatch_menu("Text color", "color", TEXT_COLORS)
        self.highlight_menu = self._swatch_menu("Highlight color", "background", HIGHLIGHTS)
        color = a("textColor", "Text color", lambda: None)
        color.setIconText("A")
        color.setMenu(self.color_menu)
        highlight = a("highlight", "Highlight color", lambda: None)
        highlight.setIconText("🖍")
        highlight.setMenu(self.highlight_menu)
        bar.addAction(color)
        bar.addAction(highlight)
        bar.addSeparator()
        for name, text, icon, value, key in ALIGN_CHOICES:
            act = a(name, text, _bind(e.set_align, value), key, checkable=True)
            act.setIconText(icon)
            act.setIcon(align_icon(value))
            act.setToolTip(f"{text.replace('&', '')} ({key})")
            bar.addAction(act)
        bar.addSeparator()
        for name, text, icon, kind, key in LIST_CHOICES:
            act = a(name, text, _bind(e.toggle_list, kind), key, checkable=True)
            act.setIconText(icon)
            act.setToolTip(f"{text.replace('&', '')} ({key})")
            bar.addAction(act)
        outdent = a("outdent", "&Decrease indent", lambda: e.change_indent(-1), "Ctrl+[")
        indent = a("indent", "&Increase indent", lambda: e.change_indent(1), "Ctrl+]")
        outdent.setIconText("⇤")
        indent.setIconText("⇥")
        bar.addAction(outdent)
        bar.addAction(indent)
        bar.addSeparator()
        quote = a("blockquote", "&Quote", lambda: e.toggle_block("blockquote"), checkable=True)
        quote.setIconText("❝")
        codeblock = a(
            "codeBlock", "Code &block", lambda: e.toggle_block("code-block"), checkable=True
        )
        codeblock.setIconText("{ }")
        bar.addAction(quote)
        bar.addAction(codeblock)
        paint = a("paintFormat", "&Paint format", self._toggle_paint_format, checkable=True)
        paint.setIconText("Paint")
        paint.setToolTip("Paint format: click, then select the text to format like this")
        e.paintFormatChanged.connect(paint.setChecked)
        e.linkRequested.connect(_open_in_browser)
        e.linkEditRequested.connect(self.edit_link)
        bar.addAction(paint)
        clear = self.actions_by_name["clear"]
        clear.setIconText("T̸")
        bar.addAction(clear)
        for level in range(1, 7):
            a(
                f"heading{level}",
                f"Heading {level}",
                _bind(e.set_heading, level),
                f"Ctrl+Alt+{level}",
            )
        a("normal", "Normal text", lambda: e.set_heading(None), "Ctrl+Alt+0")

    def _combo(
        self,
        name: str,
        choices: Iterable[tuple[str, Any]],
        chosen: Callable[[Any], object],
        *,
        tooltip: str = "",
    ) -> QComboBox:
        """A toolbar combo box of ``(label, value)`` choices; picking one: ``chosen(value)``."""
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setToolTip(tooltip)
        for label, value in choices:
            combo.addItem(label, value)
        combo.activated.connect(lambda i: chosen(combo.itemData(i)))
        return combo

    def _swatch_menu(self, title: str, key: str, colors: tuple[tuple[str, str], ...]) -> QMenu:
        menu = QMenu(title, self)
        none = menu.addAction("None" if key == "background" else "Automatic")
        none.triggered.connect(lambda *_: self.editor.set_inline(key, None))
        for name, value in colors:
            pixmap = QPixmap(14, 14)
            pixmap.fill(QColor(value))
            act = menu.addAction(QIcon(pixmap), name)
            act.setObjectName(f"{key}:{value}")
            act.triggered.connect(_bind_arg(self.editor.set_inline, key, value))
        return menu

    def _build_menus(self) -> None:
        a = self._action
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(a("new", "New document", self.newDocumentRequested.emit, STANDARD.New))
        file_menu.addAction(a("openDocument", "Open…", self.show_open_document, STANDARD.Open))
        file_menu.addAction(a("open", "Open link…", self.show_open_link, "Ctrl+Shift+O"))
        file_menu.addAction(a("makeCopy", "Make a copy…", self.show_make_copy))
        file_menu.addAction(a("share", "Share…", self.show_share))
        # No key: Ctrl+Shift+C is Word count, as in Google Docs (which has none for this).
        file_menu.addAction(a("copyLink", "Copy link", self.copy_link))
        file_menu.addSeparator()
        file_menu.addAction(
            a("versionHistory", "Version history", self.show_version_history, "Ctrl+Alt+Shift+H")
        )
        file_menu.addSeparator()
        file_menu.addAction(a("import", "Import…", self.choose_import))
        export_menu = file_menu.addMenu("Export as")
        for fmt, label in export.FORMATS.items():
            export_menu.addAction(a(f"export_{fmt}", label, _bind(self.choose_export, fmt)))
        file_menu.addAction(a("exportPdf", "Download as PDF…", _bind(self.choose_export, "pdf")))
        file_menu.addAction(a("printPreview", "Print preview…", self.print_preview, STANDARD.Print))
        file_menu.addAction(a("print", "Print…", self.print_document))
        file_menu.addSeparator()
        file_menu.addAction(a("preferences", "Preferences…", self.preferencesRequested.emit))
        file_menu.addSeparator()
        file_menu.addAction(a("close", "Close", self.close, STANDARD.Close))
        file_menu.addAction(a("quit", "Quit", self.quitRequested.emit, STANDARD.Quit))

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.actions_by_name["undo"])
        edit_menu.addAction(self.actions_by_name["redo"])
        edit_menu.addSeparator()
        e = self.editor
        edit_menu.addAction(a("cut", "Cu&t", e.cut, STANDARD.Cut))
        edit_menu.addAction(a("copy", "&Copy", e.copy, STANDARD.Copy))
        edit_menu.addAction(a("paste", "&Paste", e.paste, STANDARD.Paste))
        edit_menu.addAction(
            a("pastePlain", "Paste without formatting", e.paste_plain, "Ctrl+Shift+V")
        )
        edit_menu.addSeparator()
        edit_menu.addAction(a("selectAll", "Select &all", e.selectAll, STANDARD.SelectAll))
        edit_menu.addSeparator()
        edit_menu.addAction(a("find", "Find…", lambda: self.show_find(replace=False), "Ctrl+F"))
        edit_menu.addAction(
            a("replace", "Find and replace…", lambda: self.show_find(replace=True), "Ctrl+H")
        )

        format_menu = bar.addMenu("F&ormat")
        text_menu = format_menu.addMenu("&Text")
        for name in ("bold", "italic", "underline", "strike", "superscript", "subscript", "code"):
            text_menu.addAction(self.actions_by_name[name])
        styles = format_menu.addMenu("&Paragraph styles")
        for name in ("normal", *(f"heading{n}" for n in range(1, 7))):
            styles.addAction(self.actions_by_name[name])
        align_menu = format_menu.addMenu("&Align && indent")
        for name, *_ in ALIGN_CHOICES:
            align_menu.addAction(self.actions_by_name[name])
        align_menu.addSeparator()
        align_menu.addAction(self.actions_by_name["indent"])
        align_menu.addAction(self.actions_by_name["outdent"])
        align_menu.addSeparator()
        align_menu.addAction(
            a("rightToLeft", "&Right-to-left text", self.editor.toggle_direction, checkable=True)
        )
        lists = format_menu.addMenu("&Bullets && numbering")
        for name, *_ in LIST_CHOICES:
            lists.addAction(self.actions_by_name[name])
        font_menu = format_menu.addMenu("&Font")
        for label, value in FONT_CHOICES:
            font_menu.addAction(
                a(f"font:{label}", label, _bind_arg(self.editor.set_inline, "font", value))
            )
        size_menu = format_menu.addMenu("&Size")
        for label, value in SIZE_CHOICES:
            size_menu.addAction(
                a(f"size:{label}", label, _bind_arg(self.editor.set_inline, "size", value))
            )
        size_menu.addSeparator()
        for name, text, step, keys in (
            ("sizeUp", "Increase font size", 1, ("Ctrl+Shift+>", "Ctrl+Shift+.")),
            ("sizeDown", "Decrease font size", -1, ("Ctrl+Shift+<", "Ctrl+Shift+,")),
        ):
            action = a(name, text, partial(self.editor.step_size, step), keys[0])
            action.setShortcuts([QKeySequence(key) for key in keys])  # by layout, > or .
            size_menu.addAction(action)
        format_menu.addMenu(self.color_menu)
        format_menu.addMenu(self.highlight_menu)
        format_menu.addSeparator()
        for name in ("blockquote", "codeBlock", "link"):
            format_menu.addAction(self.actions_by_name[name])
        format_menu.addSeparator()
        format_menu.addAction(self.actions_by_name["paintFormat"])
        format_menu.addAction(a("copyFormat", "C&opy formatting", e.copy_format, "Ctrl+Alt+C"))
        format_menu.addAction(a("pasteFormat", "Paste f&ormatting", e.paste_format, "Ctrl+Alt+V"))
        format_menu.addAction(self.actions_by_name["clear"])

        view_menu = bar.addMenu("&View")
        outline = self.outline.toggleViewAction()
        outline.setText("Show &outline")
        outline.setShortcut(QKeySequence("Ctrl+Alt+H"))
        outline.setObjectName("showOutline")
        self.actions_by_name["showOutline"] = outline
        self.addAction(outline)
        view_menu.addAction(outline)
        view_menu.addSeparator()
        zoom_in = a("zoomIn", "Zoom &in", lambda: self.step_zoom(1), "Ctrl+=")
        zoom_in.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        view_menu.addAction(zoom_in)
        view_menu.addAction(a("zoomOut", "Zoom &out", lambda: self.step_zoom(-1), "Ctrl+-"))
        view_menu.addAction(a("zoomReset", "&Actual size", lambda: self.editor.set_zoom(100)))
        # Pageless (one continuous sheet; remembered): pageless.py.
        self.actions_by_name["pageless"] = pageless_action(self.editor, self)
        view_menu.addAction(self.actions_by_name["pageless"])
        view_menu.addSeparator()
        # Spell check (remembered; says why when it cannot run here): spell_highlighter.py.
        spell = self.editor.spell
        spell_check = (spell.spelling if spell else shared_spelling()).toggle_action(self)
        self.actions_by_name["spellCheck"] = spell_check
        view_menu.addAction(spell_check)

        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(a("wordCount", "Word count", self.show_word_count, "Ctrl+Shift+C"))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a("shortcuts", "Keyboard shortcuts", self.show_shortcuts, "Ctrl+/"))
        help_menu.addAction(a("about", "About Coscribe", lambda: about_box(self).open()))

    def _build_page(self) -> None:
        """The editor as a page on a grey desk, like a word processor."""
        desk = QWidget()
        desk.setObjectName("desk")
        self._desk = desk
        desk_layout = QHBoxLayout(desk)
        desk_layout.setContentsMargins(0, 12, 0, 0)
        self.editor.setObjectName("page")
        self.apply_color_scheme()
        # A bound method: the connection to the application-wide hints ends with the window.
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._color_scheme_changed)
        self.editor.setMaximumWidth(820)
        self.editor.setMinimumWidth(360)
        desk_layout.addStretch(1)
        desk_layout.addWidget(self.editor, 100)
        desk_layout.addStretch(1)
        # The page's scroll bar at the window's right edge, not inside the sheet.
        self.editor.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.page_scroll = DeskScrollBar(
            self.editor.verticalScrollBar(), self.editor.scrolled_by_user, desk
        )
        self.page_scroll.forward_wheel(desk)
        desk_layout.addWidget(self.page_scroll)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._header)
        column.addWidget(self.toolbar)
        column.addWidget(desk, 1)
        self.setCentralWidget(central)

    @property
    def dark(self) -> bool:
        """Whether the system (or Qt's style hints) asks for a dark colour scheme."""
        scheme = QGuiApplication.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Unknown:
            return self.palette().window().color().lightness() < 128
        return scheme == Qt.ColorScheme.Dark

    def _color_scheme_changed(self, *_: object) -> None:
        self.apply_color_scheme()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (
            QEvent.Type.ApplicationPaletteChange,
            QEvent.Type.PaletteChange,
            QEvent.Type.ThemeChange,
        ):
            self.apply_color_scheme()

    def apply_color_scheme(self) -> None:
        """Desk and page colours for a light or dark system theme."""
        if getattr(self, "_applied_dark", None) == self.dark:
            return
        self._applied_dark = self.dark
        desk, page, text, border = (
            ("#1f1f1f", "#2d2e30", "#e8eaed", "#3c4043")
            if self.dark
            else ("#f1f3f4", "#ffffff", "#1f1f1f", "#dadce0")
        )
        self._desk.setStyleSheet(f"#desk {{ background: {desk}; }}")
        self.editor.setStyleSheet(
            f"#page {{ background: {page}; color: {text}; border: 1px solid {border}; "
            "padding: 28px 40px; }"
        )

    def _build_status_bar(self) -> None:
        self.status_badge = StatusBadge(self.connection)
        self.word_count_label = QLabel("0 words")
        self.word_count_label.setObjectName("wordCount")
        self.page_indicator = PageIndicator(self.editor)
        self.statusBar().addWidget(self.status_badge)
        self.statusBar().addPermanentWidget(self.page_indicator)
        self.statusBar().addPermanentWidget(self.word_count_label)

    def _connect_model(self) -> None:
        m = self.model
        m.titleChanged.connect(self._show_title)
        m.wordCountChanged.connect(self._show_word_count)
        m.canUndoChanged.connect(self.actions_by_name["undo"].setEnabled)
        m.canRedoChanged.connect(self.actions_by_name["redo"].setEnabled)
        m.remotePresenceChanged.connect(self.refresh_people)
        self.editor.formatChanged.connect(self.show_format)
        self.editor.imageRefused.connect(self.show_image_refused)
        self.connection.readOnlyChanged.connect(self.set_read_only)
        self._show_title(m.title())
        self._show_word_count(_word_count(self.editor.toPlainText()))
        self.set_read_only(self.connection.read_only)
        self.refresh_people()

    # -- behaviour ----------------------------------------------------------------------------
    @property
    def link(self) -> str:
        return self.connection.link.url

    def set_you(self, name: str, color: str) -> None:
        self._you = Person(name, color, is_you=True)
        self.refresh_people()

    def refresh_people(self) -> None:
        # My colour as others see it (another person here may have had it first).
        you = Person(self._you.name, self.presence.own_color or self._you.color, is_you=True)
        self.people.set_people(you, self.presence.collaborators())

    def show_find(self, *, replace: bool) -> FindReplaceDialog:
        self.find_dialog.show_for(replace=replace)
        return self.find_dialog

    def copy_link(self) -> None:
        QApplication.clipboard().setText(self.link)
        self.statusBar().showMessage("Link copied — anyone with the link can edit", 4000)

    def show_share(self) -> ShareDialog:
        """The Share button, *File ▸ Share…*: links for this document (owners), or how to
        pass it on."""
        dialog = ShareDialog(self.connection, self.model.title(), self)
        dialog.open()
        dialog.start()
        return dialog

    def show_open_document(self) -> OpenDocumentDialog:
        """*File ▸ Open…*: the documents of this document's server (its library)."""
        link, shared = self.connection.link, self.connection.connection
        dialog = OpenDocumentDialog(
            link.url,
            self,
            token=link.token,
            proxy=shared.proxy_resolver if shared is not None else None,
            ssl=shared.ssl if shared is not None else None,
        )
        dialog.linkChosen.connect(self.openLinkRequested.emit)
        dialog.open()
        return dialog

    def show_open_link(self) -> OpenLinkDialog:
        dialog = OpenLinkDialog(self)
        dialog.linkChosen.connect(self.openLinkRequested.emit)
        dialog.open()
        return dialog

    def show_make_copy(self) -> MakeCopyDialog:
        """*File ▸ Make a copy…*: copy this document on its server, then open the copy."""
        link, shared = self.connection.link, self.connection.connection
        proxy, ssl = (shared.proxy_resolver, shared.ssl) if shared is not None else (None, None)
        dialog = MakeCopyDialog(ServerAccess(link.server, link.token, proxy, ssl), link.name, self)
        dialog.copied.connect(self.openLinkRequested.emit)
        dialog.open()
        return dialog

    def edit_link(self) -> LinkDialog:
        current = self.editor.textCursor().charFormat().anchorHref()
        dialog = LinkDialog(self, current)
        dialog.urlChosen.connect(lambda url: self.editor.set_link(url or None))
        dialog.open()
        return dialog

    def _install_insert_image(self) -> None:
        """*Insert ▸ Image…* first in the Insert menu (which the comments install), as
        Google Docs' Insert ▸ Image ▸ Upload from computer; no shortcut, as there."""
        action = self._action("insertImage", "&Image…", self.choose_image)
        action.setToolTip("Insert a picture from a file")
        menu = self.findChild(QMenu, "insertMenu")
        if isinstance(menu, QMenu):
            first = menu.actions()[0] if menu.actions() else None
            if first is not None:
                menu.insertAction(first, action)
            else:
                menu.addAction(action)
        action.setEnabled(not self.editor.isReadOnly())

    def choose_image(self) -> None:
        """*Insert ▸ Image…*: pick a picture file; it goes in at the caret."""
        path, _ = QFileDialog.getOpenFileName(self, "Insert image", str(Path.home()), IMAGE_FILTER)
        if path:
            self.insert_image_from(Path(path))

    def insert_image_from(self, path: Path) -> bool:
        """Insert the picture in ``path`` at the caret (scaled and re-encoded by the rules
        of :mod:`editor_app.core.images`); a refusal is said in a message box."""
        try:
            return bool(self.editor.insert_image_file(path))
        except ImageRefused as exc:
            self.show_image_refused(str(exc))
        except OSError as exc:
            self.show_image_refused(f"Could not read {path.name}: {exc.strerror or exc}")
        return False

    def show_image_refused(self, message: str) -> QMessageBox:
        """Say why a picture was not inserted (window-modal, so nothing waits on it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Image not inserted", message, parent=self)
        box.setObjectName("imageRefused")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import into a new document", "", export.IMPORT_FILTER
        )
        if path:
            self.importRequested.emit(path)

    def choose_export(self, fmt: str) -> None:
        stem = self.model.title().strip() or self.connection.link.name
        suggested = str(Path.home() / f"{export.safe_file_stem(stem)}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export as {export.FORMATS[fmt]}", suggested, f"*.{fmt}"
        )
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> Path:
        written = export.export_document(self.editor.document(), path, fmt, self.model.title())
        self.statusBar().showMessage(f"Exported to {written}", 4000)
        return written

    def show_format(self, attrs: dict[str, Any]) -> None:
        for name in ("bold", "italic", "underline", "strike", "code"):
            self.actions_by_name[name].setChecked(bool(attrs.get(name)))
        self.actions_by_name["superscript"].setChecked(attrs.get("script") == "super")
        self.actions_by_name["subscript"].setChecked(attrs.get("script") == "sub")
        kind = attrs.get("list")
        self.actions_by_name["bullet"].setChecked(kind == "bullet")
        self.actions_by_name["ordered"].setChecked(kind == "ordered")
        self.actions_by_name["checklist"].setChecked(kind in ("checked", "unchecked"))
        for name, _, _, value, _ in ALIGN_CHOICES:
            self.actions_by_name[name].setChecked(attrs.get("align") == value)
        self.actions_by_name["blockquote"].setChecked(bool(attrs.get("blockquote")))
        self.actions_by_name["codeBlock"].setChecked(bool(attrs.get("code-block")))
        self.actions_by_name["rightToLeft"].setChecked(attrs.get("direction") == "rtl")
        level = attrs.get("header")
        index = self.heading_combo.findData(int(level) if level else None)
        self.heading_combo.setCurrentIndex(max(index, 0))
        self.font_combo.setCurrentIndex(max(self.font_combo.findData(attrs.get("font")), 0))
        size = self.size_combo.findData(attrs.get("size"))
        self.size_combo.setCurrentIndex(size if size >= 0 else 1)

    def print_preview(self) -> QPrintPreviewDialog:
        """File ▸ Print preview (Ctrl+P): the pages as they will print, with a Print button."""
        # The dialog's own printer: one passed in would be freed by Python when this
        # method returns while the dialog still uses it (a crash in a later timer).
        dialog = QPrintPreviewDialog(self)
        dialog.setObjectName("printPreview")
        dialog.printer().setDocName(self.model.title() or UNTITLED)
        ready = export.print_ready(self.editor.document())
        dialog.paintRequested.connect(lambda p: ready.print_(p))
        dialog.resize(900, 760)
        dialog.open()
        return dialog

    def print_document(self) -> QPrintDialog:
        dialog = QPrintDialog(self)  # its own printer (see print_preview)
        dialog.printer().setDocName(self.model.title() or UNTITLED)
        ready = export.print_ready(self.editor.document())
        dialog.accepted.connect(lambda: ready.print_(dialog.printer()))
        dialog.setModal(True)
        dialog.show()
        return dialog

    def show_word_count(self) -> WordCountDialog:
        """Tools ▸ Word count (Ctrl+Shift+C, as in Google Docs)."""
        dialog = WordCountDialog(self.editor.toPlainText(), self.editor.textCursor(), self)
        dialog.open()
        return dialog

    def show_version_history(self) -> VersionHistoryDialog:
        """File ▸ Version history (Ctrl+Alt+Shift+H): earlier versions, preview, restore."""
        dialog = VersionHistoryDialog(self.model, self.editor, self.connection, self)
        dialog.restored.connect(lambda text: self.statusBar().showMessage(text, 8000))
        dialog.open()
        dialog.start()
        return dialog

    def _toggle_paint_format(self) -> None:
        if self.editor.painting_format:
            self.editor.cancel_paint_format()
        else:
            self.editor.start_paint_format()

    def step_zoom(self, direction: int) -> None:
        """The next zoom level up (+1) or down (-1) from the current one."""
        current = self.editor.zoom
        levels = [z for z in ZOOM_LEVELS if (z > current if direction > 0 else z < current)]
        if levels:
            self.editor.set_zoom(levels[0] if direction > 0 else levels[-1])

    def _show_zoom(self, percent: int) -> None:
        index = self.zoom_combo.findData(percent)
        if index < 0:
            self.zoom_combo.addItem(f"{percent}%", percent)
            index = self.zoom_combo.count() - 1
        self.zoom_combo.setCurrentIndex(index)

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help ▸ Keyboard shortcuts (Ctrl+/): every action with a key, by menu."""
        dialog = ShortcutsDialog(self.menuBar(), self)
        dialog.open()
        return dialog

    def set_read_only(self, read_only: bool) -> None:
        self.model.read_only = read_only
        self.title_edit.setReadOnly(read_only)
        self.toolbar.setEnabled(not read_only)
        # The shortcuts too: a disabled toolbar does not disable its actions' keys.
        for name in EDITING_ACTIONS:
            action = self.actions_by_name.get(name)
            if action is not None:
                action.setEnabled(not read_only)
        self.show_format(self.editor.current_format())

    def _title_done(self) -> None:
        self.editor.setFocus()
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.Start)
        self.editor.setTextCursor(cursor)

    def _show_title(self, title: str) -> None:
        if self.title_edit.text() != title:
            self.title_edit.setText(title)
        self.setWindowTitle(f"{title or UNTITLED} — Coscribe")

    def _show_word_count(self, count: int) -> None:
        self.word_count_label.setText(f"{count} word" + ("" if count == 1 else "s"))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.find_dialog.close()
        super().closeEvent(event)
        self.closed.emit()


def _bind(function: Callable[[Any], object], value: Any) -> Callable[[], object]:
    """``function`` with ``value`` bound now (a loop variable in a lambda is bound late)."""
    return lambda: function(value)


def _bind_arg(
    function: Callable[[Any, Any], object], key: Any, value: Any
) -> Callable[..., object]:
    """``function(key, value)`` as a slot (values bound now, signal arguments ignored)."""
    return lambda *_: function(key, value)


def _word_count(text: str) -> int:
    return len(text.split())


def _open_in_browser(href: str) -> None:
    """Open a link the editor asked to (a web or mail address only) with the system's
    browser or mail program."""
    QDesktopServices.openUrl(QUrl(href))
