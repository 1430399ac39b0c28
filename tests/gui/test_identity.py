"""Who am I to the others: a name asked once at first start, a colour nobody else in the
document shows (issue 13, bug 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from editor_app.qt.settings import Settings, os_account_name
from editor_app.ui.app import CoscribeApp
from tests.e2e.harness import editor_app, qapp, relay, wait_until


@pytest.mark.asyncio
async def test_first_start_asks_for_a_name_once(tmp_path: Path) -> None:
    app = CoscribeApp(qapp(), data_dir=tmp_path / "me")
    try:
        dialog = app.ask_name_if_needed()
        assert dialog is not None and dialog.isVisible()
        assert dialog.edit.text() == os_account_name()
        dialog.edit.setText("  민지 ")
        dialog.accept()
        assert app.display_name == "민지"
        assert app.ask_name_if_needed() is None
    finally:
        await app.aclose()
    again = CoscribeApp(qapp(), data_dir=tmp_path / "me")
    try:
        assert again.ask_name_if_needed() is None  # remembered in the data directory
        assert again.display_name == "민지"
    finally:
        await again.aclose()
    named = CoscribeApp(qapp(), data_dir=tmp_path / "other", name="Sam")
    try:
        assert named.ask_name_if_needed() is None  # --name given: nothing to ask
    finally:
        await named.aclose()


@pytest.mark.asyncio
async def test_two_people_with_the_same_colour_setting_show_different_colours(
    tmp_path: Path,
) -> None:
    for who in ("a", "b"):
        Settings(tmp_path / who).color = "#1a73e8"
    async with (
        relay(tmp_path / "srv") as server,
        editor_app(tmp_path / "a", "Ann") as app_a,
        editor_app(tmp_path / "b", "Bo") as app_b,
    ):
        a = app_a.open_document(f"{server.url}/colours")
        b = app_b.open_document(f"{server.url}/colours")

        def shown() -> dict[str, str]:
            people = {p.name: p.color for p in a.window.people.people()}
            people.update({f"b:{p.name}": p.color for p in b.window.people.people()})
            return people

        await wait_until(
            lambda: (
                {"Bo", "b:Ann"} <= set(shown())
                and a.presence.own_color != b.presence.own_color
                and shown()["Bo"] == b.presence.own_color
                and shown()["b:Ann"] == a.presence.own_color
            ),
            lambda: f"distinct colours, have {shown()}",
        )
        assert "#1a73e8" in {a.presence.own_color, b.presence.own_color}
