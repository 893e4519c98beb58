"""A self-hosted LibreTranslate server: ``/translate`` with a list of texts, ``/languages``.

LibreTranslate has no glossaries; the glossary's terms are sent inside elements marked
``translate="no"`` with ``format=html``, which its HTML translation (translatehtml) leaves as
they are. That translation collapses white space, so line breaks travel as ``<br>``.
Errors come as ``{"error": "..."}``: 400 for a bad request or language, 403 for a wrong or
missing API key, 429 when the key's limit is reached, 500 when translating failed.
"""

import re
from functools import cached_property
from html import escape, unescape

import httpx2

from directory.machine_translation.providers import (
    AuthenticationFailed,
    MachineTranslationError,
    Provider,
    ProviderUnavailable,
    RateLimited,
    UnsupportedLanguage,
)

# Lotse's codes where LibreTranslate uses another one.
CODES = {"pt-br": "pb", "zh": "zh-Hans", "zh-hans": "zh-Hans", "zh-hant": "zh-Hant", "kmr": "ku"}
_KEEP = re.compile(r'<span translate="no">(.*?)</span>', re.DOTALL)
_BREAK = re.compile(r"\s*<br\s*/?>\s*")


class LibreTranslate(Provider):
    label = "LibreTranslate"

    def __init__(
        self, *, base_url: str, api_key: str | None, timeout: float, batch_size: int
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, batch_size=batch_size)
        self.api_key = api_key

    @cached_property
    def _languages(self) -> dict[str, set[str]]:
        """Each source language's possible targets (servers before 1.5 list no targets:
        every language then translates into every other)."""
        entries = self.request("GET", "/languages")
        codes = {str(entry["code"]) for entry in entries}
        return {
            str(entry["code"]): set(entry.get("targets") or codes) - {entry["code"]}
            for entry in entries
        }

    def _code(self, language: str) -> str:
        return CODES.get(language.lower(), language.lower())

    def source_code(self, language: str) -> str:
        code = self._code(language)
        if code not in self._languages:
            raise UnsupportedLanguage(provider=self.label, language=language)
        return code

    def target_code(self, language: str) -> str:
        code = self._code(language)
        if not any(code in targets for targets in self._languages.values()):
            raise UnsupportedLanguage(provider=self.label, language=language)
        return code

    def translate_batch(
        self, texts: list[str], *, source: str, target: str, glossary: tuple[str, ...]
    ) -> list[str]:
        if target not in self._languages.get(source, set()):
            raise UnsupportedLanguage(provider=self.label, language=target)
        body: dict[str, object] = {
            "q": [_protect(text, glossary) for text in texts] if glossary else texts,
            "source": source,
            "target": target,
            "format": "html" if glossary else "text",
        }
        if self.api_key:
            body["api_key"] = self.api_key
        answer = self.request("POST", "/translate", json=body)
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, list):
            raise MachineTranslationError()
        texts_back = [str(text) for text in translated]
        return [_unprotect(text) for text in texts_back] if glossary else texts_back

    def raise_for_answer(self, response: httpx2.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise AuthenticationFailed()
        if status == 429:
            raise RateLimited()
        if status >= 500:
            raise ProviderUnavailable()


def _protect(text: str, terms: tuple[str, ...]) -> str:
    pattern = "|".join(re.escape(escape(term)) for term in sorted(terms, key=len, reverse=True))
    marked = re.sub(rf"\b({pattern})\b", r'<span translate="no">\1</span>', escape(text))
    return marked.replace("\n", "<br>")


def _unprotect(text: str) -> str:
    return unescape(_BREAK.sub("\n", _KEEP.sub(r"\1", text)))
