"""The web pages: public news pages, an Atom feed per topic, and a control panel for moderators
with "Login with Discord". Served by the status server (``bot.ops.web``) when ``NEWSBOT_WEB=true``;
``bot.panel.routes.mount_panel`` adds the routes."""
