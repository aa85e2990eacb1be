"""hpinit-k8s: initialise final training runs from hyperparameter-tuning trials, on Ray and KubeRay."""

__version__ = "0.1.0"
