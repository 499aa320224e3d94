"""Text folding shared by the searches and imports that compare what people type.

Not for blind indexes: those normalise with `security.crypto.normalise_identifier`, whose
every change invalidates the stored indexes.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents or ligatures: "Cœur ÉPUISÉ" -> "coeur epuise"."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
