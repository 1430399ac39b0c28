"""Qt widgets of the editor. Widgets wire view-models together; they hold no document logic."""
