"""The decks shipped with the toolkit, each in its own folder (its data, blocks, templates and CSS)."""
