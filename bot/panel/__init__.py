"""The web pages: public news pages, an Atom feed per topic, and a control panel for moderators
with "Login with Discord". Served by the status server (``bot.web``) when ``NEWSBOT_WEB=true``;
``bot.panel.app.mount_panel`` adds the routes."""
