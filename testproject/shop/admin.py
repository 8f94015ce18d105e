from typing import TYPE_CHECKING

from django.contrib import admin

from .models import Note

# django-stubs makes ModelAdmin generic, but Django cannot subscript it at runtime.
if TYPE_CHECKING:
    _NoteAdminBase = admin.ModelAdmin[Note]
else:
    _NoteAdminBase = admin.ModelAdmin


@admin.register(Note)
class NoteAdmin(_NoteAdminBase):
    """Lets the admin be used as a realistic, database-backed page."""

    list_display = ("title", "attachment", "created")
    search_fields = ("title", "body")
