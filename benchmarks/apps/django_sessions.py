"""Django's database sessions under uvicorn, for the SQL session rows: what
`django_postgres` and `django_sqlite` share.

`configure(database)` sets Django up as its documentation shows for a project with
sessions in the database (`SessionMiddleware`, `django.contrib.sessions.backends.db`),
makes the `django_session` table if it is missing (what `migrate` would do) and returns
the ASGI application. ``GET /session`` is a view that counts visits in the session.
"""

from __future__ import annotations

from typing import Any


def configure(database: dict[str, Any]) -> Any:
    import django
    from django.conf import settings
    from django.urls import path

    settings.configure(
        DEBUG=False,
        SECRET_KEY="microweb-benchmark-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        DATABASES={"default": database},
        USE_TZ=True,
    )
    django.setup()

    from django.contrib.sessions.models import Session
    from django.core.asgi import get_asgi_application
    from django.db import connection
    from django.http import HttpRequest, JsonResponse

    def visits(request: HttpRequest) -> JsonResponse:
        count = request.session.get("visits", 0) + 1
        request.session["visits"] = count
        response = JsonResponse({"visits": count})
        response["Content-Length"] = str(len(response.content))  # not chunked, as the others
        return response

    global urlpatterns
    urlpatterns = [path("session", visits)]

    if Session._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Session)
    connection.close()
    return get_asgi_application()


urlpatterns: list[Any] = []
