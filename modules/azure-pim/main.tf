# One PIM active role assignment per grant, with a schedule that ends at expires_at: Azure removes
# the assignment by itself then, whatever happens to the pipeline. Everything but the role
# definition lookup is computed in ./schedule (provider-free, tested).

module "schedule" {
  source = "./schedule"

  grant_id             = var.grant_id
  principal            = var.principal
  scope                = var.scope
  role_definition_name = var.role_definition_name
  starts_at            = var.starts_at
  expires_at           = var.expires_at
  reason               = var.reason
  ticket               = var.ticket
}

data "azurerm_role_definition" "role" {
  name  = module.schedule.role_definition_name
  scope = module.schedule.scope
}

resource "azurerm_pim_active_role_assignment" "grant" {
  scope              = module.schedule.scope
  role_definition_id = data.azurerm_role_definition.role.id
  principal_id       = module.schedule.principal_id
  justification      = module.schedule.justification

  schedule {
    start_date_time = module.schedule.schedule.start_date_time

    expiration {
      end_date_time = module.schedule.schedule.end_date_time
    }
  }

  dynamic "ticket" {
    for_each = module.schedule.ticket == null ? [] : [module.schedule.ticket]
    content {
      number = ticket.value.number
      system = ticket.value.system
    }
  }
}
