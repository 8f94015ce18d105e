"""Whether devrun serves static files unless told ``--nostatic``: exactly when the project's own
``runserver`` would.

Which app provides ``runserver`` decides (an app listed earlier in ``INSTALLED_APPS`` overrides
a later one): ``django.contrib.staticfiles`` serves them; an app such as
``whitenoise.runserver_nostatic`` wraps that command to turn its ``--nostatic`` default off, so
WhiteNoise's middleware serves them with its own headers. Any other app's runserver is asked for
its parser's default, so the rule needs no list of packages.
"""

from __future__ import annotations

STATICFILES_APP = "django.contrib.staticfiles"


def serves_static_by_default() -> bool:
    """The default of ``use_static_handler`` in the effective runserver's parser."""
    from django.core.management import get_commands, load_command_class

    from .management.commands.devrun import Command as DevrunCommand

    app = get_commands().get("runserver")
    if app == STATICFILES_APP:  # the usual case: nothing to load
        return True
    if app is None or app == "django.core":  # runserver without staticfiles never serves them
        return False
    command = load_command_class(app, "runserver")
    if isinstance(command, DevrunCommand):  # runserver is devrun itself: staticfiles' default
        return True
    default = command.create_parser("manage.py", "runserver").get_default("use_static_handler")
    return default is True
