"""gunicorn settings for production; every value can be set from the environment."""

import os

wsgi_app = "app.wsgi:app"
bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Requests are logged by the app itself, as JSON with secrets redacted.
accesslog = None
errorlog = "-"
# Load the app in each worker, not the master, so no database connection is shared by fork.
preload_app = False
