"""tsdtool: turn "my scanner is broken" into a complete support request."""

__version__ = "0.1.0"
