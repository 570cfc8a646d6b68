"""gunicorn's settings file (`gunicorn -c config/gunicorn.py config.wsgi`): its error and
access logs go through config.logs (LOG_FORMAT, the request id, tokens redacted)."""

logger_class = "config.logs.GunicornLogger"
accesslog = "-"  # the access log on stderr, as every other line
