# carepath: two commands for a fresh machine.
#   make run   - venv, install, migrate a SQLite database, seed a demo caseload, start carepath
#                (the web app on http://127.0.0.1:8000/, the scheduler and the mail catcher)
#   make test  - venv, install dev extras, ruff, mypy --strict, import contract, pytest
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= carepath.db
export CAREPATH_DATABASE_URL ?= sqlite:///$(DB)

.PHONY: install lint type contracts test unit ci run demo bench clean

$(BIN)/carepath: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/carepath

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check engine workflows storage config notifications entrypoints

type: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest -q tests/unit

# Both cores (pytest-xdist): every test makes its own SQLite file or PostgreSQL database and its own ports.
test: lint type contracts
	$(BIN)/pytest -q -n 2

ci: test

demo: install
	$(BIN)/carepath db upgrade
	$(BIN)/carepath demo show

run: install
	$(BIN)/carepath db upgrade
	$(BIN)/carepath demo seed --if-empty
	$(BIN)/carepath run

bench: install
	$(BIN)/python bench/transitions.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
