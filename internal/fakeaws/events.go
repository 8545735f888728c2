package fakeaws

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/reflexsec/reflex/pattern"
)

// EventBridge (awsJson 1.1): PutRule (the event pattern is validated with
// EventBridge's rules and default 2,048-character quota by package pattern,
// else InvalidEventPatternException with EventBridge's reason), PutTargets
// (at most 5 per rule),
// DescribeRule, ListTargetsByRule, ListRules (NamePrefix), RemoveTargets,
// DeleteRule (refused while the rule has targets, as AWS does).

type rule struct {
	Name, Bus, ARN, Pattern, Schedule, State, Desc, RoleARN string
	Targets                                                 []map[string]any
	Created                                                 time.Time
}

func eventsService() *service {
	s := &service{name: "events", proto: protoJSON, target: "AWSEvents", jsonVersion: "1.1", errNS: "com.amazonaws.events#",
		throttleErr: &apiError{status: 400, code: "ThrottlingException", msg: "Rate exceeded"}}
	s.json = map[string]jsonHandler{
		"PutRule":           evPutRule,
		"PutTargets":        evPutTargets,
		"DescribeRule":      evDescribeRule,
		"ListTargetsByRule": evListTargets,
		"ListRules":         evListRules,
		"RemoveTargets":     evRemoveTargets,
		"DeleteRule":        evDeleteRule,
	}
	return s
}

func busOf(in map[string]any) string {
	b := jstr(in, "EventBusName")
	if b == "" {
		return "default"
	}
	if i := strings.LastIndex(b, "event-bus/"); i >= 0 {
		b = b[i+len("event-bus/"):]
	}
	return b
}

func (r *request) rule(key string) (*rule, error) {
	bus := busOf(r.in)
	ru := r.reg().rules[bus+"/"+jstr(r.in, key)]
	if ru == nil {
		return nil, badRequest("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", jstr(r.in, key), bus)
	}
	return ru, nil
}

func evPutRule(r *request) (any, error) {
	name := jstr(r.in, "Name")
	if name == "" || len(name) > 64 {
		return nil, badRequest("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint")
	}
	pat, sched := jstr(r.in, "EventPattern"), jstr(r.in, "ScheduleExpression")
	if pat == "" && sched == "" {
		return nil, badRequest("ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if pat != "" {
		if _, err := pattern.Parse([]byte(pat)); err != nil {
			reason := err.Error()
			if pe := (*pattern.Error)(nil); errors.As(err, &pe) {
				reason = pe.Msg
			}
			return nil, badRequest("InvalidEventPatternException", "Event pattern is not valid. Reason: %s", reason)
		}
	}
	state := jstr(r.in, "State")
	if state == "" {
		state = "ENABLED"
	}
	bus := busOf(r.in)
	arn := "arn:aws:events:" + r.region + ":" + r.acct.id + ":rule/" + name
	if bus != "default" {
		arn = "arn:aws:events:" + r.region + ":" + r.acct.id + ":rule/" + bus + "/" + name
	}
	reg := r.reg()
	ru := reg.rules[bus+"/"+name]
	if ru == nil {
		ru = &rule{Name: name, Bus: bus, ARN: arn, Created: r.c.clock()}
		reg.rules[bus+"/"+name] = ru
	}
	ru.Pattern, ru.Schedule, ru.State, ru.Desc, ru.RoleARN = pat, sched, state, jstr(r.in, "Description"), jstr(r.in, "RoleArn")
	return map[string]any{"RuleArn": arn}, nil
}

func evPutTargets(r *request) (any, error) {
	ru, err := r.rule("Rule")
	if err != nil {
		return nil, err
	}
	failed := []any{}
	for _, x := range jlist(r.in, "Targets") {
		t, _ := x.(map[string]any)
		id, arn := jstr(t, "Id"), jstr(t, "Arn")
		if id == "" || !strings.HasPrefix(arn, "arn:") {
			failed = append(failed, map[string]any{"TargetId": id, "ErrorCode": "ValidationException", "ErrorMessage": "Target Id and Arn are required"})
			continue
		}
		replaced := false
		for i, o := range ru.Targets {
			if jstr(o, "Id") == id {
				ru.Targets[i] = t
				replaced = true
			}
		}
		if !replaced {
			if len(ru.Targets) >= 5 {
				return nil, badRequest("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
			}
			ru.Targets = append(ru.Targets, t)
		}
	}
	return map[string]any{"FailedEntryCount": len(failed), "FailedEntries": failed}, nil
}

func evDescribeRule(r *request) (any, error) {
	ru, err := r.rule("Name")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Name": ru.Name, "Arn": ru.ARN, "State": ru.State, "EventBusName": ru.Bus,
		"CreatedBy": r.acct.id}
	for k, v := range map[string]string{"EventPattern": ru.Pattern, "ScheduleExpression": ru.Schedule,
		"Description": ru.Desc, "RoleArn": ru.RoleARN} {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

func evListTargets(r *request) (any, error) {
	ru, err := r.rule("Rule")
	if err != nil {
		return nil, err
	}
	ts := []any{}
	for _, t := range ru.Targets {
		ts = append(ts, t)
	}
	return map[string]any{"Targets": ts}, nil
}

func evListRules(r *request) (any, error) {
	bus, prefix := busOf(r.in), jstr(r.in, "NamePrefix")
	var names []string
	for k, ru := range r.reg().rules {
		if ru.Bus == bus && strings.HasPrefix(ru.Name, prefix) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := []any{}
	for _, k := range names {
		ru := r.reg().rules[k]
		m := map[string]any{"Name": ru.Name, "Arn": ru.ARN, "State": ru.State, "EventBusName": ru.Bus}
		if ru.Pattern != "" {
			m["EventPattern"] = ru.Pattern
		}
		out = append(out, m)
	}
	return map[string]any{"Rules": out}, nil
}

func evRemoveTargets(r *request) (any, error) {
	ru, err := r.rule("Rule")
	if err != nil {
		return nil, err
	}
	ids := jstrs(r.in, "Ids")
	ru.Targets = slices.DeleteFunc(ru.Targets, func(t map[string]any) bool { return slices.Contains(ids, jstr(t, "Id")) })
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func evDeleteRule(r *request) (any, error) {
	ru, err := r.rule("Name")
	if err != nil {
		return nil, err
	}
	if len(ru.Targets) > 0 {
		return nil, badRequest("ValidationException", "Rule can't be deleted since it has targets.")
	}
	delete(r.reg().rules, ru.Bus+"/"+ru.Name)
	return map[string]any{}, nil
}
