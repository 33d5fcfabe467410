variable "grant_id" {
  type        = string
  description = "The grant id (the grant file's name without .hcl), e.g. alice-aws-sso-readonly-20261124t1200."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{0,99}$", var.grant_id))
    error_message = "grant_id must match [a-z0-9][a-z0-9._-]{0,99} (lower-case letters, digits, '.', '_', '-'; at most 100 characters): rename the grant file."
  }
}

variable "principal" {
  type        = string
  description = "Who gets the permission set: an Identity Center user name (e.g. alice@example.com), or group:<display name> for a group (e.g. group:SRE)."

  validation {
    condition     = length(var.principal) >= 1 && length(var.principal) <= 256 && !can(regex("[\\x{00}-\\x{1F}\\x{7F}-\\x{9F}]", var.principal)) && var.principal != "group:"
    error_message = "principal must be an Identity Center user name (e.g. alice@example.com) or group:<display name>, 1 to 256 characters without control characters."
  }
}

variable "account_id" {
  type        = string
  description = "The AWS account (12 digits, as a string) the permission set is assigned in; catalog target key account_id."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account id as a quoted string, e.g. \"123456789012\": fix the entitlement's target in catalog.yaml."
  }
}

variable "instance_arn" {
  type        = string
  description = "ARN of the IAM Identity Center instance, e.g. arn:aws:sso:::instance/ssoins-1234567890abcdef; catalog target key instance_arn."

  validation {
    condition     = can(regex("^arn:aws(-[a-z]+)*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$", var.instance_arn))
    error_message = "instance_arn must be an IAM Identity Center instance ARN such as arn:aws:sso:::instance/ssoins-1234567890abcdef: fix the entitlement's target in catalog.yaml."
  }
}

variable "policy_arns" {
  type        = list(string)
  description = "ARNs of the AWS managed policies the permission set carries; catalog target key policy_arns."

  validation {
    condition     = length(var.policy_arns) > 0 && length(var.policy_arns) <= 10 && alltrue([for arn in var.policy_arns : can(regex("^arn:aws(-[a-z]+)*:iam::aws:policy/[\\w+=,.@/-]+$", arn))])
    error_message = "policy_arns must list 1 to 10 AWS managed policy ARNs such as arn:aws:iam::aws:policy/ReadOnlyAccess (the default quota of managed policies per permission set is 10): fix the entitlement's target in catalog.yaml."
  }
}

variable "starts_at" {
  type        = string
  default     = null
  nullable    = true
  description = "Start of the grant's window, RFC 3339 in UTC with Z, or null: the window starts when applied."

  validation {
    condition     = var.starts_at == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.starts_at))
    error_message = "starts_at must be null or RFC 3339 in UTC with a Z suffix, e.g. 2026-11-24T12:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}

variable "expires_at" {
  type        = string
  description = "End of the grant's window (exclusive), RFC 3339 in UTC with Z, e.g. 2026-11-25T00:00:00Z."

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$", var.expires_at))
    error_message = "expires_at must be RFC 3339 in UTC with a Z suffix, e.g. 2026-11-25T00:00:00Z (convert offsets such as +02:00 to UTC)."
  }
}
