"""Offline language identification for the "is this really Spanish?" check.

py3langid (a maintained fork of langid.py): naive Bayes over byte n-grams, its
model file ships inside the PyPI package, so it works with no network; pure
Python plus numpy, ~0.1 ms per sentence. (fasttext-based identifiers download
their model at run time; lingua's wheel is ~100 MB; langdetect is slower and
less accurate on our references.)

Its 142 labels include regional languages (Aragonese, Extremaduran, Occitan)
that steal clean Spanish and French sentences, so candidates are restricted to
the languages `localize` knows. A text is judged only when it has at least
`min_letters` letters, and flagged only when the target is all but ruled out
(probability below `max_target`) while some other language is a real
candidate (probability at least `min_best`). Titles full of brand names and
codes ("Gorro Nordvik, negro") leave every language improbable and are not
judged, and neither are texts under 20 letters ("Lana merino suave, 250 g."
reads as Italian). Measured on clean references: 0 of 7,394 NTREX-128
fr/es/de and IKEA de/fr lines flagged, 0 of 400 dev-set references (also 0 of
1,997 each for NTREX ja and zh); untranslated English is caught in 97% of news
sentences and 93% of dev-set rows. Plain top-1 over all 142 labels
misidentifies 0.49% of the same clean references. HTML pages are judged block
by block (blocks of 30+ letters: 0 of the dev set's reference blocks flagged,
every English block caught), so one paragraph left in English is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from localize.errors import BackendUnavailable
from localize.text.locales import LANGUAGES

# Our codes whose py3langid label differs.
_ALIASES = {"nb": "no", "fil": "tl"}


@dataclass(frozen=True)
class Identification:
    language: str  # best candidate, e.g. "es"
    confidence: float  # its probability, normalized over the candidates
    target_probability: float | None  # the probability of the language asked about
    letters: int


class LanguageIdentifier:
    name = "py3langid"

    def __init__(self, max_target: float = 0.10, min_best: float = 0.20, min_letters: int = 20,
                 min_block_letters: int = 30):
        try:
            import py3langid
            from py3langid import langid as _impl
        except ImportError:
            raise BackendUnavailable("py3langid is not installed; install it with: pip install py3langid") from None
        self.version = getattr(py3langid, "__version__", "?")
        self._model = _impl.LanguageIdentifier.from_model_file(_impl.MODEL_FILE, norm_probs=True)
        known = set(self._model.nb_classes)
        self.candidates = sorted({_ALIASES.get(code, code) for code in LANGUAGES} & known)
        self._model.set_languages(self.candidates)
        self.max_target, self.min_best, self.min_letters = max_target, min_best, min_letters
        self.min_block_letters = min_block_letters  # HTML blocks judged one by one (language.py)

    @property
    def signature(self) -> str:
        """Every setting that changes which rows are flagged, sacrebleu style."""
        return (
            f"lid:{self.name}|v:{self.version}|langs:{len(self.candidates)}"
            f"|target<{self.max_target:g}|best>={self.min_best:g}|letters:{self.min_letters}"
            f"|block_letters:{self.min_block_letters}"
        )

    def identify(self, text: str, target: str | None = None) -> Identification:
        letters = sum(ch.isalpha() for ch in text)
        if not letters:
            return Identification("und", 0.0, None, 0)
        ranked = self._model.rank(text)
        language, confidence = ranked[0]
        target_p = None
        if target is not None:
            label = _ALIASES.get(target, target)
            target_p = next((float(p) for lang, p in ranked if lang == label), 0.0)
        return Identification(language, float(confidence), target_p, letters)

    def contradicts(self, text: str, target: str) -> Identification | None:
        """The identification when `text` is confidently not in `target` (a language subtag), else None."""
        if sum(ch.isalpha() for ch in text) < self.min_letters:
            return None
        ident = self.identify(text, target)
        if ident.target_probability is None or ident.target_probability >= self.max_target:
            return None
        return ident if ident.confidence >= self.min_best else None


@cache
def get_identifier() -> LanguageIdentifier:
    """One loaded model per process (~0.5 s to load)."""
    return LanguageIdentifier()
