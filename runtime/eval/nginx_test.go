package eval

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loadshaper/loadshaper/lang"
)

// nginx with limit_req: a rate-limited API. Its capacity is the limiter's
// rate; above it, requests wait in the limiter's queue (no nodelay), so
// latency rises like a queue's, and past the burst nginx answers 503.
const (
	nginxRate  = 200 // r/s: the limiter's rate, the capacity the plans scale to
	nginxBurst = 100 // requests that may wait: the longest wait is burst/rate = 500 ms
	// The envelope is what a user of a rate-limited API cares about, read
	// from the generator's own figures: at most 1% errors (503s), and a
	// p99 of at most 100 ms — a fifth of the longest wait the limiter
	// imposes (20 requests queued, 100 ms at 200 r/s), far above the
	// ~1 ms nginx answers in under its rate, so only queueing in the
	// limiter reaches it.
	nginxMaxErrors  = 0.01
	nginxMaxLatency = 0.1 // seconds
	// nginxTolerance is how far over a limit a second's reading may be
	// before it counts as above the envelope, relative to the limit (the
	// same 2.5% as the cpu targets' 0.02 over 0.8).
	nginxTolerance = 0.025
)

// nginxConf is the configuration of the nginx under test: everything in
// dir, one worker, listening on addr; the limited location serves an
// empty GIF (a content handler: `return 200` would answer in the rewrite
// phase, before limit_req runs).
func nginxConf(dir, addr string, rate int) string {
	return fmt.Sprintf(`worker_processes 1;
worker_rlimit_nofile 8192;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  log_format eval '$msec $status $request_time';
  access_log %[1]s/access.log eval;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  limit_req_zone $binary_remote_addr zone=api:1m rate=%[3]dr/s;
  server {
    listen %[2]s;
    location / {
      limit_req zone=api burst=%[4]d;
      empty_gif;
    }
  }
}
`, dir, addr, rate, nginxBurst)
}

// accessSecond is what nginx's access log says about a span of time: the
// requests it answered, the share of 503s and the p99 of request_time.
type accessSecond struct {
	n         int
	share503  float64
	p99       float64 // seconds
	malformed int
}

// parseAccess reads lines of the `$msec $status $request_time` format.
func parseAccess(lines []string) accessSecond {
	var a accessSecond
	var n503 int
	var times []float64
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			a.malformed++
			continue
		}
		st, err1 := strconv.Atoi(f[1])
		rt, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			a.malformed++
			continue
		}
		a.n++
		if st == 503 {
			n503++
		}
		times = append(times, rt)
	}
	if a.n > 0 {
		a.share503 = float64(n503) / float64(a.n)
		sort.Float64s(times)
		a.p99 = times[int(math.Ceil(0.99*float64(len(times))))-1] // nearest rank
	}
	return a
}

// logTail reads the lines appended to a file since the previous call.
type logTail struct {
	f    *os.File
	part []byte // an incomplete last line, kept for the next call
}

func newLogTail(path string) (*logTail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return &logTail{f: f}, nil
}

func (lt *logTail) lines() ([]string, error) {
	b, err := io.ReadAll(lt.f)
	if err != nil {
		return nil, err
	}
	b = append(lt.part, b...)
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		lt.part = b
		return nil, nil
	}
	lt.part = append([]byte(nil), b[i+1:]...)
	return strings.Split(string(b[:i]), "\n"), nil
}

// nginxTarget starts nginx in the foreground with limit_req at
// nginxRate r/s and describes it as a target.
func nginxTarget(t *testing.T, bin string) *target {
	dir := t.TempDir()
	addr := freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	write := func(rate int) {
		if err := os.WriteFile(conf, []byte(nginxConf(dir, addr, rate)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(nginxRate)
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so the workers go with the master; and a
	// fast shutdown should the test die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	})
	url := "http://" + addr
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url + "/api")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(end) {
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not answer on %s in 10 s: %v\n%s%s", addr, err, out.String(), errLog)
		}
	}
	version := "nginx"
	if v, err := exec.Command(bin, "-v").CombinedOutput(); err == nil {
		version = strings.TrimPrefix(strings.TrimSpace(string(v)), "nginx version: ")
	}

	var mu sync.Mutex
	halved := false
	reload := func(t *testing.T, rate int) {
		write(rate)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Errorf("nginx reload: %v", err)
		}
	}
	header := fmt.Sprintf("target %s, limit_req rate=%dr/s burst=%d (no nodelay: excess requests wait up to %d ms, past the burst 503)\n"+
		"envelope error_rate %.2f and latency_p99 %.0f ms (the generator's own figures); truth: nginx's access log ($msec $status $request_time) per second: share of 503s, p99 of request_time",
		version, nginxRate, nginxBurst, 1000*nginxBurst/nginxRate, nginxMaxErrors, 1000*nginxMaxLatency)
	t.Log(header)
	return &target{
		name: "nginx", url: url, path: "/api", capacity: nginxRate, timeout: 2 * time.Second,
		envelope: []lang.Limit{{Metric: "error_rate", Max: nginxMaxErrors, Unit: "fraction"}, {Metric: "latency_p99", Max: nginxMaxLatency, Unit: "seconds"}},
		header:   header,
		cols:     []string{"worst 503 share", "worst p99 ms (nginx)"}, colFmt: []string{"%.3f", "%.0f"},
		settle: func(t *testing.T) {
			mu.Lock()
			h := halved
			halved = false
			mu.Unlock()
			if h {
				reload(t, nginxRate)
			}
			// The limiter's queue empties in burst/rate (500 ms); the
			// shapers read only client figures, which have no window.
			time.Sleep(2 * time.Second)
		},
		halve: func(t *testing.T) {
			mu.Lock()
			halved = true
			mu.Unlock()
			reload(t, nginxRate/2)
		},
		truth: func(t *testing.T) func() truthTick {
			lt, err := newLogTail(filepath.Join(dir, "access.log"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lt.f.Close() })
			return func() truthTick {
				ls, err := lt.lines()
				if err != nil {
					t.Errorf("nginx access log: %v", err)
					return truthTick{}
				}
				a := parseAccess(ls)
				over := a.share503 > nginxMaxErrors*(1+nginxTolerance) || a.p99 > nginxMaxLatency*(1+nginxTolerance)
				return truthTick{vals: []float64{a.share503, a.p99 * 1000}, over: over,
					trace: fmt.Sprintf("nginx: %4d answered, 503 %.3f, p99 %4.0f ms", a.n, a.share503, a.p99*1000)}
			}
		},
	}
}
