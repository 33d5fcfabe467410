# No static keys anywhere: every provider takes short-lived credentials from the environment, which
# the workflows fill through GitHub's OIDC token (a read-only role for plan, another for apply).

# AWS: aws-actions/configure-aws-credentials (role-to-assume) exports AWS_* for the role; the region
# comes from AWS_REGION. One AWS account per configuration (see README.md for several).
provider "aws" {
  default_tags {
    tags = { "jitctl:managed-by" = "jitctl" }
  }
}

# GCP: GOOGLE_APPLICATION_CREDENTIALS points to a workload identity federation (external_account)
# file that exchanges the GitHub OIDC token; no service account key.
provider "google" {}

# Azure: ARM_USE_OIDC=true, ARM_CLIENT_ID, ARM_TENANT_ID and ARM_SUBSCRIPTION_ID; the provider asks
# GitHub for the OIDC token itself.
# resource_provider_registrations = "none": jitctl only writes role assignments, so its identity
# needs no subscription-wide right to register resource providers (azurerm 4.x registers a set of
# them by default, which fails without Microsoft.*/register/action).
provider "azurerm" {
  features {}
  use_oidc                        = true
  resource_provider_registrations = "none"
}
