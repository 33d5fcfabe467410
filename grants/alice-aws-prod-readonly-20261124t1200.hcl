# Example grant: alice may read the prod AWS account until the time below.
grant {
  principal   = "alice@example.com"
  entitlement = "aws-prod-readonly"
  expires_at  = "2026-11-25T00:00:00Z"
  starts_at   = "2026-11-24T12:00:00Z"
  reason      = "INC-1234: 5xx spike in checkout"
  ticket      = "INC-1234"
}
