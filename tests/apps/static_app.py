"""serve_static on a real uvicorn, for the big-file test (STATIC_ROOT names the folder)."""

from __future__ import annotations

import os

from microweb import MicroWeb
from microweb.static import serve_static

app = MicroWeb()
app.get("/files/*", serve_static(root=os.environ["STATIC_ROOT"]))
