locals {
  # --- role name: deterministic from the grant id, at most 64 characters (IAM's limit) ---------
  full_name = "${var.role_name_prefix}${var.grant_id}"
  # When too long: keep a readable head and add 8 hex characters of sha256(grant_id), so that two
  # long grant ids with the same head still get different roles.
  role_name = length(local.full_name) <= 64 ? local.full_name : "${substr(local.full_name, 0, 55)}-${substr(sha256(var.grant_id), 0, 8)}"
  # The partition (aws, aws-us-gov, aws-cn) comes from the caller (the parent module reads it from
  # the provider's aws_partition): a hard-coded arn:aws: would never match in GovCloud or China.
  role_arn = "arn:${var.partition}:iam::${var.account_id}:role${var.role_path}${local.role_name}"

  # --- max_session_duration: fixed at AWS's minimum ---------------------------------------------
  # Never sized to the grant: a constant keeps the plan still (no hourly re-plan of every role), and
  # the window below, not the session length, is what ends access. One hour is the shortest AWS
  # allows; a session issued a minute before expires_at still loses every right at expires_at.
  max_session_duration = 3600

  # Role chaining (sts:AssumeRole from this role's session) gives a session on another role that
  # this role's window cannot reach, of at most one hour (AWS caps chained sessions at 1 h). So
  # chaining is denied from expires_at - 1h on: any chained session ends by expires_at.
  chaining_cutoff = timeadd(var.expires_at, "-1h")

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
    # Sessions are bounded by the window on both ends by when they were issued, too: a token
    # issued before starts_at or at/after expires_at is worthless, whatever the clock says later.
    # This is AWS's own "revoke active sessions" form (Deny * on aws:TokenIssueTime), kept in place.
    [{
      Sid       = "JitctlDenySessionsIssuedOutsideWindow"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateGreaterThanEquals = { "aws:TokenIssueTime" = var.expires_at } }
    }],
    var.starts_at == null ? [] : [{
      Sid       = "JitctlDenySessionsIssuedBeforeStart"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateLessThan = { "aws:TokenIssueTime" = var.starts_at } }
    }],
    [{
      Sid       = "JitctlDenyRoleChainingPastWindow"
      Effect    = "Deny"
      Action    = ["sts:AssumeRole"]
      Resource  = "*"
      Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = local.chaining_cutoff } }
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
  # saml:sub is the subject (NameID) of the assertion, compared with StringEquals (so '*' and '?'
  # are literal); '$' is written '${$}' because IAM reads "${...}" as a policy variable.
  saml_sub = replace(var.principal, "$", "$${$}")
  # SAML:aud is the sign-in endpoint that received the assertion: the global one, a regional one
  # (https://REGION.signin.aws.amazon.com/saml), or the partition's own in GovCloud and China.
  saml_audiences = {
    "aws"        = ["https://signin.aws.amazon.com/saml", "https://*.signin.aws.amazon.com/saml"]
    "aws-us-gov" = ["https://signin.amazonaws-us-gov.com/saml", "https://*.signin.amazonaws-us-gov.com/saml"]
    "aws-cn"     = ["https://signin.amazonaws.cn/saml", "https://*.signin.amazonaws.cn/saml"]
  }
  # The same window is repeated here so that no NEW session can be started outside it.
  trust_conditions = merge(
    {
      StringEquals = { "saml:sub" = local.saml_sub }
      StringLike   = { "SAML:aud" = lookup(local.saml_audiences, var.partition, local.saml_audiences["aws"]) }
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
      # sts:TagSession and sts:SetSourceIdentity let the IdP's session tags and source identity
      # through, so CloudTrail ties every call of the session to the user and the grant.
      Action    = ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity", "sts:TagSession"]
      Condition = local.trust_conditions
    }]
  }

  # --- the principal where IAM restricts characters ---------------------------------------------
  # Tag values allow letters, digits, spaces and _.:/=+-@ (at most 256); role descriptions allow
  # printable Latin-1 only. An e-mail such as o'brien@example.com or łukasz@example.pl fits neither,
  # and IAM would refuse the role at apply. Such a principal is written "b64:" + base64(UTF-8),
  # which both accept; one whose base64 exceeds 256 characters is written "sha256:" + its digest.
  principal_is_plain = can(regex("^[A-Za-z0-9_.:/=+@-]{1,256}$", var.principal))
  principal_b64      = "b64:${base64encode(var.principal)}"
  principal_label    = local.principal_is_plain ? var.principal : (length(local.principal_b64) <= 256 ? local.principal_b64 : "sha256:${sha256(var.principal)}")

  description = "jitctl grant ${var.grant_id} for ${local.principal_label}, until ${var.expires_at}"

  tags = merge(
    {
      "jitctl:grant-id"   = var.grant_id
      "jitctl:principal"  = local.principal_label
      "jitctl:expires-at" = var.expires_at
      "jitctl:managed-by" = "jitctl"
    },
    var.starts_at == null ? {} : { "jitctl:starts-at" = var.starts_at },
  )
}
