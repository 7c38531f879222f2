"""``{% load people %}``: ``{{ user|person }}``, a person named on a page (``people.person_name``)."""
from django import template

from attendance.people import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    """The user's full name, else user name; "" for None (follow with ``|default:...``)."""
    return person_name(user)
