"""newsbot: a Discord bot that serves a store of news articles."""

__version__ = "0.1.0"
