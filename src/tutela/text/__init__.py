"""Text: normalisation that undoes evasion, lexicon matching, contact details, the classifier."""

from tutela.text.normalise import Form, Normalised, normalise

__all__ = ["Form", "Normalised", "normalise"]
