"""OpenAPI for microweb apps: the document (`openapi`) and the routes serving it with a
Swagger UI page (`openapi_routes`). See docs/openapi.md."""

from .docs_page import openapi_routes
from .document import openapi

__all__ = ["openapi", "openapi_routes"]
