"""Live alerts (issue #12): each new article posted once, as it arrives, in the channels that asked.

``rules`` (limits and options, written once), ``keywords`` (the keyword query language, shared with
follows), ``match`` (which alerts an arriving article is for, fast), ``service`` (recording and
delivering posts exactly once), ``queue`` (one paced queue for every post a process sends),
``outbox`` (the Discord side) and ``loop`` (the background task that runs it all).
"""
