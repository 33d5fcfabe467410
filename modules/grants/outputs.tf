output "aws_iam_role" {
  description = "Grants for modules/aws-iam-role, keyed by grant id: inputs (principal, target, starts_at, expires_at, reason, ticket) plus window {start, end}, role_name, max_session_duration."
  value = { for id, g in local.aws : id => {
    principal            = g.principal
    entitlement          = g.entitlement
    target               = { account_id = g.target.account_id, policy_arns = g.target.policy_arns, saml_provider_arn = g.target.saml_provider_arn }
    starts_at            = g.starts_at
    expires_at           = g.expires_at
    reason               = g.reason
    ticket               = g.ticket
    window               = module.aws[id].window
    role_name            = module.aws[id].role_name
    max_session_duration = module.aws[id].max_session_duration
  } }
}

output "gcp_iam" {
  description = "Grants for modules/gcp-iam, keyed by grant id: inputs plus window {start, end}, member and condition {title, description, expression}."
  value = { for id, g in local.gcp : id => {
    principal   = g.principal
    entitlement = g.entitlement
    target      = { project = g.target.project, role = g.target.role }
    starts_at   = g.starts_at
    expires_at  = g.expires_at
    reason      = g.reason
    ticket      = g.ticket
    window      = module.gcp[id].window
    member      = module.gcp[id].member
    condition   = module.gcp[id].condition
  } }
}

output "azure_pim" {
  description = "Grants for modules/azure-pim, keyed by grant id: inputs plus window {start, end}, principal_id, schedule {start_date_time, end_date_time} and justification."
  value = { for id, g in local.azure : id => {
    principal     = g.principal
    entitlement   = g.entitlement
    target        = { scope = g.target.scope, role_definition_name = g.target.role_definition_name }
    starts_at     = g.starts_at
    expires_at    = g.expires_at
    reason        = g.reason
    ticket        = g.ticket
    window        = module.azure[id].window
    principal_id  = module.azure[id].principal_id
    schedule      = module.azure[id].schedule
    justification = module.azure[id].justification
  } }
}

output "expired" {
  description = "Ids of grants that had expired at now and were dropped (render should never pass any: a non-empty list is a bug upstream)."
  value       = local.expired
}

output "pending" {
  description = "Ids of grants whose window starts after now (created now, with the window enforced by each cloud)."
  value       = local.pending
}

output "summary" {
  description = "Counts: grants per module, pending and dropped-expired."
  value = {
    aws_iam_role = length(local.aws)
    gcp_iam      = length(local.gcp)
    azure_pim    = length(local.azure)
    pending      = length(local.pending)
    expired      = length(local.expired)
  }
}
