from django import template
from django.utils.safestring import mark_safe

from containers import rendering

register = template.Library()

register.simple_tag(rendering.sidebar_items, name="sidebar_items")
register.simple_tag(rendering.table_rows, name="table_rows")


@register.simple_tag
def port_link(port):
    return mark_safe(rendering.port_link(port))  # noqa: S308 - escaped in port_link
