# The worker, the codec server and the department simulator (docker-compose.yml runs all three
# from this image). /var/lib/inquiries is the codec server's tokens volume, owned by the app user.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# The code runs from /app, where Settings finds config/; the install brings the dependencies.
# Compiled now because the non-root user cannot write __pycache__ at run time, and the
# workflow sandbox would otherwise recompile the workflow modules for every run.
RUN pip install . \
    && python -m compileall -q workflows models activities simulator triage encryption commands audit clients.py worker.py codec_server.py \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/inquiries && chown 10001 /var/lib/inquiries

USER 10001
CMD ["python", "worker.py"]
