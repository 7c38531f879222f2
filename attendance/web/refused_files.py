"""A refused form cannot hand back the files that were chosen (a browser never fills a file
input from a page), so the page says so plainly and names them."""
from django.utils.translation import ngettext

#: At most this many file names are listed in the notice; more are counted.
LISTED_NAMES = 5


class ChooseFilesAgain:
    """For a form with file fields (``file_fields``: field name to its notice, a lazily
    translated text with ``%(names)s`` for the names chosen, e.g. "Choose the photos again:
    ... (you had chosen %(names)s)."): ``files_to_choose_again`` is the notice shown above
    a refused form."""

    file_fields: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The names as chosen: checking photos renames the uploaded files (engine.check_photos).
        self.chosen_file_names = {name: [f.name for f in self.files.getlist(self.add_prefix(name)) if f.name]
                                  for name in self.file_fields} if self.is_bound else {}

    def files_to_choose_again(self) -> str:
        """"Choose the photos again: a refused form does not keep the files chosen (you had
        chosen a.jpg, b.jpg)." for a bound form with errors whose request carried files in
        ``file_fields``; "" otherwise (nothing chosen, or the form was accepted)."""
        if not (self.is_bound and self.errors):
            return ""
        notices = []
        for name, notice in self.file_fields.items():
            chosen = self.chosen_file_names.get(name)
            if not chosen:
                continue
            listed = ", ".join(chosen[:LISTED_NAMES])
            more = len(chosen) - LISTED_NAMES
            if more > 0:
                listed = ngettext("%(names)s and %(count)d more", "%(names)s and %(count)d more", more) % {
                    "names": listed, "count": more}
            notices.append(str(notice) % {"names": listed})
        return " ".join(notices)
