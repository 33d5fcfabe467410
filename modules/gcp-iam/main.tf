# One conditional IAM binding per grant: the member gets the role on the project only while
# request.time is inside the grant's window, checked by GCP on every request. The member, the role
# check and the CEL condition are computed in ./condition (provider-free, tested).

module "condition" {
  source = "./condition"

  grant_id   = var.grant_id
  principal  = var.principal
  project    = var.project
  role       = var.role
  starts_at  = var.starts_at
  expires_at = var.expires_at
}

# google_project_iam_member is additive: it never touches bindings that jitctl does not manage.
resource "google_project_iam_member" "grant" {
  project = module.condition.project
  role    = module.condition.role
  member  = module.condition.member

  condition {
    title       = module.condition.condition.title
    description = module.condition.condition.description
    expression  = module.condition.condition.expression
  }

  # Every argument of google_project_iam_member forces a new resource, so extending a grant (a new
  # expires_at, hence a new condition) replaces the binding. Create the new binding first, then
  # remove the old one: a conditional binding is identified by member, role AND condition, so both
  # coexist for the seconds in between and the extension never opens a gap.
  lifecycle {
    create_before_destroy = true
  }
}
