locals {
  # Defence in depth: a grant has expired when expires_at <= now. Render never passes one, and if
  # it ever did, it stops here and reaches no module (so its resources are destroyed).
  live    = { for id, g in var.grants : id => g if timecmp(g.expires_at, var.now) > 0 }
  expired = sort([for id, g in var.grants : id if timecmp(g.expires_at, var.now) <= 0])
  pending = sort([for id, g in local.live : id if g.starts_at != null && timecmp(coalesce(g.starts_at, var.now), var.now) > 0])

  aws   = { for id, g in local.live : id => g if g.module == "aws-iam-role" }
  awsic = { for id, g in local.live : id => g if g.module == "aws-identity-center" }

  # --- AWS quotas the grants consume (AWS's default quotas; both adjustable in Service Quotas) ---
  # A permission set per Identity Center grant (2,000 per instance), and a role per grant in the
  # account: aws-iam-role's own, or the one Identity Center provisions for the permission set
  # (1,000 IAM roles per account, counting the account's other roles).
  permission_sets_per_instance = { for arn, ids in { for id, g in local.awsic : g.target.instance_arn => id... } : arn => length(ids) }
  roles_per_account = { for id, acct in merge(
    { for id, g in local.aws : id => g.target.account_id },
    { for id, g in local.awsic : id => g.target.account_id },
  ) : acct => id... }
  quota = {
    permission_sets_per_instance = 2000
    roles_per_account            = 1000
  }
  gcp          = { for id, g in local.live : id => g if g.module == "gcp-iam" }
  azure_grants = { for id, g in local.live : id => g if g.module == "azure-pim" }

  # --- Azure: one PIM assignment per (principal, scope, role) -----------------------------------
  # Azure identifies a PIM active assignment by scope|role|principal, so two grants of the same
  # principal, role and scope cannot be two assignments: the second create fails ("needs to be
  # imported") and deleting one would remove the other's access. They become ONE assignment whose
  # window is the union of theirs. A union is one window only when the windows overlap or touch;
  # grants whose windows leave a gap are refused (here, and before merge by `jitctl check`, rule
  # azure.disjoint), since one schedule over the gap would grant access nobody approved.
  azure_key = { for id, g in local.azure_grants : id => format("pim-%s", substr(sha256(join("|", [
    lower(g.principal), lower(trimsuffix(g.target.scope, "/")), lower(g.target.role_definition_name),
  ])), 0, 16)) }
  azure_groups = { for id, k in local.azure_key : k => id... }
  azure_assignments = { for k, ids in local.azure_groups : k => {
    grant_ids = sort(ids)
    # the latest expires_at of the group
    expires_at = [for id in ids : local.azure_grants[id].expires_at if alltrue([for o in ids : timecmp(local.azure_grants[id].expires_at, local.azure_grants[o].expires_at) >= 0])][0]
    # null once any grant of the group has started: PIM's start_date_time is then left to Azure
    # (optional + computed), so a grant joining or leaving the group never changes it
    started     = anytrue([for id in ids : local.azure_grants[id].starts_at == null ? true : timecmp(coalesce(local.azure_grants[id].starts_at, var.now), var.now) <= 0])
    first_start = try([for id in ids : local.azure_grants[id].starts_at if alltrue([for o in ids : local.azure_grants[o].starts_at == null ? false : timecmp(coalesce(local.azure_grants[id].starts_at, var.now), local.azure_grants[o].starts_at) <= 0])][0], null)
    # the grant the justification and ticket are taken from: the earliest start, then the id
    lead = sort([for id in ids : id if local.azure_grants[id].starts_at == null])
    # Every window's end is the group's end or lies inside another window: no gap.
    gap_free = alltrue([for id in ids : (
      timecmp(local.azure_grants[id].expires_at, [for i in ids : local.azure_grants[i].expires_at if alltrue([for o in ids : timecmp(local.azure_grants[i].expires_at, local.azure_grants[o].expires_at) >= 0])][0]) == 0
      || anytrue([for o in ids : o != id && (local.azure_grants[o].starts_at == null ? true : timecmp(coalesce(local.azure_grants[o].starts_at, var.now), local.azure_grants[id].expires_at) <= 0) && timecmp(local.azure_grants[o].expires_at, local.azure_grants[id].expires_at) > 0])
    )])
  } }
  azure = { for k, a in local.azure_assignments : k => merge(a, {
    starts_at = a.started ? null : a.first_start
    lead_id   = try(a.lead[0], sort([for id in a.grant_ids : id if local.azure_grants[id].starts_at == a.first_start])[0])
  }) }
}

# The modules' own provider-free logic computes the names and conditions, so the dispatcher's
# output shows exactly what each cloud module will create (and fails on input it would refuse).
module "aws" {
  source   = "../aws-iam-role/window"
  for_each = local.aws

  grant_id          = each.key
  principal         = each.value.principal
  account_id        = each.value.target.account_id
  policy_arns       = each.value.target.policy_arns
  saml_provider_arn = each.value.target.saml_provider_arn
  starts_at         = each.value.starts_at
  expires_at        = each.value.expires_at
  # the partition of the account, from the catalog's SAML provider ARN (arn:PARTITION:iam::...)
  partition = split(":", each.value.target.saml_provider_arn)[1]
}

module "awsic" {
  source   = "../aws-identity-center/window"
  for_each = local.awsic

  grant_id     = each.key
  principal    = each.value.principal
  account_id   = each.value.target.account_id
  instance_arn = each.value.target.instance_arn
  policy_arns  = each.value.target.policy_arns
  starts_at    = each.value.starts_at
  expires_at   = each.value.expires_at
}

# Near a quota, the plan warns (a check block: the apply still runs, since the quota may have been
# raised); past a raised quota, AWS refuses the create with LimitExceeded and the apply fails.
check "aws_quotas" {
  assert {
    condition     = alltrue([for n in values(local.permission_sets_per_instance) : n < local.quota.permission_sets_per_instance * 0.9])
    error_message = "Identity Center grants use ${jsonencode(local.permission_sets_per_instance)} permission sets per instance, 90% or more of AWS's default quota of ${local.quota.permission_sets_per_instance}: raise the quota, or shorten max_duration in the catalog."
  }
  assert {
    condition     = alltrue([for acct, ids in local.roles_per_account : length(ids) < local.quota.roles_per_account * 0.9])
    error_message = "jitctl grants use ${jsonencode({ for acct, ids in local.roles_per_account : acct => length(ids) })} IAM roles per account, 90% or more of AWS's default quota of ${local.quota.roles_per_account} (the account's other roles count too): raise the quota, or shorten max_duration in the catalog."
  }
}

module "gcp" {
  source   = "../gcp-iam/condition"
  for_each = local.gcp

  grant_id   = each.key
  principal  = each.value.principal
  project    = each.value.target.project
  role       = each.value.target.role
  starts_at  = each.value.starts_at
  expires_at = each.value.expires_at
}

module "azure" {
  source   = "../azure-pim/schedule"
  for_each = local.azure

  grant_ids            = each.value.grant_ids
  principal            = local.azure_grants[each.value.lead_id].principal
  scope                = local.azure_grants[each.value.lead_id].target.scope
  role_definition_name = local.azure_grants[each.value.lead_id].target.role_definition_name
  starts_at            = each.value.starts_at
  expires_at           = each.value.expires_at
  reason               = local.azure_grants[each.value.lead_id].reason
  ticket               = local.azure_grants[each.value.lead_id].ticket
}
