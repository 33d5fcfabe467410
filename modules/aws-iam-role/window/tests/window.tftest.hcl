# terraform test for the AWS window logic: exact policy JSON, clamping, names, refusals.
# Run from modules/aws-iam-role/window: terraform init && terraform test

variables {
  grant_id          = "alice-aws-prod-readonly-20261124t1200"
  principal         = "alice@example.com"
  account_id        = "123456789012"
  policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
  saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
  starts_at         = null
  expires_at        = "2026-11-25T00:00:00Z"
  now               = "2026-11-24T12:00:00Z"
}

run "open_start_window_policy_is_exact" {
  command = plan

  assert {
    condition = output.window_policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "JitctlDenyAtAndAfterExpiry"
          Effect    = "Deny"
          Action    = "*"
          Resource  = "*"
          Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-25T00:00:00Z" } }
        },
        {
          Sid    = "JitctlDenySelfModification"
          Effect = "Deny"
          Action = [
            "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:TagRole",
            "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
          ]
          Resource = "arn:aws:iam::123456789012:role/jitctl/jit-alice-aws-prod-readonly-20261124t1200"
        },
      ]
    })
    error_message = "Without starts_at the window policy must be exactly: Deny * from expires_at on, and the self-modification deny."
  }

  assert {
    condition     = jsondecode(output.window_policy_json).Statement[0].Condition.DateGreaterThanEquals["aws:CurrentTime"] == "2026-11-25T00:00:00Z"
    error_message = "The expiry deny must start exactly at expires_at."
  }

  assert {
    condition = output.trust_policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "JitctlGrantPrincipalOnly"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:saml-provider/acme-idp" }
        Action    = "sts:AssumeRoleWithSAML"
        Condition = {
          StringEquals = { "saml:sub" = "alice@example.com", "SAML:aud" = "https://signin.aws.amazon.com/saml" }
          DateLessThan = { "aws:CurrentTime" = "2026-11-25T00:00:00Z" }
        }
      }]
    })
    error_message = "The trust policy must allow only AssumeRoleWithSAML from the provider, for saml:sub = principal, before expires_at."
  }

  assert {
    condition     = output.role_name == "jit-alice-aws-prod-readonly-20261124t1200"
    error_message = "The role name must be jit-<grant id>."
  }

  assert {
    condition     = output.max_session_duration == 43200
    error_message = "12 hours left must give 43200 seconds."
  }

  assert {
    condition = output.tags == {
      "jitctl:grant-id"   = "alice-aws-prod-readonly-20261124t1200"
      "jitctl:principal"  = "alice@example.com"
      "jitctl:expires-at" = "2026-11-25T00:00:00Z"
      "jitctl:managed-by" = "jitctl"
    }
    error_message = "Tags must carry grant id, principal and expires_at."
  }

  assert {
    condition     = output.window.start == null && output.window.end == "2026-11-25T00:00:00Z"
    error_message = "The window must be (null, expires_at)."
  }
}

run "bounded_window_denies_before_start_and_from_expiry" {
  command = plan

  variables {
    grant_id   = "carol-aws-prod-admin-20261124t1800"
    principal  = "carol@example.com"
    starts_at  = "2026-11-24T18:00:00Z"
    expires_at = "2026-11-24T19:00:00Z"
  }

  assert {
    condition = jsondecode(output.window_policy_json).Statement[1] == {
      Sid       = "JitctlDenyBeforeStart"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateLessThan = { "aws:CurrentTime" = "2026-11-24T18:00:00Z" } }
    }
    error_message = "With starts_at, a Deny * while aws:CurrentTime < starts_at must follow the expiry deny."
  }

  assert {
    condition     = jsondecode(output.window_policy_json).Statement[0].Condition == { DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T19:00:00Z" } }
    error_message = "The expiry deny must use expires_at exactly."
  }

  assert {
    condition = jsondecode(output.trust_policy_json).Statement[0].Condition == {
      StringEquals          = { "saml:sub" = "carol@example.com", "SAML:aud" = "https://signin.aws.amazon.com/saml" }
      DateLessThan          = { "aws:CurrentTime" = "2026-11-24T19:00:00Z" }
      DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T18:00:00Z" }
    }
    error_message = "The trust policy must allow new sessions only inside [starts_at, expires_at)."
  }

  assert {
    condition     = output.max_session_duration == 3600
    error_message = "A pending 1-hour grant must get 3600 seconds (measured from starts_at, not now)."
  }

  assert {
    condition     = output.tags["jitctl:starts-at"] == "2026-11-24T18:00:00Z"
    error_message = "A grant with starts_at must carry the jitctl:starts-at tag."
  }
}

run "session_shorter_than_an_hour_is_clamped_up_to_3600" {
  command = plan
  variables {
    expires_at = "2026-11-24T12:30:00Z"
  }
  assert {
    condition     = output.max_session_duration == 3600
    error_message = "30 minutes left must clamp to AWS's minimum, 3600."
  }
}

run "long_grant_is_clamped_down_to_43200" {
  command = plan
  variables {
    expires_at = "2026-11-26T12:00:00Z"
  }
  assert {
    condition     = output.max_session_duration == 43200
    error_message = "48 hours left must clamp to AWS's maximum, 43200."
  }
}

run "remaining_time_is_rounded_down_to_whole_hours_across_a_year_end" {
  command = plan
  variables {
    now        = "2026-12-31T22:00:00Z"
    expires_at = "2027-01-01T03:30:00Z"
  }
  assert {
    condition     = output.max_session_duration == 18000
    error_message = "5h30m left over a year boundary must give 18000 (5 whole hours)."
  }
}

run "remaining_time_across_a_leap_day" {
  command = plan
  variables {
    now        = "2028-02-28T20:00:00Z"
    starts_at  = "2028-02-28T21:00:00Z"
    expires_at = "2028-02-29T05:59:59Z"
  }
  assert {
    condition     = output.max_session_duration == 28800
    error_message = "From 2028-02-28T21:00 to 2028-02-29T05:59:59 (8h59m59s) must give 28800."
  }
}

run "started_grant_counts_from_now_not_from_start" {
  command = plan
  variables {
    starts_at  = "2026-11-24T08:00:00Z"
    expires_at = "2026-11-24T15:00:00Z"
  }
  assert {
    condition     = output.max_session_duration == 10800
    error_message = "A grant started at 08:00 with 3 hours left at 12:00 must give 10800."
  }
}

run "long_grant_id_gives_a_64_character_hash_suffixed_name" {
  command = plan
  variables {
    grant_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aws-prod-readonly-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  }
  assert {
    condition     = output.role_name == "jit-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aws-prod-r-94f54163"
    error_message = "A long grant id must give the first 55 characters + '-' + 8 hex of sha256(grant id)."
  }
  assert {
    condition     = length(output.role_name) == 64
    error_message = "IAM role names are at most 64 characters."
  }
}

run "refuses_a_short_account_id" {
  command = plan
  variables {
    account_id = "12345"
  }
  expect_failures = [var.account_id]
}

run "refuses_a_time_with_an_offset" {
  command = plan
  variables {
    expires_at = "2026-11-25T02:00:00+02:00"
  }
  expect_failures = [var.expires_at]
}

run "refuses_no_policies" {
  command = plan
  variables {
    policy_arns = []
  }
  expect_failures = [var.policy_arns]
}

run "refuses_a_non_policy_arn" {
  command = plan
  variables {
    policy_arns = ["arn:aws:iam::123456789012:role/Admin"]
  }
  expect_failures = [var.policy_arns]
}

run "refuses_a_wildcard_principal" {
  command = plan
  variables {
    principal = "*@example.com"
  }
  expect_failures = [var.principal]
}

run "refuses_a_bad_saml_provider" {
  command = plan
  variables {
    saml_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
  expect_failures = [var.saml_provider_arn]
}

run "refuses_start_not_before_expiry" {
  command = plan
  variables {
    starts_at  = "2026-11-25T00:00:00Z"
    expires_at = "2026-11-25T00:00:00Z"
  }
  expect_failures = [output.trust_policy_json]
}
