package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"time"

	"github.com/loadshaper/loadshaper/shapers"
)

// Chaos "slow_client" trickles a request on its own connection: one write
// of slowChunk bytes every slowPause. A request with a body sends its head
// at once and then its body, a pause before each chunk; a request without
// one trickles its head. The trickle is bounded by half the target's
// timeout (chunks grow to fit), leaving the other half for the response.
const (
	slowChunk = 64
	slowPause = 100 * time.Millisecond
)

// Chaos modes of one request, drawn per request against the thresholds.
const (
	modeNormal = iota
	modeAbort
	modeSlow
)

// fractionThreshold maps a fraction to the 32-bit draw below which a
// request is affected.
func fractionThreshold(f float64) uint64 {
	return uint64(min(max(f, 0), 1) * (1 << 32))
}

// chaosThresholds are the abort and slow_client thresholds of a tick's
// chaos actions (the largest fraction of each kind).
func chaosThresholds(acts []shapers.ChaosAction) (abort, slow uint64) {
	for _, a := range acts {
		switch a.Kind {
		case "abort":
			abort = max(abort, fractionThreshold(a.Fraction))
		case "slow_client":
			slow = max(slow, fractionThreshold(a.Fraction))
		}
	}
	return abort, slow
}

// chaosMode draws whether this request is aborted, trickled or sent
// normally. Without chaos in force it draws nothing, so the run's random
// sequence is the same as before chaos existed.
func (w *worker) chaosMode() int {
	g := w.g
	if th := g.abortTh.Load(); th > 0 && uint64(w.rng.Uint32()) < th {
		return modeAbort
	}
	if th := g.slowTh.Load(); th > 0 && uint64(w.rng.Uint32()) < th {
		return modeSlow
	}
	return modeNormal
}

// chaosConn is a worker's reused state for requests sent on their own
// connection; it is made on the worker's first chaos request.
type chaosConn struct {
	raw sliceWriter
	bw  *bufio.Writer
	br  *bufio.Reader
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// serialize writes w.req as it would go on the wire and returns the bytes
// and where the head ends.
func (w *worker) serialize() ([]byte, int, error) {
	if w.cc == nil {
		w.cc = &chaosConn{}
		w.cc.bw = bufio.NewWriterSize(&w.cc.raw, 4096)
	}
	cc := w.cc
	cc.raw.b = cc.raw.b[:0]
	cc.bw.Reset(&cc.raw)
	if len(w.req.Header.UserAgent()) == 0 {
		w.req.Header.SetUserAgent("loadshaper")
	}
	if err := w.req.Write(cc.bw); err != nil {
		return nil, 0, err
	}
	if err := cc.bw.Flush(); err != nil {
		return nil, 0, err
	}
	b := cc.raw.b
	head := bytes.Index(b, []byte("\r\n\r\n"))
	if head < 0 {
		head = len(b)
	} else {
		head += 4
	}
	return b, head, nil
}

// dial opens a connection of its own to the target (outside the pool),
// TLS included, with the deadline set.
func (g *Generator) dial(deadline time.Time) (net.Conn, *net.TCPConn, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", g.client.Addr)
	if err != nil {
		return nil, nil, err
	}
	tcp, _ := c.(*net.TCPConn)
	_ = c.SetDeadline(deadline)
	if !g.client.IsTLS {
		return c, tcp, nil
	}
	tc := tls.Client(c, g.client.TLSConfig)
	if err := tc.Handshake(); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return tc, tcp, nil
}

// abort sends the request's head and the first half of its body (the head
// only when it has none) on a connection of its own, then resets the
// connection (SO_LINGER 0: an RST, not a FIN) before any response. The
// pool's connections are untouched. It returns an error only when the
// connection could not be opened or written, which is the target's failure.
func (w *worker) abort() error {
	b, head, err := w.serialize()
	if err != nil {
		return err
	}
	conn, tcp, err := w.g.dial(time.Now().Add(w.g.timeout))
	if err != nil {
		return err
	}
	n := head + (len(b)-head)/2
	_, err = conn.Write(b[:n])
	if tcp != nil {
		_ = tcp.SetLinger(0)
		_ = tcp.Close() // under TLS too: no close_notify, the reset is the point
	} else {
		_ = conn.Close()
	}
	return err
}

// trickle sends the request slowly on a connection of its own (see
// slowChunk) and reads the response into w.resp. The connection is closed
// afterwards.
func (w *worker) trickle() error {
	w.req.SetConnectionClose()
	b, head, err := w.serialize()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(w.g.timeout)
	conn, _, err := w.g.dial(deadline)
	if err != nil {
		return err
	}
	defer conn.Close()
	slow := b[head:] // the body trickles after the head
	if len(slow) == 0 {
		slow, head = b, 0 // no body: the head trickles
	} else if _, err := conn.Write(b[:head]); err != nil {
		return err
	}
	chunk := trickleChunk(len(slow), w.g.timeout, head > 0)
	for i := 0; i < len(slow); i += chunk {
		if i > 0 || head > 0 {
			time.Sleep(slowPause)
		}
		if _, err := conn.Write(slow[i:min(i+chunk, len(slow))]); err != nil {
			return err
		}
	}
	if w.cc.br == nil {
		w.cc.br = bufio.NewReaderSize(conn, 4096)
	} else {
		w.cc.br.Reset(conn)
	}
	return w.resp.Read(w.cc.br)
}

// trickleChunk is the chunk size that sends n bytes with pauses in at
// most half of timeout: slowChunk unless that would take longer.
// pauseFirst counts a pause before the first chunk too.
func trickleChunk(n int, timeout time.Duration, pauseFirst bool) int {
	pauses := int(timeout / 2 / slowPause)
	if !pauseFirst {
		pauses++ // the first chunk goes without one
	}
	chunk := slowChunk
	if pauses < 1 {
		return max(n, 1)
	}
	if (n+chunk-1)/chunk > pauses {
		chunk = (n + pauses - 1) / pauses
	}
	return chunk
}

// trickleTime is how long chaos "slow_client" takes to send a request of
// head bytes of head and body bytes of body with the given timeout (the
// pauses only; the network adds to it).
func trickleTime(head, body int, timeout time.Duration) time.Duration {
	n, pauseFirst := body, true
	if body == 0 {
		n, pauseFirst = head, false
	}
	c := trickleChunk(n, timeout, pauseFirst)
	chunks := (n + c - 1) / c
	if !pauseFirst {
		chunks--
	}
	return time.Duration(max(chunks, 0)) * slowPause
}
