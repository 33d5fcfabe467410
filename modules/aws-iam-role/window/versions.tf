terraform {
  # Provider-free on purpose: everything that decides who gets what, and until when, lives here so
  # that `terraform test` can check it without downloading the AWS provider.
  required_version = ">= 1.10"
}
