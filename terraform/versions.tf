terraform {
  # 1.10: the S3 backend's native lock file (use_lockfile, backend.hcl.example); the modules use
  # timecmp (1.5) and cross-variable validation (1.9).
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 7.0"
    }
    # azurerm 4.x only. 3.x releases up to at least 3.103 fail to read or plan a PIM assignment
    # whose schedule has ended (hashicorp/terraform-provider-azurerm#23432, #23111, #24118: the
    # resource read the schedule *request*, which Azure stops returning after expiry); the rework
    # in 3.104 broke creating assignments (#26023, fixed in 3.105 by #26029), and no 3.x release is
    # documented as free of both. 4.0 carries the reworked resource and the
    # resource_provider_registrations setting terraform/providers.tf relies on.
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
  }

  # Partial configuration: the real values come from `terraform init -backend-config=backend.hcl`
  # (see README.md), so no bucket, account or key is committed here. Swap "s3" for "gcs" or
  # "azurerm" if the state lives elsewhere; keep locking on (use_lockfile / the backend's own).
  backend "s3" {}
}
