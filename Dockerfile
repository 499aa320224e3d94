# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY directory directory
COPY patients patients
COPY liaison liaison
COPY protocols protocols
COPY messaging messaging
COPY security security
COPY worker worker
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 VAR_DIR=/tmp/var
WORKDIR /app
COPY --from=build /install /usr/local
COPY . .
# No secret at build time: config.build_settings gives collectstatic throwaway keys that die
# with the command (tests/test_deployment.py runs this very line without any key).
RUN DEBUG=False DJANGO_SETTINGS_MODULE=config.build_settings python manage.py collectstatic --no-input \
    && useradd --system --uid 10001 --home /app cpts && mkdir -p /data/media && chown cpts /data/media
USER cpts
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
