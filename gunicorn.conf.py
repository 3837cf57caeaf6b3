"""gunicorn's settings for `gunicorn app:server` run from this folder (it reads ./gunicorn.conf.py by itself;
command-line flags such as `--workers 4` still win).

Threads in each worker: a page's callbacks and its files arrive together, and with one request at a time
per worker a cheap one (a stylesheet, a 304) waits behind a chart being built; with threads it does not,
and a query waiting on the warehouse (DuckDB and PostgreSQL release the GIL) lets another request run.
Measured by benchmarks/pages.py and benchmarks/concurrency.py.
"""

worker_class = "gthread"
threads = 4
