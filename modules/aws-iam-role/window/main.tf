locals {
  # --- role name: deterministic from the grant id, at most 64 characters (IAM's limit) ---------
  full_name = "${var.role_name_prefix}${var.grant_id}"
  # When too long: keep a readable head and add 8 hex characters of sha256(grant_id), so that two
  # long grant ids with the same head still get different roles.
  role_name = length(local.full_name) <= 64 ? local.full_name : "${substr(local.full_name, 0, 55)}-${substr(sha256(var.grant_id), 0, 8)}"
  role_arn  = "arn:aws:iam::${var.account_id}:role${var.role_path}${local.role_name}"

  # --- time arithmetic: RFC 3339 (UTC) -> seconds since the epoch ------------------------------
  # Terraform has no "difference of two timestamps" function, so use the days-from-civil
  # algorithm (H. Hinnant) on the parsed fields. Fractional seconds are dropped (floor).
  stamps = { for k, t in { now = var.now, end = var.expires_at, start = coalesce(var.starts_at, var.now) } :
    k => [for f in regex("^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})", t) : tonumber(f)]
  }
  epoch = { for k, f in local.stamps : k => (
    (
      floor((f[0] - (f[1] <= 2 ? 1 : 0)) / 400) * 146097
      + ((f[0] - (f[1] <= 2 ? 1 : 0)) - floor((f[0] - (f[1] <= 2 ? 1 : 0)) / 400) * 400) * 365
      + floor(((f[0] - (f[1] <= 2 ? 1 : 0)) - floor((f[0] - (f[1] <= 2 ? 1 : 0)) / 400) * 400) / 4)
      -floor(((f[0] - (f[1] <= 2 ? 1 : 0)) - floor((f[0] - (f[1] <= 2 ? 1 : 0)) / 400) * 400) / 100)
      + floor((153 * (f[1] + (f[1] > 2 ? -3 : 9)) + 2) / 5) + f[2] - 1
      -719468
    ) * 86400 + f[3] * 3600 + f[4] * 60 + f[5]
  ) }

  # --- max_session_duration: no longer than what is left of the grant --------------------------
  # What is left = expires_at - max(starts_at, now), rounded DOWN to whole hours (so the value,
  # and the plan, changes at most once an hour), then clamped to AWS's 3600..43200 range. A grant
  # with less than an hour left still gets 3600 (AWS's minimum): the time-window deny below is
  # what ends the session at expires_at, whatever the session's length.
  remaining_seconds    = local.epoch["end"] - max(local.epoch["start"], local.epoch["now"])
  max_session_duration = min(43200, max(3600, floor(local.remaining_seconds / 3600) * 3600))

  # --- the time window, enforced by AWS on every request --------------------------------------
  # Expiry is exclusive (a grant has expired when expires_at <= now), hence GreaterThanEquals.
  window_statements = concat(
    [{
      Sid       = "JitctlDenyAtAndAfterExpiry"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = var.expires_at } }
    }],
    var.starts_at == null ? [] : [{
      Sid       = "JitctlDenyBeforeStart"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateLessThan = { "aws:CurrentTime" = var.starts_at } }
    }],
    # Always on: the role may not edit itself (an AdministratorAccess grant could otherwise delete
    # this very policy, or widen its trust, and outlive its window).
    [{
      Sid    = "JitctlDenySelfModification"
      Effect = "Deny"
      Action = [
        "iam:AttachRolePolicy",
        "iam:DeleteRole",
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
      ]
      Resource = local.role_arn
    }],
  )
  window_policy = { Version = "2012-10-17", Statement = local.window_statements }

  # --- trust: only this grant's principal, through the organisation's SAML provider -------------
  # saml:sub is the subject (NameID) of the assertion; SAML:aud pins the AWS sign-in endpoint.
  # The same window is repeated here so that no NEW session can be started outside it.
  trust_conditions = merge(
    {
      StringEquals = {
        "saml:sub" = var.principal
        "SAML:aud" = "https://signin.aws.amazon.com/saml"
      }
      DateLessThan = { "aws:CurrentTime" = var.expires_at }
    },
    var.starts_at == null ? {} : { DateGreaterThanEquals = { "aws:CurrentTime" = var.starts_at } },
  )
  trust_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid       = "JitctlGrantPrincipalOnly"
      Effect    = "Allow"
      Principal = { Federated = var.saml_provider_arn }
      Action    = "sts:AssumeRoleWithSAML"
      Condition = local.trust_conditions
    }]
  }

  tags = merge(
    {
      "jitctl:grant-id"   = var.grant_id
      "jitctl:principal"  = var.principal
      "jitctl:expires-at" = var.expires_at
      "jitctl:managed-by" = "jitctl"
    },
    var.starts_at == null ? {} : { "jitctl:starts-at" = var.starts_at },
  )
}
