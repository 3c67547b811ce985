"""Filling the store from RSS and Atom feeds.

The operator lists feeds in a YAML file (:mod:`bot.feeds.config`); a refresh
(:mod:`bot.feeds.service`) fetches the due ones politely (:mod:`bot.feeds.fetch`), turns their new
entries into article records (:mod:`bot.feeds.parse`) and writes each as an ordinary article file
under ``<content>/_feeds/<feed-slug>/`` (:mod:`bot.feeds.write`). Nothing else in the bot knows
where an article came from: the content watcher indexes a fetched file like any other, so search,
related, digests and (later) alerts see new entries through the index. What the fetcher remembers
between runs lives beside the feeds file (:mod:`bot.feeds.state`). No discord import here.
"""
