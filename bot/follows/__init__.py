"""Personal follows (issue #14): members follow topics and keywords and get their news by direct message."""
