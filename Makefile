# hpinit-k8s. `make run EXP=quickstart` and `make test` install what is missing, then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXP    ?= quickstart
SPEC   := experiments/$(EXP).yaml
OUT    ?= build/manifests
PIP    := $(BIN)/python -m pip --disable-pip-version-check

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE  ?= ghcr.io/hpinit/hpinit-k8s
CPU_IMAGE ?= hpinit-k8s
GIT_SHA := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
KIND_CLUSTER ?= hpinit
KUBERAY_VERSION := 1.7.0

.PHONY: install run test test-fast lint bench clean render submit image image-cpu kind-up kind-load kind-down
.DEFAULT_GOAL := run

# Deterministic install: every package pinned in requirements.lock, installed without resolving
# (pip 23's resolver backtracks for many minutes on this set), then the project itself.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==26.3 setuptools==84.2.1
	$(PIP) install -q --no-deps --only-binary=:all: -r requirements.lock -r requirements-dev.lock
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hpinit run $(SPEC)

test: $(STAMP)
	$(BIN)/ruff check hpinit_k8s tests
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check hpinit_k8s tests

bench: $(STAMP)
	$(BIN)/python -m hpinit_k8s.bench

clean:
	rm -rf runs build report .pytest_cache

# --- Kubernetes (for users with a container engine and a cluster; CI has neither) ---

render: $(STAMP)
	$(BIN)/hpinit render $(SPEC) -o $(OUT)

submit: $(STAMP)
	$(BIN)/hpinit submit $(SPEC)

image:
	docker build -f images/Dockerfile --build-arg GIT_SHA=$(GIT_SHA) -t $(IMAGE):$(VERSION)-gpu .

image-cpu:
	docker build -f images/Dockerfile.cpu --build-arg GIT_SHA=$(GIT_SHA) -t $(CPU_IMAGE):$(VERSION)-cpu .

kind-up:
	kind create cluster --config k8s/kind/cluster.yaml
	helm repo add kuberay https://ray-project.github.io/kuberay-helm/ --force-update
	helm upgrade --install kuberay-operator kuberay/kuberay-operator --version $(KUBERAY_VERSION) \
		--namespace kuberay-system --create-namespace --wait
	kubectl get secret hpinit-s3 >/dev/null 2>&1 || kubectl create secret generic hpinit-s3 \
		--from-literal=AWS_ACCESS_KEY_ID=hpinit --from-literal=AWS_SECRET_ACCESS_KEY="$$(openssl rand -hex 20)"
	kubectl apply -f k8s/kind/minio.yaml
	kubectl wait --for=condition=complete job/minio-bucket --timeout=300s

kind-load: image-cpu
	kind load docker-image $(CPU_IMAGE):$(VERSION)-cpu --name $(KIND_CLUSTER)

kind-down:
	kind delete cluster --name $(KIND_CLUSTER)
