# reflex's two security groups in each VPC, made ahead so that containment
# finds them ready: ec2.isolate and ec2.contain otherwise create them while
# containing, and the untrack group must have its rules before it goes on
# an interface — ec2.contain then isolates every interface one round trip
# later.
#
# Names, descriptions, tag and rules are those of the Go code
# (action/ec2/isogroup), which the steps find them by and reflex setup
# makes: deploy/terraform/modules_test.go checks they agree.

locals {
  # The steps find their groups by this tag, whose value is the kind.
  tag_key = "reflex:isolation"

  untrack = {
    kind        = "untrack"
    name        = "reflex-untrack"
    description = "reflex: allow-all pass-through so tracked connections become untracked before isolation"
  }

  isolation = {
    kind        = "isolate"
    name        = "reflex-isolation"
    description = "reflex: isolation, no inbound and no outbound rule"
  }
}

# All traffic in and out, IPv4 and IPv6: only a rule for all traffic both
# ways makes an interface's connections untracked, so that the isolation
# group's change cuts them.
resource "aws_security_group" "untrack" {
  for_each = toset(var.vpc_ids)

  name        = local.untrack.name
  description = local.untrack.description
  vpc_id      = each.value

  ingress {
    protocol         = "-1"
    from_port        = 0
    to_port          = 0
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  egress {
    protocol         = "-1"
    from_port        = 0
    to_port          = 0
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  tags = merge(var.tags, { (local.tag_key) = local.untrack.kind, Name = local.untrack.name })
}

# No rule at all. The empty lists (not left out) make Terraform manage the
# rules: it removes EC2's default egress rule and any rule added by hand.
resource "aws_security_group" "isolation" {
  for_each = toset(var.vpc_ids)

  name        = local.isolation.name
  description = local.isolation.description
  vpc_id      = each.value

  ingress = []
  egress  = []

  tags = merge(var.tags, { (local.tag_key) = local.isolation.kind, Name = local.isolation.name })
}
