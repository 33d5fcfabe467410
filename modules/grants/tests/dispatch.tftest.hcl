# terraform test for the dispatcher: which grant reaches which module, with which window, and that
# an expired grant never reaches any module. Run from modules/grants: terraform init && terraform test

variables {
  now = "2026-11-24T12:00:00Z"
  grants = {
    "alice-aws-prod-readonly-20261124t1200" = {
      principal   = "alice@example.com"
      entitlement = "aws-prod-readonly"
      module      = "aws-iam-role"
      target = {
        account_id        = "123456789012"
        policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
      }
      starts_at  = null
      expires_at = "2026-11-25T00:00:00Z"
      reason     = "INC-1234: 5xx spike in checkout"
      ticket     = "INC-1234"
    }
    "alice-aws-prod-readonly-20261124t0600" = {
      principal   = "alice@example.com"
      entitlement = "aws-prod-readonly"
      module      = "aws-iam-role"
      target = {
        account_id        = "123456789012"
        policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
      }
      starts_at  = null
      expires_at = "2026-11-24T11:59:59Z"
      reason     = "expired one second ago"
      ticket     = null
    }
    "bob-gcp-prod-logs-viewer-20261124t1100" = {
      principal   = "bob@example.com"
      entitlement = "gcp-prod-logs-viewer"
      module      = "gcp-iam"
      target      = { project = "acme-prod", role = "roles/logging.viewer" }
      starts_at   = "2026-11-24T11:00:00Z"
      expires_at  = "2026-11-24T19:30:00Z"
      reason      = "Investigate log volume"
      ticket      = null
    }
    "dave-gcp-prod-logs-viewer-20261123t0900" = {
      principal   = "dave@example.com"
      entitlement = "gcp-prod-logs-viewer"
      module      = "gcp-iam"
      target      = { project = "acme-prod", role = "roles/logging.viewer" }
      starts_at   = null
      expires_at  = "2026-11-24T12:00:00Z"
      reason      = "expires exactly at now: expired"
      ticket      = null
    }
    "alice-azure-prod-contributor-20261124t1130" = {
      principal   = "11111111-1111-4111-8111-111111111111"
      entitlement = "azure-prod-contributor"
      module      = "azure-pim"
      target = {
        scope                = "/subscriptions/00000000-0000-4000-8000-000000000000"
        role_definition_name = "Contributor"
      }
      starts_at  = "2026-11-24T18:00:00Z"
      expires_at = "2026-11-24T22:00:00Z"
      reason     = "CHG-77: rotate storage keys"
      ticket     = "CHG-77"
    }
  }
}

run "dispatches_live_grants_and_drops_expired_ones" {
  command = plan

  assert {
    condition     = keys(output.aws_iam_role) == ["alice-aws-prod-readonly-20261124t1200"]
    error_message = "Only the live AWS grant may reach aws-iam-role; the one that expired a second ago must not."
  }
  assert {
    condition     = keys(output.gcp_iam) == ["bob-gcp-prod-logs-viewer-20261124t1100"]
    error_message = "Only the live GCP grant may reach gcp-iam; the one expiring exactly at now has expired."
  }
  assert {
    condition     = flatten([for a in values(output.azure_pim) : a.grant_ids]) == ["alice-azure-prod-contributor-20261124t1130"]
    error_message = "The pending Azure grant must reach azure-pim."
  }
  assert {
    condition     = output.expired == tolist(["alice-aws-prod-readonly-20261124t0600", "dave-gcp-prod-logs-viewer-20261123t0900"])
    error_message = "Both expired grants must be reported as dropped."
  }
  assert {
    condition     = output.pending == tolist(["alice-azure-prod-contributor-20261124t1130"])
    error_message = "The Azure grant starting at 18:00 is pending at 12:00."
  }
  assert {
    condition     = output.summary == { aws_iam_role = 1, aws_identity_center = 0, gcp_iam = 1, azure_pim = 1, pending = 1, expired = 2 }
    error_message = "Summary counts are wrong."
  }
}

run "each_module_gets_the_exact_window" {
  command = plan

  assert {
    condition     = output.aws_iam_role["alice-aws-prod-readonly-20261124t1200"].window.start == null && output.aws_iam_role["alice-aws-prod-readonly-20261124t1200"].window.end == "2026-11-25T00:00:00Z"
    error_message = "AWS window must be (null, 2026-11-25T00:00:00Z)."
  }
  assert {
    condition     = output.aws_iam_role["alice-aws-prod-readonly-20261124t1200"].role_name == "jit-alice-aws-prod-readonly-20261124t1200"
    error_message = "AWS role name must come from the grant id."
  }
  assert {
    condition     = output.aws_iam_role["alice-aws-prod-readonly-20261124t1200"].max_session_duration == 3600
    error_message = "AWS max_session_duration is always 3600: the window, not the session length, ends access."
  }
  assert {
    condition     = output.gcp_iam["bob-gcp-prod-logs-viewer-20261124t1100"].condition.expression == "request.time >= timestamp(\"2026-11-24T11:00:00Z\") && request.time < timestamp(\"2026-11-24T19:30:00Z\")"
    error_message = "GCP condition must bound request.time by the grant's window."
  }
  assert {
    condition     = output.gcp_iam["bob-gcp-prod-logs-viewer-20261124t1100"].member == "user:bob@example.com"
    error_message = "GCP member must be user:<e-mail>."
  }
  assert {
    condition     = one(values(output.azure_pim)).schedule == { start_date_time = "2026-11-24T18:00:00Z", end_date_time = "2026-11-24T22:00:00Z" }
    error_message = "Azure schedule must be exactly the grant's window."
  }
}

run "two_grants_for_the_same_principal_and_entitlement_stay_separate" {
  command = plan

  variables {
    grants = {
      "alice-aws-prod-readonly-a" = {
        principal   = "alice@example.com"
        entitlement = "aws-prod-readonly"
        module      = "aws-iam-role"
        target = {
          account_id        = "123456789012"
          policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
          saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
        }
        starts_at  = null
        expires_at = "2026-11-24T14:00:00Z"
      }
      "alice-aws-prod-readonly-b" = {
        principal   = "alice@example.com"
        entitlement = "aws-prod-readonly"
        module      = "aws-iam-role"
        target = {
          account_id        = "123456789012"
          policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
          saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
        }
        starts_at  = "2026-11-24T16:00:00Z"
        expires_at = "2026-11-24T18:00:00Z"
      }
    }
  }

  assert {
    condition     = length(distinct([for g in values(output.aws_iam_role) : g.role_name])) == 2
    error_message = "Two grants must give two roles."
  }
  assert {
    condition     = output.aws_iam_role["alice-aws-prod-readonly-b"].window.start == "2026-11-24T16:00:00Z" && output.aws_iam_role["alice-aws-prod-readonly-a"].window.end == "2026-11-24T14:00:00Z"
    error_message = "Each grant keeps its own window; the gap 14:00..16:00 is not filled."
  }
}

run "everything_expired_reaches_no_module" {
  command = plan

  variables {
    now = "2026-11-26T00:00:00Z"
  }

  assert {
    condition     = length(output.aws_iam_role) == 0 && length(output.gcp_iam) == 0 && length(output.azure_pim) == 0
    error_message = "At a now after every expires_at, no grant may reach any module."
  }
  assert {
    condition     = length(output.expired) == 5
    error_message = "All five grants must be reported as dropped."
  }
}

run "refuses_an_unknown_module" {
  command = plan
  variables {
    grants = {
      "x-1" = {
        principal   = "x@example.com"
        entitlement = "e"
        module      = "aws-iam-user"
        target      = {}
        expires_at  = "2026-11-25T00:00:00Z"
      }
    }
  }
  expect_failures = [var.grants]
}

run "refuses_an_aws_target_without_saml_provider" {
  command = plan
  variables {
    grants = {
      "x-1" = {
        principal   = "x@example.com"
        entitlement = "e"
        module      = "aws-iam-role"
        target      = { account_id = "123456789012", policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }
        expires_at  = "2026-11-25T00:00:00Z"
      }
    }
  }
  expect_failures = [var.grants]
}

run "refuses_a_bad_grant_id" {
  command = plan
  variables {
    grants = {
      "../etc" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "e"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Reader" }
        expires_at  = "2026-11-25T00:00:00Z"
      }
    }
  }
  expect_failures = [var.grants]
}

run "refuses_a_time_with_an_offset" {
  command = plan
  variables {
    now = "2026-11-24T12:00:00+01:00"
  }
  expect_failures = [var.now]
}

# --- defect 1: Azure keeps one PIM assignment per principal, role and scope ---------------------

run "defect1_azure_pim_overlapping_grants_become_one_assignment_with_the_union_window" {
  command = plan
  variables {
    grants = {
      "alice-az-a" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = null
        expires_at  = "2026-11-24T14:00:00Z"
      }
      "alice-az-b" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = "2026-11-24T13:00:00Z"
        expires_at  = "2026-11-24T18:00:00Z"
      }
    }
  }
  assert {
    condition     = length(output.azure_pim) == 1
    error_message = "Two grants of one principal, role and scope must give ONE assignment (Azure's id is scope|role|principal)."
  }
  assert {
    condition     = one(values(output.azure_pim)).grant_ids == tolist(["alice-az-a", "alice-az-b"])
    error_message = "The assignment must serve both grants."
  }
  assert {
    condition     = one(values(output.azure_pim)).schedule.start_date_time == null && one(values(output.azure_pim)).schedule.end_date_time == "2026-11-24T18:00:00Z"
    error_message = "The window is the union: started (null start) until the later end."
  }
  assert {
    condition     = output.summary.azure_pim == 2
    error_message = "The summary counts grants, not assignments."
  }
}

run "defect1_azure_pim_pending_grants_that_touch_share_the_assignment" {
  command = plan
  variables {
    grants = {
      "alice-az-a" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = "2026-11-24T14:00:00Z"
        expires_at  = "2026-11-24T16:00:00Z"
      }
      "alice-az-b" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = "2026-11-24T16:00:00Z"
        expires_at  = "2026-11-24T18:00:00Z"
      }
    }
  }
  assert {
    condition     = one(values(output.azure_pim)).schedule == { start_date_time = "2026-11-24T14:00:00Z", end_date_time = "2026-11-24T18:00:00Z" }
    error_message = "Two pending grants that touch give one schedule from the earlier start to the later end."
  }
}

run "defect1_azure_pim_key_ignores_case" {
  command = plan
  variables {
    grants = {
      "alice-az-a" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = null
        expires_at  = "2026-11-24T14:00:00Z"
      }
      "alice-az-b" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor-2"
        module      = "azure-pim"
        target      = { scope = "/SUBSCRIPTIONS/00000000-0000-4000-8000-000000000000", role_definition_name = "contributor" }
        expires_at  = "2026-11-24T15:00:00Z"
      }
    }
  }
  assert {
    condition     = length(output.azure_pim) == 1
    error_message = "Azure ids are case-insensitive: the same scope and role in another case are the same assignment."
  }
}

run "defect1_azure_pim_grants_with_a_gap_are_refused" {
  command = plan
  variables {
    grants = {
      "alice-az-a" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = null
        expires_at  = "2026-11-24T14:00:00Z"
      }
      "alice-az-b" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = "2026-11-24T16:00:00Z"
        expires_at  = "2026-11-24T18:00:00Z"
      }
    }
  }
  expect_failures = [output.azure_pim]
}

run "defect1_azure_pim_other_principals_stay_separate" {
  command = plan
  variables {
    grants = {
      "alice-az-a" = {
        principal   = "11111111-1111-4111-8111-111111111111"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        starts_at   = null
        expires_at  = "2026-11-24T14:00:00Z"
      }
      "bob-az" = {
        principal   = "22222222-2222-4222-8222-222222222222"
        entitlement = "azure-prod-contributor"
        module      = "azure-pim"
        target      = { scope = "/subscriptions/00000000-0000-4000-8000-000000000000", role_definition_name = "Contributor" }
        expires_at  = "2026-11-24T15:00:00Z"
      }
    }
  }
  assert {
    condition     = length(output.azure_pim) == 2
    error_message = "Different principals are different assignments."
  }
}

run "defect4_partition_is_read_from_the_saml_provider_arn" {
  command = plan
  variables {
    grants = {
      "gov-1" = {
        principal   = "alice@example.com"
        entitlement = "aws-gov-readonly"
        module      = "aws-iam-role"
        target = {
          account_id        = "123456789012"
          policy_arns       = ["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"]
          saml_provider_arn = "arn:aws-us-gov:iam::123456789012:saml-provider/acme-idp"
        }
        expires_at = "2026-11-25T00:00:00Z"
      }
    }
  }
  assert {
    condition     = output.aws_iam_role["gov-1"].role_arn == "arn:aws-us-gov:iam::123456789012:role/jitctl/jit-gov-1"
    error_message = "A GovCloud grant's role ARN must be in aws-us-gov."
  }
}

# --- AWS IAM Identity Center ---------------------------------------------------------------------

run "identity_center_grants_reach_their_module_and_count_against_quotas" {
  command = plan
  variables {
    grants = {
      "alice-sso-1" = {
        principal   = "alice@example.com"
        entitlement = "aws-sso-readonly"
        module      = "aws-identity-center"
        target = {
          account_id   = "123456789012"
          instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
          policy_arns  = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        }
        expires_at = "2026-11-24T14:00:00Z"
      }
      "alice-role-1" = {
        principal   = "alice@example.com"
        entitlement = "aws-prod-readonly"
        module      = "aws-iam-role"
        target = {
          account_id        = "123456789012"
          policy_arns       = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
          saml_provider_arn = "arn:aws:iam::123456789012:saml-provider/acme-idp"
        }
        expires_at = "2026-11-24T14:00:00Z"
      }
    }
  }
  assert {
    condition     = keys(output.aws_identity_center) == ["alice-sso-1"] && output.aws_identity_center["alice-sso-1"].session_duration == "PT1H"
    error_message = "The Identity Center grant must reach aws-identity-center with a one-hour session."
  }
  assert {
    condition     = output.aws_quota_usage.roles_per_account == { "123456789012" = 2 } && output.aws_quota_usage.permission_sets_per_instance == { "arn:aws:sso:::instance/ssoins-1234567890abcdef" = 1 }
    error_message = "Both grants use a role in the account (Identity Center provisions one per permission set); the permission set counts against the instance."
  }
}

run "refuses_an_identity_center_target_without_instance_arn" {
  command = plan
  variables {
    grants = {
      "x-1" = {
        principal   = "x@example.com"
        entitlement = "e"
        module      = "aws-identity-center"
        target      = { account_id = "123456789012", policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }
        expires_at  = "2026-11-25T00:00:00Z"
      }
    }
  }
  expect_failures = [var.grants]
}
