output "aws_iam_role" {
  description = "Grants for modules/aws-iam-role, keyed by grant id: inputs (principal, target, starts_at, expires_at, reason, ticket) plus window {start, end}, role_name, role_arn, max_session_duration."
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
    role_arn             = module.aws[id].role_arn
    max_session_duration = module.aws[id].max_session_duration
  } }
}

output "aws_identity_center" {
  description = "Grants for modules/aws-identity-center, keyed by grant id: inputs plus window {start, end}, permission_set_name, principal_type and session_duration."
  value = { for id, g in local.awsic : id => {
    principal           = g.principal
    entitlement         = g.entitlement
    target              = { account_id = g.target.account_id, instance_arn = g.target.instance_arn, policy_arns = g.target.policy_arns }
    starts_at           = g.starts_at
    expires_at          = g.expires_at
    reason              = g.reason
    ticket              = g.ticket
    window              = module.awsic[id].window
    permission_set_name = module.awsic[id].name
    principal_type      = module.awsic[id].principal_type
    session_duration    = module.awsic[id].session_duration
  } }
}

output "aws_quota_usage" {
  description = "What the AWS grants consume of AWS's default quotas: permission sets per Identity Center instance (quota 2,000) and roles per account (quota 1,000, shared with the account's other roles)."
  value = {
    permission_sets_per_instance = local.permission_sets_per_instance
    roles_per_account            = { for acct, ids in local.roles_per_account : acct => length(ids) }
    quota                        = local.quota
  }
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
  description = "PIM assignments for modules/azure-pim, keyed by pim-<16 hex of sha256(principal|scope|role)>: one per (principal, scope, role), since Azure allows only one; grant_ids, the lead grant's principal, entitlement, target, reason and ticket, the union window {start, end} (start null once any grant of the group has started), principal_id, schedule and justification."
  value = { for k, a in local.azure : k => {
    grant_ids     = a.grant_ids
    principal     = local.azure_grants[a.lead_id].principal
    entitlement   = local.azure_grants[a.lead_id].entitlement
    target        = { scope = local.azure_grants[a.lead_id].target.scope, role_definition_name = local.azure_grants[a.lead_id].target.role_definition_name }
    starts_at     = a.starts_at
    expires_at    = a.expires_at
    reason        = local.azure_grants[a.lead_id].reason
    ticket        = local.azure_grants[a.lead_id].ticket
    window        = module.azure[k].window
    principal_id  = module.azure[k].principal_id
    schedule      = module.azure[k].schedule
    justification = module.azure[k].justification
  } }

  precondition {
    condition     = alltrue([for a in values(local.azure) : a.gap_free])
    error_message = "Grants of the same Azure principal, role and scope must have overlapping or touching windows (Azure keeps one PIM assignment per principal, role and scope, and one schedule over a gap would grant access nobody approved): ${join("; ", [for a in values(local.azure) : join(", ", a.grant_ids) if !a.gap_free])}. Revoke one, or request the later window once the earlier has expired."
  }
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
    aws_iam_role        = length(local.aws)
    aws_identity_center = length(local.awsic)
    gcp_iam             = length(local.gcp)
    azure_pim           = length(local.azure_grants)
    pending             = length(local.pending)
    expired             = length(local.expired)
  }
}
