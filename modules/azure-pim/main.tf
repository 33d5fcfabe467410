# One PIM active role assignment per (principal, scope, role), with a schedule that ends at
# expires_at: Azure removes the assignment by itself then, whatever happens to the pipeline.
# Azure identifies the assignment by scope|role|principal, so grants sharing those share this one
# assignment (modules/grants merges them, with the union of their windows). Everything but the
# role definition lookup is computed in ./schedule (provider-free, tested).

module "schedule" {
  source = "./schedule"

  grant_ids            = var.grant_ids
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

  # azurerm has no update for this resource: every argument forces a new assignment, which for
  # one identity (scope|role|principal) means destroy, then create (create_before_destroy would
  # collide with itself). The justification and ticket only describe the request, so a grant
  # joining or leaving the group must not re-create the assignment for them.
  lifecycle {
    ignore_changes = [justification, ticket]
  }
}
