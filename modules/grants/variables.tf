# The input is `jitctl render`'s output (docs/render-schema.md): grants keyed by grant id, and now.

variable "now" {
  type        = string
  description = "The render's time, RFC 3339 in UTC with Z (e.g. 2026-11-24T12:00:00Z). A grant whose expires_at <= now is dropped here, whatever render says."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.now))
    error_message = "now must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z: pass the file written by `jitctl render --out FILE`."
  }
}

variable "grants" {
  description = "Grants keyed by grant id, as written by `jitctl render` (docs/render-schema.md). target holds the catalog entitlement's target; the keys of the other clouds stay null (unknown keys are dropped by Terraform's type conversion)."
  type = map(object({
    principal   = string
    entitlement = string
    module      = string
    target = object({
      # aws-iam-role
      account_id        = optional(string)
      policy_arns       = optional(list(string))
      saml_provider_arn = optional(string)
      # aws-identity-center (with account_id and policy_arns)
      instance_arn = optional(string)
      # gcp-iam
      project = optional(string)
      role    = optional(string)
      # azure-pim
      scope                = optional(string)
      role_definition_name = optional(string)
    })
    starts_at  = optional(string)
    expires_at = string
    reason     = optional(string, "")
    ticket     = optional(string)
  }))

  validation {
    condition     = alltrue([for id in keys(var.grants) : can(regex("^[a-z0-9][a-z0-9._-]{0,99}$", id))])
    error_message = "Every grant id (key of grants) must match [a-z0-9][a-z0-9._-]{0,99}: rename the grant file."
  }

  validation {
    condition     = alltrue([for g in values(var.grants) : contains(["aws-iam-role", "aws-identity-center", "gcp-iam", "azure-pim"], g.module)])
    error_message = "Every grant's module must be one of aws-iam-role, aws-identity-center, gcp-iam, azure-pim: fix the entitlement's module in catalog.yaml."
  }

  validation {
    condition = alltrue([for g in values(var.grants) : (
      g.module != "aws-iam-role" ? true : (g.target.account_id != null && g.target.policy_arns != null && g.target.saml_provider_arn != null)
    )])
    error_message = "An aws-iam-role grant's target needs account_id, policy_arns and saml_provider_arn: add them to the entitlement's target in catalog.yaml."
  }

  validation {
    condition = alltrue([for g in values(var.grants) : (
      g.module != "aws-identity-center" ? true : (g.target.account_id != null && g.target.policy_arns != null && g.target.instance_arn != null)
    )])
    error_message = "An aws-identity-center grant's target needs account_id, policy_arns and instance_arn: add them to the entitlement's target in catalog.yaml."
  }

  validation {
    condition = alltrue([for g in values(var.grants) : (
      g.module != "gcp-iam" ? true : (g.target.project != null && g.target.role != null)
    )])
    error_message = "A gcp-iam grant's target needs project and role: add them to the entitlement's target in catalog.yaml."
  }

  validation {
    condition = alltrue([for g in values(var.grants) : (
      g.module != "azure-pim" ? true : (g.target.scope != null && g.target.role_definition_name != null)
    )])
    error_message = "An azure-pim grant's target needs scope and role_definition_name: add them to the entitlement's target in catalog.yaml."
  }

  validation {
    condition = alltrue([for g in values(var.grants) : (
      can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", g.expires_at))
      && (g.starts_at == null ? true : can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", g.starts_at)))
    )])
    error_message = "Every grant's expires_at (and starts_at, when set) must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-25T00:00:00Z: fix the grant file."
  }
}
