"""Tutela: child-safety moderation for platforms whose users create content."""

__version__ = "0.1.0"
