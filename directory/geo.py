"""Places and distances: offline geocoding from the region's gazetteer, geopy as an option.

Ranking uses vectorised haversine over all candidates (numpy); the distance printed next to a
result is geopy's geodesic distance. Geocoding works offline from ``seed_data/<region>/
gazetteer.json`` (districts, postcodes, quarters, streets, named places); with
``LOTSE_GEOCODER=nominatim`` unknown places are asked of OpenStreetMap's Nominatim through geopy,
rate-limited to one request a second and cached.
"""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from geopy.distance import geodesic
from rapidfuzz import fuzz, process

from directory.textfold import fold
from lotse.errors import LotseError
from lotse.i18n import N_

EARTH_RADIUS_KM = 6371.0088
_HOUSE_NUMBER = re.compile(r"\s+\d+\s*[a-zA-Z]?(\s*[-/]\s*\d+\s*[a-zA-Z]?)?\s*$")
_POSTCODE = re.compile(r"\b(\d{5})\b")
_STREET_SUFFIX = re.compile(r"(strasse|str\.?|straße)$")


class UnknownPlace(LotseError):
    status_code = 422
    code = "unknown_place"
    message = N_(
        "We could not find the place “%(place)s”. Try a street, a postcode, a district or a "
        "part of town, or choose a place from the suggestions."
    )


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # district | postcode | quarter | street | place | coordinates | nominatim
    latitude: float
    longitude: float
    district: str | None = None


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances from one point to many, in kilometres."""
    lat1, lon1 = np.radians(lat), np.radians(lon)
    lat2, lon2 = np.radians(lats), np.radians(lons)
    a = (
        np.sin((lat2 - lat1) / 2.0) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    )
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def exact_distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(geodesic(a, b).km)


def _street_key(name: str) -> str:
    return _STREET_SUFFIX.sub("str", fold(name).replace(" ", "").replace("-", ""))


class Gazetteer:
    """Offline geocoding of a region: exact names first, then fuzzy matching."""

    def __init__(self, data: dict) -> None:
        self.municipality = data.get("municipality", "")
        self.places: list[Place] = []
        for district in data.get("districts", []):
            self.places.append(
                Place(
                    district["name"],
                    "district",
                    district["latitude"],
                    district["longitude"],
                    district["code"],
                )
            )
            # "Mitte" finds "Hagen-Mitte"; "Eilpe/Dahl" is found as "Eilpe/Dahl" and as its code.
            short = district["name"].removeprefix(f"{self.municipality}-")
            if short != district["name"]:
                self.places.append(
                    Place(
                        short,
                        "district",
                        district["latitude"],
                        district["longitude"],
                        district["code"],
                    )
                )
        self.postcodes = {
            entry["code"]: Place(
                entry["code"],
                "postcode",
                entry["latitude"],
                entry["longitude"],
                entry.get("district"),
            )
            for entry in data.get("postcodes", [])
        }
        for entry in data.get("places", []):
            self.places.append(
                Place(
                    entry["name"],
                    entry.get("kind", "place"),
                    entry["latitude"],
                    entry["longitude"],
                    entry.get("district"),
                )
            )
        self._keys = [
            _street_key(place.name) if place.kind == "street" else fold(place.name)
            for place in self.places
        ]
        self._exact: dict[str, Place] = {}
        for key, place in zip(self._keys, self.places, strict=True):
            self._exact.setdefault(key, place)

    @classmethod
    def load(cls, path: Path) -> "Gazetteer":
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def lookup(self, text: str) -> Place | None:
        query = text.strip()
        if not query:
            return None
        whole = fold(query)
        if whole in self._exact:
            return self._exact[whole]
        postcode = _POSTCODE.search(query)
        without_postcode = _POSTCODE.sub(" ", query)
        without_city = (
            re.sub(
                rf"\b{re.escape(self.municipality)}\b", " ", without_postcode, flags=re.IGNORECASE
            )
            if self.municipality
            else without_postcode
        )
        name = _HOUSE_NUMBER.sub("", without_city.strip(" ,")).strip(" ,")
        if name:
            for key in (_street_key(name), fold(name)):
                if key in self._exact:
                    return self._exact[key]
            match = (
                process.extractOne(
                    _street_key(name), self._keys, scorer=fuzz.ratio, score_cutoff=84
                )
                or process.extractOne(fold(name), self._keys, scorer=fuzz.ratio, score_cutoff=84)
                or process.extractOne(
                    whole, self._keys, scorer=fuzz.token_set_ratio, score_cutoff=95
                )
            )
            if match:
                return self.places[match[2]]
        if postcode and postcode.group(1) in self.postcodes:
            return self.postcodes[postcode.group(1)]
        return None

    def suggestions_for_form(self) -> list[str]:
        """Names for the place field's suggestion list: districts, quarters, landmarks."""
        names = [place.name for place in self.places if place.kind != "street"]
        return sorted(dict.fromkeys(names), key=fold)

    def suggestions(self, prefix: str, limit: int = 8) -> list[Place]:
        """Places whose name starts with (or resembles) what was typed, for autocomplete."""
        key = fold(prefix.strip())
        if len(key) < 2:
            return []
        starting = [
            place
            for k, place in zip(self._keys, self.places, strict=True)
            if k.startswith(key.replace(" ", ""))
        ]
        if len(starting) < limit:
            for _, _, index in process.extract(
                key, self._keys, scorer=fuzz.WRatio, limit=limit, score_cutoff=75
            ):
                if self.places[index] not in starting:
                    starting.append(self.places[index])
        return starting[:limit]


class NominatimGeocoder:
    """geopy's Nominatim for places the gazetteer does not know; one request a second."""

    def __init__(self, *, user_agent: str, country: str = "de", viewbox_city: str = "") -> None:
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        self._geocode = RateLimiter(
            Nominatim(user_agent=user_agent, timeout=5).geocode,
            min_delay_seconds=1.0,
            max_retries=1,
            swallow_exceptions=True,
        )
        self.country = country
        self.city = viewbox_city

    @lru_cache(maxsize=2048)  # noqa: B019 - one geocoder per process, cache by design
    def lookup(self, text: str) -> Place | None:
        query = (
            f"{text}, {self.city}" if self.city and self.city.lower() not in text.lower() else text
        )
        location = self._geocode(query, country_codes=self.country)
        if location is None:
            return None
        return Place(location.address, "nominatim", location.latitude, location.longitude)


_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class Geocoder:
    """The gazetteer first, then (when configured) Nominatim; coordinates pass straight through."""

    def __init__(self, gazetteer: Gazetteer, fallback: NominatimGeocoder | None = None) -> None:
        self.gazetteer = gazetteer
        self.fallback = fallback

    def locate(self, text: str) -> Place:
        coordinates = _COORDINATES.match(text)
        if coordinates:
            lat, lon = float(coordinates.group(1)), float(coordinates.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return Place(f"{lat:.5f}, {lon:.5f}", "coordinates", lat, lon)
        place = self.gazetteer.lookup(text)
        if place is None and self.fallback is not None:
            place = self.fallback.lookup(text.strip())
        if place is None:
            raise UnknownPlace(place=text.strip()[:100])
        return place


@lru_cache
def geocoder_for(gazetteer_path: Path, backend: str, user_agent: str) -> Geocoder:
    gazetteer = Gazetteer.load(gazetteer_path)
    fallback = None
    if backend == "nominatim":
        fallback = NominatimGeocoder(user_agent=user_agent, viewbox_city=gazetteer.municipality)
    return Geocoder(gazetteer, fallback)
