"""The e-health services catalogue deck: its data, blocks, templates and CSS."""
