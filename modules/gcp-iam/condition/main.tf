locals {
  has_prefix = can(regex("^(user|group|serviceAccount):", var.principal))
  member     = local.has_prefix ? var.principal : "user:${var.principal}"

  # The IAM Condition. request.time is the time of each request, checked by GCP, so access ends at
  # expires_at whatever happens to the pipeline. The upper bound is exclusive (expired when
  # expires_at <= now); without starts_at there is no lower bound (the binding starts when applied).
  upper      = "request.time < timestamp(\"${var.expires_at}\")"
  expression = var.starts_at == null ? local.upper : "request.time >= timestamp(\"${var.starts_at}\") && ${local.upper}"

  # Condition titles are at most 100 characters: the grant id (<= 100) with a short prefix, cut and
  # hash-suffixed when longer. Two grants for the same member and role differ by title and window,
  # so they are separate bindings: one expiring never cuts the other.
  full_title = "jitctl ${var.grant_id}"
  title      = length(local.full_title) <= 100 ? local.full_title : "${substr(local.full_title, 0, 91)}-${substr(sha256(var.grant_id), 0, 8)}"

  # Descriptions are at most 256 characters; no user text (the reason) goes here.
  description = substr("jitctl grant ${var.grant_id} for ${local.member}, ${var.starts_at == null ? "from apply" : "from ${var.starts_at}"} until ${var.expires_at}", 0, 256)
}
