"""Typed errors. The CLI turns every `HpinitError` into one line on stderr and exit code 2."""


class HpinitError(Exception):
    """Bad input or a missing precondition the user can fix; never a bug."""


class SpecError(HpinitError):
    """The experiment spec is invalid."""


class DatasetMissingError(HpinitError):
    """A dataset is absent and may not be downloaded."""


class StorageError(HpinitError):
    """Storage is unreachable, misconfigured or holds something unexpected."""


class WeightsError(HpinitError):
    """Saved weights do not match what the summary promised (hash or shapes)."""


class StageError(HpinitError):
    """A stage could not finish (failed trials, missing inputs from an earlier stage)."""


class ReportError(HpinitError):
    """A results CSV is malformed."""


class ClusterError(HpinitError):
    """The Kubernetes cluster is unreachable or lacks something the experiment needs."""
