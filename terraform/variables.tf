# Exactly the variables of `jitctl render --out FILE` (docs/render-schema.md): pass that file with
# -var-file. Nothing else is an input: provider settings come from the environment.

variable "jitctl_render_version" {
  type        = number
  description = "Version of the render schema; this configuration reads version 1."

  validation {
    condition     = var.jitctl_render_version == 1
    error_message = "This configuration reads jitctl_render_version 1: upgrade the modules (or pin jitctl) so both speak the same version."
  }
}

variable "now" {
  type        = string
  description = "The render's time, RFC 3339 in UTC with Z. Grants with expires_at <= now are dropped by the dispatcher."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.now))
    error_message = "now must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z: pass the file written by `jitctl render --out FILE`."
  }
}

variable "grants" {
  description = "Grants keyed by grant id, as written by `jitctl render` (docs/render-schema.md). Validated in detail by modules/grants."
  type = map(object({
    principal   = string
    entitlement = string
    module      = string
    target = object({
      account_id           = optional(string)
      policy_arns          = optional(list(string))
      saml_provider_arn    = optional(string)
      instance_arn         = optional(string)
      project              = optional(string)
      role                 = optional(string)
      scope                = optional(string)
      role_definition_name = optional(string)
    })
    starts_at  = optional(string)
    expires_at = string
    reason     = optional(string, "")
    ticket     = optional(string)
  }))

  validation {
    condition     = alltrue([for g in values(var.grants) : contains(["aws-iam-role", "aws-identity-center", "gcp-iam", "azure-pim"], g.module)])
    error_message = "Every grant's module must be one of aws-iam-role, aws-identity-center, gcp-iam, azure-pim: fix the entitlement's module in catalog.yaml."
  }
}
