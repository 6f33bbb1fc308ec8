"""provisioner: declarative virtual machines from YAML stack files.

The pipeline (see docs/architecture.md): load → resolve → refresh → diff →
graph → render → apply. Each step is a subpackage with one job.
"""

__version__ = "0.1.0"
