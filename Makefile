# Two commands after cloning:  `make demo` (install + run the demo)  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: install demo report test test-fast lint format bench clean

$(BIN)/snakemake: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/snakemake

demo: install  ## generate the phantoms, run every step, and build report.html
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report report.html
	@echo "Done: results/summary.tsv, results/overlays/, and report.html"

test: install  ## the whole suite, workflow runs included (test files in parallel; the SLURM tests alone, last)
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slurm"
	$(BIN)/python -m pytest -m slurm

test-fast: install  ## library tests only (no snakemake runs)
	$(BIN)/python -m pytest -m "not workflow and not slurm"

lint: install  ## the lint gate CI runs: ruff, ruff format, snakefmt, snakemake --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --cores 1 >/dev/null

format: install  ## apply the formatters the lint gate checks
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules

bench: install  ## benchmarks (figures printed and written to bench/out/)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf results resources/demo logs benchmarks report.html .snakemake
