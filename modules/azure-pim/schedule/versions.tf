terraform {
  # Provider-free on purpose: the schedule, the justification and the input checks are computed
  # here and tested with `terraform test`, without the azurerm provider.
  required_version = ">= 1.10"
}
