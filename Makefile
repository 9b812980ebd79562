# The first two targets are the README's first two commands. Both bootstrap .venv with pip.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo reproduce results test lint bench clean

# --resume: a second `make demo` reuses finished stages and continues an interrupted one;
# `rm -rf runs/demo` starts over.
demo: $(STAMP)
	$(VENV)/bin/textmanifold demo --out runs/demo --resume

# The compositors trained to their validation plateau (Table 4's verdicts); resumable.
reproduce: $(STAMP)
	$(VENV)/bin/textmanifold demo --reproduce --out runs/reproduce --resume

# docs/results/ is a copy of the last `make reproduce` report (README "Results" quotes it);
# docs/results/reruns/ (other runs compared with it) is not make's and stays.
results:
	test -f runs/reproduce/report/report.json
	mkdir -p docs/results && rm -rf docs/results/figures docs/results/report.* docs/results/index.html
	cp -r runs/reproduce/report/. docs/results/

# lint first (it depends on $(STAMP), so `make test` still bootstraps .venv).
test: lint
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests

# Re-install only when the project's metadata changes (idempotent).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install -q -e ".[learn,serve,scale,dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) runs .pytest_cache
