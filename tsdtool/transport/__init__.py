"""Talking to terminals. ``adb`` is the seam: the only module that imports adbutils."""
