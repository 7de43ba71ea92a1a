package interop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// These tests run every client scenario against the Node reference twins
// (eio_ref_server.js, sio_ref_server.js). They prove the scripts and the
// contract are right, so that the same scenarios failing against Riptide point
// at Riptide. They also check what the reference server itself observed (the
// server-side close/disconnect reasons), through the twins' /_interop/ debug
// endpoints, which are not part of the contract.

func TestScenarioListsMatchScripts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		script string
		want   []Scenario
	}{
		{"eio_client.js", EngineScenarios},
		{"sio_client.js", SocketScenarios},
	} {
		var list struct {
			Scenarios []struct {
				Name       string   `json:"name"`
				Transports []string `json:"transports"`
			} `json:"scenarios"`
		}
		out := runNodeList(t, c.script)
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatalf("%s --list: %v\n%s", c.script, err, out)
		}
		var got []Scenario
		for _, s := range list.Scenarios {
			got = append(got, Scenario{s.Name, s.Transports})
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s --list = %v\nGo list     = %v", c.script, got, c.want)
		}
	}
}

// runNodeList returns the output of `node script --list`.
func runNodeList(t *testing.T, script string) []byte {
	t.Helper()
	so, se, err := TryRunNode(t, script, "--list")
	if err != nil {
		t.Fatalf("node %s --list: %v\n%s", script, err, se)
	}
	return so
}

func TestEngineReference(t *testing.T) {
	t.Parallel()
	base := StartNodeServer(t, "eio_ref_server.js",
		"--ping-interval", fmt.Sprint(EchoPingInterval.Milliseconds()),
		"--ping-timeout", fmt.Sprint(EchoPingTimeout.Milliseconds()))
	// What engine.io 6.6.12 reports as the server-side close reason.
	serverReason := map[string]string{
		"client-close": "transport close",
		"server-close": "forced close",
		"ping-timeout": "ping timeout",
		"over-limit":   "transport error",
	}
	for _, sc := range EngineScenarios {
		for _, tr := range sc.Transports {
			t.Run(sc.Name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				res := Run(t, "eio_client.js", base, sc.Name, tr)
				t.Log(res.Line)
				if want, ok := serverReason[sc.Name]; ok {
					got := waitJSON(t, base+"/_interop/eio-sessions?sid="+url.QueryEscape(res.Str("sid")),
						func(m map[string]any) bool { return m["open"] == false })
					if got["closeReason"] != want {
						t.Errorf("server-side close reason = %v, want %q (%v)", got["closeReason"], want, got)
					}
				}
			})
		}
	}
}

func TestSocketReference(t *testing.T) {
	t.Parallel()
	base := StartNodeServer(t, "sio_ref_server.js")
	// Server-side disconnect reasons (socket.io 4.8.4), keyed by scenario and
	// then by the key of the "ids" object the script reports.
	serverReason := map[string]map[string]string{
		"connect":        {"clientDisconnected": "client namespace disconnect"},
		"connect-custom": {"customDisconnected": "client namespace disconnect"},
		"disconnect": {
			"serverDisconnect":      "server namespace disconnect",
			"serverDisconnectClose": "server namespace disconnect",
			"clientDisconnect":      "client namespace disconnect",
		},
		"server-ops": {"A": "server namespace disconnect", "B": "server namespace disconnect"},
	}
	for _, sc := range SocketScenarios {
		for _, tr := range sc.Transports {
			t.Run(sc.Name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				res := Run(t, "sio_client.js", base, sc.Name, tr)
				t.Log(res.Line)
				ids, _ := res.Fields["ids"].(map[string]any)
				for key, want := range serverReason[sc.Name] {
					id, _ := ids[key].(string)
					if id == "" {
						t.Fatalf("result has no ids.%s", key)
					}
					checkSocketReason(t, base, id, want)
				}
				if sc.Name == "reconnect" {
					// socket.conn.close() ends the namespace socket with the engine's reason.
					checkSocketReason(t, base, res.Str("oldId"), "forced close")
				}
			})
		}
	}
}

func checkSocketReason(t *testing.T, base, id, want string) {
	t.Helper()
	got := waitJSON(t, base+"/_interop/sio-sockets?id="+url.QueryEscape(id),
		func(m map[string]any) bool { return m["connected"] == false })
	if got["disconnectReason"] != want {
		t.Errorf("server-side disconnect reason of %s = %v, want %q (%v)", id, got["disconnectReason"], want, got)
	}
}

// waitJSON GETs u until done(decoded body) or 10 s have passed, and returns the last body.
func waitJSON(t *testing.T, u string, done func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var m map[string]any
	for {
		var err error
		m, err = getJSON(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		if m["known"] != true {
			t.Fatalf("reference server does not know %s: %v", u, m)
		}
		if done(m) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(u string) (map[string]any, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var m map[string]any
	return m, json.NewDecoder(resp.Body).Decode(&m)
}
