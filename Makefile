# Two commands for a new machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHARED_NPZ := ../shared/data/natural-images-10class.npz
# The shipped natural images when they stand beside the checkout, else CIFAR-10 via tfds.
DATASET ?= $(if $(wildcard $(SHARED_NPZ)),npz:$(SHARED_NPZ),cifar10)
DEMO_DIR ?= runs/demo

.PHONY: demo test test-fast install clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) bin/run_nases.py --flagfile=configs/demo.cfg --dataset=$(DATASET) --output_dir=$(DEMO_DIR)

# Two test processes (pytest-xdist), one per core of the development machines.
test: install
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

# The inner loop: everything but the tests marked slow.
test-fast: install
	$(PY) -m pytest -q -n 2 --dist loadgroup -m "not slow" tests

clean:
	rm -rf $(VENV) runs
