terraform {
  # Provider-free on purpose: the member, the role check and the CEL condition are computed here and
  # tested with `terraform test`, without the Google provider.
  required_version = ">= 1.10"
}
