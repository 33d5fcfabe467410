locals {
  # --- the permission set: one per grant ------------------------------------------------------
  # A permission set's inline policy is shared by every assignment of it, so the grant's own
  # window needs a permission set of its own. Names are at most 32 characters of [\w+=,.@-]:
  # jit-<grant id> when it fits, else a readable head and 8 hex of sha256(grant id).
  full_name = "jit-${var.grant_id}"
  name      = length(local.full_name) <= 32 ? local.full_name : "${substr(local.full_name, 0, 23)}-${substr(sha256(var.grant_id), 0, 8)}"

  # The principal: a user name, or group:<display name>.
  is_group       = startswith(var.principal, "group:")
  principal_type = local.is_group ? "GROUP" : "USER"
  principal_name = local.is_group ? substr(var.principal, 6, -1) : var.principal

  # Descriptions allow printable Latin-1 (at most 700): the grant id and window only, never the
  # principal (which may hold any character).
  description = "jitctl grant ${var.grant_id}, ${var.starts_at == null ? "from apply" : "from ${var.starts_at}"} until ${var.expires_at}"

  # AWS's minimum session for a permission set, as for IAM roles: the window ends access.
  session_duration = "PT1H"

  # --- the window, enforced by AWS on every request (the same denies as modules/aws-iam-role) ---
  statements = concat(
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
      Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = timeadd(var.expires_at, "-1h") } }
    }],
  )
  inline_policy = { Version = "2012-10-17", Statement = local.statements }

  tags = merge(
    {
      "jitctl:grant-id"   = var.grant_id
      "jitctl:expires-at" = var.expires_at
      "jitctl:managed-by" = "jitctl"
    },
    var.starts_at == null ? {} : { "jitctl:starts-at" = var.starts_at },
  )
}
