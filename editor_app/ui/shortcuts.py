"""Help ▸ Keyboard shortcuts: every menu action that has a key, grouped by menu."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMenu,
    QMenuBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """``(menu, action, keys)`` for every action with a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu: QMenu, title: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, title)
            elif action.shortcuts():
                keys = ", ".join(
                    k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
                )
                rows.append(
                    (
                        title,
                        action.text().replace("&&", "\0").replace("&", "").replace("\0", "&"),
                        keys,
                    )
                )

    for top in menu_bar.actions():
        sub = top.menu()
        if isinstance(sub, QMenu):
            walk(sub, top.text().replace("&", ""))
    return rows


#: Keys the text itself answers to (no menu action has them), listed last.
IN_THE_TEXT = (
    ("Nest a list item / take it out a level", "Tab / Shift+Tab at its start"),
    ("Take a nested item out a level", "Backspace at its start, Enter on it empty"),
    ("End a list", "Enter on an empty item"),
    ("Start a bulleted / numbered list / checklist", "* or - / 1. / [] then Space"),
    ("Make a typed web address a link", "Space or Enter after it"),
    ("Open a link", "Ctrl+click"),
    ("Tick or untick a checklist item", "Click its box"),
)


def _plain(text: str) -> str:
    """A menu text without its mnemonic marks (``&&`` is a literal ``&``)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class ShortcutsDialog(QDialog):
    """A searchable-looking, plain list of shortcuts (non-modal, like Google Docs')."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        groups: dict[str, QTreeWidgetItem] = {}
        for menu, action, keys in shortcut_rows(menu_bar):
            group = groups.get(menu)
            if group is None:
                group = groups[menu] = QTreeWidgetItem(self.tree, [menu, ""])
                group.setExpanded(True)
            QTreeWidgetItem(group, [action, keys])
        text = QTreeWidgetItem(self.tree, ["In the text", ""])
        text.setExpanded(True)
        for action, keys in IN_THE_TEXT:
            QTreeWidgetItem(text, [action, keys])
        self.tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(460, 560)

    def rows(self) -> list[tuple[str, str]]:
        """(action, keys) as listed."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group is None:
                continue
            for j in range(group.childCount()):
                item = group.child(j)
                if item is not None:
                    out.append((item.text(0), item.text(1)))
        return out
