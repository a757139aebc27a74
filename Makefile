# Two commands do everything on a fresh clone:
#   make book   set up the environment and build the book into _build/html
#   make test   set up the environment and run every test (package, notebooks, book, browser)
SHELL := bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2
BOOK_FLAGS := -W -n --keep-going --builder html
CHAPTER_NOTEBOOKS = $(sort $(wildcard chapters/*/*.ipynb))
ALL_NOTEBOOKS = $(CHAPTER_NOTEBOOKS) $(sort $(wildcard exercises/*/source.ipynb))
NOTEBOOKS ?= $(CHAPTER_NOTEBOOKS)

# One maths-library thread per notebook. The notebooks' outputs are committed and compared by
# nbval, and a sum over several threads can round differently (0.959 against 0.960); several
# threads per notebook, with notebooks run two at a time, also oversubscribe small machines
# (a 2 s fit took minutes). Readers' own runs may use more threads.
export OMP_NUM_THREADS = 1
export OPENBLAS_NUM_THREADS = 1
export MKL_NUM_THREADS = 1

.PHONY: help venv assets book test test-package test-notebooks test-browser chromium sandbox \
        setup-cells exercises execute bench clean

help:
	@echo "make book         build the book into _build/html (sets everything up first)"
	@echo "make test         run every test: package, notebooks (nbval), book build, browser"
	@echo "make setup-cells  (re)write the Colab set-up cell of every notebook from _config.yml"
	@echo "make exercises    regenerate each exercise's student notebook from its source"
	@echo "make execute      re-run notebooks in place, as the tests do (NOTEBOOKS=\"a.ipynb b.ipynb\")"
	@echo "make bench        run the grading benchmark"

# ---- environment -------------------------------------------------------------------------
$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -r requirements.txt -r requirements-dev.txt
	# Editable, so kernels started by the grader import the working tree's autograder.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(BIN)/.installed

# Front-end files the built book serves itself (no CDN), and axe-core for the browser tests.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

_vendor/.installed: node_modules/.installed
	rm -rf _vendor && mkdir -p _vendor/@jupyter-widgets/html-manager/dist _vendor/mathjax
	cp node_modules/requirejs/require.js _vendor/require.min.js
	# The widget manager resolves its fonts against whichever of its modules loads first: the
	# dist folder or @jupyter-widgets/ (base, controls). Serve them from both.
	cd node_modules/@jupyter-widgets/html-manager/dist && \
		cp embed-amd.js *.woff* *.ttf *.eot *.svg ../../../../_vendor/@jupyter-widgets/html-manager/dist/ && \
		cp *.woff* *.ttf *.eot *.svg ../../../../_vendor/@jupyter-widgets/
	# MathJax 3: the one combined component the book loads, and what it loads on demand.
	cd node_modules/mathjax/es5 && cp -r tex-chtml.js input output ui a11y adaptors sre ../../../_vendor/mathjax/
	touch $@

assets: _vendor/.installed

# ---- the book ----------------------------------------------------------------------------
# The build also prints the policymakers' briefing (_build/html/briefing.pdf, every chapter's
# policy brief) with headless Chromium: see _ext/briefing.py.
book: venv assets chromium
	@mkdir -p _build
	@set -o pipefail; $(BIN)/jupyter-book build . $(BOOK_FLAGS) 2>&1 | tee _build/build.log || { \
		echo; echo "The book did not build. Notebooks that failed to execute (their failing cell is above):"; \
		sed 's/\x1b\[[0-9;]*m//g' _build/build.log | grep -a "Executing notebook failed" || echo "  none: see the warnings above"; \
		exit 1; }
	@test -s _build/html/briefing.pdf || { echo "The briefing PDF was not printed (see the warnings above)."; exit 1; }
	@echo "The book is in _build/html/index.html; the policymakers' briefing in _build/html/briefing.pdf"

setup-cells: venv
	$(BIN)/python -m aiopen.colab --write $(ALL_NOTEBOOKS)

# Re-run notebooks in place (two at a time) with the settings the tests compare against.
execute: venv
	printf '%s\n' $(NOTEBOOKS) | xargs -P $(JOBS) -n 1 $(BIN)/jupyter execute --inplace

exercises: venv
	$(BIN)/python -m autograder.tools.regenerate exercises

# ---- tests -------------------------------------------------------------------------------
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The grader's kernel sandbox (bubblewrap); without it the grader falls back to plain processes.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
		echo "Installing Debian's bubblewrap for the grader's sandbox"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }

test-package: venv sandbox
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -m "not browser" tests

test-notebooks: venv
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(CHAPTER_NOTEBOOKS)

test-browser: venv chromium book
	$(BIN)/python -m pytest -m browser tests/test_browser.py tests/test_reader.py \
		tests/test_review_browser.py

test: test-package test-notebooks test-browser
	@echo "All tests passed."

bench: venv
	$(BIN)/python benchmarks/grade_benchmark.py

clean:
	rm -rf _build _vendor
