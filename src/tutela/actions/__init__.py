"""Enforcement and its side effects: the webhook outbox, signatures, statements of reasons,
and carrying out a case's outcome (docs/webhooks.md, docs/cases.md)."""
