"""Images between the Coscribe editor and a stock Yjs client (Node: yjs + y-websocket, as
a web Quill/y-quill editor is): an image embed the web client writes (a small PNG data
URL, with Quill's width) is shown by the editor as a picture, and a picture inserted in
the editor reaches the web client as ``{insert: {image: 'data:...'}}`` at its index."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from editor_app.qt import images
from tests.e2e.harness import editor_app, place_cursor, relay, wait_until
from tests.gui.test_images import decoded, embeds, image_fragments, small_png_url
from tests.interop.node_client import NodeClient, NodeUnavailable, ensure_node_packages
from tests.support.waiting import wait_until_async


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_images_cross_between_the_editor_and_a_stock_yjs_client(tmp_path: Path) -> None:
    try:
        node = ensure_node_packages()
    except NodeUnavailable as exc:
        pytest.skip(str(exc))
    web_png = small_png_url("#34a853", (24, 16))
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "me", "Ada") as app:
        opened = app.open_document(f"{server.url}/pictures")
        quill = await NodeClient.start(node, server.url, "pictures", tmp_path / "node.log")
        try:
            await quill.wait_synced()
            await quill.insert(0, "Web 😀 image: \n", {})
            # What Quill writes for an image: an embed (Y.Text.insertEmbed) with attributes.
            at = len("Web 😀 image: ".encode("utf-16-le")) // 2  # UTF-16, as Yjs counts
            await quill.call("insert", index=at, text={"image": web_png}, attrs={"width": "48"})
            editor = opened.editor
            await wait_until(lambda: bool(image_fragments(editor)), "the web image in the page")
            ((pos, fmt),) = image_fragments(editor)
            assert pos == at  # Qt counts UTF-16 too
            shown = images.picture(editor.document(), fmt)
            assert shown is not None and not images.is_placeholder(shown)
            assert (shown.width(), shown.height()) == (24, 16)
            assert shown.pixelColor(3, 3) == QColor("#34a853")
            size = editor.images.intrinsicSize(editor.document(), pos, fmt)
            assert (size.width(), size.height()) == (48, 32)  # Quill's width honoured
            # The editor inserts a picture after "Web ": the web client gets the embed.
            picture = QImage(30, 20, QImage.Format.Format_RGB32)
            picture.fill(QColor("#4285f4"))
            place_cursor(editor, 4)
            assert editor.insert_image(images.prepare_qimage(picture))
            ours = embeds(opened.model.text)[0][1]["image"]

            async def web_has_both() -> bool:
                delta = await quill.delta()
                return sum(isinstance(op.get("insert"), dict) for op in delta) == 2

            await wait_until_async(web_has_both, "the editor's image at the web client")
            delta = await quill.delta()
            inserts = [op["insert"] for op in delta]
            assert inserts[0] == "Web "
            assert inserts[1] == {"image": ours} and ours.startswith("data:image/png;base64,")
            assert decoded(ours).pixelColor(5, 5) == QColor("#4285f4")
            assert {"insert": {"image": web_png}, "attributes": {"width": "48"}} in delta
            assert await quill.text() == "Web 😀 image: \n"  # embeds are not text in Yjs
            text16 = len("Web 😀 image: \n".encode("utf-16-le")) // 2
            assert await quill.length() == text16 + 2  # each embed is one unit
        finally:
            await quill.aclose()
        assert not (tmp_path / "node.log").read_text(), "the web client complained"
