# Root configuration: render output -> dispatcher -> one module instance per grant.
#   jitctl render --out render.tfvars.json
#   terraform -chdir=terraform plan -var-file=../render.tfvars.json

module "grants" {
  source = "../modules/grants"

  now    = var.now
  grants = var.grants
}

module "aws_iam_role" {
  source   = "../modules/aws-iam-role"
  for_each = module.grants.aws_iam_role

  grant_id          = each.key
  principal         = each.value.principal
  account_id        = each.value.target.account_id
  policy_arns       = each.value.target.policy_arns
  saml_provider_arn = each.value.target.saml_provider_arn
  starts_at         = each.value.starts_at
  expires_at        = each.value.expires_at
}

module "aws_identity_center" {
  source   = "../modules/aws-identity-center"
  for_each = module.grants.aws_identity_center

  grant_id     = each.key
  principal    = each.value.principal
  account_id   = each.value.target.account_id
  instance_arn = each.value.target.instance_arn
  policy_arns  = each.value.target.policy_arns
  starts_at    = each.value.starts_at
  expires_at   = each.value.expires_at
}

module "gcp_iam" {
  source   = "../modules/gcp-iam"
  for_each = module.grants.gcp_iam

  grant_id   = each.key
  principal  = each.value.principal
  project    = each.value.target.project
  role       = each.value.target.role
  starts_at  = each.value.starts_at
  expires_at = each.value.expires_at
}

# Keyed by assignment (pim-<hash of principal|scope|role>), not grant: Azure keeps one PIM
# assignment per principal, role and scope, so overlapping grants share one (modules/grants).
module "azure_pim" {
  source   = "../modules/azure-pim"
  for_each = module.grants.azure_pim

  grant_ids            = each.value.grant_ids
  principal            = each.value.principal
  scope                = each.value.target.scope
  role_definition_name = each.value.target.role_definition_name
  starts_at            = each.value.starts_at
  expires_at           = each.value.expires_at
  reason               = each.value.reason
  ticket               = each.value.ticket
}
