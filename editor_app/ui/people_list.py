"""Who is here: a row of colored avatars with names, like the one at the top of Google Docs.

The first chip is always "you"; the others come from ``PresenceTracker.collaborators()``.
Entries without a name are shown as "Anonymous" rather than hidden: someone is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

MAX_CHIPS = 6


@dataclass(frozen=True)
class Person:
    name: str
    color: str
    is_you: bool = False


def _text_color(background: str) -> str:
    """Black or white initial, whichever reads better on the avatar color."""
    c = QColor(background)
    luminance = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return "#202124" if luminance > 160 else "#ffffff"


class PeopleList(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("peopleList")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._people: list[Person] = []

    def people(self) -> list[Person]:
        return list(self._people)

    def names(self) -> list[str]:
        return [p.name for p in self._people]

    def set_people(self, you: Person, collaborators: Sequence[Any]) -> None:
        """``collaborators``: objects with ``name`` and ``color`` (E1's ``Collaborator``)."""
        people = [you]
        for c in collaborators:
            name = str(getattr(c, "name", "") or "") or "Anonymous"
            color = str(getattr(c, "color", "") or "") or "#9aa0a6"
            people.append(Person(name, color))
        self._people = people
        while (item := self._layout.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        for person in people[:MAX_CHIPS]:
            self._layout.addWidget(self._chip(person))
        if len(people) > MAX_CHIPS:
            more = QLabel(f"+{len(people) - MAX_CHIPS}")
            more.setToolTip("\n".join(p.name for p in people[MAX_CHIPS:]))
            self._layout.addWidget(more)
        here = len(people)
        self.setToolTip(
            "Only you are here" if here == 1 else f"{here} people here: " + ", ".join(self.names())
        )

    def _chip(self, person: Person) -> QLabel:
        initial = person.name[:1].upper() or "?"
        label = QLabel(initial)
        label.setObjectName("avatar")
        label.setFixedSize(28, 28)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        border = "2px solid #202124" if person.is_you else "2px solid white"
        label.setStyleSheet(
            f"background: {person.color}; color: {_text_color(person.color)};"
            f" border-radius: 14px; border: {border}; font-weight: bold;"
        )
        label.setToolTip(f"{person.name} (you)" if person.is_you else person.name)
        return label
