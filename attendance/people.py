"""How a person (a user account) is named on a page: one rule for the header, "Answered by",
"Changed by", the teacher of a class and the others."""


def person_name(user) -> str:
    """The user's full name ("Jo Lee"), else their user name ("jlee"); "" for no user (a
    deleted one: the page says so with its own words). Never a distance or an id."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()
