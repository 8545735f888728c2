package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used. On a shared machine the
// wall clock counts time spent waiting for a core; CPU time does not, so
// events per CPU-second is the per-core throughput.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports events/s (wall clock) and events/cpu-s (per core).
func reportRate(b *testing.B, start time.Time, cpuStart time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if cpu := cpuTime() - cpuStart; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// benchRules returns n realistic GuardDuty response rules. Eight templates
// cover what response rules use: type prefixes and severity ranges, type
// wildcards, resource types and tags, anything-but, cidr on remote IPs,
// exists, $or, equals-ignore-case and suffix. One rule in fifty of each
// template names values the bundled findings have; the others name other
// accounts, tags, networks and types, so each event matches a handful of
// rules whatever n is.
func benchRules(n int) map[string]string {
	const head = `"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]`
	realTypes := []string{"UnauthorizedAccess:EC2/", "Recon:EC2/", "Impact:S3/", "CredentialAccess:Kubernetes/", "Discovery:IAMUser/"}
	realWords := []string{"Tor", "MaliciousIPCaller", "Anonymous", "Port"}
	rules := map[string]string{}
	for i := 0; i < n; i++ {
		t, j := i%8, i/8
		real := j%50 == 0
		var p string
		switch t {
		case 0:
			typ := fmt.Sprintf("Custom%d:EC2/", j)
			if real {
				typ = realTypes[(j/50)%len(realTypes)]
			}
			p = fmt.Sprintf(`{%s,"detail":{"type":[{"prefix":%q}],"severity":[{"numeric":[">=",%d,"<",%d]}]}}`, head, typ, 4+j%3, 9)
		case 1:
			word := fmt.Sprintf("Zz%d", j)
			if real {
				word = realWords[(j/50)%len(realWords)]
			}
			p = fmt.Sprintf(`{%s,"detail":{"type":[{"wildcard":"*:*/%s*"}]}}`, head, word)
		case 2:
			key, val := fmt.Sprintf("team-%d", j), "payments"
			if real {
				k := 2 + (j/50)%8
				key, val = fmt.Sprintf("GeneratedFindingInstaceTag%d", k), fmt.Sprintf("GeneratedFindingInstaceTagValue%d", k)
			}
			p = fmt.Sprintf(`{%s,"detail":{"resource":{"resourceType":["Instance"],"instanceDetails":{"tags":{"key":[%q],"value":[%q]}}}}}`, head, key, val)
		case 3:
			acct := fmt.Sprintf("5%011d", j)
			if real {
				acct = "973743533182"
			}
			p = fmt.Sprintf(`{%s,"detail":{"accountId":[%q],"region":[{"anything-but":["us-east-1","eu-west-1"]}],"severity":[{"numeric":[">",%d]}]}}`, head, acct, 2+j%5)
		case 4:
			cidr := fmt.Sprintf("198.%d.%d.0/24", 18+j/256, j%256)
			if real {
				cidr = "81.2.69.0/24"
			}
			p = fmt.Sprintf(`{%s,"detail":{"service":{"action":{"$or":[{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":%q}]}}},{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":%q}]}}}]}}}}`, head, cidr, cidr)
		case 5:
			typ := fmt.Sprintf("Custom%d:IAMUser/", j)
			if real {
				typ = "UnauthorizedAccess:IAMUser/"
			}
			p = fmt.Sprintf(`{%s,"detail":{"type":[{"prefix":%q}],"resource":{"accessKeyDetails":{"userName":[{"exists":true}]}},"service":{"archived":[{"exists":false},false]}}}`, head, typ)
		case 6:
			acct := fmt.Sprintf("6%011d", j)
			if real {
				acct = "973743533182"
			}
			p = fmt.Sprintf(`{%s,"detail":{"accountId":[%q],"$or":[{"severity":[{"numeric":[">=",8]}]},{"type":[{"prefix":"Backdoor:"}]}]}}`, head, acct)
		case 7:
			suffix := fmt.Sprintf(".Custom%d", j)
			if real {
				suffix = ".Custom"
			}
			p = fmt.Sprintf(`{%s,"detail":{"resource":{"resourceType":[{"equals-ignore-case":"s3bucket"},{"equals-ignore-case":"instance"}]},"type":[{"suffix":%q}]}}`, head, suffix)
		}
		rules[fmt.Sprintf("rule-%04d", i)] = p
	}
	return rules
}

func benchMatcher(tb testing.TB, n int) *Matcher {
	m := NewMatcher()
	for id, src := range benchRules(n) {
		if err := m.Add(id, []byte(src)); err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
	}
	return m
}

var ruleCounts = []int{1, 10, 100, 1000}

// BenchmarkMatcher measures events/s per core of Matcher.MatchAppend over
// the bundled findings in EventBridge envelopes.
func BenchmarkMatcher(b *testing.B) {
	_, events := loadEvents(b)
	size := 0
	for _, e := range events {
		size += len(e)
	}
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			m := benchMatcher(b, n)
			dst := make([]string, 0, n)
			matches := 0
			for _, e := range events { // compile, warm the pool
				ids, err := m.MatchAppend(dst[:0], e)
				if err != nil {
					b.Fatal(err)
				}
				matches += len(ids)
			}
			b.SetBytes(int64(size / len(events)))
			b.ReportAllocs()
			b.ResetTimer()
			start, cpuStart := time.Now(), cpuTime()
			for i := 0; b.Loop(); i++ {
				dst, _ = m.MatchAppend(dst[:0], events[i%len(events)])
			}
			reportRate(b, start, cpuStart)
			b.ReportMetric(float64(matches)/float64(len(events)), "matches/event")
		})
	}
}

// BenchmarkMatcherPretty is BenchmarkMatcher at 1,000 rules on the same
// events indented (as files and the AWS CLI print them), which the
// scanner reads by its checked path where compact events are skimmed.
func BenchmarkMatcherPretty(b *testing.B) {
	_, events := loadEvents(b)
	pretty := make([][]byte, len(events))
	for i, e := range events {
		var buf bytes.Buffer
		if err := json.Indent(&buf, e, "", "  "); err != nil {
			b.Fatal(err)
		}
		pretty[i] = buf.Bytes()
	}
	m := benchMatcher(b, 1000)
	dst := make([]string, 0, 1000)
	b.ReportAllocs()
	start, cpuStart := time.Now(), cpuTime()
	for i := 0; b.Loop(); i++ {
		var err error
		if dst, err = m.MatchAppend(dst[:0], pretty[i%len(pretty)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start, cpuStart)
}

// BenchmarkNaive is the baseline: decode each event into maps, then walk
// every pattern over it.
func BenchmarkNaive(b *testing.B) {
	_, events := loadEvents(b)
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			var pats []*Pattern
			for _, src := range benchRules(n) {
				p, err := Parse([]byte(src))
				if err != nil {
					b.Fatal(err)
				}
				pats = append(pats, p)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start, cpuStart := time.Now(), cpuTime()
			for i := 0; b.Loop(); i++ {
				doc, err := naiveDecode(events[i%len(events)])
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range pats {
					naiveMatch(p, doc)
				}
			}
			reportRate(b, start, cpuStart)
		})
	}
}

// TestBenchRulesAgree checks the benchmark's matcher against the naive
// matcher on every bundled event, and that each event matches a handful of
// rules.
func TestBenchRulesAgree(t *testing.T) {
	names, events := loadEvents(t)
	rules := benchRules(1000)
	m := benchMatcher(t, 1000)
	pats := map[string]*Pattern{}
	for id, src := range rules {
		pats[id], _ = Parse([]byte(src))
	}
	total := 0
	for i, e := range events {
		got, err := m.Match(e)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := naiveDecode(e)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for id, p := range pats {
			if naiveMatch(p, doc) {
				want = append(want, id)
			}
		}
		if fmt.Sprint(sorted(want)) != fmt.Sprint(got) {
			t.Errorf("%s: matcher %v, naive %v", names[i], got, sorted(want))
		}
		total += len(got)
	}
	avg := float64(total) / float64(len(events))
	t.Logf("%.1f matches per event with 1000 rules", avg)
	if avg < 1 || avg > 40 {
		t.Errorf("benchmark rules match %.1f rules per event; want a handful", avg)
	}
}
