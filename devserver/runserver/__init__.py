"""The opt-in ``devserver.runserver`` app: ``manage.py runserver`` runs devrun.

List it before ``django.contrib.staticfiles`` (whose ``runserver`` it replaces) and before
the project's own apps (so that it hands over before any of them can fail to import)::

    INSTALLED_APPS = ["devserver.runserver", "django.contrib.staticfiles", ..., "shop"]
"""
