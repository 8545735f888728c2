package fakeaws

import (
	"fmt"
	"slices"
	"strconv"
)

// Elastic Load Balancing v2 (AWS query protocol): target groups of
// instance targets. Deregistration takes effect at once (no draining).

type targetGroup struct {
	Name, ARN, Protocol, VPC string
	Port                     int
	Targets                  []*target
}

type target struct {
	ID   string
	Port int
}

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

func elbv2Service() *service {
	s := &service{name: "elasticloadbalancing", proto: protoQuery, xmlns: elbNS,
		throttleErr: &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}}
	s.query = map[string]queryHandler{
		"DescribeTargetGroups": elbDescribeTargetGroups,
		"DescribeTargetHealth": elbDescribeTargetHealth,
		"RegisterTargets":      elbRegister,
		"DeregisterTargets":    elbDeregister,
	}
	return s
}

func tgByName(reg *region, name string) *targetGroup {
	for _, tg := range reg.tgs {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

func (c *Cloud) loadTargetGroup(a *account, reg *region, ts TGSpec) error {
	tg := &targetGroup{Name: ts.Name, Protocol: ts.Protocol, Port: ts.Port, VPC: ts.VPC,
		ARN: fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", reg.name, a.id, ts.Name, c.id("", 16))}
	if tg.Protocol == "" {
		tg.Protocol = "HTTP"
	}
	if tg.Port == 0 {
		tg.Port = 80
	}
	for _, t := range ts.Targets {
		if reg.instances[t.ID] == nil {
			return fmt.Errorf("unknown instance %s", t.ID)
		}
		p := t.Port
		if p == 0 {
			p = tg.Port
		}
		tg.Targets = append(tg.Targets, &target{ID: t.ID, Port: p})
	}
	reg.tgs[tg.ARN] = tg
	reg.seen(tg.ARN)
	return nil
}

func tgNotFound() error {
	return badRequest("TargetGroupNotFound", "One or more target groups not found")
}

func (r *request) tg(arn string) (*targetGroup, error) {
	if tg := r.reg().tgs[arn]; tg != nil {
		return tg, nil
	}
	return nil, tgNotFound()
}

func elbDescribeTargetGroups(r *request) (string, error) {
	reg := r.reg()
	var sel []*targetGroup
	arns, names := r.form.list("TargetGroupArns.member"), r.form.list("Names.member")
	for _, a := range arns {
		tg, err := r.tg(a)
		if err != nil {
			return "", err
		}
		sel = append(sel, tg)
	}
	for _, n := range names {
		tg := tgByName(reg, n)
		if tg == nil {
			return "", tgNotFound()
		}
		sel = append(sel, tg)
	}
	if len(arns) == 0 && len(names) == 0 {
		for _, a := range r.ordered(sortedKeys(reg.tgs)) {
			sel = append(sel, reg.tgs[a])
		}
	}
	var x xw
	x.open("TargetGroups")
	for _, tg := range sel {
		x.open("member").el("TargetGroupArn", tg.ARN).el("TargetGroupName", tg.Name).el("Protocol", tg.Protocol).
			int("Port", tg.Port).opt("VpcId", tg.VPC).el("TargetType", "instance").el("HealthCheckProtocol", tg.Protocol).
			el("HealthCheckPort", "traffic-port").bool("HealthCheckEnabled", true).el("IpAddressType", "ipv4").
			open("LoadBalancerArns").close("LoadBalancerArns").close("member")
	}
	x.close("TargetGroups")
	return x.String(), nil
}

func (r *request) targetsFromForm() []target {
	var out []target
	for _, p := range r.form.subs("Targets.member") {
		out = append(out, target{ID: r.form.s(p + ".Id"), Port: r.form.i(p+".Port", 0)})
	}
	return out
}

func elbDescribeTargetHealth(r *request) (string, error) {
	tg, err := r.tg(r.form.s("TargetGroupArn"))
	if err != nil {
		return "", err
	}
	var x xw
	x.open("TargetHealthDescriptions")
	want := r.targetsFromForm()
	if len(want) == 0 {
		for _, t := range tg.Targets {
			want = append(want, *t)
		}
	}
	for _, w := range want {
		idx := slices.IndexFunc(tg.Targets, func(t *target) bool { return t.ID == w.ID && (w.Port == 0 || t.Port == w.Port) })
		port := w.Port
		if idx >= 0 {
			port = tg.Targets[idx].Port
		}
		if port == 0 {
			port = tg.Port
		}
		x.open("member").open("Target").el("Id", w.ID).int("Port", port).close("Target").
			el("HealthCheckPort", strconv.Itoa(port)).open("TargetHealth")
		if idx >= 0 {
			x.el("State", "healthy")
		} else {
			x.el("State", "unused").el("Reason", "Target.NotRegistered").el("Description", "Target is not registered to the target group")
		}
		x.close("TargetHealth").close("member")
	}
	x.close("TargetHealthDescriptions")
	return x.String(), nil
}

func elbRegister(r *request) (string, error) {
	reg := r.reg()
	tg, err := r.tg(r.form.s("TargetGroupArn"))
	if err != nil {
		return "", err
	}
	ts := r.targetsFromForm()
	for _, t := range ts {
		in := reg.instances[t.ID]
		if in == nil || in.State != "running" {
			return "", badRequest("InvalidTarget", "The following targets are not in a running state and cannot be registered: '%s'", t.ID)
		}
	}
	for _, t := range ts {
		if t.Port == 0 {
			t.Port = tg.Port
		}
		if !slices.ContainsFunc(tg.Targets, func(o *target) bool { return o.ID == t.ID && o.Port == t.Port }) {
			tg.Targets = append(tg.Targets, &target{ID: t.ID, Port: t.Port})
		}
	}
	return "", nil
}

func elbDeregister(r *request) (string, error) {
	tg, err := r.tg(r.form.s("TargetGroupArn"))
	if err != nil {
		return "", err
	}
	ts := r.targetsFromForm()
	for _, t := range ts {
		if !slices.ContainsFunc(tg.Targets, func(o *target) bool { return o.ID == t.ID && (t.Port == 0 || o.Port == t.Port) }) {
			return "", badRequest("InvalidTarget", "The following targets are not registered in target group '%s': '%s'", tg.Name, t.ID)
		}
	}
	for _, t := range ts {
		tg.Targets = slices.DeleteFunc(tg.Targets, func(o *target) bool { return o.ID == t.ID && (t.Port == 0 || o.Port == t.Port) })
	}
	return "", nil
}
