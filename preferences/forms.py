from django import forms

from preferences.models import Theme


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=Theme.choices)
    next = forms.CharField(required=False, max_length=2000)
