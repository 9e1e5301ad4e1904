"""Users & roles (the Django admin's user and group pages), made usable by keyboard and
screen reader: Django's two-box permission picker (filter_horizontal) adds an unlabelled
search box and a tooltip span with aria-label (axe: aria-prohibited-attr), and the
last-login field is a split date/time input whose parts have no label (axe: label). Plain
multi-selects with their labels, and read-only dates, say the same with nothing missing."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User


class AccessibleUserAdmin(UserAdmin):
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")


class AccessibleGroupAdmin(GroupAdmin):
    filter_horizontal = ()


admin.site.unregister(User)
admin.site.register(User, AccessibleUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, AccessibleGroupAdmin)
