# Tiền Đồn: the two set-up commands (`make demo`, `make test`) and `make lint`.
# They install what they lack (Debian packages as root, the venv) and skip what is done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATA := var/demo
export TIENDON_DATA_DIR ?= $(CURDIR)/$(DEMO_DATA)

DEMO_DEBS := python3-venv fonts-liberation2 poppler-utils
TEST_DEBS := $(DEMO_DEBS) postgresql chromium poppler-utils libnss3-tools softhsm2 opensc \
	tesseract-ocr tesseract-ocr-vie postgresql-15-rum

.PHONY: demo test lint venv dev-venv serve messages clean

$(BIN)/tiendon: pyproject.toml
	./scripts/ensure-debs.sh $(DEMO_DEBS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(BIN)/tiendon
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(BIN)/tiendon
dev-venv: $(VENV)/.dev-installed

demo: venv
	TIENDON_DEBUG=1 ./scripts/demo.sh

test: dev-venv
	./scripts/ensure-debs.sh $(TEST_DEBS)
	./scripts/run-tests.sh

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_private_imports.py

messages: dev-venv
	cd src/tiendon && ../../$(BIN)/tiendon makemessages -l vi --no-obsolete --no-location \
		--ignore=readiness --ignore=documents
	for app in readiness documents; do (cd src/tiendon/$$app && \
		../../../$(BIN)/tiendon makemessages -l vi --no-obsolete --no-location) || exit 1; done
	$(BIN)/python scripts/compile_messages.py

clean:
	rm -rf $(VENV) var
