"""One module per bundle item; each fetches through the seam and parses with ``parsers``."""
