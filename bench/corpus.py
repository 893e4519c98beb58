"""Deterministic synthetic German service directories, built as ``IndexDoc`` objects.

The vocabulary comes from the project's own seed data: category names (taxonomy.json), the
German/English/Ukrainian/Arabic phrases per category (synonyms.json) and the Hagen demo
services (names, descriptions and their translations, per category). Places are Hagen's
districts and quarters (the 2,000-service corpus) or generated German-sounding towns and
quarters spread over Germany (the larger ones). Service ``i`` has the id ``UUID(int=i + 1)``.
"""

import json
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from directory.search.engine import (
    WEIGHT_CATEGORY,
    WEIGHT_NAME,
    WEIGHT_PROVIDER,
    WEIGHT_TEXT,
    IndexDoc,
    Synonyms,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seed_data"
HAGEN_BOX = (51.30, 51.42, 7.38, 7.60)
GERMANY_BOX = (47.3, 55.0, 5.9, 15.0)
EXTRA_LANGUAGES = ["en", "tr", "ar", "uk", "ru", "ro", "bg", "pl", "fa", "ku", "fr", "el", "it"]
LANGUAGE_WEIGHTS = [30, 14, 14, 12, 10, 6, 5, 6, 5, 3, 4, 3, 3]
TARGET_GROUPS = ["eu_citizens", "ukraine_24", "asylum_seekers", "duldung", "recognised_refugees"]

# (German, English, Ukrainian, Arabic) for "für ..." qualifiers.
GROUPS = [
    ("Frauen", "women", "для жінок", "للنساء"),
    ("Jugendliche", "young people", "для молоді", "للشباب"),
    ("Familien", "families", "для сімей", "للعائلات"),
    ("Geflüchtete", "refugees", "для біженців", "للاجئين"),
    ("Senioren", "older people", "для літніх людей", "لكبار السن"),
    ("Kinder", "children", "для дітей", "للأطفال"),
    ("Eltern", "parents", "для батьків", "للآباء"),
    ("junge Erwachsene", "young adults", "для молодих дорослих", "للشباب البالغين"),
    ("Männer", "men", "для чоловіків", "للرجال"),
    ("Neuzugewanderte", "newcomers", "для новоприбулих", "للقادمين الجدد"),
    ("Studierende", "students", "для студентів", "للطلاب"),
    ("Alleinerziehende", "single parents", "для одиноких батьків", "للوالدين المنفردين"),
    ("Mütter", "mothers", "для матерів", "للأمهات"),
    ("Berufstätige", "working people", "для працюючих", "للعاملين"),
]
PROVIDER_SHORT = [
    "Caritas",
    "Diakonie",
    "AWO",
    "DRK",
    "Paritätischer",
    "Malteser",
    "Johanniter",
    "VHS",
    "IN VIA",
    "SkF",
    "Volkssolidarität",
    "Arbeiterwohlfahrt",
    "Stadtverwaltung",
    "Kreisverwaltung",
    "Jugendwerk",
    "Integrationsagentur",
    "Evangelische Kirchengemeinde",
    "Katholische Pfarrei",
    "Bildungswerk",
    "Familienbildungsstätte",
    "Frauenhilfe",
    "Lebenshilfe",
    "Kolping",
    "Naturfreunde",
]
ASSOCIATIONS = [
    "Förderverein",
    "Bürgerverein",
    "Integrationsverein",
    "Kulturverein",
    "Nachbarschaftsverein",
    "Elternverein",
    "Freundeskreis",
    "Initiative",
    "Netzwerk",
    "Stiftung",
]
INSTITUTIONS = [
    "Familienzentrum",
    "Begegnungszentrum",
    "Stadtteilzentrum",
    "Beratungszentrum",
    "Sprachschule",
    "Jugendwerkstatt",
    "Bürgerhaus",
    "Gemeindehaus",
    "Mehrgenerationenhaus",
    "Quartiersbüro",
    "Bildungszentrum",
    "Jugendhaus",
]
BIG_CITIES = [
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt",
    "Stuttgart",
    "Düsseldorf",
    "Leipzig",
    "Dortmund",
    "Essen",
    "Bremen",
    "Dresden",
    "Hannover",
    "Nürnberg",
    "Duisburg",
    "Bochum",
    "Wuppertal",
    "Bielefeld",
    "Bonn",
    "Münster",
    "Mannheim",
    "Karlsruhe",
    "Augsburg",
    "Wiesbaden",
    "Mönchengladbach",
    "Gelsenkirchen",
    "Aachen",
    "Braunschweig",
    "Kiel",
    "Chemnitz",
    "Halle",
    "Magdeburg",
    "Freiburg",
    "Krefeld",
    "Mainz",
    "Lübeck",
    "Erfurt",
    "Oberhausen",
    "Rostock",
    "Kassel",
    "Hagen",
    "Potsdam",
    "Saarbrücken",
    "Hamm",
    "Ludwigshafen",
    "Oldenburg",
    "Mülheim",
    "Osnabrück",
    "Leverkusen",
    "Darmstadt",
    "Heidelberg",
    "Solingen",
    "Herne",
    "Neuss",
    "Regensburg",
    "Paderborn",
    "Ingolstadt",
    "Offenbach",
    "Fürth",
    "Würzburg",
    "Ulm",
    "Heilbronn",
    "Pforzheim",
    "Wolfsburg",
    "Göttingen",
    "Bottrop",
    "Reutlingen",
    "Koblenz",
    "Bremerhaven",
    "Recklinghausen",
    "Erlangen",
    "Bergisch Gladbach",
    "Remscheid",
    "Jena",
    "Trier",
    "Salzgitter",
    "Moers",
    "Siegen",
    "Hildesheim",
    "Cottbus",
    "Gütersloh",
    "Iserlohn",
    "Witten",
    "Lüdenscheid",
    "Schwerte",
    "Ennepetal",
    "Gevelsberg",
    "Schwelm",
    "Herdecke",
]
CITY_QUARTERS = [
    "Mitte",
    "Nord",
    "Süd",
    "Ost",
    "West",
    "Altstadt",
    "Innenstadt",
    "Neustadt",
    "Bahnhofsviertel",
    "Oberstadt",
    "Unterstadt",
    "Südstadt",
    "Nordstadt",
    "Weststadt",
    "Oststadt",
]
TOPO_PREFIX = [
    "Alt",
    "Neu",
    "Ober",
    "Nieder",
    "Groß",
    "Klein",
    "Hohen",
    "Kirch",
    "Berg",
    "Wald",
    "Linden",
    "Eichen",
    "Buchen",
    "Stein",
    "Mühl",
    "Rosen",
    "Hasel",
    "Fried",
    "Marien",
    "Wester",
    "Oster",
    "Sonnen",
    "Brunn",
    "Eller",
    "Hammer",
    "Wies",
    "Roden",
    "Hain",
    "Tann",
    "Fels",
    "Hütten",
    "Kappel",
    "Herren",
    "Frauen",
    "Wolfs",
    "Fuchs",
    "Hirsch",
    "Bären",
    "Lauen",
    "Wern",
    "Holz",
    "Moor",
    "Bruch",
    "Hage",
    "Schön",
    "Grün",
    "Weiß",
    "Roth",
    "Schwarz",
    "Blau",
    "Ahl",
    "Bever",
    "Dahl",
    "Elm",
    "Gerts",
    "Hems",
    "Iser",
    "Kalt",
    "Lohr",
    "Mers",
    "Nord",
    "Oden",
    "Pader",
    "Quer",
    "Ratz",
    "Sieg",
    "Trau",
    "Uelz",
    "Vier",
    "Wetter",
    "Zell",
    "Ems",
    "Ecken",
    "Wuns",
]
TOPO_SUFFIX = [
    "hausen",
    "dorf",
    "heim",
    "feld",
    "berg",
    "burg",
    "bach",
    "stedt",
    "ingen",
    "rode",
    "hagen",
    "beck",
    "kirchen",
    "stein",
    "au",
    "born",
    "weiler",
    "loh",
    "wald",
    "brück",
    "furt",
    "horst",
    "leben",
    "hofen",
    "tal",
    "werder",
    "siek",
    "kamp",
    "ried",
    "hude",
    "wede",
    "lar",
    "scheid",
]
RIVERS = [
    "Ruhr",
    "Lenne",
    "Volme",
    "Lippe",
    "Weser",
    "Elbe",
    "Oder",
    "Mosel",
    "Lahn",
    "Sieg",
    "Fulda",
    "Werra",
    "Saale",
    "Havel",
    "Spree",
    "Ems",
    "Aller",
    "Leine",
    "Ilm",
    "Nahe",
    "Isar",
    "Donau",
    "Iller",
    "Neckar",
    "Main",
]
STREET_PREFIX = [
    "Goethe",
    "Schiller",
    "Bahnhof",
    "Kirch",
    "Haupt",
    "Linden",
    "Berliner",
    "Markt",
    "Schul",
    "Garten",
    "Post",
    "Mühlen",
    "Wald",
    "Friedrich",
    "Kaiser",
    "Rathaus",
    "Park",
    "Bismarck",
    "Wilhelm",
    "Luisen",
    "Blumen",
    "Feld",
    "Wiesen",
    "Berg",
    "Ring",
    "Eichen",
    "Buchen",
    "Ahorn",
    "Tannen",
    "Rosen",
    "Nelken",
    "Tulpen",
    "Heine",
    "Lessing",
    "Kant",
    "Beethoven",
    "Mozart",
    "Bach",
    "Humboldt",
    "Röntgen",
    "Dürer",
    "Luther",
    "Karl",
    "Marien",
    "Sophien",
    "Elisabeth",
]
STREET_SUFFIX = ["straße", "weg", "platz", "allee", "ring", "gasse", "damm", "pfad"]
# Surnames for providers, contact people and streets: the long tail of a real directory's
# vocabulary (German ones and those of the larger immigrant communities).
SURNAME_ONSET = [
    "B",
    "Br",
    "D",
    "F",
    "Fr",
    "G",
    "Gr",
    "H",
    "K",
    "Kr",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
    "Sch",
    "St",
    "T",
    "W",
    "Z",
    "Kl",
    "Pf",
    "Bl",
    "J",
    "V",
]
SURNAME_VOWEL = ["a", "e", "i", "o", "u", "au", "ei", "ä", "ö", "ü", "ie", "a", "e"]
SURNAME_CODA = [
    "ck",
    "ll",
    "nn",
    "rt",
    "rg",
    "nd",
    "st",
    "tz",
    "ch",
    "ns",
    "rm",
    "lt",
    "ff",
    "",
    "",
]
SURNAME_SUFFIX = [
    "mann",
    "er",
    "ke",
    "s",
    "berg",
    "feld",
    "meier",
    "hoff",
    "ner",
    "ling",
    "stein",
    "bach",
    "haus",
    "wald",
    "inger",
    "ert",
    "sen",
    "ow",
    "ski",
    "czyk",
    "oglu",
    "ović",
    "escu",
    "idis",
    "enko",
    "ova",
    "yan",
    "i",
    "el",
    "ler",
]
FIRST_NAMES = [
    "Anna",
    "Maria",
    "Fatma",
    "Olena",
    "Aylin",
    "Sara",
    "Lena",
    "Katarzyna",
    "Elena",
    "Amira",
    "Nadia",
    "Julia",
    "Petra",
    "Sabine",
    "Ioana",
    "Zeynep",
    "Leyla",
    "Irina",
    "Eleni",
    "Hanna",
    "Thomas",
    "Ahmad",
    "Mehmet",
    "Andrii",
    "Michael",
    "Stefan",
    "Omar",
    "Piotr",
    "Ion",
    "Jonas",
    "Yusuf",
    "Dimitrios",
    "Georgi",
    "Lukas",
    "Ali",
    "Mustafa",
    "Bogdan",
    "Karim",
    "Peter",
    "Daniel",
]
SURNAME_PROVIDERS = [
    "Praxis Dr. {s}",
    "Kanzlei {s} & {t}",
    "Stiftung {s}",
    "{s}-Haus {quarter}",
    "Verein {s}-Hilfe e.V.",
    "Beratungsbüro {s}",
    "Hebammenpraxis {s}",
    "Sprachschule {s}",
]
TOWN_SENTENCES = [
    "Das Angebot befindet sich in der {street} {nr} in {town}-{quarter}.",
    "Sie finden uns in der {street} {nr}, {town}, Stadtteil {quarter}.",
    "Die Beratung findet im {institution} {quarter} in {town} statt.",
    "Wir sind in {town}-{quarter} gut mit Bus und Bahn erreichbar ({street}).",
]
GROUP_SENTENCES = [
    "Besonders willkommen sind {group}.",
    "Das Angebot richtet sich vor allem an {group}.",
    "Es gibt eigene Termine für {group}.",
]
EN_SENTENCES = [
    "The service is located at {street} {nr} in {town}-{quarter}.",
    "You can find us at {street} {nr}, {town}, in the {quarter} area.",
    "Especially welcome: {group}.",
]
OPENING_PATTERNS = [
    [(d, 9 * 60, 16 * 60) for d in (1, 2, 3, 4, 5)],
    [(d, 8 * 60, 12 * 60) for d in (1, 3, 5)],
    [(2, 14 * 60, 18 * 60), (4, 14 * 60, 18 * 60)],
    [(6, 10 * 60, 14 * 60)],
    [(1, 18 * 60, 21 * 60), (3, 18 * 60, 21 * 60)],
    [(d, 8 * 60, 18 * 60) for d in (1, 2, 3, 4)] + [(5, 8 * 60, 13 * 60)],
    [(d, 0, 0) for d in range(1, 8)],  # round the clock: closing <= opening means past midnight
    [(d, 22 * 60, 7 * 60) for d in range(1, 8)],  # night shelter
    [(2, 9 * 60 + 30, 12 * 60 + 30), (4, 13 * 60, 16 * 60)],
    [],
]
OPENING_WEIGHTS = [30, 12, 10, 5, 6, 15, 3, 3, 10, 6]
AGE_RANGES = [(0, 6), (6, 18), (14, 27), (18, None), (60, None), (16, 25)]


@dataclass
class Head:
    """A service name stem in German with (where known) its English/Ukrainian/Arabic forms."""

    de: str
    en: str
    uk: str | None = None
    ar: str | None = None


@dataclass
class CategoryVocabulary:
    code: str
    heads: list[Head]
    sentences_de: list[str]
    sentences_en: list[str]
    sentences_uk: list[str]
    sentences_ar: list[str]


@dataclass
class Taxonomy:
    names: dict[str, list[str]]  # code → [German name, English name]
    parent: dict[str, str | None]
    children: list[str]


@dataclass
class Corpus:
    size: int
    region: str  # "hagen" or "germany"
    docs: list[IndexDoc]
    taxonomy: Taxonomy
    synonyms: Synonyms
    synonyms_raw: dict
    child_categories: list[tuple[str, ...]]  # per doc: its child codes (the "real" categories)
    box: tuple[float, float, float, float]
    build_seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def load_taxonomy() -> Taxonomy:
    data = json.loads((SEED / "taxonomy.json").read_text(encoding="utf-8"))
    names: dict[str, list[str]] = {}
    parent: dict[str, str | None] = {}
    children: list[str] = []
    for term in data["terms"]:
        names[term["code"]] = [term["de"], term["en"]]
        parent[term["code"]] = None
        for child in term.get("children", []):
            names[child["code"]] = [child["de"], child["en"]]
            parent[child["code"]] = term["code"]
            children.append(child["code"])
    return Taxonomy(names=names, parent=parent, children=children)


def service_id(index: int) -> uuid.UUID:
    return uuid.UUID(int=index + 1)


def doc_index(service: uuid.UUID) -> int:
    return service.int - 1


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _strip_demo(text: str) -> str:
    return re.sub(r"\s*\((Demo|демо|Демо|تجريبي)\)\s*$", "", text).strip()


def _capitalise(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def load_vocabulary(taxonomy: Taxonomy, synonyms_raw: dict) -> dict[str, CategoryVocabulary]:
    """Per child category: name stems and description sentences in de/en/uk/ar."""
    per_code: dict[str, CategoryVocabulary] = {
        code: CategoryVocabulary(code, [], [], [], [], []) for code in taxonomy.children
    }
    for path in sorted((SEED / "hagen").glob("directory_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for organisation in data["organizations"]:
            for service in organisation["services"]:
                code = service["categories"][0]
                vocab = per_code.get(code)
                if vocab is None:
                    continue
                tr = service.get("translations", {})
                vocab.heads.append(
                    Head(
                        de=_strip_demo(service["name"]),
                        en=_strip_demo(tr.get("en", {}).get("name") or taxonomy.names[code][1]),
                        uk=_strip_demo(tr["uk"]["name"]) if tr.get("uk", {}).get("name") else None,
                        ar=_strip_demo(tr["ar"]["name"]) if tr.get("ar", {}).get("name") else None,
                    )
                )
                vocab.sentences_de.extend(_SENTENCE.split(service["description"]))
                for language, target in (
                    ("en", vocab.sentences_en),
                    ("uk", vocab.sentences_uk),
                    ("ar", vocab.sentences_ar),
                ):
                    text = tr.get(language, {}).get("description")
                    if text:
                        target.extend(_SENTENCE.split(text))
    categories = synonyms_raw.get("categories", {})
    for code in taxonomy.children:
        vocab = per_code[code]
        de_name, en_name = taxonomy.names[code]
        phrases = categories.get(code, {})
        uk = phrases.get("uk") or [None]
        ar = phrases.get("ar") or [None]
        # The taxonomy name itself, split at "&", "/", "–" ("Kita & Tagespflege" → two stems).
        parts = [p.strip() for p in re.split(r"[&/–(]", de_name) if len(p.strip(" )")) > 2]
        for part in parts or [de_name]:
            vocab.heads.append(Head(part.strip(" )"), en_name, uk[0], ar[0]))
        for i, phrase in enumerate(phrases.get("de", [])):
            vocab.heads.append(Head(_capitalise(phrase), en_name, uk[i % len(uk)], ar[i % len(ar)]))
        if not vocab.sentences_de:
            words = phrases.get("de", [de_name])
            vocab.sentences_de.append(
                f"Wir helfen bei allen Fragen rund um {de_name}: "
                + ", ".join(_capitalise(w) for w in words[:4])
                + "."
            )
        if not vocab.sentences_en:
            vocab.sentences_en.append(f"We help with all questions about {en_name.lower()}.")
    return per_code


def _distinct(count: int, tries: int, make: Callable[[], str]) -> list[str]:
    """Up to ``count`` different names from ``make``, giving up after ``count * tries`` tries."""
    names: dict[str, None] = {}
    attempts = 0
    while len(names) < count and attempts < count * tries:
        attempts += 1
        names.setdefault(make(), None)
    return list(names)


def _toponyms(rng: random.Random, count: int) -> list[str]:
    def toponym() -> str:
        name = rng.choice(TOPO_PREFIX) + rng.choice(TOPO_SUFFIX)
        roll = rng.random()
        if roll < 0.12:
            return f"Bad {name}"
        if roll < 0.22:
            return f"{name} an der {rng.choice(RIVERS)}"
        if roll < 0.30:
            return f"{name}-{rng.choice(TOPO_PREFIX)}{rng.choice(TOPO_SUFFIX)}"
        return name

    return _distinct(count, 50, toponym)


def _surnames(rng: random.Random, count: int) -> list[str]:
    def surname() -> str:
        name = rng.choice(SURNAME_ONSET) + rng.choice(SURNAME_VOWEL) + rng.choice(SURNAME_CODA)
        if rng.random() < 0.6:
            name += rng.choice(SURNAME_ONSET).lower() + rng.choice(SURNAME_VOWEL)
        return name + rng.choice(SURNAME_SUFFIX)

    return _distinct(count, 20, surname)


def _slug(text: str) -> str:
    from directory.textfold import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


@dataclass
class Place:
    town: str
    quarter: str
    district: str
    lat: float
    lon: float


def _places(rng: random.Random, region: str, size: int) -> tuple[list[Place], list[float]]:
    """Quarters to put services in, with a weight each (big towns get more services)."""
    if region == "hagen":
        gazetteer = json.loads((SEED / "hagen" / "gazetteer.json").read_text(encoding="utf-8"))
        coordinates = {p["name"]: (p["latitude"], p["longitude"]) for p in gazetteer["places"]}
        places = []
        for district in gazetteer["districts"]:
            for quarter in district["quarters"]:
                lat, lon = coordinates.get(quarter, (district["latitude"], district["longitude"]))
                places.append(Place("Hagen", quarter, district["code"], lat, lon))
        return places, [1.0] * len(places)
    n_towns = max(200, size // 150)
    towns = list(BIG_CITIES) + _toponyms(rng, n_towns)
    towns = towns[:n_towns]
    quarter_pool = _toponyms(random.Random(rng.random()), 3000)
    lat0, lat1, lon0, lon1 = GERMANY_BOX
    places, weights = [], []
    for rank, town in enumerate(towns):
        town_weight = 1.0 / (rank + 1) ** 0.8
        lat, lon = rng.uniform(lat0 + 0.2, lat1 - 0.2), rng.uniform(lon0 + 0.2, lon1 - 0.2)
        n_quarters = max(2, min(14, int(40 * town_weight) + rng.randint(1, 3)))
        quarters = rng.sample(CITY_QUARTERS, min(n_quarters, 5)) + rng.sample(
            quarter_pool, max(0, n_quarters - 5)
        )
        for quarter in quarters:
            places.append(
                Place(
                    town,
                    quarter,
                    f"{_slug(town)}-{_slug(quarter)}",
                    lat + rng.uniform(-0.06, 0.06),
                    lon + rng.uniform(-0.09, 0.09),
                )
            )
            weights.append(town_weight / len(quarters))
    return places, weights


def _street(rng: random.Random, place: Place, surnames: list[str]) -> str:
    roll = rng.random()
    if roll < 0.15:
        return f"{place.quarter.split()[0]}er Straße"
    if roll < 0.55:
        return rng.choice(surnames) + rng.choice(STREET_SUFFIX)
    return rng.choice(STREET_PREFIX) + rng.choice(STREET_SUFFIX)


def build_corpus(
    size: int, *, seed: int = 20240601, progress: Callable[[str], None] | None = None
) -> Corpus:
    started = time.perf_counter()
    region = "hagen" if size <= 10_000 else "germany"
    rng = random.Random(f"{seed}-{size}")
    taxonomy = load_taxonomy()
    synonyms_raw = json.loads((SEED / "synonyms.json").read_text(encoding="utf-8"))
    synonyms = Synonyms.load(SEED / "synonyms.json")
    vocabulary = load_vocabulary(taxonomy, synonyms_raw)
    places, place_weights = _places(rng, region, size)
    surnames = _surnames(random.Random(f"{seed}-{size}-surnames"), max(2_000, size // 3))
    box = HAGEN_BOX if region == "hagen" else GERMANY_BOX
    lat0, lat1, lon0, lon1 = box
    jitter = (0.006, 0.009) if region == "hagen" else (0.02, 0.03)

    codes = taxonomy.children
    code_weights = [1.0 + (i * 7919 % 13) / 6 for i in range(len(codes))]
    # Pre-draw the skewed choices in bulk: much faster than one weighted draw per service.
    place_draws = rng.choices(places, weights=place_weights, k=size)
    code_draws = rng.choices(codes, weights=code_weights, k=size * 2)
    demo_providers: list[str] = []
    if region == "hagen":
        for path in sorted((SEED / "hagen").glob("directory_*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            demo_providers.extend(_strip_demo(o["name"]) for o in data["organizations"])

    docs: list[IndexDoc] = []
    child_categories: list[tuple[str, ...]] = []
    for i in range(size):
        place = place_draws[i]
        primary = code_draws[2 * i]
        children = [primary]
        if rng.random() < 0.3 and code_draws[2 * i + 1] != primary:
            children.append(code_draws[2 * i + 1])
        vocab = vocabulary[primary]
        head = rng.choice(vocab.heads)
        group = rng.choice(GROUPS)

        # The provider.
        roll = rng.random()
        if demo_providers and roll < 0.2:
            provider = rng.choice(demo_providers)
        elif roll < 0.35:
            provider = rng.choice(SURNAME_PROVIDERS).format(
                s=rng.choice(surnames), t=rng.choice(surnames), quarter=place.quarter
            )
        elif roll < 0.55:
            provider = f"{rng.choice(PROVIDER_SHORT)} {place.town}"
        elif roll < 0.75:
            provider = f"{rng.choice(ASSOCIATIONS)} {place.quarter} e.V."
        elif roll < 0.9:
            provider = f"{rng.choice(INSTITUTIONS)} {place.quarter}"
        else:
            provider = f"{rng.choice(PROVIDER_SHORT)} Kreisverband {place.town}"
        short = provider.split()[0]

        # The name: a stem plus what tells it apart, in German, English, Ukrainian, Arabic.
        pattern = rng.randrange(6)
        number = rng.randint(1, 99)
        quarter, town = place.quarter, place.town
        tails = [
            (f" {quarter}",) * 4,
            (
                f" für {group[0]} {town}",
                f" for {group[1]} {town}",
                f" {group[2]} {town}",
                f" {group[3]} {town}",
            ),
            (f" der {short} {number}", f" of {short} {number}", *(f" {short} {number}",) * 2),
            (f" ({provider})",) * 4,
            (f" {town}-{quarter}",) * 4,
            (
                f" für {group[0]} ({short} {quarter})",
                f" for {group[1]} ({short} {quarter})",
                f" {group[2]} ({short} {quarter})",
                f" {group[3]} ({short} {quarter})",
            ),
        ][pattern]
        name, en = head.de + tails[0], head.en + tails[1]
        uk = head.uk + tails[2] if head.uk else None
        ar = head.ar + tails[3] if head.ar else None

        street = _street(rng, place, surnames)
        fill = {
            "street": street,
            "nr": rng.randint(1, 180),
            "town": place.town,
            "quarter": place.quarter,
            "group": group[0],
            "institution": rng.choice(INSTITUTIONS),
        }
        sentences = rng.sample(vocab.sentences_de, min(len(vocab.sentences_de), rng.randint(1, 2)))
        sentences.append(rng.choice(TOWN_SENTENCES).format(**fill))
        if rng.random() < 0.4:
            sentences.append(rng.choice(GROUP_SENTENCES).format(**fill))
        if rng.random() < 0.35:
            sentences.append(f"Ansprechperson: {rng.choice(FIRST_NAMES)} {rng.choice(surnames)}.")
        description = " ".join(sentences)

        texts: list[tuple[float, str]] = [(WEIGHT_NAME, name), (WEIGHT_TEXT, description)]
        roll = rng.random()
        if roll < 0.30:  # about 30 % carry translations: English, some also Ukrainian/Arabic
            en_sentences = rng.sample(vocab.sentences_en, min(len(vocab.sentences_en), 2))
            en_sentences.append(rng.choice(EN_SENTENCES).format(**{**fill, "group": group[1]}))
            texts += [(WEIGHT_NAME, en), (WEIGHT_TEXT, " ".join(en_sentences))]
            if roll < 0.06 and uk:
                uk_text = " ".join(rng.sample(vocab.sentences_uk, min(len(vocab.sentences_uk), 1)))
                texts += [(WEIGHT_NAME, uk), (WEIGHT_TEXT, uk_text)]
            elif roll < 0.10 and ar:
                ar_text = " ".join(rng.sample(vocab.sentences_ar, min(len(vocab.sentences_ar), 1)))
                texts += [(WEIGHT_NAME, ar), (WEIGHT_TEXT, ar_text)]
        texts.append((WEIGHT_PROVIDER, provider))
        codes_with_parents: list[str] = []
        for code in children:
            codes_with_parents.append(code)
            parent = taxonomy.parent.get(code)
            if parent:
                codes_with_parents.append(parent)
            texts.extend((WEIGHT_CATEGORY, n) for n in taxonomy.names[code])

        languages = ["de"]
        n_languages = rng.choices([0, 1, 2, 3, 5], weights=[30, 30, 20, 12, 8])[0]
        for language in rng.choices(EXTRA_LANGUAGES, weights=LANGUAGE_WEIGHTS, k=n_languages):
            if language not in languages:
                languages.append(language)
        target_groups = (
            ("everyone",) if rng.random() < 0.6 else tuple(set(rng.sample(TARGET_GROUPS, 2)))
        )
        ages = rng.choice(AGE_RANGES) if rng.random() < 0.15 else (None, None)
        lat = min(lat1, max(lat0, place.lat + rng.gauss(0, jitter[0])))
        lon = min(lon1, max(lon0, place.lon + rng.gauss(0, jitter[1])))
        slots = rng.choices(OPENING_PATTERNS, weights=OPENING_WEIGHTS)[0]
        docs.append(
            IndexDoc(
                service_id=service_id(i),
                name=name,
                texts=texts,
                categories=tuple(dict.fromkeys(codes_with_parents)),
                districts=(place.district,),
                languages=tuple(languages),
                target_groups=target_groups,
                free=rng.random() < 0.8,
                women_only=group[0] in ("Frauen", "Mütter") and rng.random() < 0.5,
                barrier_free=rng.random() < 0.6,
                capacity="has_places" if rng.random() < 0.7 else "waiting_list",
                min_age=ages[0],
                max_age=ages[1],
                active=True,
                coordinates=[(round(lat, 5), round(lon, 5))],
                slots=list(slots),
                assured_at=1.7e9 + rng.randint(0, 3 * 10**7),
            )
        )
        child_categories.append(tuple(children))
        if progress is not None and i and i % 100_000 == 0:
            progress(f"corpus: {i:,}/{size:,} services")
    return Corpus(
        size=size,
        region=region,
        docs=docs,
        taxonomy=taxonomy,
        synonyms=synonyms,
        synonyms_raw=synonyms_raw,
        child_categories=child_categories,
        box=box,
        build_seconds=time.perf_counter() - started,
        extra={"places": len(places)},
    )


def category_members(corpus: Corpus) -> dict[str, set[int]]:
    members: dict[str, set[int]] = defaultdict(set)
    for index, doc in enumerate(corpus.docs):
        for code in doc.categories:
            members[code].add(index)
    return members
