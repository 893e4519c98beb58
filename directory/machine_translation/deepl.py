"""DeepL's API v2: ``/v2/translate`` with a "keep as is" glossary per language pair.

Keys of the free plan end in ``:fx`` and are served by api-free.deepl.com, all others by
api.deepl.com. A glossary is created once per language pair and term list (its name carries a
hash of the terms) and found again by name after a restart, so Lotse never piles up copies.
Where DeepL offers no glossary for a pair, the terms are sent inside ignored XML tags instead.
"""

import hashlib
import logging
import re
from functools import cached_property
from html import escape, unescape

import httpx2

from directory.machine_translation.providers import (
    AuthenticationFailed,
    MachineTranslationError,
    Provider,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    UnsupportedLanguage,
    error_text,
)

FREE_URL = "https://api-free.deepl.com"
PRO_URL = "https://api.deepl.com"
# Lotse's codes where DeepL wants a regional variant or another code as target language.
TARGET_CODES = {
    "en": "EN-GB",
    "pt": "PT-PT",
    "pt-br": "PT-BR",
    "zh": "ZH",
    "zh-hans": "ZH-HANS",
    "zh-hant": "ZH-HANT",
    "no": "NB",
    "nb": "NB",
}
KEEP_TAG = "keep"

logger = logging.getLogger("lotse.machine_translation")


def base_url_for(api_key: str) -> str:
    return FREE_URL if api_key.endswith(":fx") else PRO_URL


def _base(code: str) -> str:
    """DeepL's glossaries name languages without region: EN-GB → en."""
    return code.split("-")[0].lower()


class DeepL(Provider):
    label = "DeepL"

    def __init__(
        self, *, api_key: str, base_url: str | None, timeout: float, batch_size: int
    ) -> None:
        # DeepL takes at most 50 texts per request.
        super().__init__(
            base_url=base_url or base_url_for(api_key),
            timeout=timeout,
            batch_size=min(batch_size, 50),
        )
        self.http.headers["Authorization"] = f"DeepL-Auth-Key {api_key}"
        self._glossaries: dict[tuple[str, str, str], str] = {}

    @cached_property
    def _languages(self) -> dict[str, set[str]]:
        return {
            kind: {
                str(entry["language"]).upper()
                for entry in self.request("GET", "/v2/languages", params={"type": kind})
            }
            for kind in ("source", "target")
        }

    @cached_property
    def _glossary_pairs(self) -> set[tuple[str, str]]:
        answer = self.request("GET", "/v2/glossary-language-pairs")
        return {
            (str(pair["source_lang"]).lower(), str(pair["target_lang"]).lower())
            for pair in answer.get("supported_languages", [])
        }

    def source_code(self, language: str) -> str:
        code = _base(language).upper()
        if language.lower() == "de-x-ls" or code not in self._languages["source"]:
            raise UnsupportedLanguage(provider=self.label, language=language)
        return code

    def target_code(self, language: str) -> str:
        code = TARGET_CODES.get(language.lower(), language.upper())
        if code not in self._languages["target"]:
            raise UnsupportedLanguage(provider=self.label, language=language)
        return code

    def glossary_id(self, *, source: str, target: str, terms: tuple[str, ...]) -> str:
        """The id of the "keep as is" glossary for this pair, created on first use."""
        digest = hashlib.sha256("\n".join(sorted(terms)).encode()).hexdigest()[:12]
        key = (_base(source), _base(target), digest)
        if key in self._glossaries:
            return self._glossaries[key]
        name = f"lotse {key[0]}-{key[1]} {digest}"
        for glossary in self.request("GET", "/v2/glossaries").get("glossaries", []):
            if (
                glossary.get("name") == name
                and glossary.get("source_lang") == key[0]
                and glossary.get("target_lang") == key[1]
            ):
                self._glossaries[key] = str(glossary["glossary_id"])
                return self._glossaries[key]
        created = self.request(
            "POST",
            "/v2/glossaries",
            json={
                "name": name,
                "source_lang": key[0],
                "target_lang": key[1],
                "entries": "\n".join(f"{term}\t{term}" for term in sorted(terms)),
                "entries_format": "tsv",
            },
        )
        self._glossaries[key] = str(created["glossary_id"])
        return self._glossaries[key]

    def translate_batch(
        self, texts: list[str], *, source: str, target: str, glossary: tuple[str, ...]
    ) -> list[str]:
        body: dict[str, object] = {"text": texts, "source_lang": source, "target_lang": target}
        protected = False
        if glossary and (_base(source), _base(target)) in self._glossary_pairs:
            body["glossary_id"] = self.glossary_id(source=source, target=target, terms=glossary)
        elif glossary:
            body.update(
                text=[_protect(text, glossary) for text in texts],
                tag_handling="xml",
                ignore_tags=[KEEP_TAG],
            )
            protected = True
        answer = self.request("POST", "/v2/translate", json=body)
        try:
            translated = [str(entry["text"]) for entry in answer["translations"]]
        except (KeyError, TypeError) as error:
            raise MachineTranslationError() from error
        return [_unprotect(text) for text in translated] if protected else translated

    def raise_for_answer(self, response: httpx2.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise AuthenticationFailed()
        if status == 456:
            raise QuotaExceeded()
        if status in (429, 529):
            raise RateLimited()
        if status >= 500:
            raise ProviderUnavailable()
        logger.warning("DeepL refused the request: %s", error_text(response, "message"))


def _protect(text: str, terms: tuple[str, ...]) -> str:
    """The text as XML with every glossary term inside a tag DeepL leaves alone."""
    pattern = "|".join(re.escape(escape(term)) for term in sorted(terms, key=len, reverse=True))
    return re.sub(rf"\b({pattern})\b", rf"<{KEEP_TAG}>\1</{KEEP_TAG}>", escape(text, quote=False))


def _unprotect(text: str) -> str:
    return unescape(re.sub(rf"</?{KEEP_TAG}>", "", text))
