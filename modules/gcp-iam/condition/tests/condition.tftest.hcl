# terraform test for the GCP condition logic: exact CEL, member prefixes, refusals.
# Run from modules/gcp-iam/condition: terraform init && terraform test

variables {
  grant_id   = "bob-gcp-prod-logs-viewer-20261124t1100"
  principal  = "bob@example.com"
  project    = "acme-prod"
  role       = "roles/logging.viewer"
  starts_at  = null
  expires_at = "2026-11-24T19:30:00Z"
}

run "upper_bound_only_without_starts_at" {
  command = plan

  assert {
    condition     = output.condition.expression == "request.time < timestamp(\"2026-11-24T19:30:00Z\")"
    error_message = "Without starts_at the CEL condition must be exactly: request.time < timestamp(\"<expires_at>\")."
  }
  assert {
    condition     = output.condition.title == "jitctl bob-gcp-prod-logs-viewer-20261124t1100"
    error_message = "The condition title must be 'jitctl <grant id>'."
  }
  assert {
    condition     = output.member == "user:bob@example.com"
    error_message = "An e-mail principal must become user:<e-mail>."
  }
  assert {
    condition     = output.window.start == null && output.window.end == "2026-11-24T19:30:00Z"
    error_message = "The window must be (null, expires_at)."
  }
}

run "both_bounds_with_starts_at" {
  command = plan
  variables {
    starts_at = "2026-11-24T11:00:00Z"
  }
  assert {
    condition     = output.condition.expression == "request.time >= timestamp(\"2026-11-24T11:00:00Z\") && request.time < timestamp(\"2026-11-24T19:30:00Z\")"
    error_message = "With starts_at the CEL condition must be exactly: request.time >= timestamp(start) && request.time < timestamp(end)."
  }
  assert {
    condition     = output.condition.description == "jitctl grant bob-gcp-prod-logs-viewer-20261124t1100 for user:bob@example.com, from 2026-11-24T11:00:00Z until 2026-11-24T19:30:00Z"
    error_message = "The description must name the grant, member and window."
  }
}

run "group_prefix_is_kept" {
  command = plan
  variables {
    principal = "group:sre@example.com"
  }
  assert {
    condition     = output.member == "group:sre@example.com"
    error_message = "A group: member must be kept as is."
  }
}

run "service_account_prefix_is_kept" {
  command = plan
  variables {
    principal = "serviceAccount:ci@acme-prod.iam.gserviceaccount.com"
  }
  assert {
    condition     = output.member == "serviceAccount:ci@acme-prod.iam.gserviceaccount.com"
    error_message = "A serviceAccount: member must be kept as is."
  }
}

run "user_prefix_is_not_doubled" {
  command = plan
  variables {
    principal = "user:bob@example.com"
  }
  assert {
    condition     = output.member == "user:bob@example.com"
    error_message = "A user: member must not become user:user:..."
  }
}

run "long_grant_id_gives_a_100_character_title" {
  command = plan
  variables {
    grant_id = "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"
  }
  assert {
    condition     = output.condition.title == "jitctl gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg-6802f092"
    error_message = "A long title must be cut to 91 characters + '-' + 8 hex of sha256(grant id)."
  }
  assert {
    condition     = length(output.condition.title) == 100
    error_message = "Condition titles are at most 100 characters."
  }
}

run "refuses_roles_owner" {
  command = plan
  variables {
    role = "roles/owner"
  }
  expect_failures = [var.role]
}

run "refuses_roles_editor" {
  command = plan
  variables {
    role = "roles/editor"
  }
  expect_failures = [var.role]
}

run "refuses_roles_viewer" {
  command = plan
  variables {
    role = "roles/viewer"
  }
  expect_failures = [var.role]
}

run "accepts_a_custom_project_role" {
  command = plan
  variables {
    role = "projects/acme-prod/roles/jitLogReader"
  }
  assert {
    condition     = output.role == "projects/acme-prod/roles/jitLogReader"
    error_message = "A custom project role must be accepted."
  }
}

run "refuses_all_users" {
  command = plan
  variables {
    principal = "allUsers"
  }
  expect_failures = [var.principal]
}

run "refuses_a_domain_member" {
  command = plan
  variables {
    principal = "domain:example.com"
  }
  expect_failures = [var.principal]
}

run "refuses_a_time_without_zone" {
  command = plan
  variables {
    expires_at = "2026-11-24T19:30:00"
  }
  expect_failures = [var.expires_at]
}

run "refuses_start_after_expiry" {
  command = plan
  variables {
    starts_at = "2026-11-24T20:00:00Z"
  }
  expect_failures = [output.condition]
}
