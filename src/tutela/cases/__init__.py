"""Reports, cases, queues, moderator decisions and appeals (docs/cases.md)."""
