# Two commands after cloning:  `make demo` (install + run the demo)  and  `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: install demo report test test-fast bench clean

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

bench: install  ## benchmarks (figures printed and written to bench/out/)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf results resources/demo logs benchmarks report.html .snakemake
