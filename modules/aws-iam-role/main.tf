# One IAM role per grant, trusted only for the grant's principal through the SAML provider, with
# the entitlement's managed policies and a time window that AWS enforces on every request.
# All decisions (names, policies, clamping) are made in ./window, which has no provider and is
# tested with `terraform test`.

module "window" {
  source = "./window"

  grant_id          = var.grant_id
  principal         = var.principal
  account_id        = var.account_id
  policy_arns       = var.policy_arns
  saml_provider_arn = var.saml_provider_arn
  starts_at         = var.starts_at
  expires_at        = var.expires_at
  partition         = data.aws_partition.current.partition
  role_path         = var.role_path
  role_name_prefix  = var.role_name_prefix
}

data "aws_caller_identity" "current" {}

# The partition (aws, aws-us-gov, aws-cn) of the provider's account, for every ARN the module
# writes: a hard-coded arn:aws: would never match in GovCloud or China.
data "aws_partition" "current" {}

resource "aws_iam_role" "grant" {
  name                 = module.window.role_name
  path                 = module.window.role_path
  description          = module.window.description
  assume_role_policy   = module.window.trust_policy_json
  max_session_duration = module.window.max_session_duration
  tags                 = module.window.tags

  lifecycle {
    precondition {
      condition     = data.aws_caller_identity.current.account_id == var.account_id
      error_message = "The grant targets account ${var.account_id}, but the AWS provider is signed in to another account: give this module a provider for that account (see the root module's README)."
    }
  }
}

# The time window: Deny * outside [starts_at, expires_at). An explicit deny wins over every allow,
# and aws:CurrentTime is evaluated on each request, so an open session loses its rights at expiry.
resource "aws_iam_role_policy" "window" {
  name   = "jitctl-window"
  role   = aws_iam_role.grant.id
  policy = module.window.window_policy_json
}

resource "aws_iam_role_policy_attachment" "entitlement" {
  for_each = toset(module.window.policy_arns)

  role       = aws_iam_role.grant.name
  policy_arn = each.value

  # Attach the managed policies only once the deny is in place.
  depends_on = [aws_iam_role_policy.window]
}
