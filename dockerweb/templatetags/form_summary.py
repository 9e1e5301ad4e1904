"""The problems of a bound form as one list, for the summary at the top of the form
(templates/_form_errors.html): each field's errors link to the field they belong to."""

from dataclasses import dataclass

from django import template

register = template.Library()


@dataclass(frozen=True)
class Problem:
    message: str
    field_id: str = ""  # empty: the problem is the form's, not one field's
    label: str = ""


@register.simple_tag
def form_problems(form) -> list[Problem]:
    if form is None or not form.is_bound or not form.errors:
        return []
    problems = [Problem(str(message)) for message in form.non_field_errors()]
    for field in form:
        for message in field.errors:
            if field.is_hidden:  # nothing to go to: said like a problem of the form
                problems.append(Problem(f"{field.label}: {message}"))
            else:
                problems.append(Problem(str(message), field.id_for_label or "", str(field.label)))
    return problems
