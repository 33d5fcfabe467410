terraform {
  # Provider-free on purpose: the permission set's name, session length and time-window policy are
  # computed here and tested with `terraform test`, without the AWS provider.
  required_version = ">= 1.10"
}
