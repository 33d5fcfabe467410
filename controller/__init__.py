"""jitctl: GitOps just-in-time privilege elevation for Terraform."""

__version__ = "0.2.0"
