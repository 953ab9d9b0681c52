# open_s2s — the commands a user needs. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3.11
# The dependency stack: tf216 (TensorFlow 2.16) or tf221 (TensorFlow 2.21), each pinned by
# requirements/<stack>.txt + constraints/<stack>.txt and installed in its own venv, .venv-<stack>;
# `make setup` of the default stack also points .venv (the README's `source .venv/bin/activate`)
# at its venv. Switching the default is this one line.
DEFAULT_STACK := tf221
STACK ?= $(DEFAULT_STACK)
ifeq ($(strip $(STACK)),)
override STACK := $(DEFAULT_STACK)
endif
STACKS := tf216 tf221
ifeq ($(filter $(STACK),$(STACKS)),)
$(error STACK=$(STACK): choose one of $(STACKS))
endif
VENV ?= .venv-$(STACK)
PY := $(VENV)/bin/python
CORPUS := data/synth_speech
CONFIG ?= example_configs/jasper.py
LOGDIR ?= logs/jasper
# Extra run.py arguments for demo, e.g. make demo ARGS="--max_steps=100"
ARGS ?=

.PHONY: setup demo corpus test test-slow convergence convergence-commands convergence-nmt convergence-tts bench bench-pipeline lint \
	check-readme clean test-other-stacks

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: requirements.txt requirements/$(STACK).txt constraints/$(STACK).txt constraints.txt setup.py \
		scripts/install_system_deps.sh scripts/install_horovod.sh
	scripts/install_system_deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/$(STACK).txt -c constraints/$(STACK).txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	scripts/install_horovod.sh $(PY) constraints/$(STACK).txt
	touch $@
	if [ "$(STACK)" = "$(DEFAULT_STACK)" ] && [ "$(VENV)" = ".venv-$(STACK)" ] && { [ -L .venv ] || [ ! -e .venv ]; }; then \
		ln -sfn $(VENV) .venv; fi

corpus: setup
	$(PY) -m open_s2s.data.synth_speech --out $(CORPUS)

# Train Jasper on the synthetic corpus (about 30 min on 2 cores), then transcribe the
# held-out test split and print its WER.
demo: corpus
	$(PY) run.py --config_file=$(CONFIG) --mode=train_eval --logdir=$(LOGDIR) \
		$(if $(wildcard $(LOGDIR)/checkpoint),--continue_learning) $(ARGS)
	$(PY) run.py --config_file=$(CONFIG) --mode=infer --logdir=$(LOGDIR) \
		--infer_output_file=$(LOGDIR)/test_predictions.csv $(ARGS)

# The CI suite (everything not marked slow), on $(STACK)'s venv.
test: setup
	$(PY) -m pytest -q -m "not slow" tests

# The CI suite on every stack but the default one (.ci/run runs `make test` first).
test-other-stacks:
	for stack in $(filter-out $(DEFAULT_STACK),$(STACKS)); do $(MAKE) test STACK=$$stack VENV=.venv-$$stack || exit 1; done

# Slow tests: convergence and long end-to-end runs (not in CI).
test-slow: setup
	$(PY) -m pytest -q -m slow tests

# The quality figure of the core issue: train jasper.py for its 30-minute budget and report WER.
convergence: corpus
	$(PY) scripts/convergence.py --config_file=$(CONFIG) --logdir=logs/convergence_jasper

# Issue 6: both tiny keyword spotters on the synthetic Speech Commands layout (test accuracy, minutes).
convergence-commands: setup
	$(PY) -m open_s2s.data.synth_commands --out data/synth_commands
	$(PY) scripts/convergence_commands.py --config_file=example_configs/speech_commands/resnet_v1_12_tiny.py \
		--logdir=logs/convergence_resnet_v1_12_tiny
	$(PY) scripts/convergence_commands.py --config_file=example_configs/speech_commands/jasper_v1_12_tiny.py \
		--logdir=logs/convergence_jasper_v1_12_tiny

# Issue 13: transformer_tiny.py on the Apertium English->Spanish corpus (test BLEU, beam and greedy).
convergence-nmt: setup
	$(PY) -m open_s2s.data.synth_translation --out data/synth_nmt
	$(PY) scripts/convergence_nmt.py --logdir=logs/convergence_transformer_tiny

# Issue 14: tacotron_tiny.py on the flite corpus (judge WER of free-running synthesis, stop-token lengths).
convergence-tts: setup
	$(PY) -m open_s2s.data.synth_tts --out data/synth_tts
	$(PY) scripts/convergence_tts.py --logdir=logs/convergence_tacotron_tiny

bench: corpus
	$(PY) scripts/bench.py
	$(PY) scripts/bench_pipeline.py --out logs/bench_pipeline_$(STACK)

# Issue 5's input-pipeline figures alone (real pipeline vs cached batches for Jasper tiny), on $(STACK).
bench-pipeline: corpus
	$(PY) scripts/bench_pipeline.py --out logs/bench_pipeline_$(STACK) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check open_s2s tests scripts example_configs run.py

# Every command of README.md, each in a fresh shell, in a fresh copy of the repository; trainings
# shortened to README_STEPS steps (see scripts/check_readme.py; e.g. README_ARGS="--skip synth_tts").
README_STEPS ?= 20
README_ARGS ?=
check-readme: setup
	python3 scripts/check_readme.py --max_steps=$(README_STEPS) --keep_going --out logs/readme_check.json $(README_ARGS)

clean:
	rm -rf logs .pytest_cache
