# Switchboard: one image for web, worker and beat (the command differs; see compose.yaml and Procfile).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system switchboard && useradd --system --gid switchboard --home /app switchboard
WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock
COPY . .
# Static files are collected at build time (whitenoise serves them); the build needs no secrets.
RUN DJANGO_ENV=development python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R switchboard:switchboard /app/var
USER switchboard
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"]
