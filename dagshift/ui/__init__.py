"""``dagshift ui``: server-rendered pages (Starlette, Jinja2, vendored htmx) and a GraphQL API
(strawberry) over the run history, read through :mod:`dagshift.history`. Needs the ``ui``
extra; nothing is imported from it until a command runs (see :mod:`dagshift.ui.cli`)."""

__all__: list[str] = []
