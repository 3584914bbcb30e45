package lang

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// maxConfigLen bounds a target's config fingerprint: it is a name, shown in
// `loadshaper models list`, not a document.
const maxConfigLen = 200

// targetConfig reads `config`: a non-empty string without control
// characters.
func (l *loader) targetConfig(t *Target, a *hcl.Attribute) {
	v, ok := l.str(a)
	if !ok {
		return
	}
	switch {
	case strings.TrimSpace(v) == "":
		l.errorf(exprRange(a), "Empty config", "config names the target's configuration (like \"v2.3-4cores\"); leave it out to use the target block's hash.")
	case len(v) > maxConfigLen || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		l.errorf(exprRange(a), "Invalid config", "config must be a short name (at most %d characters, no control characters).", maxConfigLen)
	default:
		t.Config = v
	}
}

// Hash is a sha256 over the target's settings as decoded — the URL,
// timeout, connections, TLS, headers and every metrics source with its
// queries — without its name, its config and its secrets (credentials and
// the values of headers that look like them): what the target block says
// the system under test is, so that an edit to it gives a new hash.
func (t *Target) Hash() string {
	type source struct {
		Kind     string            `json:"kind"`
		Endpoint string            `json:"endpoint,omitempty"`
		Queries  map[string]string `json:"queries,omitempty"`
		Timeout  int64             `json:"timeout"`
		Interval int64             `json:"interval,omitempty"`
		PID      int               `json:"pid,omitempty"`
		Process  string            `json:"process,omitempty"`
		OnStale  string            `json:"on_stale,omitempty"`
	}
	v := struct {
		URL            string            `json:"url"`
		Timeout        int64             `json:"timeout"`
		MaxConnections int               `json:"max_connections"`
		KeepAlive      bool              `json:"keep_alive"`
		Insecure       bool              `json:"insecure"`
		Headers        map[string]string `json:"headers,omitempty"`
		Metrics        []source          `json:"metrics"`
	}{URL: t.URL, Timeout: int64(t.Timeout), MaxConnections: t.MaxConnections, KeepAlive: t.KeepAlive, Insecure: t.InsecureSkipVerify, Metrics: []source{}}
	if len(t.Headers) > 0 {
		v.Headers = redactHeaders(t.Headers)
	}
	for _, m := range t.Metrics {
		v.Metrics = append(v.Metrics, source{Kind: m.Kind, Endpoint: m.Endpoint, Queries: m.Queries, Timeout: int64(m.Timeout), Interval: int64(m.Interval), PID: m.PID, Process: m.Process, OnStale: m.OnStale})
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys: the hash is canonical
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Fingerprint is the target's configuration fingerprint: its config when
// the plan sets one, else "block:" and the first 16 hex digits of Hash.
func (t *Target) Fingerprint() string {
	if t.Config != "" {
		return t.Config
	}
	return "block:" + t.Hash()[:16]
}
