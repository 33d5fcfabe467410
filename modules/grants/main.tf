locals {
  # Defence in depth: a grant has expired when expires_at <= now. Render never passes one, and if
  # it ever did, it stops here and reaches no module (so its resources are destroyed).
  live    = { for id, g in var.grants : id => g if timecmp(g.expires_at, var.now) > 0 }
  expired = sort([for id, g in var.grants : id if timecmp(g.expires_at, var.now) <= 0])
  pending = sort([for id, g in local.live : id if g.starts_at != null && timecmp(coalesce(g.starts_at, var.now), var.now) > 0])

  aws   = { for id, g in local.live : id => g if g.module == "aws-iam-role" }
  gcp   = { for id, g in local.live : id => g if g.module == "gcp-iam" }
  azure = { for id, g in local.live : id => g if g.module == "azure-pim" }
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
  now               = var.now
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

  grant_id             = each.key
  principal            = each.value.principal
  scope                = each.value.target.scope
  role_definition_name = each.value.target.role_definition_name
  starts_at            = each.value.starts_at
  expires_at           = each.value.expires_at
  reason               = each.value.reason
  ticket               = each.value.ticket
}
