"""Notifications: tell people what happens to access (a maintained library behind one small
interface). ``events`` builds the messages (pure), ``send`` delivers them through apprise."""
