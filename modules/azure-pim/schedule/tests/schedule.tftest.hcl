# terraform test for the Azure PIM schedule logic: exact schedule times, justification, refusals.
# Run from modules/azure-pim/schedule: terraform init && terraform test

variables {
  grant_ids            = ["alice-azure-prod-contributor-20261124t1130"]
  principal            = "11111111-1111-4111-8111-111111111111"
  scope                = "/subscriptions/00000000-0000-4000-8000-000000000000"
  role_definition_name = "Contributor"
  starts_at            = null
  expires_at           = "2026-11-24T15:30:00Z"
  reason               = "CHG-77: rotate storage keys"
  ticket               = "CHG-77"
}

run "schedule_starts_when_applied_without_starts_at" {
  command = plan

  assert {
    condition     = output.schedule.start_date_time == null && output.schedule.end_date_time == "2026-11-24T15:30:00Z"
    error_message = "Without starts_at the schedule must start when applied (null) and end exactly at expires_at."
  }
  assert {
    condition     = output.justification == "jitctl grant alice-azure-prod-contributor-20261124t1130: CHG-77: rotate storage keys"
    error_message = "The justification must be 'jitctl grant <id>: <reason>'."
  }
  assert {
    condition     = output.ticket == { number = "CHG-77", system = "jitctl" }
    error_message = "The ticket must be recorded with system jitctl."
  }
}

run "schedule_with_starts_at" {
  command = plan
  variables {
    starts_at  = "2026-11-24T18:00:00Z"
    expires_at = "2026-11-24T22:00:00Z"
    ticket     = null
    reason     = ""
  }
  assert {
    condition     = output.schedule == { start_date_time = "2026-11-24T18:00:00Z", end_date_time = "2026-11-24T22:00:00Z" }
    error_message = "With starts_at the schedule must be exactly [starts_at, expires_at]."
  }
  assert {
    condition     = output.justification == "jitctl grant alice-azure-prod-contributor-20261124t1130" && output.ticket == null
    error_message = "Without reason and ticket: justification is 'jitctl grant <id>' and no ticket."
  }
}

run "principal_id_is_lower_cased" {
  command = plan
  variables {
    principal = "ABCDEF01-1111-4111-8111-111111111111"
  }
  assert {
    condition     = output.principal_id == "abcdef01-1111-4111-8111-111111111111"
    error_message = "The object id must be lower-cased."
  }
}

run "accepts_a_management_group_scope" {
  command = plan
  variables {
    scope = "/providers/Microsoft.Management/managementGroups/acme-prod"
  }
  assert {
    condition     = output.scope == "/providers/Microsoft.Management/managementGroups/acme-prod"
    error_message = "A management group scope must be accepted."
  }
}

run "refuses_an_email_principal" {
  command = plan
  variables {
    principal = "alice@example.com"
  }
  expect_failures = [var.principal]
}

run "refuses_a_scope_that_is_not_an_azure_id" {
  command = plan
  variables {
    scope = "subscriptions/prod"
  }
  expect_failures = [var.scope]
}

run "refuses_an_empty_role_name" {
  command = plan
  variables {
    role_definition_name = " "
  }
  expect_failures = [var.role_definition_name]
}

run "refuses_a_time_with_an_offset" {
  command = plan
  variables {
    expires_at = "2026-11-24T17:30:00+02:00"
  }
  expect_failures = [var.expires_at]
}

run "refuses_start_not_before_expiry" {
  command = plan
  variables {
    starts_at = "2026-11-24T15:30:00Z"
  }
  expect_failures = [output.schedule]
}

run "defect1_one_assignment_serves_several_grants" {
  command = plan
  variables {
    grant_ids = ["b-grant", "a-grant"]
    reason    = ""
  }
  assert {
    condition     = output.justification == "jitctl grants a-grant, b-grant"
    error_message = "An assignment serving two grants must name both in its justification."
  }
}

run "refuses_no_grant_ids" {
  command = plan
  variables {
    grant_ids = []
  }
  expect_failures = [var.grant_ids]
}
