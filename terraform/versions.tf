terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 3.90, < 5.0"
    }
  }

  # Partial configuration: the real values come from `terraform init -backend-config=backend.hcl`
  # (see README.md), so no bucket, account or key is committed here. Swap "s3" for "gcs" or
  # "azurerm" if the state lives elsewhere; keep locking on (use_lockfile / the backend's own).
  backend "s3" {}
}
