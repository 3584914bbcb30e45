package history

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tidwall/buntdb"
)

// The series index: besides its tick records, a run keeps each series in
// one-minute chunks, so that reading one metric over an hour touches 60
// small records instead of 3600 ticks of every metric. A chunk is written
// when the first tick of the next minute is recorded (in the same
// transaction) and at Finish; the marker says up to which minute chunks are
// complete. Ticks after the marker (the minute in progress, or the last
// minute of a killed run) are read from the tick records, so the index
// never hides a completed tick.
const chunkSpan = int64(time.Minute)

func chunkMarkerKey(run int) string { return fmt.Sprintf("chunk:%08d", run) }

func chunkPrefix(run int, series string) string {
	return fmt.Sprintf("series:%08d:%s:", run, series)
}

func chunkKey(run int, series string, bucket int64) string {
	return fmt.Sprintf("%s%020d", chunkPrefix(run, series), bucket)
}

// chunk is one series over one minute: times as nanoseconds from the start
// of the minute, and the values.
type chunk struct {
	T []int64   `json:"t"`
	V []float64 `json:"v"`
}

// chunker buffers the minute in progress of a Recorder.
type chunker struct {
	bucket   int64 // minute in progress; -1 before the first tick
	lastAt   int64
	disabled bool // ticks went back in time: the run is read from its ticks only
	buf      map[string]*chunk
}

func newChunker() chunker { return chunker{bucket: -1, buf: map[string]*chunk{}} }

// add buffers a tick; when the tick starts a new minute it first writes
// the finished minute's chunks and moves the marker, within tx.
func (c *chunker) add(tx *buntdb.Tx, run int, at time.Time, metrics map[string]float64) error {
	if c.disabled {
		return nil
	}
	ns := at.UnixNano()
	if c.bucket >= 0 && ns <= c.lastAt {
		// Out of order: chunks could not be trusted any more.
		c.disabled = true
		_, _, err := tx.Set(chunkMarkerKey(run), "-1", nil)
		return err
	}
	c.lastAt = ns
	b := ns / chunkSpan
	if c.bucket >= 0 && b != c.bucket {
		if err := c.flush(tx, run); err != nil {
			return err
		}
	}
	c.bucket = b
	off := ns - b*chunkSpan
	for k, v := range metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		ch := c.buf[k]
		if ch == nil {
			ch = &chunk{}
			c.buf[k] = ch
		}
		ch.T = append(ch.T, off)
		ch.V = append(ch.V, v)
	}
	return nil
}

// flush writes the buffered minute and marks it complete.
func (c *chunker) flush(tx *buntdb.Tx, run int) error {
	if c.disabled || c.bucket < 0 {
		return nil
	}
	for k, ch := range c.buf {
		if len(ch.T) == 0 {
			continue
		}
		b, err := json.Marshal(ch)
		if err != nil {
			return err
		}
		if _, _, err := tx.Set(chunkKey(run, k, c.bucket), string(b), nil); err != nil {
			return err
		}
		ch.T, ch.V = ch.T[:0], ch.V[:0]
	}
	_, _, err := tx.Set(chunkMarkerKey(run), strconv.FormatInt(c.bucket, 10), nil)
	return err
}

// seriesFromChunks appends the points of [from, to) that the chunks hold
// and returns the time from which the tick records must be read
// (math.MinInt64 when the run has no usable index).
func seriesFromChunks(tx *buntdb.Tx, run int, series string, from, to int64, pts []Point) ([]Point, int64, error) {
	mv, err := tx.Get(chunkMarkerKey(run))
	if err == buntdb.ErrNotFound {
		return pts, math.MinInt64, nil
	}
	if err != nil {
		return pts, 0, err
	}
	marker, err := strconv.ParseInt(mv, 10, 64)
	if err != nil || marker < 0 {
		return pts, math.MinInt64, nil
	}
	covered := (marker + 1) * chunkSpan // every tick before this is in a chunk
	lo, hi := from/chunkSpan, min(marker, (to-1)/chunkSpan)
	if from >= covered || lo > hi {
		return pts, covered, nil
	}
	prefix := chunkPrefix(run, series)
	var bad error
	err = tx.AscendRange("", chunkKey(run, series, lo), chunkKey(run, series, hi+1), func(k, v string) bool {
		if len(k) != len(prefix)+20 {
			return true // another series whose name continues this one's
		}
		b, err := strconv.ParseInt(k[len(prefix):], 10, 64)
		if err != nil {
			return true
		}
		var ch chunk
		if err := json.Unmarshal([]byte(v), &ch); err != nil || len(ch.T) != len(ch.V) {
			bad = fmt.Errorf("history: bad chunk %s", k)
			return false
		}
		for i, off := range ch.T {
			ns := b*chunkSpan + off
			if ns >= from && ns < to {
				pts = append(pts, Point{At: time.Unix(0, ns).UTC(), Value: ch.V[i]})
			}
		}
		return true
	})
	if err == nil {
		err = bad
	}
	return pts, covered, err
}
