# Benchmarks (see README, "Benchmarks"): figures, targets and pass/miss in benchmarks.json.
PYTHON ?= .venv/bin/python

.PHONY: bench bench-quick bench-full

bench:        ## default scale (under 15 minutes on 2 idle cores)
	$(PYTHON) -m benchmarks

bench-quick:  ## small scale: the machinery and rough figures (under 2 minutes on 2 idle cores)
	$(PYTHON) -m benchmarks --quick

bench-full:   ## the default scale plus the 1,000,000-ticket first load and the soak
	$(PYTHON) -m benchmarks --full
