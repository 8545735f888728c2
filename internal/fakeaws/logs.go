package fakeaws

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudWatch Logs (awsJson 1.1): the log groups `reflex setup` creates —
// CreateLogGroup, DescribeLogGroups (logGroupNamePrefix, paged with limit
// and nextToken), PutRetentionPolicy, DeleteRetentionPolicy. No log events.
// Rules kept: an existing group is ResourceAlreadyExistsException, an
// unknown one ResourceNotFoundException; names follow the service's pattern
// and retention takes only the service's values (InvalidParameterException).

type logGroup struct {
	Name      string
	Created   time.Time
	Retention int // days; 0: never expire
	Tags      map[string]string
}

// logRetentions are the values PutRetentionPolicy accepts.
var logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Compiled on first use: the test cloud is linked into every reflex binary
// (demo, sandbox), and bounded repetitions such as {1,512} compile into that
// many nested copies, which cost milliseconds of every process start.
var logGroupName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`) })

func logsService() *service {
	s := &service{name: "logs", proto: protoJSON, target: "Logs_20140328", jsonVersion: "1.1", errNS: "",
		throttleErr: &apiError{status: 400, code: "ThrottlingException", msg: "Rate exceeded"}}
	s.json = map[string]jsonHandler{
		"CreateLogGroup":        logsCreateGroup,
		"DescribeLogGroups":     logsDescribeGroups,
		"PutRetentionPolicy":    logsPutRetention,
		"DeleteRetentionPolicy": logsDeleteRetention,
	}
	return s
}

func logsInvalid(format string, a ...any) error {
	return badRequest("InvalidParameterException", format, a...)
}

func (r *request) logGroup() (*logGroup, error) {
	g := r.c.deploy.logGroups[r.deployKey(jstr(r.in, "logGroupName"))]
	if g == nil {
		return nil, badRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g, nil
}

func logsCreateGroup(r *request) (any, error) {
	name := jstr(r.in, "logGroupName")
	if !logGroupName().MatchString(name) {
		return nil, logsInvalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	key := r.deployKey(name)
	if r.c.deploy.logGroups[key] != nil {
		return nil, badRequest("ResourceAlreadyExistsException", "The specified log group already exists")
	}
	g := &logGroup{Name: name, Created: r.c.clock(), Tags: map[string]string{}}
	for k, v := range jobj(r.in, "tags") {
		g.Tags[k], _ = v.(string)
	}
	if r.c.deploy.logGroups == nil {
		r.c.deploy.logGroups = map[string]*logGroup{}
	}
	r.c.deploy.logGroups[key] = g
	return map[string]any{}, nil
}

func logsDescribeGroups(r *request) (any, error) {
	prefix := jstr(r.in, "logGroupNamePrefix")
	limit := jint(r.in, "limit", 50)
	if limit < 1 || limit > 50 {
		return nil, logsInvalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50", limit)
	}
	keyPrefix := r.deployKey("")
	var names []string
	for k, g := range r.c.deploy.logGroups {
		if strings.HasPrefix(k, keyPrefix) && strings.HasPrefix(g.Name, prefix) {
			names = append(names, g.Name)
		}
	}
	slices.Sort(names)
	pg, next, ok := page(names, jstr(r.in, "nextToken"), limit, 50)
	if !ok {
		return nil, logsInvalid("The specified nextToken is invalid.")
	}
	out := []any{}
	for _, n := range pg {
		g := r.c.deploy.logGroups[r.deployKey(n)]
		arn := "arn:aws:logs:" + r.region + ":" + r.acct.id + ":log-group:" + n
		m := map[string]any{"logGroupName": n, "creationTime": g.Created.UnixMilli(), "metricFilterCount": 0,
			"arn": arn + ":*", "logGroupArn": arn, "storedBytes": 0, "logGroupClass": "STANDARD"}
		if g.Retention > 0 {
			m["retentionInDays"] = g.Retention
		}
		out = append(out, m)
	}
	res := map[string]any{"logGroups": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

func logsPutRetention(r *request) (any, error) {
	days := jint(r.in, "retentionInDays", 0)
	if !slices.Contains(logRetentions, days) {
		vals := make([]string, len(logRetentions))
		for i, v := range logRetentions {
			vals[i] = strconv.Itoa(v)
		}
		return nil, logsInvalid("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]", days, strings.Join(vals, ", "))
	}
	g, err := r.logGroup()
	if err != nil {
		return nil, err
	}
	g.Retention = days
	return map[string]any{}, nil
}

func logsDeleteRetention(r *request) (any, error) {
	g, err := r.logGroup()
	if err != nil {
		return nil, err
	}
	g.Retention = 0
	return map[string]any{}, nil
}
