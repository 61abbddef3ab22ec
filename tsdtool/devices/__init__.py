"""Terminals: listing, profiles (vendor match rules and facts), facts read from a device."""
