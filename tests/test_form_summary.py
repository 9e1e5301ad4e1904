"""The summary at the top of a form with problems (templates/_form_errors.html): how many, each
field's problems linked to the field, the form's own problems as text."""

import re

from django import forms
from django.template.loader import render_to_string


class Sample(forms.Form):
    name = forms.CharField(label="Name")
    port = forms.IntegerField(label="Port")
    token = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        raise forms.ValidationError("Nothing was created.")


def summary(form) -> str:
    return render_to_string("_form_errors.html", {"form": form})


def test_a_valid_or_unbound_form_has_no_summary():
    assert summary(Sample()).strip() == ""
    assert summary(None).strip() == ""


def test_every_problem_is_counted_and_each_fields_links_to_it():
    html = summary(Sample(data={"name": "", "port": "x"}))
    assert "There are 4 problems" in html
    assert "data-error-summary" in html and 'tabindex="-1"' in html
    links = dict(re.findall(r'<a href="#(id_\w+)">([^<]+)</a>', html))
    assert set(links) == {"id_name", "id_port"}
    assert links["id_name"].startswith("Name: ")
    assert "Nothing was created." in html  # the form's own problem, not a link
    assert "Token: This field is required." in html  # a hidden field's: no field to go to


def test_one_problem_is_said_in_the_singular():
    class One(forms.Form):
        name = forms.CharField(label="Name")

    assert "There is 1 problem<" in summary(One(data={}))


def test_the_field_points_at_its_error_and_help_by_id():
    class Helped(forms.Form):
        name = forms.CharField(label="Name", help_text="A name.")

    form = Helped(data={})
    html = render_to_string("_form_fields.html", {"form": form})
    assert 'aria-invalid="true"' in html
    described = re.search(r'aria-describedby="([^"]+)"', html).group(1).split()
    for target in described:
        assert f'id="{target}"' in html, target
