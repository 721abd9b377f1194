# device-api-emulator: every vendor on :8780, the HTTPS proxy for hard-coded vendor hosts on
# :8781 (its CA in /data/device-emulator-ca), state in /data/emulator.db.
FROM python:3.11-slim

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="device-api-emulator" \
      org.opencontainers.image.description="Local emulator of the Capgo, MoEngage, Pusher Beams, JPush and AppLovin device APIs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="README.md and docs/ in the source repository"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY emulator ./emulator
RUN python -m pip install . \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin emulator \
 && mkdir -p /data && chown emulator /data

USER emulator
ENV DEVICE_EMULATOR_HOST=0.0.0.0 \
    DEVICE_EMULATOR_PORT=8780 \
    DEVICE_EMULATOR_PROXY_PORT=8781 \
    DEVICE_EMULATOR_DB=/data/emulator.db
EXPOSE 8780 8781
VOLUME /data
# No curl in slim images: the check uses Python's urllib.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_emulator/health' % os.environ.get('DEVICE_EMULATOR_PORT', '8780'), timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["device-api-emulator", "serve"]
