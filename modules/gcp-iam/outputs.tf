output "member" {
  description = "The IAM member of the binding."
  value       = google_project_iam_member.grant.member
}

output "condition_expression" {
  description = "The CEL condition GCP evaluates on every request."
  value       = module.condition.condition.expression
}

output "window" {
  description = "The window GCP enforces: start (null = no lower bound) and end (exclusive)."
  value       = module.condition.window
}
