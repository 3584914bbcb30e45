package testbed

import (
	"net"
	"testing"
	"time"
)

// TestClientGoneCounted: a request whose body stops short, and one whose
// connection is reset while it is served, are both counted; a complete
// request is not.
func TestClientGoneCounted(t *testing.T) {
	s, err := Start(Config{Workers: 2, Capacity: 20, Cost: time.Microsecond}) // 100 ms per request
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code, _, _ := get(t, "GET", s.URL+"/whole"); code != 200 || s.ClientGone() != 0 {
		t.Fatalf("complete request: %d, gone %d", code, s.ClientGone())
	}
	send := func(raw string) {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the server start on it
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}
	send("POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	send("GET /served HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(2 * time.Second)
	for s.ClientGone() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := s.ClientGone(); g != 2 {
		t.Fatalf("client gone %d, want 2", g)
	}
}
