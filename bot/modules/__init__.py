"""Cogs, one feature per module. Every public module here is loaded as an extension;
modules whose names start with ``_`` are private helpers."""
