"""Pure functions from records to Discord payloads. No I/O, no database, no network.

Import the modules themselves (``bot.render.embeds``, ``bot.render.limits``...): this package imports
nothing, so the parts without discord.py (``limits``, ``text``) stay cheap to import.
"""
