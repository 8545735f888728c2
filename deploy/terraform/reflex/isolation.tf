# reflex's untrack and isolation groups in this account's VPCs, when
# reflex isolates instances here too (a single-account deployment, or a
# security account with workloads), made ahead so that containment does not
# wait for their creation. Member accounts: the member-role module.
module "isolation_groups" {
  source = "../isolation-groups"

  vpc_ids = var.isolation_vpc_ids
  tags    = var.tags
}
