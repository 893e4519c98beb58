"""The form macros of templates/macros/forms.html: a label for every control, the hint and the
error tied to it, every error at once, and the choices as they were."""

import re

from lotse.templating import templates

IMPORT = (
    '{% from "macros/forms.html" import checkbox, checkboxes, date, error_summary, field, '
    "language_picker, radios, select, textarea with context %}"
)


def render(source: str, **context: object) -> str:
    return templates.env.from_string(IMPORT + source).render(csrf_token="", **context)


def control(html: str, tag: str, element_id: str) -> str:
    found = re.search(rf'<{tag}\b[^>]*\bid="{element_id}"[^>]*>', html)
    assert found, f"no <{tag} id={element_id}> in {html}"
    return found.group(0)


def test_every_field_shows_its_own_error_and_the_summary_lists_them_all():
    errors = {
        "name": "Bitte füllen Sie dieses Feld aus.",
        "note": "Zu lang.",
        "kind": "Bitte wählen.",
        "tags": "Mindestens eins.",
        "when": "Kein Datum.",
    }
    html = render(
        """{{ error_summary(errors, {"name": "Name", "note": "Notiz", "kind": "Art",
                                     "tags": "Schlagworte", "when": "Datum"}) }}
        {{ field("name", "Name", errors, hint="Wie die Stelle heißt.") }}
        {{ textarea("note", "Notiz", errors) }}
        {{ select("kind", "Art", [("a", "A"), ("b", "B")], errors) }}
        {{ checkboxes("tags", "Schlagworte", [("x", "X"), ("y", "Y")], errors) }}
        {{ date("when", "Datum", errors) }}""",
        errors=errors,
    )
    summary = html[html.index('id="error-summary"') : html.index("</div>")]
    for name, message in errors.items():
        assert f'<a href="#{name}">' in summary and message in summary
        assert f'<p class="field-error" id="{name}-error">{message}</p>' in html
    name = control(html, "input", "name")
    assert 'aria-invalid="true"' in name
    assert 'aria-describedby="name-hint name-error"' in name
    for tag, name in (("textarea", "note"), ("select", "kind"), ("input", "when")):
        element = control(html, tag, name)
        assert 'aria-invalid="true"' in element and f'aria-describedby="{name}-error"' in element
    group = control(html, "fieldset", "tags")
    assert 'aria-describedby="tags-error"' in group
    assert html.count('name="tags"') == 2 and html.count('aria-invalid="true">') >= 2


def test_a_field_without_error_is_not_marked_invalid():
    html = render('{{ field("name", "Name", {}, value="Kim") }}{{ textarea("note", "Notiz") }}')
    assert "aria-invalid" not in html and "aria-describedby" not in html
    assert '<label for="name">Name</label>' in html and '<label for="note">Notiz</label>' in html
    assert 'value="Kim"' in html


def test_choices_keep_what_was_chosen():
    html = render(
        """{{ select("one", "Eins", [(1, "A"), (2, "B")], selected="2", blank="–") }}
        {{ select("many", "Viele", [("G", [("a", "A"), ("b", "B")])], selected=["a"],
                  multiple=true, grouped=true) }}
        {{ select("coded", "Kodiert", ["x", "y"], selected="y", text_of=upper) }}
        {{ checkboxes("boxes", "Kästchen", [("a", "A"), ("b", "B")], checked=["b"]) }}
        {{ radios("pick", "Wahl", [("yes", "ja"), ("no", "nein")], checked="no", required=true) }}
        {{ checkbox("flag", "Flagge", checked=true) }}""",
        upper=str.upper,
    )
    assert '<option value="">–</option>' in html
    assert '<option value="2" selected>B</option>' in html
    assert '<option value="1">A</option>' in html
    assert '<optgroup label="G"><option value="a" selected>A</option>' in html
    assert 'id="many" name="many" multiple' in html
    assert '<option value="y" selected>Y</option>' in html
    assert '<input type="checkbox" name="boxes" value="b" checked>' in html
    assert '<input type="checkbox" name="boxes" value="a">' in html
    assert '<input type="radio" name="pick" value="no" checked required>' in html
    assert '<input type="checkbox" id="flag" name="flag" value="true" checked>' in html


def test_a_repeated_form_gets_ids_of_its_own():
    html = render(
        '{{ field("note", "Notiz", {"note": "Zu lang."}, id="note-2") }}'
        '{{ select("capacity", "Plätze", [("a", "A")], id="capacity-2") }}'
    )
    assert '<label for="note-2">' in html and 'id="note-2" name="note"' in html
    assert 'aria-describedby="note-2-error"' in html and 'id="note-2-error"' in html
    assert '<label for="capacity-2">' in html and 'id="capacity-2" name="capacity"' in html


def test_the_language_picker_names_each_language_in_itself():
    languages = [("uk", "Українська"), ("ar", "العربية")]
    several = render(
        '{{ language_picker("languages", "Sprachen", languages, chosen=["ar"]) }}',
        languages=languages,
    )
    assert "<legend>Sprachen</legend>" in several
    assert 'value="ar" checked> <span lang="ar">العربية</span>' in several
    assert 'value="uk"> <span lang="uk">Українська</span>' in several
    one = render(
        '{{ language_picker("language", "Sprache", languages, chosen="uk", multiple=false) }}',
        languages=languages,
    )
    assert '<label for="language">Sprache</label>' in one
    assert '<option value="uk" lang="uk" selected>Українська</option>' in one
