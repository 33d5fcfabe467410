terraform {
  required_version = ">= 1.10"

  required_providers {
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
}
