"""The pages and form handlers, one module per area: auth, social, playlists, browse
(home and search) and moderation (reports, notices, appeals, the webhook receiver)."""
