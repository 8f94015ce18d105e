from typing import TYPE_CHECKING

from django import forms

from .models import Note

# django-stubs makes ModelForm generic, but Django cannot subscript it at runtime.
if TYPE_CHECKING:
    _NoteFormBase = forms.ModelForm[Note]
else:
    _NoteFormBase = forms.ModelForm


class NoteForm(_NoteFormBase):
    """Upload form: a title plus a file, posted as multipart/form-data."""

    class Meta:
        model = Note
        fields = ("title", "attachment")
