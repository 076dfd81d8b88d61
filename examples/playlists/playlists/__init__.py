"""Mixtape: a small playlist platform that asks Tutela before it publishes anything.

The example app of Tutela's Python SDK (`tutela.client`): accounts with a declared birth date,
follows and friendships, playlists with collaborators, covers and tags, search and reports. Every
change goes through `Client.check` first; Tutela's webhooks carry moderators' actions back into
this app's own SQLite database. See examples/playlists/README.md.
"""

__version__ = "0.1.0"
