# AWS IAM Identity Center: one permission set per grant, carrying the entitlement's managed
# policies and the grant's time window, assigned to one user or group in one account. AWS
# provisions it as a role (AWSReservedSSO_<name>_<hash>) in the account; the window policy is
# evaluated on every request, so access ends at expires_at whatever happens to the pipeline.
# All decisions are made in ./window (provider-free, tested with `terraform test`).

module "window" {
  source = "./window"

  grant_id     = var.grant_id
  principal    = var.principal
  account_id   = var.account_id
  instance_arn = var.instance_arn
  policy_arns  = var.policy_arns
  starts_at    = var.starts_at
  expires_at   = var.expires_at
}

data "aws_ssoadmin_instances" "all" {}

locals {
  identity_store_id = one([for i, arn in data.aws_ssoadmin_instances.all.arns : data.aws_ssoadmin_instances.all.identity_store_ids[i] if arn == var.instance_arn])
}

data "aws_identitystore_user" "principal" {
  count             = module.window.principal_type == "USER" ? 1 : 0
  identity_store_id = local.identity_store_id

  alternate_identifier {
    unique_attribute {
      attribute_path  = "UserName"
      attribute_value = module.window.principal_name
    }
  }
}

data "aws_identitystore_group" "principal" {
  count             = module.window.principal_type == "GROUP" ? 1 : 0
  identity_store_id = local.identity_store_id

  alternate_identifier {
    unique_attribute {
      attribute_path  = "DisplayName"
      attribute_value = module.window.principal_name
    }
  }
}

resource "aws_ssoadmin_permission_set" "grant" {
  name             = module.window.name
  description      = module.window.description
  instance_arn     = var.instance_arn
  session_duration = module.window.session_duration
  tags             = module.window.tags

  lifecycle {
    precondition {
      condition     = local.identity_store_id != null
      error_message = "The AWS provider's Identity Center has no instance ${var.instance_arn}: fix instance_arn in the catalog, or give this module the provider of the organisation's management (or delegated administrator) account."
    }
  }
}

# The window first: the managed policies are attached only once the denies are in place.
resource "aws_ssoadmin_permission_set_inline_policy" "window" {
  instance_arn       = var.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.grant.arn
  inline_policy      = module.window.inline_policy_json
}

resource "aws_ssoadmin_managed_policy_attachment" "entitlement" {
  for_each = toset(module.window.policy_arns)

  instance_arn       = var.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.grant.arn
  managed_policy_arn = each.value

  depends_on = [aws_ssoadmin_permission_set_inline_policy.window]
}

resource "aws_ssoadmin_account_assignment" "grant" {
  instance_arn       = var.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.grant.arn
  principal_id       = module.window.principal_type == "USER" ? data.aws_identitystore_user.principal[0].user_id : data.aws_identitystore_group.principal[0].group_id
  principal_type     = module.window.principal_type
  target_id          = var.account_id
  target_type        = "AWS_ACCOUNT"

  # Assign only once the permission set carries its window and policies.
  depends_on = [aws_ssoadmin_permission_set_inline_policy.window, aws_ssoadmin_managed_policy_attachment.entitlement]
}
