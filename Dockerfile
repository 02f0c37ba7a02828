FROM python:3.11-slim
# DejaVu for readable PDF exports (accents, most scripts); the slim image has no fonts
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The locked runtime set first (its own layer: it changes only with `make lock`), every package
# checked against its hash; then the project itself, with nothing more fetched.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY bots ./bots
COPY store ./store
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz').status != 200)"
CMD ["contactgate", "serve", "--host", "0.0.0.0", "--port", "8080"]
