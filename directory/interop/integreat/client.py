"""Reading Integreat's locations: saved API answers or the live API, one feed per language."""

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from directory.translations import SOURCE_LANGUAGE
from lotse.errors import LotseError
from lotse.i18n import N_

DEFAULT_TIMEOUT = 30.0

Progress = Callable[[str, int, int], None]


class IntegreatError(LotseError):
    code = "integreat_import_failed"
    message = N_("The Integreat data could not be imported. Nothing was changed.")


def source_name(region: str) -> str:
    return f"integreat:{region}"


# --- reading: saved files or the API -----------------------------------------------------


def _decode(body: bytes, where: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IntegreatError(
            N_("%(where)s is not valid JSON (%(reason)s). Nothing was changed."),
            where=where,
            reason=str(error),
        ) from error


def check_languages(languages: list[str]) -> list[str]:
    languages = list(dict.fromkeys(code.strip() for code in languages if code.strip()))
    if SOURCE_LANGUAGE not in languages:
        raise IntegreatError(
            N_("German (de) must be among the languages: it is the source of every text.")
        )
    for code in languages:
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", code):
            raise IntegreatError(N_("“%(code)s” is not a language code."), code=code)
    return [SOURCE_LANGUAGE, *(code for code in languages if code != SOURCE_LANGUAGE)]


def read_files(path: Path, *, region: str, languages: list[str] | None = None) -> dict[str, Any]:
    """The saved API answers in ``path``: ``{region}-{language}.json`` per language.

    ``path`` is a folder of such files, or one file (then its name gives the language).
    Without ``languages``, every language with a file is read.
    """
    if path.is_file():
        match = re.fullmatch(rf"{re.escape(region)}-(.+)\.json", path.name)
        files = {match.group(1) if match else path.stem: path}
    elif path.is_dir():
        files = {
            file.name[len(region) + 1 : -len(".json")]: file
            for file in sorted(path.glob(f"{region}-*.json"))
        }
    else:
        raise IntegreatError(N_("%(path)s does not exist."), path=str(path))
    wanted = check_languages(languages if languages is not None else list(files))
    feeds = {}
    for language in wanted:
        file = files.get(language)
        if file is None:
            raise IntegreatError(
                N_("There is no file %(name)s for the language “%(language)s” in %(path)s."),
                name=f"{region}-{language}.json",
                language=language,
                path=str(path),
            )
        try:
            body = file.read_bytes()
        except OSError as error:
            raise IntegreatError(
                N_("%(path)s could not be read: %(reason)s"), path=str(file), reason=str(error)
            ) from error
        feeds[language] = _decode(body, file.name)
    return feeds


def api_url(base_url: str, *, region: str, language: str) -> str:
    return f"{base_url.rstrip('/')}/api/v3/{quote(region)}/{quote(language)}/locations/"


def fetch(
    *,
    base_url: str,
    region: str,
    languages: list[str],
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Download the locations of ``region`` in each language from an Integreat server."""
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise IntegreatError(N_("“%(url)s” is not an http(s) address."), url=base_url)
    wanted = check_languages(languages)
    feeds = {}
    for done, language in enumerate(wanted):
        if on_progress:
            on_progress("download", done, len(wanted))
        url = api_url(base_url, region=region, language=language)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, headers={"Accept": "application/json", "User-Agent": "Lotse Integreat import"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            raise IntegreatError(
                N_("%(url)s answered with HTTP status %(status)s. Nothing was changed."),
                url=url,
                status=error.code,
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise IntegreatError(
                N_("%(url)s could not be reached (%(reason)s). Nothing was changed."),
                url=url,
                reason=str(reason),
            ) from error
        feeds[language] = _decode(body, url)
    if on_progress:
        on_progress("download", len(wanted), len(wanted))
    return feeds


# --- categories ------------------------------------------------------------------------------
