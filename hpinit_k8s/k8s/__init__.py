"""Kubernetes: render the spec into KubeRay manifests (pure), and submit/watch them (a thin client)."""
