package awstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/reflexsec/reflex/engine"
	"github.com/reflexsec/reflex/internal/awstest"
	"github.com/reflexsec/reflex/internal/fakeaws"
)

// TestTimeToContainment measures, with the test cloud adding 50 ms to
// every call, the sequential round trips from receiving the EC2 finding to
// (a) every interface isolated and (b) the whole playbook done, from the
// call log's start and end times (not wall time). The numbers are logged;
// run with -v to read them.
func TestTimeToContainment(t *testing.T) {
	if testing.Short() {
		t.Skip("50 ms per call")
	}
	for _, single := range []bool{false, true} {
		measure(t, single)
	}
}

func measure(t *testing.T, single bool) {
	env := start(t)
	ctx := env.Context(context.Background())
	cfg := example(t, env)
	name := "contain-ec2 (ec2.contain)"
	if single {
		cfg, name = stepwise(cfg), "contain-ec2-stepwise (nine single steps)"
	}
	eng, db, err := env.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	env.Cloud.SetLatency(50 * time.Millisecond)
	received := time.Now()
	if _, _, err := eng.Run(ctx, findings(t, "ec2"), engine.Options{}); err != nil {
		t.Fatal(err)
	}
	calls := env.Cloud.Calls()
	isolated := awstest.RoundTrips(calls, received, func(c fakeaws.Call) bool {
		return c.Operation == "ModifyNetworkInterfaceAttribute"
	})
	all := awstest.RoundTrips(calls, received, nil)
	n := 0
	for _, c := range calls {
		if !c.Start.Before(received) {
			n++
		}
	}
	t.Logf("examples/reflex.yaml %s, 2 interfaces, 3 volumes, cold start: %d calls; every interface isolated after %d sequential round trips; whole playbook %d round trips", name, n, isolated, all)
	if isolated == 0 || all < isolated {
		t.Fatalf("round trips: isolated %d, all %d", isolated, all)
	}
}
