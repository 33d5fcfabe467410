# terraform test for the Identity Center window logic: name, session, exact policy, refusals.
# Run from modules/aws-identity-center/window: terraform init && terraform test

variables {
  grant_id     = "alice-aws-sso-readonly-20261124t1200"
  principal    = "alice@example.com"
  account_id   = "123456789012"
  instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
  policy_arns  = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
  starts_at    = null
  expires_at   = "2026-11-25T00:00:00Z"
}

run "open_start_policy_and_settings_are_exact" {
  command = plan

  assert {
    condition = output.inline_policy_json == jsonencode({
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
          Sid       = "JitctlDenySessionsIssuedOutsideWindow"
          Effect    = "Deny"
          Action    = "*"
          Resource  = "*"
          Condition = { DateGreaterThanEquals = { "aws:TokenIssueTime" = "2026-11-25T00:00:00Z" } }
        },
        {
          Sid       = "JitctlDenyRoleChainingPastWindow"
          Effect    = "Deny"
          Action    = ["sts:AssumeRole"]
          Resource  = "*"
          Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T23:00:00Z" } }
        },
      ]
    })
    error_message = "The permission set's inline policy must deny everything from expires_at on (by clock and token issue time) and role chaining from expires_at - 1h."
  }
  assert {
    condition     = output.session_duration == "PT1H"
    error_message = "Sessions are one hour, AWS's minimum: the window ends access."
  }
  assert {
    condition     = output.principal_type == "USER" && output.principal_name == "alice@example.com"
    error_message = "A plain principal is a user name."
  }
}

run "long_grant_id_gives_a_32_character_hash_suffixed_name" {
  command = plan
  assert {
    condition     = output.name == "jit-alice-aws-sso-reado-${substr(sha256("alice-aws-sso-readonly-20261124t1200"), 0, 8)}" && length(output.name) == 32
    error_message = "A long grant id must give the first 23 characters + '-' + 8 hex of sha256(grant id): 32 characters."
  }
}

run "short_grant_id_is_kept" {
  command = plan
  variables {
    grant_id = "bob-ro-1"
  }
  assert {
    condition     = output.name == "jit-bob-ro-1"
    error_message = "A short grant id gives jit-<grant id>."
  }
}

run "bounded_window_and_group_principal" {
  command = plan
  variables {
    principal  = "group:SRE On-Call"
    starts_at  = "2026-11-24T18:00:00Z"
    expires_at = "2026-11-24T19:00:00Z"
  }
  assert {
    condition     = output.principal_type == "GROUP" && output.principal_name == "SRE On-Call"
    error_message = "group:<display name> is a group."
  }
  assert {
    condition = [for st in jsondecode(output.inline_policy_json).Statement : st.Condition if contains(["JitctlDenyBeforeStart", "JitctlDenySessionsIssuedBeforeStart"], st.Sid)] == [
      { DateLessThan = { "aws:CurrentTime" = "2026-11-24T18:00:00Z" } },
      { DateLessThan = { "aws:TokenIssueTime" = "2026-11-24T18:00:00Z" } },
    ]
    error_message = "With starts_at, requests and tokens before it are denied."
  }
  assert {
    condition     = output.description == "jitctl grant alice-aws-sso-readonly-20261124t1200, from 2026-11-24T18:00:00Z until 2026-11-24T19:00:00Z"
    error_message = "The description names the grant and its window."
  }
}

run "refuses_a_customer_managed_policy" {
  command = plan
  variables {
    policy_arns = ["arn:aws:iam::123456789012:policy/Mine"]
  }
  expect_failures = [var.policy_arns]
}

run "refuses_a_bad_instance_arn" {
  command = plan
  variables {
    instance_arn = "arn:aws:iam::123456789012:role/x"
  }
  expect_failures = [var.instance_arn]
}

run "refuses_start_not_before_expiry" {
  command = plan
  variables {
    starts_at = "2026-11-25T00:00:00Z"
  }
  expect_failures = [output.inline_policy_json]
}
