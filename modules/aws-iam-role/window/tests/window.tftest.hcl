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
    error_message = "Without starts_at the window policy must be exactly: Deny * from expires_at on (by clock and by token issue time), no role chaining from expires_at - 1h, and the self-modification deny."
  }

  assert {
    condition = output.trust_policy_json == jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "JitctlGrantPrincipalOnly"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:saml-provider/acme-idp" }
        Action    = ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity", "sts:TagSession"]
        Condition = {
          StringEquals = { "saml:sub" = "alice@example.com" }
          StringLike   = { "SAML:aud" = ["https://signin.aws.amazon.com/saml", "https://*.signin.aws.amazon.com/saml"] }
          DateLessThan = { "aws:CurrentTime" = "2026-11-25T00:00:00Z" }
        }
      }]
    })
    error_message = "The trust policy must allow only AssumeRoleWithSAML (+ TagSession, SetSourceIdentity) from the provider, for saml:sub = principal, through a sign-in endpoint, before expires_at."
  }

  assert {
    condition     = output.role_name == "jit-alice-aws-prod-readonly-20261124t1200"
    error_message = "The role name must be jit-<grant id>."
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
    condition = [for st in jsondecode(output.window_policy_json).Statement : st if st.Sid == "JitctlDenyBeforeStart"][0] == {
      Sid       = "JitctlDenyBeforeStart"
      Effect    = "Deny"
      Action    = "*"
      Resource  = "*"
      Condition = { DateLessThan = { "aws:CurrentTime" = "2026-11-24T18:00:00Z" } }
    }
    error_message = "With starts_at, a Deny * while aws:CurrentTime < starts_at."
  }

  assert {
    condition = [for st in jsondecode(output.window_policy_json).Statement : st.Condition if st.Sid == "JitctlDenySessionsIssuedBeforeStart"] == [
      { DateLessThan = { "aws:TokenIssueTime" = "2026-11-24T18:00:00Z" } }
    ]
    error_message = "With starts_at, sessions issued before starts_at are denied by aws:TokenIssueTime."
  }

  assert {
    condition     = jsondecode(output.window_policy_json).Statement[0].Condition == { DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T19:00:00Z" } }
    error_message = "The expiry deny must use expires_at exactly."
  }

  assert {
    condition = jsondecode(output.trust_policy_json).Statement[0].Condition == {
      StringEquals          = { "saml:sub" = "carol@example.com" }
      StringLike            = { "SAML:aud" = ["https://signin.aws.amazon.com/saml", "https://*.signin.aws.amazon.com/saml"] }
      DateLessThan          = { "aws:CurrentTime" = "2026-11-24T19:00:00Z" }
      DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T18:00:00Z" }
    }
    error_message = "The trust policy must allow new sessions only inside [starts_at, expires_at)."
  }

  assert {
    condition     = output.tags["jitctl:starts-at"] == "2026-11-24T18:00:00Z"
    error_message = "A grant with starts_at must carry the jitctl:starts-at tag."
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

# --- defect 4: the partition ------------------------------------------------------------------

run "defect4_aws_partition_comes_from_the_provider_not_a_literal" {
  command = plan
  variables {
    partition         = "aws-us-gov"
    account_id        = "123456789012"
    saml_provider_arn = "arn:aws-us-gov:iam::123456789012:saml-provider/acme-idp"
  }
  assert {
    condition     = output.role_arn == "arn:aws-us-gov:iam::123456789012:role/jitctl/jit-alice-aws-prod-readonly-20261124t1200"
    error_message = "In GovCloud the role ARN must be arn:aws-us-gov:..."
  }
  assert {
    condition     = [for st in jsondecode(output.window_policy_json).Statement : st.Resource if st.Sid == "JitctlDenySelfModification"] == ["arn:aws-us-gov:iam::123456789012:role/jitctl/jit-alice-aws-prod-readonly-20261124t1200"]
    error_message = "The self-modification deny must name the role's ARN in its own partition, or it never matches."
  }
  assert {
    condition     = jsondecode(output.trust_policy_json).Statement[0].Condition.StringLike["SAML:aud"] == ["https://signin.amazonaws-us-gov.com/saml", "https://*.signin.amazonaws-us-gov.com/saml"]
    error_message = "In GovCloud SAML:aud is the GovCloud sign-in endpoint."
  }
}

run "defect4_china_partition" {
  command = plan
  variables {
    partition         = "aws-cn"
    saml_provider_arn = "arn:aws-cn:iam::123456789012:saml-provider/acme-idp"
  }
  assert {
    condition     = startswith(output.role_arn, "arn:aws-cn:iam::123456789012:role/")
    error_message = "In China the role ARN must be arn:aws-cn:..."
  }
}

run "defect4_refuses_a_saml_provider_of_another_partition" {
  command = plan
  variables {
    partition = "aws-us-gov"
  }
  expect_failures = [output.trust_policy_json]
}

# --- defect 5: minutes-long tokens --------------------------------------------------------------

run "defect5_max_session_duration_is_fixed_at_3600_whatever_is_left" {
  command = plan
  variables {
    expires_at = "2026-11-26T12:00:00Z"
  }
  assert {
    condition     = output.max_session_duration == 3600
    error_message = "The role's session length must be AWS's minimum, 3600, not sized to the grant (a 48-hour grant gave 43200)."
  }
}

run "defect5_role_chaining_is_denied_from_an_hour_before_expiry" {
  command = plan
  variables {
    starts_at  = "2026-11-24T18:00:00Z"
    expires_at = "2026-11-24T18:30:00Z"
  }
  assert {
    condition = [for st in jsondecode(output.window_policy_json).Statement : st if st.Sid == "JitctlDenyRoleChainingPastWindow"] == [{
      Sid       = "JitctlDenyRoleChainingPastWindow"
      Effect    = "Deny"
      Action    = ["sts:AssumeRole"]
      Resource  = "*"
      Condition = { DateGreaterThanEquals = { "aws:CurrentTime" = "2026-11-24T17:30:00Z" } }
    }]
    error_message = "A chained session lasts up to an hour: chaining must be denied from expires_at - 1h (here: the whole 30-minute window)."
  }
}

# --- defect 6: session attribution, sign-in endpoints, principals IAM restricts -----------------

run "defect6_trust_allows_session_tags_and_source_identity" {
  command = plan
  assert {
    condition     = toset(jsondecode(output.trust_policy_json).Statement[0].Action) == toset(["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity", "sts:TagSession"])
    error_message = "The trust policy must allow sts:TagSession and sts:SetSourceIdentity with the SAML assume, so CloudTrail ties the session to the user."
  }
  assert {
    condition     = contains(jsondecode(output.trust_policy_json).Statement[0].Condition.StringLike["SAML:aud"], "https://*.signin.aws.amazon.com/saml")
    error_message = "Regional sign-in endpoints (https://REGION.signin.aws.amazon.com/saml) must be accepted."
  }
}

run "defect6_apostrophe_principal_is_encoded_for_tags_and_description" {
  command = plan
  variables {
    principal = "o'brien@example.com"
  }
  assert {
    condition     = output.tags["jitctl:principal"] == "b64:${base64encode("o'brien@example.com")}"
    error_message = "An apostrophe is not allowed in IAM tag values: the tag must carry b64:<base64>."
  }
  assert {
    condition     = strcontains(output.description, "b64:${base64encode("o'brien@example.com")}")
    error_message = "The description must carry the encoded principal."
  }
  assert {
    condition     = jsondecode(output.trust_policy_json).Statement[0].Condition.StringEquals["saml:sub"] == "o'brien@example.com"
    error_message = "saml:sub must be the principal exactly (JSON carries the apostrophe)."
  }
}

run "defect6_non_latin1_principal_is_encoded_for_the_description" {
  command = plan
  variables {
    principal = "łukasz@example.pl"
  }
  assert {
    condition     = output.principal_label == "b64:${base64encode("łukasz@example.pl")}" && !strcontains(output.description, "ł")
    error_message = "Role descriptions allow Latin-1 only: ł must not reach the description."
  }
  assert {
    condition     = jsondecode(output.trust_policy_json).Statement[0].Condition.StringEquals["saml:sub"] == "łukasz@example.pl"
    error_message = "saml:sub must be the principal exactly."
  }
}

run "defect6_dollar_is_escaped_in_saml_sub" {
  command = plan
  variables {
    principal = "a$${aws:username}@example.com"
  }
  assert {
    condition     = jsondecode(output.trust_policy_json).Statement[0].Condition.StringEquals["saml:sub"] == "a$${$}{aws:username}@example.com"
    error_message = "A '$' must be written '$${$}' so IAM does not read a policy variable."
  }
}

run "defect6_very_long_non_ascii_principal_gets_a_digest" {
  command = plan
  variables {
    principal = "${join("", [for i in range(120) : "ł"])}@example.pl"
  }
  assert {
    condition     = startswith(output.tags["jitctl:principal"], "sha256:") && length(output.tags["jitctl:principal"]) <= 256
    error_message = "When the base64 form exceeds 256 characters the tag holds sha256:<hex>."
  }
}

run "refuses_a_control_character_in_the_principal" {
  command = plan
  variables {
    principal = "alice\u0007@example.com"
  }
  expect_failures = [var.principal]
}
